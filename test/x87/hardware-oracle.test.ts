/**
 * ttd's x87 against the host's: oracle.c runs each case's machine code on the real FPU (this host is
 * x86-64 with an x87) and ttd runs the same bytes; the data blocks after the run (results, FSW right
 * after the instruction, EFLAGS of FCOMI, stored memory) must be equal byte for byte. Cases cover every
 * PC x RC, masked and unmasked exceptions, special operands (zeros, denormals, pseudo-denormals,
 * unnormals, infinities, QNaN/SNaN, extremes) and random values near rounding boundaries.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createMachine } from "../cpu/harness.js";
import { EBX, ESP } from "../../src/cpu/constants.js";
import { dataBlock, OPS, randomControlWord, randomF80, randomMemory, relatedF80, Rng, snippet } from "./snippets.js";

const hasGcc = spawnSync("gcc", ["--version"], { stdio: "ignore" }).status === 0;
const isX86 = process.arch === "x64" || process.arch === "ia32";
if (!hasGcc || !isX86) console.log(`x87 hardware oracle skipped: ${!hasGcc ? "gcc is missing" : `host is ${process.arch}, not x86`}`);

const CASES_PER_OP = Number(process.env.X87_ORACLE_CASES ?? 2500);
const CODE = 0x10000, DATA = 0x20000;

interface Case { op: string; code: number[]; data: Uint8Array }

function buildCases(): Case[] {
  const r = new Rng(0x87a1b2c3);
  const out: Case[] = [];
  for (const op of OPS) {
    if (op.guestOnly) continue;
    const code = snippet(op.core, op.onlyB);
    for (let n = 0; n < CASES_PER_OP; n++) {
      const a = randomF80(r);
      const b = relatedF80(r, a);
      const m = randomMemory(r, op.memSize ?? 0);
      out.push({ op: op.name, code, data: dataBlock(randomControlWord(r), a, b, m) });
    }
  }
  return out;
}

function runHost(exe: string, cases: Case[]): Uint8Array {
  const parts: Buffer[] = [];
  for (const c of cases) {
    const len = Buffer.alloc(4);
    len.writeUInt32LE(c.code.length);
    parts.push(len, Buffer.from(c.code), Buffer.from(c.data));
  }
  return execFileSync(exe, { input: Buffer.concat(parts), maxBuffer: 1 << 30 });
}

function runTtd(c: Case, m: ReturnType<typeof createMachine>): Uint8Array {
  const { cpu, mem } = m;
  mem.u8.set(c.code, CODE);
  mem.u8.set(c.data, DATA);
  cpu.fpu.reset();
  cpu.eip = CODE;
  cpu.regs[EBX] = DATA;
  cpu.regs[ESP] = 0x8000;
  const end = CODE + c.code.length - 1;
  for (let n = 0; cpu.eip !== end && n < 200; n++) cpu.step();
  return mem.u8.slice(DATA, DATA + 128);
}

/**
 * X87_WRITE_GOLDEN=1 keeps the first cases of each operation with the host's answers in
 * fixtures/x87-golden.json, which golden.test.ts checks on hosts without gcc or an x87.
 */
function writeGolden(cases: Case[], host: Uint8Array): void {
  const perOp = new Map<string, number>();
  const rows: [string, string, string, string][] = [];
  cases.forEach((c, i) => {
    const n = perOp.get(c.op) ?? 0;
    if (n >= 6) return;
    perOp.set(c.op, n + 1);
    // The block's inputs live in bytes 0..42 (control words, a, b) and 96..112 (memory operand).
    rows.push([c.op, hex(c.data, 0, 42), hex(c.data, 96, 112), hex(host, 128 * i + 48, 128 * i + 112)]);
  });
  writeFileSync(new URL("./fixtures/x87-golden.json", import.meta.url).pathname, JSON.stringify(rows, null, 0).replace(/\],\[/g, "],\n[") + "\n");
}

const hex = (b: Uint8Array, from: number, to: number) => Array.from(b.subarray(from, to), (x) => x.toString(16).padStart(2, "0")).join("");

describe.skipIf(!hasGcc || !isX86)("x87 arithmetic against the host FPU", () => {
  const dir = mkdtempSync(join(tmpdir(), "ttd-x87-oracle-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("gives the host's results, flags and stores bit for bit", () => {
    const exe = join(dir, "oracle");
    execFileSync("gcc", ["-O1", "-mno-red-zone", "-o", exe, new URL("./oracle.c", import.meta.url).pathname]);
    const cases = buildCases();
    const host = runHost(exe, cases);
    const m = createMachine(1 << 20, { compile: false });
    const failures = new Map<string, { n: number; first: string }>();
    let passed = 0;
    cases.forEach((c, i) => {
      const want = host.subarray(128 * i, 128 * i + 128);
      const got = runTtd(c, m);
      // Bytes 48..111: results, FSW, EFLAGS capture, memory operand/destination.
      if (hex(got, 48, 112) === hex(want, 48, 112)) {
        passed++;
        return;
      }
      const f = failures.get(c.op) ?? { n: 0, first: "" };
      if (f.n === 0) {
        f.first = `cw=${hex(c.data, 0, 2)} a=${hex(c.data, 16, 26)} b=${hex(c.data, 32, 42)} m=${hex(c.data, 96, 106)}\n` +
          `   want r1=${hex(want, 48, 58)} r2=${hex(want, 64, 74)} sw=${hex(want, 80, 82)} fl=${hex(want, 82, 88)} m=${hex(want, 96, 106)}\n` +
          `   got  r1=${hex(got, 48, 58)} r2=${hex(got, 64, 74)} sw=${hex(got, 80, 82)} fl=${hex(got, 82, 88)} m=${hex(got, 96, 106)}`;
      }
      f.n++;
      failures.set(c.op, f);
    });
    if (process.env.X87_WRITE_GOLDEN) writeGolden(cases, host);
    console.log(`x87 hardware oracle: ${passed} of ${cases.length} cases equal (${OPS.filter((o) => !o.guestOnly).length} operations)`);
    const report = [...failures].map(([op, f]) => `${op}: ${f.n} differ, first:\n   ${f.first}`).join("\n");
    expect(report).toBe("");
  }, 600_000);
});

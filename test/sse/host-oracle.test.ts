/**
 * The SSE floating-point lanes against this host's own SSE unit: oracle/sse-oracle.c runs the scalar
 * instructions natively under every rounding mode, with and without DAZ and FTZ, on random and special
 * operands, and every result and MXCSR flag set must be ttd's. Needs gcc on an x86-64 host.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { arch, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { beginFp, fpEnv, settleFpFlags } from "../../src/cpu/sse/mxcsr.js";
import { bits64 } from "../../src/cpu/sse/float-bits.js";
import { f32Arith, f32Sqrt, f64Arith, f64Sqrt } from "../../src/cpu/sse/float-arith.js";
import { CMP_EQUAL, CMP_LESS, CMP_UNORDERED, f32Compare, f32MinMax, f64Compare, f64MinMax, predicateHolds, predicateSignalsQuiet } from "../../src/cpu/sse/float-compare.js";
import { f32ToF64, f32ToInt32, f64ToF32, f64ToInt32, int32ToF32 } from "../../src/cpu/sse/conversions.js";
import { vectorInstruction } from "../../src/cpu/sse/instruction-table.js";
import { A, B, PFX_66, PFX_F3, PFX_NONE, R } from "../../src/cpu/sse/vector-unit.js";
import type { CPU } from "../../src/cpu/cpu.js";

const hasGcc = spawnSync("gcc", ["--version"], { stdio: "ignore" }).status === 0;
const canRun = hasGcc && arch() === "x64";
const CASES_PER_OP_AND_MODE = 600;

const hex = (v: number, digits: number) => (v >>> 0).toString(16).padStart(digits, "0");
const hex64 = (lo: number, hi: number) => hex(hi, 8) + hex(lo, 8);

/** EFLAGS of COMISS/UCOMISS for an outcome (ZF PF CF; OF SF AF clear). */
function comiFlags(c: number): number {
  if (c === CMP_UNORDERED) return 0x45;
  if (c === CMP_LESS) return 0x01;
  if (c === CMP_EQUAL) return 0x40;
  return 0;
}

/** ttd's answer for one oracle line, formatted as the oracle prints it. */
function evaluate(op: string, a: string, b: string): string {
  if (a.length === 8) {
    // Unsigned, as lanes read from a Uint32Array are.
    const x = parseInt(a, 16) >>> 0, y = parseInt(b, 16) >>> 0;
    switch (op) {
      case "addss": return hex(f32Arith(0, x, y), 8);
      case "subss": return hex(f32Arith(1, x, y), 8);
      case "mulss": return hex(f32Arith(2, x, y), 8);
      case "divss": return hex(f32Arith(3, x, y), 8);
      case "sqrtss": return hex(f32Sqrt(y), 8);
      case "minss": return hex(f32MinMax(x, y, false), 8);
      case "maxss": return hex(f32MinMax(x, y, true), 8);
      case "comiss": return hex(comiFlags(f32Compare(x, y, true)), 8);
      case "ucomiss": return hex(comiFlags(f32Compare(x, y, false)), 8);
      case "cvtss2sd": f32ToF64(y); return hex64(bits64.lo, bits64.hi);
      case "cvtss2si": return hex(f32ToInt32(y, false), 8);
      case "cvttss2si": return hex(f32ToInt32(y, true), 8);
      case "cvtsi2ss": return hex(int32ToF32(y | 0), 8);
      default: {
        const imm = Number(op.slice(5));
        return hex(predicateHolds(imm, f32Compare(x, y, predicateSignalsQuiet(imm))) ? -1 : 0, 8);
      }
    }
  }
  const xl = parseInt(a.slice(8), 16) >>> 0, xh = parseInt(a.slice(0, 8), 16) >>> 0;
  const yl = parseInt(b.slice(8), 16) >>> 0, yh = parseInt(b.slice(0, 8), 16) >>> 0;
  const arith = (k: number) => { f64Arith(k, xl, xh, yl, yh); return hex64(bits64.lo, bits64.hi); };
  switch (op) {
    case "addsd": return arith(0);
    case "subsd": return arith(1);
    case "mulsd": return arith(2);
    case "divsd": return arith(3);
    case "sqrtsd": f64Sqrt(yl, yh); return hex64(bits64.lo, bits64.hi);
    case "minsd": f64MinMax(xl, xh, yl, yh, false); return hex64(bits64.lo, bits64.hi);
    case "maxsd": f64MinMax(xl, xh, yl, yh, true); return hex64(bits64.lo, bits64.hi);
    case "comisd": return hex(comiFlags(f64Compare(xl, xh, yl, yh, true)), 16);
    case "ucomisd": return hex(comiFlags(f64Compare(xl, xh, yl, yh, false)), 16);
    case "cvtsd2ss": return hex(f64ToF32(yl, yh), 8);
    case "cvtsd2si": return hex(f64ToInt32(yl, yh, false), 16);
    case "cvttsd2si": return hex(f64ToInt32(yl, yh, true), 16);
    default: {
      const imm = Number(op.slice(5));
      const r = predicateHolds(imm, f64Compare(xl, xh, yl, yh, predicateSignalsQuiet(imm))) ? -1 : 0;
      return hex64(r, r);
    }
  }
}

/** Builds and runs one oracle program; its output lines. */
function runOracle(name: string, args: string[]): string[] {
  const dir = mkdtempSync(join(tmpdir(), "ttd-sse-oracle-"));
  try {
    const exe = join(dir, name);
    execFileSync("gcc", ["-O1", "-msse2", "-o", exe, new URL(`./oracle/${name}.c`, import.meta.url).pathname]);
    const out = execFileSync(exe, args, { encoding: "latin1", maxBuffer: 1 << 28 });
    return out.split("\n").filter((l) => l.length > 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe.skipIf(!canRun)("SSE2 and MMX packed integer instructions vs the host CPU", () => {
  it("agree on random and edge operands", () => {
    const lines = runOracle("packed-oracle", ["400", "777"]);
    const failures: string[] = [];
    const ops = new Set<string>();
    for (const line of lines) {
      const f = line.split(" ");
      const mmx = f[0][0] === "m";
      const e = vectorInstruction(parseInt(f[0].slice(1), 16), mmx ? PFX_NONE : PFX_66)!;
      ops.add(f[0][0] + e.mnemonic);
      for (let i = 0; i < 4; i++) {
        A.u32[i] = parseInt(f[1 + i], 16);
        B.u32[i] = parseInt(f[5 + i], 16);
      }
      R.copyFrom(A);
      e.handler(null as unknown as CPU, e.width);
      // An MMX register holds the low two dwords.
      if (mmx) R.u32[2] = R.u32[3] = 0;
      const got = Array.from(R.u32, (v) => hex(v, 8)).join(" ");
      if (got !== f.slice(9).join(" ")) failures.push(`${e.mnemonic} ${line} -> ttd ${got}`);
    }
    console.log(`packed oracle: ${lines.length} cases over ${ops.size} instructions; ${failures.length} differ`);
    expect(failures.slice(0, 20)).toEqual([]);
  });
});

describe.skipIf(!canRun)("SSE float lanes vs the host CPU", () => {
  it("agree on results and MXCSR flags in every rounding mode, DAZ and FTZ", () => {
    const lines = runOracle("sse-oracle", [String(CASES_PER_OP_AND_MODE), "12345"]);
    const failures: string[] = [];
    const perOp = new Map<string, number>();
    for (const line of lines) {
      const [op, csrHex, a, b, res, flags] = line.split(" ");
      const csr = parseInt(csrHex, 16);
      beginFp(csr);
      let got = evaluate(op, a, b);
      // The integer conversions print a 32-bit register zero-extended in the oracle's 64-bit field.
      if (got.length < res.length) got = got.padStart(res.length, "0");
      const gotFlags = (fpEnv.flags & 0x3f).toString(16);
      perOp.set(op, (perOp.get(op) ?? 0) + 1);
      if (got !== res || gotFlags !== flags) failures.push(`${line}  -> ttd ${got} ${gotFlags}`);
    }
    console.log(`host oracle: ${lines.length} cases over ${perOp.size} instructions, 16 MXCSR modes; ${failures.length} differ`);
    expect(failures.slice(0, 40)).toEqual([]);
  }, 120_000);
});

/** Packed/scalar opcode and prefix of the unmasked oracle's instructions. */
const UNMASKED_OPS: Record<string, [number, number]> = {
  addps: [0x58, PFX_NONE], subps: [0x5c, PFX_NONE], mulps: [0x59, PFX_NONE], divps: [0x5e, PFX_NONE], sqrtps: [0x51, PFX_NONE],
  addss: [0x58, PFX_F3], mulss: [0x59, PFX_F3], divss: [0x5e, PFX_F3], sqrtss: [0x51, PFX_F3], addpd: [0x58, PFX_66],
  mulpd: [0x59, PFX_66], divpd: [0x5e, PFX_66], sqrtpd: [0x51, PFX_66], maxps: [0x5f, PFX_NONE], cvtps2dq: [0x5b, PFX_66],
  cvtpd2ps: [0x5a, PFX_66], cvtps2pd: [0x5a, PFX_NONE], cvtdq2ps: [0x5b, PFX_NONE],
};

describe.skipIf(!canRun)("unmasked SSE exceptions vs the host CPU", () => {
  it("raise #XM in the same cases, with the same MXCSR flags; otherwise the same results", () => {
    const lines = runOracle("unmasked-oracle", ["600", "99"]);
    const failures: string[] = [];
    let faults = 0;
    for (const line of lines) {
      const f = line.split(" ");
      const [opc, prefix] = UNMASKED_OPS[f[0]];
      const e = vectorInstruction(opc, prefix)!;
      const csr = parseInt(f[1], 16);
      for (let i = 0; i < 4; i++) {
        A.u32[i] = parseInt(f[2 + i], 16);
        B.u32[i] = parseInt(f[6 + i], 16);
      }
      R.copyFrom(A);
      beginFp(csr);
      e.handler(null as unknown as CPU, e.width);
      settleFpFlags();
      const xm = (fpEnv.flags & ~(csr >> 7) & 0x3f) !== 0;
      if (xm) faults++;
      const got = [xm ? "1" : "0", ...Array.from(xm ? A.u32 : R.u32, (v) => hex(v, 8)), (fpEnv.flags & 0x3f).toString(16)].join(" ");
      if (got !== f.slice(10).join(" ")) failures.push(`${line}  -> ttd ${got}`);
    }
    console.log(`unmasked oracle: ${lines.length} cases (${faults} #XM); ${failures.length} differ`);
    expect(failures.slice(0, 30)).toEqual([]);
  });
});

// `ttd run` as a user meets it: the workload guest prints its sum and stops on the guest's exit, and every kind
// of bad input gives one line naming the file and the problem, with exit status 2.
import { describe, expect, it, beforeAll } from "vitest";
import { spawnSync } from "node:child_process";
import { writeFileSync, readFileSync } from "node:fs";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { WORKLOAD, WORKLOAD_EXIT_STATUS, workload } from "../guests.js";
import { testTmpDir } from "../tmp-dirs.js";

const here = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(here, "..", "..");
const CLI = join(ROOT, "dist", "cli", "main.js");

function ttd(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A minimal ELF32 header (52 bytes) with the given class/machine, plus optional program headers. */
function elfHeader(opts: { cls?: number; machine?: number; phnum?: number } = {}): Uint8Array {
  const b = new Uint8Array(52 + 32 * (opts.phnum ?? 0));
  const dv = new DataView(b.buffer);
  b.set([0x7f, 0x45, 0x4c, 0x46, opts.cls ?? 1, 1, 1], 0);
  dv.setUint16(16, 2, true);
  dv.setUint16(18, opts.machine ?? 3, true);
  dv.setUint32(20, 1, true);
  dv.setUint32(24, 0x100000, true);
  dv.setUint32(28, 52, true);
  dv.setUint16(40, 52, true);
  dv.setUint16(42, 32, true);
  dv.setUint16(44, opts.phnum ?? 0, true);
  return b;
}

describe("ttd run", () => {
  let dir: string;
  beforeAll(() => {
    dir = testTmpDir("ttd-run-");
  });

  it("runs workload-r10 to its exit with the guest's serial line and QEMU's exit status", () => {
    const r = ttd("run", workload("workload-r10.elf"));
    expect(r.stdout).toBe(`${WORKLOAD["workload-r10.elf"].serial}\n`);
    expect(r.status).toBe(WORKLOAD_EXIT_STATUS);
    expect(r.stderr).toMatch(/stopped: exit/);
    expect(r.stderr).toContain(`${WORKLOAD["workload-r10.elf"].steps.toLocaleString("en-US")} steps`);
  });

  it("prints a JSON summary with --json and stops at --max-steps with status 4", () => {
    const r = ttd("run", workload("workload-r10.elf"), "--max-steps", "1000", "--json");
    expect(r.status).toBe(4);
    const summary = JSON.parse(r.stderr.trim());
    expect(summary.reason).toBe("max-steps");
    expect(summary.steps).toBe(1000);
    expect(r.stdout).toBe("");
  });

  it("interpreted and compiled runs agree", () => {
    const a = ttd("run", workload("workload-pg-r10.elf"), "--interpret", "--json");
    const b = ttd("run", workload("workload-pg-r10.elf"), "--json");
    expect(a.stdout).toBe(b.stdout);
    expect(JSON.parse(a.stderr).steps).toBe(JSON.parse(b.stderr).steps);
  });

  const badInputs: [string, () => string, RegExp][] = [
    ["a missing file", () => join(dir, "nope.elf"), /nope\.elf: no such file/],
    ["a directory", () => dir, /is a directory/],
    ["an empty file", () => { const p = join(dir, "empty.elf"); writeFileSync(p, ""); return p; }, /empty file/],
    ["a text file", () => { const p = join(dir, "text.elf"); writeFileSync(p, "hello, not an elf\n"); return p; }, /not an ELF/],
    ["a 64-bit ELF", () => { const p = join(dir, "x64.elf"); writeFileSync(p, elfHeader({ cls: 2 })); return p; }, /64-bit/],
    ["an ARM ELF", () => { const p = join(dir, "arm.elf"); writeFileSync(p, elfHeader({ machine: 40 })); return p; }, /not i386/],
    ["an ELF with no multiboot header", () => { const p = join(dir, "nomb.elf"); writeFileSync(p, elfHeader()); return p; }, /multiboot/],
  ];
  for (const [what, make, message] of badInputs) {
    it(`rejects ${what} with one line and exit status 2`, () => {
      const path = make();
      const r = ttd("run", path);
      expect(r.status).toBe(2);
      expect(r.stdout).toBe("");
      const lines = r.stderr.trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(message);
      expect(lines[0]).toContain(path.split("/").pop()!);
    });
  }

  it("rejects a kernel whose segments do not fit in --memory", () => {
    const r = ttd("run", workload("workload-r10.elf"), "--memory", "1");
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/workload-r10\.elf: .*(fit|memory|RAM)/i);
  });

  it("rejects bad option values", () => {
    expect(ttd("run", workload("workload-r10.elf"), "--max-steps", "lots").status).toBe(2);
    expect(ttd("run").status).toBe(2);
  });

  it("documents its exit statuses in --help", () => {
    const r = ttd("run", "--help");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Exit status/);
    expect(r.stdout).toMatch(/isa-debug-exit/);
  });

  it("leaves the kernel file untouched", () => {
    const p = workload("workload-r1.elf");
    const before = readFileSync(p);
    ttd("run", p);
    expect(readFileSync(p).equals(before)).toBe(true);
  });
});

// `ttd print` on recordings of the array-count fixture kernel (test/symbols/fixtures/arrays): arrays of
// 127, 128, 255, 256 and 65,536 elements print every element with the values the kernel wrote, and an
// index that would wrap the 32-bit address space is bad input naming the expression.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const CLI = join(ROOT, "dist", "cli", "main.js");
const FIXTURES = join(ROOT, "test", "symbols", "fixtures", "arrays");

function ttd(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

// clang writes these counts as DW_AT_count data1/data2/data4, the forms that were misread; the type layer's
// test (test/symbols/array-counts.test.ts) covers all four builds.
describe.each(["clang-dwarf5"])("ttd print on arrays (%s)", (build) => {
  let dir: string;
  let trace: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "ttd-arrays-"));
    trace = join(dir, `${build}.trace`);
    const r = ttd("record", join(FIXTURES, `${build}.elf`), "-o", trace);
    expect(r.status, r.stderr).toBe(0);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const value = (expr: string): string => {
    const r = ttd("print", expr, "--trace", trace, "--json");
    expect(r.status, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as { value: string }).value;
  };

  it("prints every element of arrays of 127, 128, 255 and 256 elements", () => {
    for (const n of [127, 128, 255, 256]) {
      expect(value(`a${n}`), `a${n}`).toBe(`{\n  1,\n  0 <repeats ${n - 2} times>,\n  ${n}\n}`);
    }
    expect(value("ctx.fpuState")).toBe("{\n  8064,\n  0 <repeats 126 times>,\n  57005\n}");
  });

  it("gives a 65,536-element array its type, size and last element", () => {
    const r = ttd("print", "a65536", "--trace", trace, "--json");
    const j = JSON.parse(r.stdout) as { type: string; size: number };
    expect(j).toMatchObject({ type: "unsigned char[65536]", size: 65536 });
    expect(value("a65536[65535]")).toBe("255 '\\377'");
  });

  it("refuses an index that would wrap to registers[-1]", () => {
    const r = ttd("print", "ctx.registers[1073741823]", "--trace", trace);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^ttd: `ctx\.registers\[1073741823\]` is outside the 32-bit address space: index 1073741823 of 4-byte elements gives 0x[0-9a-f]+ \+ 0xfffffffc = 0x1[0-9a-f]{8}\n/);
  });
});

/**
 * Element counts of arrays whose DWARF bound needs a 1-, 2- or 4-byte constant (127, 128, 255, 256 and
 * 65,536 elements), as clang 14 (DW_AT_count) and gcc 12 (DW_AT_upper_bound) write them in DWARF 4 and 5,
 * through the type layer, the evaluator and the printer; the enumerator gcc writes as data1 0xc8; and
 * index and pointer arithmetic that would leave the 32-bit address space. The fixtures are built by
 * fixtures/arrays/build.sh.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DebugInfo } from "../../src/symbols/debug-info.js";
import { ImageContext } from "../../src/symbols/eval-context.js";
import { ExpressionEvaluator } from "../../src/symbols/expr-eval.js";
import { formatValue } from "../../src/symbols/format.js";
import { resolveType, sizeOf, typeName, type CType } from "../../src/symbols/types.js";
import { FIXTURES } from "./images.js";

const DIR = join(FIXTURES, "arrays");
const ELFS = readdirSync(DIR).filter((f) => f.endsWith(".elf")).sort();

/** The counts of each dimension of an array type, outermost first. */
function dimensions(t: CType): (number | undefined)[] {
  const out: (number | undefined)[] = [];
  for (let r = resolveType(t); r.kind === "array"; r = resolveType(r.element)) out.push(r.count);
  return out;
}

describe.each(ELFS)("array counts in %s", (file) => {
  const di = DebugInfo.fromElf(readFileSync(join(DIR, file)), { strict: true });
  const image = new ImageContext(di.elf);
  const evaluate = (e: string) => new ExpressionEvaluator(di).evaluate(e, image);

  it("builds the type with every element: 127, 128, 255, 256 and 65,536", () => {
    expect(ELFS).toEqual(["clang-dwarf4.elf", "clang-dwarf5.elf", "gcc-dwarf4.elf", "gcc-dwarf5.elf"]);
    for (const [name, count, elementSize] of [["a127", 127, 4], ["a128", 128, 4], ["a255", 255, 4], ["a256", 256, 4], ["a65536", 65536, 1]] as const) {
      const v = di.variable(name)!;
      expect(dimensions(v.type), name).toEqual([count]);
      expect(v.size, name).toBe(count * elementSize);
    }
    expect(dimensions(di.variable("grid")!.type)).toEqual([128, 255]);
    expect(di.variable("grid")!.size).toBe(128 * 255 * 2);
    const uc = resolveType(di.findType("struct user_context")!);
    if (uc.kind !== "struct") throw new Error("struct user_context is not a struct");
    expect(uc.members.map((m) => [m.name, m.offset, dimensions(m.type)])).toEqual([["registers", 0, [19]], ["fpuState", 76, [128]]]);
    expect(sizeOf(uc)).toBe((19 + 128) * 4);
  });

  it("spells the types and evaluates counts and the last elements", () => {
    expect(typeName(di.variable("a128")!.type)).toBe("word_t[128]");
    expect(typeName(di.variable("grid")!.type)).toMatch(/^(unsigned short|short unsigned int)\[128\]\[255\]$/);
    expect(evaluate("sizeof(a255) / sizeof(a255[0])").value).toBe(255n);
    expect(evaluate("&a256[256] - &a256[0]").value).toBe(256n);
    expect(evaluate("sizeof ctx.fpuState").value).toBe(512n);
    expect(evaluate("sizeof(grid[127])").value).toBe(510n);
    const last = evaluate("a65536[65535]");
    expect(last.address).toBe(di.variable("a65536")!.address! + 65535);
  });

  it("prints every element, not an empty array", () => {
    const r = evaluate("ctx.fpuState");
    expect(r.size).toBe(512);
    expect(formatValue(r.type, r.bytes!)).toBe("{0 <repeats 128 times>}");
    const a = evaluate("a128");
    expect(formatValue(a.type, a.bytes!)).toBe("{0 <repeats 128 times>}");
  });

  it("reads enumerators by their type: 200 written as data1 0xc8 stays 200, -1 stays -1", () => {
    expect(di.enumerator("MIXED_200")?.value).toBe(200n);
    expect(di.enumerator("MIXED_NEG")?.value).toBe(-1n);
    expect(di.enumerator("MIXED_MAX")?.value).toBe(0x7fffffffn);
    expect(di.enumerator("WIDE_TOP")?.value).toBe(0xffffffffn);
    expect(evaluate("(int)MIXED_200").value).toBe(200n);
    // The image's initial value of mixed_var prints by name.
    const m = evaluate("mixed_var");
    expect(formatValue(m.type, m.bytes!)).toBe("MIXED_200");
  });

  it("refuses an index or offset that leaves the 32-bit address space instead of wrapping", () => {
    const base = di.variable("ctx")!.address!;
    expect(evaluate("ctx.registers[-1]").address).toBe(base - 4);
    // Beyond the declared bound but inside the address space: allowed, as in C and gdb.
    expect(evaluate("ctx.registers[19]").address).toBe(base + 76);
    expect(() => evaluate("ctx.registers[1073741823]")).toThrow(
      `\`ctx.registers[1073741823]\` is outside the 32-bit address space: index 1073741823 of 4-byte elements gives 0x${base.toString(16)} + 0xfffffffc = 0x${(base + 0xfffffffc).toString(16)}`,
    );
    expect(() => evaluate("ctx.registers[0xffffffff]")).toThrow(/outside the 32-bit address space/);
    expect(() => evaluate("a127[-0x200000]")).toThrow(/outside the 32-bit address space: index -2097152 of 4-byte elements gives 0x[0-9a-f]+ - 0x800000 = -0x[0-9a-f]+/);
    expect(() => evaluate("(word_t *)0xfffffffc + 1")).toThrow(/`\(word_t \*\)0xfffffffc \+ 1` is outside the 32-bit address space/);
    expect(evaluate("(word_t *)0xfffffff8 + 1").value).toBe(0xfffffffcn);
    expect(() => evaluate("((word_t *)0xfffffffc)[1]")).toThrow(/outside the 32-bit address space/);
    expect(() => evaluate("((struct user_context *)0xfffffff0)->fpuState")).toThrow(/outside the 32-bit address space: member `fpuState` at offset 76/);
    expect(() => evaluate("(word_t *)4 - 2")).toThrow(/= -0x4/);
  });
});

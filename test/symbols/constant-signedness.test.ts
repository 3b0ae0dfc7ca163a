/**
 * How each kind of DWARF constant is read (DWARF 5, 7.5.5): DW_FORM_data1/2/4/8 are bits whose sign the
 * attribute gives, sdata and implicit_const are signed, udata unsigned. Hand-assembled units cover the
 * cases compilers emit rarely: bounds of a signed basis type, the all-ones upper bound of an unsigned one,
 * a subrange with no basis type, a negative count, enumerators of a 1-byte signed enum, and the location
 * expression stack's generic type.
 */
import { describe, expect, it } from "vitest";
import { DebugInfo } from "../../src/symbols/debug-info.js";
import { evaluateStaticExpression } from "../../src/symbols/dwarf-expr.js";
import { parseAbbrevTable } from "../../src/symbols/abbrev.js";
import { resolveType } from "../../src/symbols/types.js";
import { Bytes, makeElf } from "./dwarf-builder.js";

const TAG = { compile_unit: 0x11, base_type: 0x24, array_type: 0x01, subrange_type: 0x21, variable: 0x34, enumeration_type: 0x04, enumerator: 0x28 };
const AT = { name: 0x03, byte_size: 0x0b, encoding: 0x3e, type: 0x49, count: 0x37, lower_bound: 0x22, upper_bound: 0x2f, const_value: 0x1c, decl_line: 0x3b };
const FORM = { data1: 0x0b, data4: 0x06, sdata: 0x0d, string: 0x08, ref4: 0x13, implicit_const: 0x21 };

function abbrev(b: Bytes, code: number, tag: number, children: boolean, attrs: [number, number, bigint?][]): void {
  b.uleb(code).uleb(tag).u8(children ? 1 : 0);
  for (const [at, form, imp] of attrs) {
    b.uleb(at).uleb(form);
    if (form === FORM.implicit_const) b.sleb(imp!);
  }
  b.u8(0, 0);
}

function buildImage(): Uint8Array {
  const ab = new Bytes();
  abbrev(ab, 1, TAG.compile_unit, true, [[AT.name, FORM.string]]);
  abbrev(ab, 2, TAG.base_type, false, [[AT.name, FORM.string], [AT.byte_size, FORM.data1], [AT.encoding, FORM.data1]]);
  abbrev(ab, 3, TAG.array_type, true, [[AT.type, FORM.ref4]]);
  abbrev(ab, 4, TAG.subrange_type, false, [[AT.type, FORM.ref4], [AT.count, FORM.data1]]);
  abbrev(ab, 5, TAG.subrange_type, false, [[AT.type, FORM.ref4], [AT.lower_bound, FORM.data1], [AT.upper_bound, FORM.data1]]);
  abbrev(ab, 6, TAG.subrange_type, false, [[AT.upper_bound, FORM.data4]]);
  abbrev(ab, 7, TAG.subrange_type, false, [[AT.type, FORM.ref4], [AT.upper_bound, FORM.data4]]);
  abbrev(ab, 8, TAG.subrange_type, false, [[AT.count, FORM.sdata]]);
  abbrev(ab, 9, TAG.variable, false, [[AT.name, FORM.string], [AT.type, FORM.ref4]]);
  abbrev(ab, 10, TAG.enumeration_type, true, [[AT.name, FORM.string], [AT.byte_size, FORM.data1], [AT.type, FORM.ref4]]);
  abbrev(ab, 11, TAG.enumerator, false, [[AT.name, FORM.string], [AT.const_value, FORM.data1]]);
  // A declaration line too large for a double: kept exact as a bigint.
  abbrev(ab, 12, TAG.variable, false, [[AT.name, FORM.string], [AT.type, FORM.ref4], [AT.decl_line, FORM.implicit_const, 1n << 60n]]);
  ab.u8(0);

  const info = new Bytes().u32(0).u16(5).u8(1, 4).u32(0);
  info.uleb(1).str("signs.c");
  const base = (name: string, size: number, encoding: number): number => {
    const at = info.length;
    info.uleb(2).str(name).u8(size, encoding);
    return at;
  };
  const int = base("int", 4, 5);
  const uint = base("unsigned int", 4, 8);
  const schar = base("signed char", 1, 6);
  const array = (name: string, subrange: (b: Bytes) => void): void => {
    const at = info.length;
    info.uleb(3).u32(int);
    subrange(info);
    info.u8(0);
    info.uleb(9).str(name).u32(at);
  };
  array("count255", (b) => b.uleb(4).u32(uint).u8(0xff));
  array("from128", (b) => b.uleb(5).u32(int).u8(0x80).u8(0x81));
  array("fromMinus1", (b) => b.uleb(5).u32(schar).u8(0xff).u8(0x01));
  array("noBasisAllOnes", (b) => b.uleb(6).u32(0xffffffff));
  array("unsignedAllOnes", (b) => b.uleb(7).u32(uint).u32(0xffffffff));
  array("negativeCount", (b) => b.uleb(8).sleb(-1));
  info.uleb(10).str("tiny").u8(1).u32(schar);
  info.uleb(11).str("TINY_MINUS_1").u8(0xff);
  info.uleb(11).str("TINY_127").u8(0x7f);
  info.u8(0);
  info.uleb(12).str("far").u32(int);
  info.u8(0);
  info.patch32(0, info.length - 4);
  return makeElf({ ".debug_info": info.build(), ".debug_abbrev": ab.build() });
}

describe("DWARF constants by attribute", () => {
  const di = DebugInfo.fromElf(buildImage(), { strict: true });
  const dims = (name: string) => {
    const t = resolveType(di.variable(name)!.type);
    if (t.kind !== "array") throw new Error(`${name} is not an array`);
    return { count: t.count, lower: t.lowerBound };
  };

  it("reads DW_AT_count data1 0xff as 255 elements, and a negative sdata count as unknown", () => {
    expect(di.warnings).toEqual([]);
    expect(dims("count255")).toEqual({ count: 255, lower: 0 });
    expect(dims("negativeCount")).toEqual({ count: undefined, lower: 0 });
  });

  it("reads bounds as values of the subrange's basis type", () => {
    // data1 0x80 of a 4-byte int is 128, not -128.
    expect(dims("from128")).toEqual({ count: 2, lower: 128 });
    // data1 0xff of a signed char is -1.
    expect(dims("fromMinus1")).toEqual({ count: 3, lower: -1 });
  });

  it("takes an all-ones upper bound as -1 without a basis type, and modulo an unsigned one: no elements", () => {
    expect(dims("noBasisAllOnes")).toEqual({ count: 0, lower: 0 });
    expect(dims("unsignedAllOnes")).toEqual({ count: 0, lower: 0 });
  });

  it("reads data1 enumerators of a 1-byte signed enum by that type", () => {
    expect(di.enumerator("TINY_MINUS_1")?.value).toBe(-1n);
    expect(di.enumerator("TINY_127")?.value).toBe(127n);
  });

  it("keeps implicit_const values exact beyond 2^53", () => {
    const t = parseAbbrevTable(new Bytes().uleb(1).uleb(0x34).u8(0).uleb(0x3b).uleb(FORM.implicit_const).sleb(-(1n << 60n) - 1n).u8(0, 0).u8(0).build(), 0);
    expect(t.get(1)!.attrs[0].implicitConst).toBe(-(1n << 60n) - 1n);
    expect(di.variable("far")).toBeDefined();
  });

  it("keeps the location stack in the generic type: signed constants as their 32-bit two's complement", () => {
    const unit = { addressSize: 4 } as Parameters<typeof evaluateStaticExpression>[1];
    // DW_OP_const1s -8; DW_OP_lit1; DW_OP_shr: a logical shift of 0xfffffff8.
    expect(evaluateStaticExpression(Uint8Array.from([0x09, 0xf8, 0x31, 0x25]), unit)).toBe(0x7ffffffcn);
    // DW_OP_consts -1; DW_OP_const1u 0x0f; DW_OP_xor.
    expect(evaluateStaticExpression(Uint8Array.from([0x11, 0x7f, 0x08, 0x0f, 0x27]), unit)).toBe(0xfffffff0n);
  });
});

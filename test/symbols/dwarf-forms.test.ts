/**
 * Hand-assembled DWARF exercising attribute forms and encodings that Debian clang 14 and gcc 12 emit
 * rarely or never for i386 (strx2-4, addrx1-4, data16, ref_addr, ref_udata, indirect, implicit_const,
 * rnglistx, DWARF64 units, .debug_ranges base selection), so each decoding path is checked byte for byte.
 */
import { describe, expect, it } from "vitest";
import { DebugInfo } from "../../src/symbols/debug-info.js";
import { parseAbbrevTable } from "../../src/symbols/abbrev.js";
import { ByteReader, DwarfError } from "../../src/symbols/reader.js";
import { resolveType, typeName } from "../../src/symbols/types.js";
import { Bytes, makeElf } from "./dwarf-builder.js";

const F = {
  addr: 0x01, data2: 0x05, data4: 0x06, data8: 0x07, string: 0x08, block1: 0x0a, data1: 0x0b, flag: 0x0c, sdata: 0x0d,
  strp: 0x0e, udata: 0x0f, ref_addr: 0x10, ref1: 0x11, ref2: 0x12, ref4: 0x13, ref8: 0x14, ref_udata: 0x15, indirect: 0x16,
  sec_offset: 0x17, exprloc: 0x18, flag_present: 0x19, data16: 0x1e, line_strp: 0x1f, implicit_const: 0x21, loclistx: 0x22,
  rnglistx: 0x23, strx1: 0x25, strx2: 0x26, strx3: 0x27, strx4: 0x28, addrx1: 0x29, addrx2: 0x2a, addrx3: 0x2b, addrx4: 0x2c,
};

/** Abbreviation: code, tag, children?, [attribute, form, implicit value?]... */
function abbrev(b: Bytes, code: number, tag: number, children: boolean, attrs: [number, number, number?][]): void {
  b.uleb(code).uleb(tag).u8(children ? 1 : 0);
  for (const [at, form, imp] of attrs) {
    b.uleb(at).uleb(form);
    if (form === F.implicit_const) b.sleb(imp!);
  }
  b.u8(0, 0);
}

function buildImage(): Uint8Array {
  // .debug_str: "", then names used through strp/strx.
  const strs = ["cu.c", "int", "gvar", "gvar2", "uint", "color", "cu64.c"];
  const str = new Bytes().u8(0);
  const strOff: number[] = [];
  for (const s of strs) {
    strOff.push(str.length);
    str.str(s);
  }
  const strOffsets = new Bytes().u32(4 + strs.length * 4).u16(5).u16(0);
  for (const o of strOff) strOffsets.u32(o);

  const addrs = [0x1000, 0x3000, 0x1000, 0x1100, 0x1200, 0x1300, 0x1600, 0x1604];
  const addr = new Bytes().u32(4 + addrs.length * 4).u16(5).u8(4, 0);
  for (const a of addrs) addr.u32(a);

  const lineStr = new Bytes().str("/src/dir");

  // .debug_rnglists: header (12 bytes), 2 offsets, then the lists.
  const lists = new Bytes();
  const list0 = lists.length;
  lists.u8(0x04).uleb(0).uleb(0x20); // offset_pair from the CU base 0x1000
  lists.u8(0x03).uleb(3).uleb(0x10); // startx_length addr[3]
  lists.u8(0x01).uleb(4).u8(0x04).uleb(0).uleb(0x10); // base_addressx addr[4], offset_pair
  lists.u8(0x06).u32(0x1300).u32(0x1308); // start_end
  lists.u8(0x00);
  const list1 = lists.length;
  lists.u8(0x05).u32(0x1400).u8(0x04).uleb(0).uleb(4); // base_address, offset_pair
  lists.u8(0x07).u32(0x1500).uleb(4); // start_length
  lists.u8(0x02).uleb(6).uleb(7); // startx_endx
  lists.u8(0x00);
  const rng = new Bytes().u32(8 + 8 + lists.length).u16(5).u8(4, 0).u32(2).u32(8 + list0).u32(8 + list1).bytes(lists.out);

  // .debug_loclists with one (ignored) list so loclistx has something to index.
  const loc = new Bytes().u32(8 + 4 + 1).u16(5).u8(4, 0).u32(1).u32(4).u8(0);

  // Abbreviations of the DWARF 5 unit (table at 0) and the DWARF64 v4 unit (table after it).
  const ab = new Bytes();
  abbrev(ab, 1, 0x11, true, [[0x03, F.strx1], [0x72, F.sec_offset], [0x73, F.sec_offset], [0x74, F.sec_offset], [0x11, F.addr], [0x55, F.rnglistx], [0x1b, F.line_strp], [0x8c, F.sec_offset]]);
  abbrev(ab, 2, 0x24, false, [[0x03, F.strx2], [0x0b, F.data1], [0x3e, F.data1]]);
  abbrev(ab, 3, 0x34, false, [[0x03, F.strx3], [0x49, F.ref_udata], [0x02, F.exprloc], [0x3f, F.flag_present], [0x3b, F.implicit_const, 42]]);
  abbrev(ab, 4, 0x34, false, [[0x03, F.strx4], [0x49, F.ref_addr], [0x02, F.exprloc]]);
  abbrev(ab, 5, 0x13, true, [[0x03, F.string], [0x0b, F.data2]]);
  abbrev(ab, 6, 0x0d, false, [[0x03, F.string], [0x49, F.ref1], [0x38, F.data1]]);
  abbrev(ab, 7, 0x0d, false, [[0x03, F.string], [0x49, F.ref2], [0x38, F.exprloc]]);
  abbrev(ab, 8, 0x04, true, [[0x03, F.strp], [0x0b, F.data1], [0x49, F.ref4]]);
  abbrev(ab, 9, 0x28, false, [[0x03, F.string], [0x1c, F.sdata]]);
  abbrev(ab, 10, 0x2e, false, [[0x03, F.string], [0x11, F.addrx1], [0x12, F.data4]]);
  abbrev(ab, 11, 0x2e, false, [[0x03, F.string], [0x55, F.sec_offset], [0x3f, F.flag]]);
  abbrev(ab, 12, 0x2e, false, [[0x03, F.string], [0x11, F.addrx2], [0x12, F.addr]]);
  abbrev(ab, 13, 0x24, false, [[0x03, F.indirect], [0x0b, F.data1], [0x3e, F.data1]]);
  abbrev(ab, 14, 0x2e, false, [[0x03, F.string], [0x11, F.addrx3], [0x12, F.udata]]);
  abbrev(ab, 15, 0x2e, true, [[0x03, F.string], [0x11, F.addrx4], [0x12, F.data8]]);
  abbrev(ab, 16, 0x0d, false, [[0x03, F.string], [0x49, F.ref4], [0x0d, F.data1], [0x6b, F.data2]]);
  abbrev(ab, 17, 0x34, false, [[0x03, F.string], [0x02, F.loclistx]]);
  abbrev(ab, 18, 0x34, false, [[0x03, F.string], [0x49, F.ref4], [0x1c, F.data16]]);
  ab.u8(0);
  const abbrev64 = ab.length;
  abbrev(ab, 1, 0x11, true, [[0x03, F.strp], [0x11, F.addr], [0x55, F.sec_offset]]);
  abbrev(ab, 2, 0x2e, false, [[0x03, F.string], [0x11, F.addr], [0x12, F.addr]]);
  abbrev(ab, 3, 0x34, false, [[0x03, F.string], [0x49, F.ref8], [0x02, F.block1]]);
  abbrev(ab, 4, 0x24, false, [[0x03, F.string], [0x0b, F.data1], [0x3e, F.data1]]);
  ab.u8(0);

  // Unit 1: DWARF 5, DWARF32.
  const info = new Bytes().u32(0).u16(5).u8(1, 4).u32(0);
  info.uleb(1).u8(0).u32(8).u32(8).u32(12).u32(0x1000).uleb(0).u32(0).u32(12);
  const intOff = info.length;
  info.uleb(2).u16(1).u8(4, 5);
  const uintOff = info.length;
  info.uleb(13).uleb(F.strx4).u32(4).u8(4, 7);
  const pairOff = info.length;
  info.uleb(5).str("pair").u16(12);
  info.uleb(6).str("a").u8(intOff).u8(0);
  info.uleb(7).str("b").u16(uintOff).uleb(2).u8(0x23, 8); // DW_OP_plus_uconst 8
  info.uleb(16).str("bits").u32(uintOff).u8(3).u16(37);
  info.u8(0);
  info.uleb(8).u32(strOff[5]).u8(4).u32(intOff);
  info.uleb(9).str("RED").sleb(-1);
  info.uleb(9).str("BLUE").sleb(300);
  info.u8(0);
  info.uleb(3).u24(2).uleb(intOff).uleb(5).u8(0x03).u32(0x2000);
  info.uleb(4).u32(3).u32(pairOff).uleb(2).u8(0xa1, 1); // DW_OP_addrx 1
  info.uleb(10).str("f1").u8(2).u32(0x20);
  info.uleb(11).str("f2").u32(12 + 8 + list1).u8(1); // absolute: header 12, offsets 8
  info.uleb(12).str("f3").u16(3).u32(0x1110);
  info.uleb(14).str("f4").u24(4).uleb(0x10);
  info.uleb(15).str("f5").u32(5).u64(8);
  info.uleb(17).str("local").uleb(0);
  info.u8(0);
  info.uleb(18).str("big").u32(uintOff).bytes([0x78, 0x56, 0x34, 0x12, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  info.u8(0);
  info.patch32(0, info.length - 4);

  // Unit 2: DWARF 4, DWARF64 (initial length escape 0xffffffff, 8-byte offsets).
  const u2 = info.length;
  info.u32(0xffffffff).u64(0).u16(4).u64(abbrev64).u8(4);
  info.uleb(1).u64(strOff[6]).u32(0).u64(0);
  const u2int = info.length - u2;
  info.uleb(4).str("long").u8(4, 5);
  info.uleb(2).str("g").u32(0x7000).u32(0x7010);
  info.uleb(3).str("v64").u64(u2int).u8(5).u8(0x03).u32(0x5000);
  info.u8(0);
  const len64 = info.length - u2 - 12;
  for (let i = 0; i < 8; i++) info.out[u2 + 4 + i] = i < 4 ? (len64 >> (8 * i)) & 0xff : 0;

  const ranges = new Bytes().u32(0xffffffff).u32(0x7000).u32(0).u32(0x10).u32(0x100).u32(0x110).u32(0).u32(0);

  return makeElf({
    ".debug_info": info.build(), ".debug_abbrev": ab.build(), ".debug_str": str.build(), ".debug_str_offsets": strOffsets.build(),
    ".debug_addr": addr.build(), ".debug_line_str": lineStr.build(), ".debug_rnglists": rng.build(), ".debug_loclists": loc.build(),
    ".debug_ranges": ranges.build(),
  });
}

describe("hand-assembled DWARF forms", () => {
  const di = DebugInfo.fromElf(buildImage(), { strict: true });

  it("reads both units, including the DWARF64 one", () => {
    expect(di.warnings).toEqual([]);
    expect(di.units.map((u) => [u.name, u.version, u.compDir])).toEqual([["cu.c", 5, "/src/dir"], ["cu64.c", 4, ""]]);
  });

  it("decodes strx1-4, indirect and strp names", () => {
    expect(di.findType("int")).toMatchObject({ kind: "base", size: 4, signed: true });
    expect(di.findType("uint")).toMatchObject({ kind: "base", size: 4, signed: false });
    expect(di.variable("gvar")).toMatchObject({ address: 0x2000, external: true, declLine: 42 });
    expect(di.findType("enum color")).toBeDefined();
  });

  it("follows ref_udata, ref1, ref2, ref4, ref8 and ref_addr", () => {
    const g2 = di.variable("gvar2")!;
    expect(g2.address).toBe(0x3000); // DW_OP_addrx 1 through .debug_addr
    expect(typeName(g2.type)).toBe("struct pair");
    expect(typeName(di.variable("v64")!.type)).toBe("long");
    expect(di.variable("v64")!.address).toBe(0x5000);
  });

  it("gets member offsets from constants, expressions and data_bit_offset", () => {
    const pair = resolveType(di.findType("struct pair")!);
    if (pair.kind !== "struct") throw new Error("not a struct");
    expect(pair.size).toBe(12);
    expect(pair.members.map((m) => [m.name, m.offset, m.bitOffset, m.bitSize])).toEqual([
      ["a", 0, undefined, undefined], ["b", 8, undefined, undefined], ["bits", 4, 37, 3],
    ]);
  });

  it("reads signed enumerators (sdata) and the enum's underlying type", () => {
    expect(di.enumerator("RED")?.value).toBe(-1n);
    expect(di.enumerator("BLUE")?.value).toBe(300n);
    expect(di.enumerator("RED")?.type.signed).toBe(true);
  });

  it("computes function ranges from every high_pc form and range-list entry kind", () => {
    const r = (name: string) => di.functionNamed(name)!.ranges.map((x) => [x.low, x.high]);
    expect(r("f1")).toEqual([[0x1000, 0x1020]]);
    expect(r("f2")).toEqual([[0x1400, 0x1404], [0x1500, 0x1504], [0x1600, 0x1604]]);
    expect(r("f3")).toEqual([[0x1100, 0x1110]]);
    expect(r("f4")).toEqual([[0x1200, 0x1210]]);
    expect(r("f5")).toEqual([[0x1300, 0x1308]]);
    expect(r("g")).toEqual([[0x7000, 0x7010]]);
    expect(di.functionNamed("f2")!.entry).toBe(0x1400);
    expect(di.functionAt(0x1602)).toMatchObject({ function: { name: "f2" }, offset: 0x202 });
    expect(di.functionAt(0x1208)).toMatchObject({ function: { name: "f4" }, offset: 8 });
  });

  it("reads the unit's rnglistx ranges and .debug_ranges with a base address selection", () => {
    expect(di.units[0].ranges.map((x) => [x.low, x.high])).toEqual([[0x1000, 0x1020], [0x1100, 0x1110], [0x1200, 0x1210], [0x1300, 0x1308]]);
    expect(di.units[1].ranges.map((x) => [x.low, x.high])).toEqual([[0x7000, 0x7010], [0x7100, 0x7110]]);
  });

  it("keeps data16 constant values and skips loclistx locals", () => {
    const big = di.variable("big")!;
    expect(big.address).toBeUndefined();
    expect(Array.from(big.constValue!.subarray(0, 4))).toEqual([0x78, 0x56, 0x34, 0x12]);
    expect(di.variable("local")).toBeUndefined();
  });

  it("reports no source lines when there is no line table", () => {
    expect(di.hasLines).toBe(false);
    expect(di.linesUnavailableReason).toMatch(/no line tables/);
  });
});

describe("byte reader", () => {
  it("decodes LEB128 as the DWARF standard's examples give them", () => {
    const r = new ByteReader(Uint8Array.from([2, 127, 0x80, 1, 0x81, 1, 0x82, 1, 57 + 0x80, 100, 2, 0x7e, 127 + 0x80, 0, 0x81, 0x7f, 0x80, 1, 0x80, 0x7f]), "t");
    expect([r.uleb(), r.uleb(), r.uleb(), r.uleb(), r.uleb(), r.uleb()]).toEqual([2, 127, 128, 129, 130, 12857]);
    expect([r.sleb(), r.sleb(), r.sleb(), r.sleb(), r.sleb(), r.sleb()]).toEqual([2, -2, 127, -127, 128, -128]);
  });

  it("decodes 64-bit LEB128 as bigints", () => {
    const b = new Bytes().uleb(0xffffffffffffffffn).sleb(-0x8000000000000000n).build();
    const r = new ByteReader(b, "t");
    expect(r.ulebBig()).toBe(0xffffffffffffffffn);
    expect(r.slebBig()).toBe(-0x8000000000000000n);
  });

  it("names the section and offset when a read runs past the end", () => {
    const r = new ByteReader(Uint8Array.from([1, 2]), ".debug_info");
    r.u8();
    expect(() => r.u32()).toThrow(DwarfError);
    expect(() => r.u32()).toThrow(/\.debug_info: read of 4 byte\(s\) at offset 0x1/);
  });

  it("rejects reserved initial lengths", () => {
    const r = new ByteReader(new Bytes().u32(0xfffffff5).build(), ".debug_line");
    expect(() => r.initialLength()).toThrow(/reserved initial length/);
  });

  it("parses abbreviation tables with implicit_const values", () => {
    const b = new Bytes();
    abbrev(b, 1, 0x34, false, [[0x3a, F.implicit_const, -3], [0x03, F.string]]);
    b.u8(0);
    const t = parseAbbrevTable(b.build(), 0);
    expect(t.get(1)).toEqual({ code: 1, tag: 0x34, hasChildren: false, attrs: [{ at: 0x3a, form: F.implicit_const, implicitConst: -3 }, { at: 0x03, form: F.string }] });
  });
});

describe("malformed DWARF", () => {
  it("keeps the ELF symbols and records a warning unless strict", () => {
    const info = new Bytes().u32(100).u16(5).u8(1, 4).u32(0).build(); // claims 100 bytes, has 8
    const image = makeElf({ ".debug_info": info, ".debug_abbrev": Uint8Array.from([0]) }, [
      { name: "main", value: 0x1000, size: 16, info: 0x12, shndx: 1 },
    ]);
    const di = DebugInfo.fromElf(image);
    expect(di.warnings.join("\n")).toMatch(/\.debug_info.*claims 0x64 bytes/);
    expect(() => DebugInfo.fromElf(image, { strict: true })).toThrow(DwarfError);
  });

  it("reports an abbreviation code the table lacks", () => {
    const info = new Bytes().u32(9).u16(5).u8(1, 4).u32(0).uleb(7).build();
    const ab = new Bytes();
    abbrev(ab, 1, 0x11, false, []);
    ab.u8(0);
    const image = makeElf({ ".debug_info": info, ".debug_abbrev": ab.build() });
    expect(() => DebugInfo.fromElf(image, { strict: true })).toThrow(/uses abbreviation 7/);
  });
});

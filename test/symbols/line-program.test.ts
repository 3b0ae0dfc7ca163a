/**
 * Line-number programs assembled by hand, covering the opcodes and header forms compilers for i386 seldom
 * use (const_add_pc, fixed_advance_pc, define_file, set_isa, discriminators, unknown standard opcodes,
 * minimum_instruction_length > 1, DWARF 5 entry formats with MD5), with the rows worked out on paper.
 */
import { describe, expect, it } from "vitest";
import { LineIndex } from "../../src/symbols/line-index.js";
import { parseLineTable, type LineRow } from "../../src/symbols/line.js";
import { DwarfSections } from "../../src/symbols/sections.js";
import { Bytes } from "./dwarf-builder.js";

function v4Table(minInst: number): Uint8Array {
  const hdr = new Bytes().u8(minInst, 1, 1, 0xfb, 14, 14).u8(0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1, 1);
  hdr.str("inc").u8(0);
  hdr.str("main.c").uleb(0).uleb(0).uleb(0).str("x.h").uleb(1).uleb(0).uleb(0).u8(0);
  const p = new Bytes();
  p.u8(0, 5, 2).u32(0x1000); // set_address
  p.u8(3).sleb(9); // advance_line -> 10
  p.u8(1); // copy: A
  p.u8(48); // special: address +2 ops, line +1: B
  p.u8(5).uleb(7); // set_column 7
  p.u8(6); // negate_stmt -> false
  p.u8(8); // const_add_pc: +17 ops
  p.u8(1); // copy: C
  p.u8(9).u16(0x100); // fixed_advance_pc (never scaled)
  p.u8(4).uleb(2); // set_file 2
  p.u8(10, 11, 7); // prologue_end, epilogue_begin, basic_block
  p.u8(12).uleb(3); // set_isa 3
  p.u8(0, 2, 4, 4); // set_discriminator 4
  p.u8(13).uleb(133); // opcode 13: unknown to the reader, one ULEB operand per the header
  p.u8(2).uleb(5); // advance_pc 5 ops
  p.u8(1); // copy: D
  const df = new Bytes().u8(3).str("gen.c").uleb(1).uleb(0).uleb(0);
  p.u8(0).uleb(df.length).bytes(df.out); // define_file -> file 3
  p.u8(4).uleb(3).u8(3).sleb(-1).u8(6).u8(1); // set_file 3, line -1, negate_stmt -> true, copy: E
  p.u8(2).uleb(2).u8(0, 1, 1); // advance_pc 2, end_sequence: F
  p.u8(0, 5, 2).u32(0x2000).u8(1).u8(2).uleb(4).u8(0, 1, 1); // second sequence
  const out = new Bytes().u32(0).u16(4).u32(hdr.length).bytes(hdr.out).bytes(p.out);
  return out.patch32(0, out.length - 4).build();
}

const row = (address: number, file: number, line: number, column: number, more: Partial<LineRow> = {}): LineRow => ({
  address, file, line, column, isStmt: true, basicBlock: false, endSequence: false, prologueEnd: false, epilogueBegin: false, isa: 0, discriminator: 0, opIndex: 0, ...more,
});

describe("DWARF 4 line program", () => {
  const t = parseLineTable(new DwarfSections({ ".debug_line": v4Table(1) }), 0, "/comp");

  it("reads the header's directories and files, resolved against the compilation directory", () => {
    expect(t.version).toBe(4);
    expect(t.files.map((f) => f?.path)).toEqual([undefined, "/comp/main.c", "/comp/inc/x.h", "/comp/inc/gen.c"]);
  });

  it("produces the rows of every opcode", () => {
    expect(t.sequences.map((s) => [s.low, s.high])).toEqual([[0x1000, 0x111a], [0x2000, 0x2004]]);
    expect(t.sequences[0].rows).toEqual([
      row(0x1000, 1, 10, 0),
      row(0x1002, 1, 11, 0),
      row(0x1013, 1, 11, 7, { isStmt: false }),
      row(0x1118, 2, 11, 7, { isStmt: false, prologueEnd: true, epilogueBegin: true, basicBlock: true, isa: 3, discriminator: 4 }),
      row(0x1118, 3, 10, 7, { isa: 3 }),
      row(0x111a, 3, 10, 7, { isa: 3, endSequence: true }),
    ]);
    expect(t.sequences[1].rows[0]).toEqual(row(0x2000, 1, 1, 0));
  });

  it("scales operation advances by minimum_instruction_length, but not fixed_advance_pc", () => {
    const t2 = parseLineTable(new DwarfSections({ ".debug_line": v4Table(2) }), 0, "/comp");
    expect(t2.sequences[0].rows.map((r) => r.address)).toEqual([0x1000, 0x1004, 0x1026, 0x1126 + 10, 0x1130, 0x1134]);
  });

  it("answers lookups in both directions", () => {
    const idx = new LineIndex([t]);
    expect(idx.lookup(0x1001)).toMatchObject({ file: "/comp/main.c", line: 10, address: 0x1000 });
    expect(idx.lookup(0x1118)).toMatchObject({ file: "/comp/inc/gen.c", line: 10 });
    expect(idx.lookup(0x1119)).toMatchObject({ file: "/comp/inc/gen.c", line: 10 });
    expect(idx.lookup(0x111a)).toBeUndefined();
    expect(idx.lookup(0xfff)).toBeUndefined();
    expect(idx.lookup(0x2003)).toMatchObject({ file: "/comp/main.c", line: 1 });
    expect(idx.addressesForLine("main.c", 11)).toEqual([0x1002]); // the other row is not a statement
    expect(idx.addressesForLine("x.h", 11)).toEqual([]);
    expect(idx.addressesForLine("inc/gen.c", 10)).toEqual([0x1118]);
    expect(idx.addressesForLine("/comp/main.c", 10)).toEqual([0x1000]);
    expect(idx.addressesForLine("ain.c", 10)).toEqual([]);
    expect(idx.files()).toEqual(["/comp/inc/gen.c", "/comp/inc/x.h", "/comp/main.c"]);
  });
});

describe("DWARF 5 line table header", () => {
  const lineStr = new Bytes().str("/abs").str("rel").build();
  const md5 = Array.from({ length: 16 }, (_, i) => i);
  const hdr = new Bytes().u8(1, 1, 0, 0xfd, 12, 13).u8(0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1);
  hdr.u8(1).uleb(1).uleb(0x1f).uleb(2).u32(0).u32(5);
  hdr.u8(3).uleb(1).uleb(0x08).uleb(2).uleb(0x0f).uleb(5).uleb(0x1e).uleb(2);
  hdr.str("a.c").uleb(0).bytes(md5).str("b.h").uleb(1).bytes(md5);
  const p = new Bytes().u8(0, 5, 2).u32(0x3000).u8(1).u8(4).uleb(0).u8(54).u8(2).uleb(1).u8(0, 1, 1);
  const tbl = new Bytes().u32(0).u16(5).u8(4, 0).u32(hdr.length).bytes(hdr.out).bytes(p.out);
  tbl.patch32(0, tbl.length - 4);
  const t = parseLineTable(new DwarfSections({ ".debug_line": tbl.build(), ".debug_line_str": lineStr }), 0, "/ignored");

  it("reads entry formats, line_strp directories and MD5s, with 0-based file numbers", () => {
    expect(t.directories).toEqual(["/abs", "rel"]);
    expect(t.files.map((f) => f?.path)).toEqual(["/abs/a.c", "/abs/rel/b.h"]);
    expect(Array.from(t.files[0]!.md5!)).toEqual(md5);
  });

  it("starts with default_is_stmt and file register 1", () => {
    expect(t.sequences[0].rows.map((r) => [r.address, r.file, r.line, r.isStmt])).toEqual([
      [0x3000, 1, 1, false], [0x3003, 0, 3, false], [0x3004, 0, 3, false],
    ]);
  });
});

describe("corrupt line tables", () => {
  it("names the problem", () => {
    expect(() => parseLineTable(new DwarfSections({ ".debug_line": new Bytes().u32(100).u16(4).build() }), 0)).toThrow(/runs past the end/);
    expect(() => parseLineTable(new DwarfSections({ ".debug_line": new Bytes().u32(2).u16(9).build() }), 0)).toThrow(/unsupported version 9/);
    expect(() => parseLineTable(new DwarfSections({}), 0)).toThrow(/no such section/);
  });
});

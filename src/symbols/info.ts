/**
 * .debug_info: unit headers (DWARF 2-5, DWARF32 and DWARF64) and the tree of debugging information
 * entries (DIEs) of each unit, with every attribute form of DWARF 5 decoded. Forms that index pools whose
 * base is given by the unit's root DIE (strx*, addrx*, rnglistx, loclistx) are kept as indices and resolved
 * through the unit afterwards, because the root DIE may use them before the base attribute appears.
 */
import { parseAbbrevTable, type AbbrevTable } from "./abbrev.js";
import { DW_AT, DW_FORM, DW_UT } from "./constants.js";
import { ByteReader, DwarfError } from "./reader.js";
import type { DwarfSections } from "./sections.js";

export type AttrValue =
  | { kind: "address"; value: number }
  | { kind: "addrx"; index: number }
  | { kind: "constant"; value: number | bigint; form: number }
  | { kind: "data16"; bytes: Uint8Array }
  | { kind: "string"; value: string }
  | { kind: "strx"; index: number }
  | { kind: "ref"; offset: number }
  | { kind: "ref_sig8"; signature: bigint }
  | { kind: "block"; bytes: Uint8Array; form: number }
  | { kind: "flag"; value: boolean }
  | { kind: "sec_offset"; value: number }
  | { kind: "loclistx"; index: number }
  | { kind: "rnglistx"; index: number };

export interface Die {
  /** Offset of the DIE in .debug_info. */
  offset: number;
  tag: number;
  attrs: Map<number, AttrValue>;
  children: Die[];
  parent: Die | undefined;
  unit: Unit;
}

export interface UnitHeader {
  offset: number;
  /** Offset just past the unit. */
  end: number;
  version: number;
  unitType: number;
  offsetSize: 4 | 8;
  addressSize: number;
  abbrevOffset: number;
  /** Offset of the unit's first DIE. */
  dieOffset: number;
  typeSignature?: bigint;
  typeOffset?: number;
  dwoId?: bigint;
}

const SIGNED_FORMS = new Set<number>([DW_FORM.sdata, DW_FORM.implicit_const]);

function toNumberIfSafe(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

export class Unit {
  readonly header: UnitHeader;
  readonly sections: DwarfSections;
  readonly root: Die;
  /** Every DIE of the unit by offset. */
  readonly dies = new Map<number, Die>();
  readonly strOffsetsBase: number;
  readonly addrBase: number;
  readonly rnglistsBase: number | undefined;
  readonly loclistsBase: number | undefined;

  constructor(sections: DwarfSections, header: UnitHeader, abbrevs: AbbrevTable) {
    this.header = header;
    this.sections = sections;
    const r = sections.partReader(".debug_info", header.dieOffset, header.end - header.dieOffset);
    const roots = this.parseDies(r, abbrevs);
    if (roots.length === 0) throw new DwarfError(`.debug_info: unit at 0x${header.offset.toString(16)} has no DIE`);
    this.root = roots[0];
    const num = (at: number): number | undefined => {
      const v = this.root.attrs.get(at);
      if (!v) return undefined;
      if (v.kind === "sec_offset") return v.value;
      if (v.kind === "constant" && typeof v.value === "number") return v.value;
      return undefined;
    };
    // Without an explicit base, the pools start right after their DWARF 5 section headers.
    const hdr = header.offsetSize === 8 ? 16 : 8;
    this.strOffsetsBase = num(DW_AT.str_offsets_base) ?? hdr;
    this.addrBase = num(DW_AT.addr_base) ?? num(DW_AT.GNU_addr_base) ?? hdr;
    this.rnglistsBase = num(DW_AT.rnglists_base) ?? num(DW_AT.GNU_ranges_base);
    this.loclistsBase = num(DW_AT.loclists_base);
  }

  get version(): number {
    return this.header.version;
  }

  get addressSize(): number {
    return this.header.addressSize;
  }

  /** The string an attribute holds (DW_FORM_string, strp, line_strp, strx*), or undefined. */
  string(v: AttrValue | undefined): string | undefined {
    if (!v) return undefined;
    if (v.kind === "string") return v.value;
    if (v.kind === "strx") return this.sections.strx(this.strOffsetsBase, v.index, this.header.offsetSize);
    return undefined;
  }

  /** The address an attribute holds (DW_FORM_addr or addrx*), or undefined. */
  address(v: AttrValue | undefined): number | undefined {
    if (!v) return undefined;
    if (v.kind === "address") return v.value;
    if (v.kind === "addrx") return this.addrx(v.index);
    return undefined;
  }

  /** Entry `index` of this unit's .debug_addr table: an address, relocated (DwarfSections.relocate). */
  addrx(index: number): number {
    return this.sections.relocate(this.constx(index));
  }

  /** Entry `index` of this unit's .debug_addr table as it is stored (DW_OP_constx: a constant, never relocated). */
  constx(index: number): number {
    return this.sections.addrx(this.addrBase, index, this.header.addressSize);
  }

  private parseDies(r: ByteReader, abbrevs: AbbrevTable): Die[] {
    const h = this.header;
    const top: Die[] = [];
    const stack: Die[] = [];
    while (r.offset < h.end) {
      const offset = r.offset;
      const code = r.uleb();
      if (code === 0) {
        // End of a sibling chain. Padding zeros after the root's children are harmless.
        stack.pop();
        continue;
      }
      const abbrev = abbrevs.get(code);
      if (!abbrev) {
        throw new DwarfError(`.debug_info: DIE at 0x${offset.toString(16)} uses abbreviation ${code}, which the unit's table (at 0x${h.abbrevOffset.toString(16)}) lacks`);
      }
      const parent = stack[stack.length - 1];
      const die: Die = { offset, tag: abbrev.tag, attrs: new Map(), children: [], parent, unit: this };
      for (const a of abbrev.attrs) {
        die.attrs.set(a.at, a.implicitConst !== undefined ? { kind: "constant", value: a.implicitConst, form: a.form } : this.readForm(r, a.form));
      }
      this.dies.set(offset, die);
      if (parent) parent.children.push(die);
      else top.push(die);
      if (abbrev.hasChildren) stack.push(die);
      // A unit holds one root; anything after it closes is padding.
      if (stack.length === 0 && top.length > 0 && !abbrev.hasChildren && parent === undefined) break;
    }
    return top;
  }

  private readForm(r: ByteReader, form: number): AttrValue {
    const h = this.header;
    switch (form) {
      case DW_FORM.addr: return { kind: "address", value: this.sections.relocate(r.uint(h.addressSize)) };
      case DW_FORM.addrx: case DW_FORM.GNU_addr_index: return { kind: "addrx", index: r.uleb() };
      case DW_FORM.addrx1: return { kind: "addrx", index: r.u8() };
      case DW_FORM.addrx2: return { kind: "addrx", index: r.u16() };
      case DW_FORM.addrx3: return { kind: "addrx", index: r.u24() };
      case DW_FORM.addrx4: return { kind: "addrx", index: r.u32() };
      case DW_FORM.data1: return { kind: "constant", value: r.u8(), form };
      case DW_FORM.data2: return { kind: "constant", value: r.u16(), form };
      case DW_FORM.data4: return { kind: "constant", value: r.u32(), form };
      case DW_FORM.data8: return { kind: "constant", value: toNumberIfSafe(r.u64()), form };
      case DW_FORM.sdata: return { kind: "constant", value: toNumberIfSafe(r.slebBig()), form };
      case DW_FORM.udata: return { kind: "constant", value: toNumberIfSafe(r.ulebBig()), form };
      case DW_FORM.data16: return { kind: "data16", bytes: r.block(16) };
      case DW_FORM.string: return { kind: "string", value: r.cstring() };
      case DW_FORM.strp: return { kind: "string", value: this.sections.str(r.offsetOf(h.offsetSize)) };
      case DW_FORM.line_strp: return { kind: "string", value: this.sections.lineStr(r.offsetOf(h.offsetSize)) };
      case DW_FORM.strx: case DW_FORM.GNU_str_index: return { kind: "strx", index: r.uleb() };
      case DW_FORM.strx1: return { kind: "strx", index: r.u8() };
      case DW_FORM.strx2: return { kind: "strx", index: r.u16() };
      case DW_FORM.strx3: return { kind: "strx", index: r.u24() };
      case DW_FORM.strx4: return { kind: "strx", index: r.u32() };
      case DW_FORM.ref1: return { kind: "ref", offset: h.offset + r.u8() };
      case DW_FORM.ref2: return { kind: "ref", offset: h.offset + r.u16() };
      case DW_FORM.ref4: return { kind: "ref", offset: h.offset + r.u32() };
      case DW_FORM.ref8: return { kind: "ref", offset: h.offset + r.u64n() };
      case DW_FORM.ref_udata: return { kind: "ref", offset: h.offset + r.uleb() };
      // DWARF 2 sized DW_FORM_ref_addr like an address; later versions like an offset.
      case DW_FORM.ref_addr: return { kind: "ref", offset: h.version <= 2 ? r.uint(h.addressSize) : r.offsetOf(h.offsetSize) };
      case DW_FORM.ref_sig8: return { kind: "ref_sig8", signature: r.u64() };
      case DW_FORM.block1: return { kind: "block", bytes: r.block(r.u8()), form };
      case DW_FORM.block2: return { kind: "block", bytes: r.block(r.u16()), form };
      case DW_FORM.block4: return { kind: "block", bytes: r.block(r.u32()), form };
      case DW_FORM.block: case DW_FORM.exprloc: return { kind: "block", bytes: r.block(r.uleb()), form };
      case DW_FORM.flag: return { kind: "flag", value: r.u8() !== 0 };
      case DW_FORM.flag_present: return { kind: "flag", value: true };
      case DW_FORM.sec_offset: return { kind: "sec_offset", value: r.offsetOf(h.offsetSize) };
      case DW_FORM.loclistx: return { kind: "loclistx", index: r.uleb() };
      case DW_FORM.rnglistx: return { kind: "rnglistx", index: r.uleb() };
      case DW_FORM.indirect: return this.readForm(r, r.uleb());
      // References into a supplementary or alternate file: skipped over, kept as opaque offsets.
      case DW_FORM.ref_sup4: case DW_FORM.strp_sup: case DW_FORM.GNU_ref_alt: case DW_FORM.GNU_strp_alt:
        return { kind: "sec_offset", value: form === DW_FORM.ref_sup4 ? r.u32() : r.offsetOf(h.offsetSize) };
      case DW_FORM.ref_sup8: return { kind: "sec_offset", value: r.u64n() };
      default:
        throw new DwarfError(`.debug_info: unknown attribute form 0x${form.toString(16)} in the unit at 0x${h.offset.toString(16)}`);
    }
  }
}

/** Reads the header of the unit starting at `offset` of .debug_info. */
export function parseUnitHeader(r: ByteReader): UnitHeader {
  const offset = r.offset;
  const { length, offsetSize } = r.initialLength();
  const end = r.offset + length;
  if (end > r.length) {
    throw new DwarfError(`.debug_info: unit at 0x${offset.toString(16)} claims 0x${length.toString(16)} bytes but the section ends at 0x${r.length.toString(16)}`);
  }
  const version = r.u16();
  if (version < 2 || version > 5) throw new DwarfError(`.debug_info: unit at 0x${offset.toString(16)} has unsupported DWARF version ${version}`);
  let unitType: number = DW_UT.compile;
  let addressSize: number;
  let abbrevOffset: number;
  const header: Partial<UnitHeader> = {};
  if (version >= 5) {
    unitType = r.u8();
    addressSize = r.u8();
    abbrevOffset = r.offsetOf(offsetSize);
    if (unitType === DW_UT.skeleton || unitType === DW_UT.split_compile) header.dwoId = r.u64();
    else if (unitType === DW_UT.type || unitType === DW_UT.split_type) {
      header.typeSignature = r.u64();
      header.typeOffset = offset + r.offsetOf(offsetSize);
    }
  } else {
    abbrevOffset = r.offsetOf(offsetSize);
    addressSize = r.u8();
  }
  if (addressSize !== 4 && addressSize !== 8 && addressSize !== 2) {
    throw new DwarfError(`.debug_info: unit at 0x${offset.toString(16)} has address size ${addressSize}`);
  }
  return { ...header, offset, end, version, unitType, offsetSize, addressSize, abbrevOffset, dieOffset: r.offset };
}

/** Every unit of .debug_info, parsed. */
export function parseUnits(sections: DwarfSections): Unit[] {
  const info = sections.get(".debug_info");
  const abbrevCache = new Map<number, AbbrevTable>();
  const units: Unit[] = [];
  const r = sections.reader(".debug_info");
  while (r.offset < info.length) {
    const unit = parseUnitAt(sections, r.offset, abbrevCache);
    units.push(unit);
    r.offset = unit.header.end;
  }
  return units;
}

/** The unit starting at `offset` of .debug_info, parsed (abbreviation tables shared through `abbrevCache`). */
export function parseUnitAt(sections: DwarfSections, offset: number, abbrevCache: Map<number, AbbrevTable>): Unit {
  // The header's fields end within 40 bytes of its start; then the unit's own bytes are all it needs
  // (a section read lazily reads only those: see DwarfSections.partReader).
  const header = parseUnitHeader(sections.partReader(".debug_info", offset, 64));
  sections.partReader(".debug_info", offset, header.end - offset);
  let abbrevs = abbrevCache.get(header.abbrevOffset);
  if (!abbrevs) {
    abbrevs = parseAbbrevTable(sections.get(".debug_abbrev"), header.abbrevOffset);
    abbrevCache.set(header.abbrevOffset, abbrevs);
  }
  return new Unit(sections, header, abbrevs);
}

/** True when the constant came from a form that carries its sign (sdata, implicit_const). */
export function isSignedForm(form: number): boolean {
  return SIGNED_FORMS.has(form);
}

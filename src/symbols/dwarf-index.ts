/**
 * An index of a large image's DWARF (a distribution kernel's vmlinux holds 150 MB of .debug_info and
 * millions of DIEs, far too many to build as objects): which compilation unit defines each name, and
 * which unit's code and data cover each address. DebugInfo then parses only the units a question needs
 * (see DebugInfo.fromElf's `index` option).
 *
 * Built by one pass over .debug_info that decodes only the attributes it keeps (names, declarations,
 * addresses) and skips every other value by its form, jumping over function bodies by DW_AT_sibling
 * when the compiler wrote it; plus .debug_aranges for code ranges. Its JSON form is cached on disk
 * (dwarf-index-cache.ts) so the pass runs once per image.
 */
import { posix } from "node:path";
import { parseAbbrevTable, type AbbrevTable } from "./abbrev.js";
import { DW_AT, DW_FORM, DW_OP, DW_TAG } from "./constants.js";
import { parseUnitHeader, type UnitHeader } from "./info.js";
import { parseLineTable, type LineFile } from "./line.js";
import { ByteReader, DwarfError } from "./reader.js";
import type { DwarfSections } from "./sections.js";

/** The format of the index (bump when what is indexed changes, so cached copies are rebuilt). */
export const DWARF_INDEX_VERSION = 3;

/** At most this many units are kept for one name (statics of the same name in many files). */
const UNITS_PER_NAME = 8;

export interface DwarfIndexData {
  version: number;
  /** Offsets of every unit in .debug_info, ascending. */
  units: number[];
  /** Variables with storage and functions with code: the units defining them (external definitions first). */
  definitions: Record<string, number[]>;
  /** Variables only declared (extern, no storage in any unit; e.g. a linker-script alias such as `jiffies`): the first unit declaring one. */
  declarations: Record<string, number>;
  /** Types by C name (`struct task_struct`, `u64`): the first unit with a complete definition. */
  types: Record<string, number>;
  /** Enumerators by name: the first unit defining one. */
  enumerators: Record<string, number>;
  /** Code and data ranges as flat [low, high, unit] triples, ascending by low. */
  ranges: number[];
  /** Statically placed variables as flat [address, unit] pairs, ascending by address. */
  variables: number[];
  /** Source files by base name: the units whose line table names one (a header: every unit including it). */
  lineFiles: Record<string, number[]>;
}

/** Where names and addresses are defined, and which units to parse for them. */
export class DwarfIndex {
  private constructor(readonly data: DwarfIndexData) {}

  static build(sections: DwarfSections): DwarfIndex {
    return new DwarfIndex(buildIndex(sections));
  }

  /** The index as read back from its JSON form; null when it is of another version or malformed. */
  static fromJson(text: string): DwarfIndex | null {
    try {
      const d = JSON.parse(text) as DwarfIndexData;
      if (d.version !== DWARF_INDEX_VERSION || !Array.isArray(d.units) || !Array.isArray(d.ranges) || !Array.isArray(d.variables) || typeof d.lineFiles !== "object" || d.lineFiles === null) return null;
      return new DwarfIndex(d);
    } catch {
      return null;
    }
  }

  toJson(): string {
    return JSON.stringify(this.data);
  }

  /** Units defining the variable or function `name` (storage or code of their own). */
  definitionUnits(name: string): number[] {
    return own(this.data.definitions, name) ?? [];
  }

  /** Units defining the variable or function `name`, and the first one declaring it. */
  unitsForName(name: string): number[] {
    const defs = this.definitionUnits(name);
    const decl = own(this.data.declarations, name);
    return decl === undefined ? defs : [...defs, decl];
  }

  unitForType(name: string): number | undefined {
    return own(this.data.types, name);
  }

  unitForEnumerator(name: string): number | undefined {
    return own(this.data.enumerators, name);
  }

  /** Units whose code or data covers `address`. */
  unitsAt(address: number): number[] {
    const r = this.data.ranges;
    const out: number[] = [];
    // Ranges are sorted by start; a bounded walk back finds every one that may still cover the address.
    const lo = countAtOrBelow(r, 3, address);
    for (let i = lo - 1; i >= 0 && i >= lo - 64; i--) {
      if (address < r[i * 3 + 1] && !out.includes(r[i * 3 + 2])) out.push(r[i * 3 + 2]);
    }
    return out;
  }

  /** The unit of the variable placed at or nearest below `address` (the one whose storage may hold it). */
  unitOfVariableBelow(address: number): number | undefined {
    const v = this.data.variables;
    const lo = countAtOrBelow(v, 2, address);
    return lo > 0 ? v[(lo - 1) * 2 + 1] : undefined;
  }

  /** Units whose line table may name `file` (a path or a bare name): those naming a file of its base name. */
  unitsForFile(file: string): number[] {
    return own(this.data.lineFiles, posix.basename(file)) ?? [];
  }

  /** The offset of the unit holding .debug_info offset `offset`. */
  unitContaining(offset: number): number | undefined {
    const u = this.data.units;
    const lo = countAtOrBelow(u, 1, offset);
    return lo > 0 ? u[lo - 1] : undefined;
  }
}

/** How many records of `stride` numbers in `flat` (ascending by their first number) start at or below `key`. */
function countAtOrBelow(flat: readonly number[], stride: number, key: number): number {
  let lo = 0;
  let hi = flat.length / stride;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (flat[mid * stride] <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function own<T>(record: Record<string, T>, key: string): T | undefined {
  return Object.prototype.hasOwnProperty.call(record, key) ? record[key] : undefined;
}

/** A DIE's attributes the index keeps, as the scan decodes them. */
interface Scanned {
  name: string | undefined;
  /** DW_AT_specification / DW_AT_abstract_origin target (a unit-relative reference made absolute). */
  origin: number | undefined;
  declaration: boolean;
  external: boolean;
  lowPc: number | undefined;
  highPc: number | undefined;
  highIsLength: boolean;
  address: number | undefined;
  sibling: number | undefined;
  /** The raw value of the last strx-form or str_offsets_base attribute read (resolved by the caller). */
  scratch: number;
  /** DW_AT_low_pc / DW_AT_high_pc (an address) / DW_OP_addrx of the location, as .debug_addr indices. */
  lowPcIndex: number | undefined;
  highPcIndex: number | undefined;
  addressIndex: number | undefined;
  /** DW_AT_addr_base (read on the unit's root). */
  addrBase: number | undefined;
  /** DW_AT_stmt_list (read on the unit's root): its line table's offset in .debug_line. */
  stmtList: number | undefined;
}

function buildIndex(sections: DwarfSections): DwarfIndexData {
  const info = sections.get(".debug_info");
  const abbrevSection = sections.get(".debug_abbrev");
  const abbrevCache = new Map<number, AbbrevTable>();
  const units: number[] = [];
  const definitions = new Map<string, { external: number[]; other: number[] }>();
  const declarations = new Map<string, number>();
  const types = new Map<string, number>();
  const enumerators = new Map<string, number>();
  const ranges: [number, number, number][] = [];
  const variables: [number, number][] = [];
  const covered = new Set<number>();
  const lineFiles = new Map<string, number[]>();
  for (const [low, high, unit] of readAranges(sections)) {
    ranges.push([low, high, unit]);
    covered.add(unit);
  }
  const define = (name: string, unit: number, external: boolean) => {
    let d = definitions.get(name);
    if (!d) definitions.set(name, (d = { external: [], other: [] }));
    const list = external ? d.external : d.other;
    if (list[list.length - 1] !== unit && d.external.length + d.other.length < UNITS_PER_NAME) list.push(unit);
  };

  const r = new ByteReader(info, ".debug_info");
  while (r.offset < info.length) {
    const header = parseUnitHeader(r);
    units.push(header.offset);
    let abbrevs = abbrevCache.get(header.abbrevOffset);
    if (!abbrevs) {
      abbrevs = parseAbbrevTable(abbrevSection, header.abbrevOffset);
      abbrevCache.set(header.abbrevOffset, abbrevs);
    }
    const unitRanges: [number, number][] = [];
    scanUnit(sections, r, header, abbrevs, {
      variable(name, address, declaration, external) {
        if (address !== undefined) {
          define(name, header.offset, external);
          variables.push([address, header.offset]);
          unitRanges.push([address, address + 1]);
        } else if (declaration && !declarations.has(name)) {
          declarations.set(name, header.offset);
        }
      },
      func(name, low, high, external) {
        define(name, header.offset, external);
        if (low !== undefined && high !== undefined && high > low) unitRanges.push([low, high]);
      },
      type(key) {
        if (!types.has(key)) types.set(key, header.offset);
      },
      enumerator(name) {
        if (!enumerators.has(name)) enumerators.set(name, header.offset);
      },
      lineTable(offset) {
        // The header alone: which files the unit's rows may name.
        let files: readonly (LineFile | undefined)[];
        try {
          files = parseLineTable(sections, offset, "", false).files;
        } catch (e) {
          if (e instanceof DwarfError) return;
          throw e;
        }
        for (const f of files) {
          if (f === undefined) continue;
          const key = posix.basename(f.name);
          let list = lineFiles.get(key);
          if (list === undefined) lineFiles.set(key, (list = []));
          if (list[list.length - 1] !== header.offset) list.push(header.offset);
        }
      },
    });
    // A unit .debug_aranges leaves out: its ranges from its functions' own addresses.
    if (!covered.has(header.offset)) for (const [low, high] of unitRanges) ranges.push([low, high, header.offset]);
    r.offset = header.end;
  }
  ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  variables.sort((a, b) => a[0] - b[0]);
  const defs: Record<string, number[]> = {};
  for (const [name, d] of definitions) defs[name] = [...d.external, ...d.other];
  return {
    version: DWARF_INDEX_VERSION,
    units,
    definitions: defs,
    declarations: Object.fromEntries(declarations),
    types: Object.fromEntries(types),
    enumerators: Object.fromEntries(enumerators),
    ranges: ranges.flat(),
    variables: variables.flat(),
    lineFiles: Object.fromEntries(lineFiles),
  };
}

interface ScanSink {
  variable(name: string, address: number | undefined, declaration: boolean, external: boolean): void;
  func(name: string, low: number | undefined, high: number | undefined, external: boolean): void;
  type(key: string): void;
  enumerator(name: string): void;
  /** The unit's line table, at this offset of .debug_line. */
  lineTable(offset: number): void;
}

const TYPE_KEY_PREFIX = new Map<number, string>([
  [DW_TAG.structure_type, "struct "], [DW_TAG.union_type, "union "], [DW_TAG.enumeration_type, "enum "],
  [DW_TAG.typedef, ""], [DW_TAG.base_type, ""],
]);

/**
 * Walks one unit's DIEs: the root's children (globals, functions, types) and the enumerators of its
 * enums. Deeper DIEs are skipped, by DW_AT_sibling when present. Names given through
 * DW_AT_specification or DW_AT_abstract_origin (a definition after a declaration; the out-of-line copy
 * of an inline function) are resolved within the unit once it is read.
 */
function scanUnit(sections: DwarfSections, r: ByteReader, h: UnitHeader, abbrevs: AbbrevTable, sink: ScanSink): void {
  const namesAt = new Map<number, string>();
  const pending: { origin: number; tag: number; d: Scanned }[] = [];
  const d: Scanned = { name: undefined, origin: undefined, declaration: false, external: false, lowPc: undefined, highPc: undefined, highIsLength: false, address: undefined, sibling: undefined, scratch: 0,
    lowPcIndex: undefined, highPcIndex: undefined, addressIndex: undefined, addrBase: undefined, stmtList: undefined };
  let depth = 0;
  let strOffsetsBase = h.offsetSize === 8 ? 16 : 8;
  let addrBase = h.offsetSize === 8 ? 16 : 8;
  /** Tag of the depth-1 DIE whose children are being read (enumerators are kept only inside an enum). */
  let parentTag = 0;
  r.offset = h.dieOffset;
  while (r.offset < h.end) {
    const offset = r.offset;
    const code = r.uleb();
    if (code === 0) {
      depth--;
      if (depth <= 0) break;
      continue;
    }
    const abbrev = abbrevs.get(code);
    if (!abbrev) throw new DwarfError(`.debug_info: DIE at 0x${offset.toString(16)} uses abbreviation ${code}, which the unit's table lacks`);
    d.name = undefined; d.origin = undefined; d.declaration = false; d.external = false;
    d.lowPc = undefined; d.highPc = undefined; d.highIsLength = false; d.address = undefined; d.sibling = undefined;
    d.lowPcIndex = undefined; d.highPcIndex = undefined; d.addressIndex = undefined;
    let nameStrx: number | undefined;
    for (const a of abbrev.attrs) {
      if (a.implicitConst !== undefined) continue;
      readAttr(r, h, a.at, a.form, d, sections);
      if (a.at === DW_AT.name && (a.form === DW_FORM.strx || a.form === DW_FORM.strx1 || a.form === DW_FORM.strx2 || a.form === DW_FORM.strx3 || a.form === DW_FORM.strx4 || a.form === DW_FORM.GNU_str_index)) {
        nameStrx = d.scratch;
      }
      if (depth === 0 && a.at === DW_AT.str_offsets_base) strOffsetsBase = d.scratch;
    }
    if (nameStrx !== undefined) d.name = sections.strx(strOffsetsBase, nameStrx, h.offsetSize);
    if (depth === 0 && d.addrBase !== undefined) addrBase = d.addrBase;
    if (depth === 0 && d.stmtList !== undefined) sink.lineTable(d.stmtList);
    // Addresses by .debug_addr index (DWARF 5 as clang writes it).
    if (d.lowPcIndex !== undefined) d.lowPc = sections.addrx(addrBase, d.lowPcIndex, h.addressSize);
    if (d.highPcIndex !== undefined) d.highPc = sections.addrx(addrBase, d.highPcIndex, h.addressSize);
    if (d.addressIndex !== undefined) d.address = sections.addrx(addrBase, d.addressIndex, h.addressSize);
    const tag = abbrev.tag;
    if ((depth === 1 && (tag === DW_TAG.variable || tag === DW_TAG.subprogram)) || (depth > 1 && tag === DW_TAG.variable && d.address !== undefined)) {
      // Globals and functions; deeper, function-scope statics, when the walk goes into a function (a
      // compiler that writes no DW_AT_sibling; otherwise variable(name, scope) loads the function's unit).
      if (depth === 1 && d.name !== undefined) namesAt.set(offset, d.name);
      if (d.name === undefined && d.origin !== undefined) pending.push({ origin: d.origin, tag, d: { ...d } });
      else if (d.name !== undefined) report(tag, d.name, d, sink);
    } else if (depth === 1) {
      const prefix = TYPE_KEY_PREFIX.get(tag);
      if (prefix !== undefined && d.name !== undefined && !d.declaration) sink.type(prefix + d.name);
    } else if (depth === 2 && parentTag === DW_TAG.enumeration_type && tag === DW_TAG.enumerator && d.name !== undefined) {
      sink.enumerator(d.name);
    }
    if (abbrev.hasChildren) {
      if (depth === 1 && tag !== DW_TAG.enumeration_type && d.sibling !== undefined && d.sibling > offset && d.sibling <= h.end) {
        // Nothing the index keeps lives inside a function or struct: jump to the next sibling.
        r.offset = d.sibling;
        continue;
      }
      if (depth === 1) parentTag = tag;
      depth++;
    } else if (depth === 0) {
      break;
    }
  }
  for (const p of pending) {
    const name = namesAt.get(p.origin);
    if (name !== undefined) report(p.tag, name, p.d, sink);
  }
}

function report(tag: number, name: string, d: Scanned, sink: ScanSink): void {
  if (tag === DW_TAG.variable) {
    sink.variable(name, d.address, d.declaration, d.external);
  } else if (d.lowPc !== undefined && d.lowPc !== 0) {
    sink.func(name, d.lowPc, d.highPc === undefined ? undefined : d.highIsLength ? d.lowPc + d.highPc : d.highPc, d.external);
  }
}

/** Decodes or skips one attribute value, keeping in `d` what the index needs. */
function readAttr(r: ByteReader, h: UnitHeader, at: number, form: number, d: Scanned, sections: DwarfSections): void {
  switch (form) {
    case DW_FORM.addr: {
      const v = r.uint(h.addressSize);
      if (at === DW_AT.low_pc) d.lowPc = v;
      else if (at === DW_AT.high_pc) { d.highPc = v; d.highIsLength = false; }
      return;
    }
    case DW_FORM.data8: r.skip(8); return;
    case DW_FORM.data1: case DW_FORM.data2: case DW_FORM.data4: {
      const v = form === DW_FORM.data1 ? r.u8() : form === DW_FORM.data2 ? r.u16() : r.u32();
      if (at === DW_AT.high_pc) { d.highPc = v; d.highIsLength = true; }
      else if (at === DW_AT.stmt_list) d.stmtList = v;
      return;
    }
    case DW_FORM.udata: {
      const v = r.ulebBig();
      if (at === DW_AT.high_pc) { d.highPc = Number(v); d.highIsLength = true; }
      return;
    }
    case DW_FORM.sdata: r.slebBig(); return;
    case DW_FORM.string: {
      const s = r.cstring();
      if (at === DW_AT.name) d.name = s;
      return;
    }
    case DW_FORM.strp: case DW_FORM.line_strp: {
      const o = r.offsetOf(h.offsetSize);
      if (at === DW_AT.name) d.name = form === DW_FORM.strp ? sections.str(o) : sections.lineStr(o);
      return;
    }
    case DW_FORM.strx: case DW_FORM.GNU_str_index: d.scratch = r.uleb(); return;
    case DW_FORM.strx1: d.scratch = r.u8(); return;
    case DW_FORM.strx2: d.scratch = r.u16(); return;
    case DW_FORM.strx3: d.scratch = r.u24(); return;
    case DW_FORM.strx4: d.scratch = r.u32(); return;
    case DW_FORM.ref1: case DW_FORM.ref2: case DW_FORM.ref4: case DW_FORM.ref8: case DW_FORM.ref_udata: {
      const v = h.offset + (form === DW_FORM.ref1 ? r.u8() : form === DW_FORM.ref2 ? r.u16() : form === DW_FORM.ref4 ? r.u32() : form === DW_FORM.ref8 ? r.u64n() : r.uleb());
      if (at === DW_AT.sibling) d.sibling = v;
      else if (at === DW_AT.specification || at === DW_AT.abstract_origin) d.origin = v;
      return;
    }
    case DW_FORM.ref_addr: r.skip(h.version <= 2 ? h.addressSize : h.offsetSize); return;
    case DW_FORM.ref_sig8: case DW_FORM.ref_sup8: r.skip(8); return;
    case DW_FORM.block1: case DW_FORM.block2: case DW_FORM.block4: case DW_FORM.block: case DW_FORM.exprloc: {
      const n = form === DW_FORM.block1 ? r.u8() : form === DW_FORM.block2 ? r.u16() : form === DW_FORM.block4 ? r.u32() : r.uleb();
      const end = r.offset + n;
      // A static address: the whole expression is DW_OP_addr or DW_OP_addrx.
      if (at === DW_AT.location && n > 1) {
        const op = r.u8();
        if (op === DW_OP.addr && n === 1 + h.addressSize) d.address = r.uint(h.addressSize);
        else if (op === DW_OP.addrx) {
          const i = r.uleb();
          if (r.offset === end) d.addressIndex = i;
        }
      }
      r.offset = end;
      return;
    }
    case DW_FORM.flag: {
      const v = r.u8() !== 0;
      if (at === DW_AT.declaration) d.declaration = v;
      else if (at === DW_AT.external) d.external = v;
      return;
    }
    case DW_FORM.flag_present:
      if (at === DW_AT.declaration) d.declaration = true;
      else if (at === DW_AT.external) d.external = true;
      return;
    case DW_FORM.sec_offset: {
      const v = r.offsetOf(h.offsetSize);
      if (at === DW_AT.str_offsets_base) d.scratch = v;
      else if (at === DW_AT.addr_base || at === DW_AT.GNU_addr_base) d.addrBase = v;
      else if (at === DW_AT.stmt_list) d.stmtList = v;
      return;
    }
    case DW_FORM.loclistx: case DW_FORM.rnglistx: r.uleb(); return;
    case DW_FORM.addrx: case DW_FORM.GNU_addr_index: case DW_FORM.addrx1: case DW_FORM.addrx2: case DW_FORM.addrx3: case DW_FORM.addrx4: {
      const i = form === DW_FORM.addrx1 ? r.u8() : form === DW_FORM.addrx2 ? r.u16() : form === DW_FORM.addrx3 ? r.u24() : form === DW_FORM.addrx4 ? r.u32() : r.uleb();
      if (at === DW_AT.low_pc) d.lowPcIndex = i;
      else if (at === DW_AT.high_pc) { d.highPcIndex = i; d.highIsLength = false; }
      return;
    }
    case DW_FORM.data16: r.skip(16); return;
    case DW_FORM.ref_sup4: r.skip(4); return;
    case DW_FORM.strp_sup: case DW_FORM.GNU_ref_alt: case DW_FORM.GNU_strp_alt: r.skip(h.offsetSize); return;
    case DW_FORM.indirect: readAttr(r, h, at, r.uleb(), d, sections); return;
    default:
      throw new DwarfError(`.debug_info: unknown attribute form 0x${form.toString(16)} in the unit at 0x${h.offset.toString(16)}`);
  }
}

/** .debug_aranges: [low, high, unit offset] for every address range a unit declares. */
function readAranges(sections: DwarfSections): [number, number, number][] {
  if (!sections.has(".debug_aranges")) return [];
  const bytes = sections.get(".debug_aranges");
  const r = new ByteReader(bytes, ".debug_aranges");
  const out: [number, number, number][] = [];
  while (r.offset < bytes.length) {
    const start = r.offset;
    const { length, offsetSize } = r.initialLength();
    const end = r.offset + length;
    r.u16(); // version 2
    const unit = r.offsetOf(offsetSize);
    const addressSize = r.u8();
    r.u8(); // segment selector size
    // Tuples start at a multiple of twice the address size from the set's start.
    const tuple = addressSize * 2;
    r.offset = start + Math.ceil((r.offset - start) / tuple) * tuple;
    while (r.offset + tuple <= end) {
      const low = r.uint(addressSize);
      const size = r.uint(addressSize);
      if (low === 0 && size === 0) break;
      if (low !== 0 && size > 0) out.push([low, low + size, unit]);
    }
    r.offset = end;
  }
  return out;
}

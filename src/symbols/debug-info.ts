/**
 * DebugInfo: everything the debugger asks of an ELF image's symbols, loaded once from its bytes.
 * Compile units, global and static variables (address, type, unit), types by name, enumerators,
 * functions with their address ranges, address -> function+offset, address <-> source line, and
 * address -> the variable and field it falls in. ELF symbols back up DWARF, so an image built without -g
 * still answers by symbol names and says that source lines are unavailable.
 */
import { Elf32, PT_LOAD } from "../elf/elf32.js";
import { DW_AT, DW_TAG } from "./constants.js";
import { staticAddress } from "./dwarf-expr.js";
import { readLocationList, type LocationList } from "./location-lists.js";
import { CallFrames } from "./call-frames.js";
import { ElfSymbolIndex } from "./elf-symbols.js";
import { parseUnitAt, parseUnits, type AttrValue, type Die, type Unit } from "./info.js";
import type { AbbrevTable } from "./abbrev.js";
import type { DwarfIndex } from "./dwarf-index.js";
import { parseLineTable, type LineTable } from "./line.js";
import { LineIndex, type SourceLocation } from "./line-index.js";
import { dieRanges, type AddressRange } from "./ranges.js";

/** ELF symbol type of a label with no type (a System.map's data symbols become these). */
const STT_NOTYPE = 0;
const STT_OBJECT = 1;
/** The section index of an undefined ELF symbol. */
const SHN_UNDEF = 0;
import { DwarfSections } from "./sections.js";
import { constantNumber, TypeBuilder } from "./type-builder.js";
import { resolveType, sizeOf, type CType, type EnumType, type FunctionType } from "./types.js";

export interface CompileUnit {
  /** Offset of the unit in .debug_info. */
  offset: number;
  version: number;
  name: string;
  compDir: string;
  producer: string;
  /** DW_LANG_* code. */
  language: number | undefined;
  ranges: AddressRange[];
  lineTable: LineTable | undefined;
}

export interface Variable {
  name: string;
  /** Static address; undefined when the compiler optimised the variable away or it lives elsewhere. */
  address: number | undefined;
  type: CType;
  size: number;
  /** True for globals visible to other units (DW_AT_external). */
  external: boolean;
  /** Name of the function holding a function-scope static. */
  scope: string | undefined;
  cu: CompileUnit | undefined;
  declFile: string | undefined;
  declLine: number | undefined;
  /** True when the variable is known only from the ELF symbol table: its type is then unknown. */
  elfOnly: boolean;
  /**
   * True for a typeless data label (STT_NOTYPE, as a System.map's symbols become): its size is only
   * the distance to the next symbol, which names addresses inside it but says nothing of the object.
   */
  extentGuessed?: boolean;
  /** The value, when the compiler folded the variable into a constant (DW_AT_const_value) and gave it no storage. */
  constValue?: Uint8Array;
}

/** A function's local variable or parameter: where it lives depends on the code address. */
export interface LocalVariable {
  name: string;
  parameter: boolean;
  type: CType;
  size: number;
  /**
   * Its location: one expression for the whole scope, or a list by code address; undefined when the
   * compiler kept no location at all (optimised out, or folded into `constValue`).
   */
  location: { expression: Uint8Array } | { list: LocationList } | undefined;
  constValue?: Uint8Array;
  /** The code it is in scope for: its innermost enclosing block, inlined body or function. */
  scope: AddressRange[];
  /** Nesting depth of that scope (0: the function's own): a deeper variable hides an outer one of the same name. */
  depth: number;
  /** The function that declares it (for a variable of an inlined body, the inlined function). */
  functionName: string;
  /** DW_AT_frame_base of the out-of-line function whose code holds the scope (for DW_OP_fbreg). */
  frameBase: Uint8Array | undefined;
  unit: Unit;
  declFile: string | undefined;
  declLine: number | undefined;
}

export interface FunctionInfo {
  name: string;
  /** Entry address (DW_AT_low_pc or DW_AT_entry_pc, or the ELF symbol's value). */
  entry: number;
  ranges: AddressRange[];
  external: boolean;
  cu: CompileUnit | undefined;
  declFile: string | undefined;
  declLine: number | undefined;
  type: FunctionType | undefined;
  elfOnly: boolean;
}

export interface FunctionAt {
  function: FunctionInfo;
  /** Address minus the function's entry. */
  offset: number;
}

export interface EnumeratorInfo {
  name: string;
  value: bigint;
  type: EnumType;
}

export interface DataLocation {
  variable: Variable;
  /** C path to the innermost named part: `arr[17]`, `initThread.tcbArch.tcbContext.registers[9]`. */
  path: string;
  /** Byte offset of the address inside the part the path names. */
  offset: number;
  /** Type of the part the path names. */
  type: CType;
}

export interface LoadOptions {
  /** Throw on malformed DWARF instead of recording a warning and keeping the ELF symbols. */
  strict?: boolean;
  /**
   * Parse only the units questions need, found through this index of the image's DWARF (large images
   * such as a distribution's vmlinux; see dwarf-index.ts). Lookups by name, address, type and
   * enumerator load the units the index names on first use; the lists (variables(), functions(),
   * units, lines.files()) hold what has been loaded so far. A variable DWARF only declares (a
   * linker-script alias such as Linux's `jiffies`) takes its address from the ELF symbol and its type
   * from the declaration.
   */
  index?: DwarfIndex;
  /**
   * How far the image ran from the addresses it was linked at (a Linux kernel the decompressor moved:
   * KASLR). Every address the symbols, DWARF and call frames hold is moved by it, so answers name the
   * addresses that ran; the index, built from the file, stays as linked and is asked at linked addresses.
   */
  slide?: number;
}

const TYPE_TAGS = new Set<number>([
  DW_TAG.base_type, DW_TAG.typedef, DW_TAG.structure_type, DW_TAG.union_type, DW_TAG.enumeration_type, 0x02,
]);

const ELF_BYTE: CType = { kind: "base", name: "unsigned char", size: 1, encoding: 8, signed: false, float: false, bool: false, char: true };

/** Addresses lld and other linkers write for code they discarded (--gc-sections): not real locations. */
function isTombstone(address: number): boolean {
  return address === 0 || address >= 0xfffffffe;
}

/** The bytes of a DW_AT_const_value, laid out as the variable's storage would hold them. */
function constBytes(v: AttrValue, size: number, unit: Unit): Uint8Array | undefined {
  if (v.kind === "block" || v.kind === "data16") return v.bytes.slice();
  if (v.kind === "string" || v.kind === "strx") {
    const text = new TextEncoder().encode(unit.string(v) ?? "");
    const out = new Uint8Array(Math.max(size, text.length + 1));
    out.set(text);
    return out;
  }
  if (v.kind === "constant") {
    const n = Math.max(size, 1);
    const out = new Uint8Array(n);
    let x = BigInt.asUintN(n * 8, BigInt(v.value));
    for (let i = 0; i < n; i++, x >>= 8n) out[i] = Number(x & 0xffn);
    return out;
  }
  return undefined;
}

export class DebugInfo {
  readonly elf: Elf32;
  readonly units: CompileUnit[] = [];
  /** Problems met while reading DWARF; the parts that loaded are still usable. */
  readonly warnings: string[] = [];
  readonly elfSymbols: ElfSymbolIndex;
  /** LoadOptions.slide: added to every linked address; 0 for an image that ran where it was linked. */
  readonly slide: number;
  readonly lines: LineIndex;

  private readonly rawUnits: Unit[] = [];
  private readonly builder: TypeBuilder;
  private readonly allVariables: Variable[] = [];
  private readonly locals: LocalVariable[] = [];
  private readonly variablesByName = new Map<string, Variable[]>();
  private readonly allFunctions: FunctionInfo[] = [];
  private readonly functionsByName = new Map<string, FunctionInfo[]>();
  /** Function ranges sorted by start, for address lookups. */
  private readonly functionRanges: { low: number; high: number; fn: FunctionInfo }[] = [];
  private readonly typeDies = new Map<string, Die[]>();
  private readonly enumeratorsByName = new Map<string, EnumeratorInfo[]>();
  private readonly signatures = new Map<bigint, Die>();
  private readonly unitInfo = new Map<Unit, CompileUnit>();
  private sortedVariables: Variable[] | undefined;
  private readonly strict: boolean;
  private readonly elfFunctions = new Map<string, FunctionInfo>();
  /** With LoadOptions.index: the index, the sections units are parsed from, and the units parsed so far. */
  private readonly lazy: { index: DwarfIndex; sections: DwarfSections; loaded: Set<number>; abbrevs: Map<number, AbbrevTable> } | undefined;

  private constructor(elf: Elf32, options: LoadOptions) {
    this.elf = elf;
    this.strict = options.strict ?? false;
    this.slide = options.slide ?? 0;
    this.elfSymbols = new ElfSymbolIndex(elf, this.slide);
    this.builder = new TypeBuilder((o) => this.dieAt(o), (s) => this.signatures.get(s));
    const sections = DwarfSections.fromElf(elf, this.slide);
    // ET_REL: addresses in an object file are section-relative until linked (its REL relocations are
    // not applied here), so code and data addresses would be misleading.
    if (elf.type === 1) this.warnings.push("relocatable object file (not linked): its addresses are section-relative");
    const tables: LineTable[] = [];
    if (options.index !== undefined) {
      this.lazy = { index: options.index, sections, loaded: new Set(), abbrevs: new Map() };
    } else if (sections.has(".debug_info")) {
      try {
        this.rawUnits.push(...parseUnits(sections));
      } catch (e) {
        if (options.strict) throw e;
        this.warnings.push(`DWARF .debug_info unreadable: ${(e as Error).message}`);
      }
    }
    for (const u of this.rawUnits) {
      if (u.header.typeSignature !== undefined && u.header.typeOffset !== undefined) {
        const d = u.dies.get(u.header.typeOffset);
        if (d) this.signatures.set(u.header.typeSignature, d);
      }
    }
    for (const u of this.rawUnits) {
      try {
        const cu = this.loadUnit(u);
        if (cu.lineTable) tables.push(cu.lineTable);
      } catch (e) {
        if (options.strict) throw e;
        this.warnings.push(`DWARF unit at 0x${u.header.offset.toString(16)} unreadable: ${(e as Error).message}`);
      }
    }
    this.lines = new LineIndex(tables.map((t) => ({ ...t, sequences: t.sequences.filter((s) => !isTombstone(s.low)) })));
    this.functionRanges.sort((a, b) => a.low - b.low || a.high - b.high);
    this.addElfOnlySymbols();
  }

  /** Loads symbols and DWARF from an ELF image (bytes or an already parsed Elf32). */
  static fromElf(image: Uint8Array | Elf32, options: LoadOptions = {}): DebugInfo {
    return new DebugInfo(image instanceof Elf32 ? image : new Elf32(image), options);
  }

  /**
   * Up to `n` bytes of the image's file contents as loaded at virtual `address` (where it ran: the slide
   * applied), from its PT_LOAD segments; empty where no segment's file part is (.bss, outside the image).
   */
  imageBytes(address: number, n: number): Uint8Array {
    const at = (address - this.slide) >>> 0;
    for (const ph of this.elf.programHeaders) {
      if (ph.type !== PT_LOAD || at < ph.vaddr >>> 0 || at >= (ph.vaddr >>> 0) + ph.filesz) continue;
      const off = ph.offset + (at - (ph.vaddr >>> 0));
      return this.elf.bytes.subarray(off, Math.min(off + n, ph.offset + ph.filesz));
    }
    return new Uint8Array(0);
  }

  /** True when the image carries DWARF debugging information. */
  get hasDwarf(): boolean {
    return this.lazy !== undefined ? this.lazy.index.data.units.length > 0 : this.rawUnits.length > 0;
  }

  /** True when address <-> source line lookups can answer. */
  get hasLines(): boolean {
    return this.lazy !== undefined ? this.hasDwarf && this.lazy.sections.has(".debug_line") : !this.lines.empty;
  }

  /** Why source lines are missing, or undefined when they are available. */
  get linesUnavailableReason(): string | undefined {
    if (this.hasLines) return undefined;
    if (!this.hasDwarf) return "the ELF has no DWARF debug information (built without -g, or stripped): source lines are unavailable";
    return "the ELF's DWARF has no line tables: source lines are unavailable";
  }

  // ---- variables -------------------------------------------------------------------------------

  /** Every global and static variable (DWARF, plus ELF data symbols DWARF does not describe). */
  variables(): readonly Variable[] {
    return this.allVariables;
  }

  /**
   * The variable `name` names: an external global first, then a static with an address (the first unit's
   * when several units have one). `scope` picks a function-scope static (`schedule::rounds`).
   */
  variable(name: string, scope?: string): Variable | undefined {
    this.needName(name);
    // A function-scope static is not in the index (it skips function bodies): it is in its function's unit.
    if (scope !== undefined) this.needName(scope);
    const list = this.variablesByName.get(name);
    if (!list) return undefined;
    const candidates = scope === undefined ? list : list.filter((v) => v.scope === scope);
    const rank = (v: Variable): number =>
      (v.address !== undefined ? 8 : 0) + (v.elfOnly ? 0 : 4) + (v.scope === undefined || scope !== undefined ? 2 : 0) + (v.external ? 1 : 0);
    let best: Variable | undefined;
    for (const v of candidates) if (!best || rank(v) > rank(best)) best = v;
    return best;
  }

  /** Every variable called `name` (statics of several units, function-scope statics). */
  variablesNamed(name: string): readonly Variable[] {
    this.needName(name);
    return this.variablesByName.get(name) ?? [];
  }

  /** The variable whose storage holds `address`, with the C path of the field or element there. */
  dataAt(address: number): DataLocation | undefined {
    if (this.lazy !== undefined) this.need([this.lazy.index.unitOfVariableBelow(address - this.slide)]);
    if (!this.sortedVariables) {
      this.sortedVariables = this.allVariables.filter((v) => v.address !== undefined && !isTombstone(v.address)).sort((a, b) => a.address! - b.address! || b.size - a.size);
    }
    const list = this.sortedVariables;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (list[mid].address! <= address) lo = mid + 1;
      else hi = mid;
    }
    // Among the variables covering the address (a bounded look back), prefer one DWARF describes, then one
    // with a size, then the innermost: an ELF label such as `stack_top` can share an address with a variable.
    let best: Variable | undefined;
    const rank = (v: Variable): number => (v.elfOnly ? 0 : 2) + (v.size > 0 ? 1 : 0);
    for (let i = lo - 1; i >= 0 && i >= lo - 64; i--) {
      const v = list[i];
      if (address >= v.address! + Math.max(v.size, 1)) continue;
      if (!best || rank(v) > rank(best)) best = v;
    }
    return best ? this.describePath(best, address - best.address!) : undefined;
  }

  private describePath(v: Variable, offset: number): DataLocation {
    // A symbol without a type is bytes: `sym+8` says more than `sym[8]`.
    if (v.elfOnly) return { variable: v, path: v.name, offset, type: v.type };
    const inner = this.pathWithin(v.type, offset);
    return { variable: v, path: v.name + inner.path, offset: inner.offset, type: inner.type };
  }

  /**
   * The member/element path to byte `offset` of an object of type `type`: `.tcbArch.tcbContext.registers[9]`
   * for offset 0x224 of a tcb_t. Stops at scalars, bitfields and offsets no member covers; `offset` in the
   * result is what remains inside the part the path names.
   */
  pathWithin(type: CType, offset: number): { path: string; offset: number; type: CType } {
    let path = "";
    let off = offset;
    for (let depth = 0; depth < 64; depth++) {
      const r = this.complete(resolveType(type));
      if (r.kind === "array") {
        const es = sizeOf(r.element);
        if (es === 0 || off < 0 || (r.count !== undefined && off >= es * r.count)) break;
        const i = Math.floor(off / es);
        path += `[${i + r.lowerBound}]`;
        off -= i * es;
        type = r.element;
      } else if (r.kind === "struct" || r.kind === "union" || r.kind === "class") {
        // The member containing the offset (for a union, the first one that does).
        const m = r.members.find((mm) => mm.bitSize === undefined && off >= mm.offset && off < mm.offset + Math.max(sizeOf(mm.type), 1))
          ?? r.members.find((mm) => mm.bitSize !== undefined && off * 8 + 7 >= mm.bitOffset! && off * 8 < mm.bitOffset! + mm.bitSize!);
        if (!m) break;
        if (m.name !== undefined) path += `.${m.name}`;
        off -= m.offset;
        type = m.type;
        if (m.bitSize !== undefined) break;
      } else {
        break;
      }
    }
    return { path, offset: off, type };
  }

  // ---- functions -------------------------------------------------------------------------------

  /** Every function with code (DWARF subprograms, plus ELF code symbols DWARF does not cover). */
  functions(): readonly FunctionInfo[] {
    return this.allFunctions;
  }

  /** The function called `name` (an external one first). */
  functionNamed(name: string): FunctionInfo | undefined {
    this.needName(name);
    const list = this.functionsByName.get(name);
    if (!list || list.length === 0) return undefined;
    return list.find((f) => f.external && !f.elfOnly) ?? list.find((f) => !f.elfOnly) ?? list[0];
  }

  /** The function whose code holds `address` (DWARF first, then ELF symbols), and the offset from its entry. */
  functionAt(address: number): FunctionAt | undefined {
    this.needAddress(address);
    const fr = this.functionRanges;
    let lo = 0;
    let hi = fr.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (fr[mid].low <= address) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo - 1; i >= 0 && i >= lo - 16; i--) {
      const r = fr[i];
      if (address < r.high) {
        const fn = r.fn;
        // A cold part placed before its function's entry is named by the ELF symbol of that part if any.
        if (address < fn.entry) {
          const s = this.elfSymbols.codeAt(address);
          if (s && s.symbol.size > 0) return { function: this.elfFunction(s.symbol.name, s.symbol.value, s.symbol.size, s.symbol.bind), offset: s.offset };
        }
        return { function: fn, offset: address - fn.entry };
      }
    }
    const s = this.elfSymbols.codeAt(address);
    if (!s) return undefined;
    return { function: this.elfFunction(s.symbol.name, s.symbol.value, s.symbol.size, s.symbol.bind), offset: s.offset };
  }

  /** `function+0xoff` for code, `variable+0xoff` for data, else the bare hexadecimal address. */
  symbolize(address: number): string {
    return this.symbolName(address) ?? "0x" + address.toString(16);
  }

  /** As symbolize(), but undefined for an address no symbol covers. */
  symbolName(address: number): string | undefined {
    const hex = (n: number): string => "0x" + n.toString(16);
    const f = this.functionAt(address);
    if (f) return f.offset === 0 ? f.function.name : f.offset > 0 ? `${f.function.name}+${hex(f.offset)}` : `${f.function.name}-${hex(-f.offset)}`;
    const d = this.dataAt(address);
    if (d) {
      const off = address - d.variable.address!;
      return off === 0 ? d.variable.name : `${d.variable.name}+${hex(off)}`;
    }
    const s = this.elfSymbols.dataAt(address);
    if (s) return s.offset === 0 ? s.symbol.name : `${s.symbol.name}+${hex(s.offset)}`;
    return undefined;
  }

  // ---- source lines ----------------------------------------------------------------------------

  /** file:line:column of the code at `address`, or undefined (see linesUnavailableReason). */
  sourceAt(address: number): SourceLocation | undefined {
    this.needAddress(address);
    return this.lines.lookup(address);
  }

  /** Addresses of the is_stmt rows of `file`:`line` (file may be a bare name or a path suffix). */
  addressesForLine(file: string, line: number): number[] {
    if (this.lazy !== undefined) this.need(this.lazy.index.unitsForFile(file));
    return this.lines.addressesForLine(file, line);
  }

  // ---- types and enumerators -------------------------------------------------------------------

  /**
   * A type by its C name: a typedef or base type (`tcb_t`, `unsigned int`), or a tagged type
   * (`struct tcb`, `union cap_word`, `enum _register`). Complete definitions win over declarations.
   */
  findType(name: string): CType | undefined {
    const key = name.trim().replace(/\s+/g, " ");
    if (this.lazy !== undefined) this.need([this.lazy.index.unitForType(key)]);
    const dies = this.typeDies.get(key);
    if (!dies) return undefined;
    let fallback: CType | undefined;
    for (const d of dies) {
      const t = this.builder.build(d);
      if (!d.attrs.has(DW_AT.declaration)) return t;
      fallback ??= t;
    }
    return fallback;
  }

  /** Every name findType() knows. */
  typeNames(): string[] {
    return [...this.typeDies.keys()].sort();
  }

  /** Replaces a forward-declared struct/union/enum by its definition from any unit, when one exists. */
  complete<T extends CType>(t: T): T | CType {
    if ((t.kind === "struct" || t.kind === "union" || t.kind === "class" || t.kind === "enum") && t.declaration && t.name) {
      const full = this.findType(`${t.kind} ${t.name}`);
      if (full) return full;
    }
    return t;
  }

  /** The enumerator called `name` (e.g. `Error` -> 9). When units disagree, the first definition wins. */
  enumerator(name: string): EnumeratorInfo | undefined {
    if (this.lazy !== undefined) this.need([this.lazy.index.unitForEnumerator(name)]);
    return this.enumeratorsByName.get(name)?.[0];
  }

  /** Every enumerator called `name`, one per distinct enum type that declares it. */
  enumeratorsNamed(name: string): readonly EnumeratorInfo[] {
    if (this.lazy !== undefined) this.need([this.lazy.index.unitForEnumerator(name)]);
    return this.enumeratorsByName.get(name) ?? [];
  }

  /** The type a DIE describes (for callers walking DIEs themselves). */
  typeOfDie(die: Die): CType {
    return this.builder.build(die);
  }

  /** The DIE at an offset of .debug_info. */
  dieAt(offset: number): Die | undefined {
    if (this.lazy !== undefined) this.need([this.lazy.index.unitContaining(offset)]);
    const units = this.rawUnits;
    let lo = 0;
    let hi = units.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (units[mid].header.offset <= offset) lo = mid + 1;
      else hi = mid;
    }
    return lo > 0 ? units[lo - 1].dies.get(offset) : undefined;
  }

  // ---- loading ---------------------------------------------------------------------------------

  /** Lazy loading: the units defining or declaring `name`. */
  private needName(name: string): void {
    if (this.lazy !== undefined) this.need(this.lazy.index.unitsForName(name));
  }

  /** Lazy loading: the units whose code or data covers `address`. */
  private needAddress(address: number): void {
    if (this.lazy !== undefined) this.need(this.lazy.index.unitsAt(address - this.slide));
  }

  /** Lazy loading: parses and loads the units at these .debug_info offsets that are not loaded yet. */
  private need(offsets: Iterable<number | undefined>): void {
    const lazy = this.lazy;
    if (lazy === undefined) return;
    const tables: LineTable[] = [];
    let added = false;
    for (const offset of offsets) {
      if (offset === undefined || lazy.loaded.has(offset)) continue;
      // Marked first: loading a unit resolves references, which may ask for this unit again.
      lazy.loaded.add(offset);
      let u: Unit;
      try {
        u = parseUnitAt(lazy.sections, offset, lazy.abbrevs);
      } catch (e) {
        if (this.strict) throw e;
        this.warnings.push(`DWARF unit at 0x${offset.toString(16)} unreadable: ${(e as Error).message}`);
        continue;
      }
      const units = this.rawUnits;
      let at = units.length;
      while (at > 0 && units[at - 1].header.offset > offset) at--;
      units.splice(at, 0, u);
      try {
        const cu = this.loadUnit(u);
        if (cu.lineTable) tables.push({ ...cu.lineTable, sequences: cu.lineTable.sequences.filter((s) => !isTombstone(s.low)) });
      } catch (e) {
        if (this.strict) throw e;
        this.warnings.push(`DWARF unit at 0x${offset.toString(16)} unreadable: ${(e as Error).message}`);
      }
      added = true;
    }
    if (!added) return;
    this.lines.add(tables);
    this.functionRanges.sort((a, b) => a.low - b.low || a.high - b.high);
  }

  private loadUnit(u: Unit): CompileUnit {
    const root = u.root;
    const a = root.attrs;
    const compDir = u.string(a.get(DW_AT.comp_dir)) ?? "";
    const stmt = a.get(DW_AT.stmt_list);
    let lineTable: LineTable | undefined;
    const stmtOffset = stmt?.kind === "sec_offset" ? stmt.value : constantNumber(stmt);
    if (stmtOffset !== undefined && u.sections.has(".debug_line")) {
      try {
        lineTable = parseLineTable(u.sections, stmtOffset, compDir);
      } catch (e) {
        if (this.strict) throw e;
        this.warnings.push(`line table at 0x${stmtOffset.toString(16)} unreadable: ${(e as Error).message}`);
      }
    }
    const cu: CompileUnit = {
      offset: u.header.offset,
      version: u.version,
      name: u.string(a.get(DW_AT.name)) ?? "",
      compDir,
      producer: u.string(a.get(DW_AT.producer)) ?? "",
      language: constantNumber(a.get(DW_AT.language)),
      ranges: root.tag === DW_TAG.compile_unit || root.tag === DW_TAG.partial_unit ? dieRanges(root) : [],
      lineTable,
    };
    this.unitInfo.set(u, cu);
    if (root.tag === DW_TAG.compile_unit || root.tag === DW_TAG.partial_unit || root.tag === DW_TAG.type_unit) {
      this.units.push(cu);
      this.walk(root, cu, undefined);
    }
    return cu;
  }

  private walk(die: Die, cu: CompileUnit, scope: string | undefined): void {
    for (const c of die.children) {
      switch (c.tag) {
        case DW_TAG.variable:
          this.addVariable(c, cu, scope);
          break;
        case DW_TAG.subprogram: {
          const fn = this.addFunction(c, cu);
          this.walk(c, cu, fn?.name ?? this.attrString(c, DW_AT.name));
          // Out-of-line code: its locals and parameters, and those of what was inlined into it.
          if (fn !== undefined) {
            const fb = c.attrs.get(DW_AT.frame_base);
            this.collectLocals(c, fn.ranges, 0, fn.name, fb?.kind === "block" ? fb.bytes : undefined);
          }
          break;
        }
        case DW_TAG.lexical_block:
        case DW_TAG.inlined_subroutine:
          this.walk(c, cu, scope);
          break;
        default:
          if (TYPE_TAGS.has(c.tag)) this.addType(c);
          if (c.tag === DW_TAG.enumeration_type) this.addEnumerators(c);
          // Types nested in structs or functions are still types with names.
          if (c.children.length > 0 && c.tag !== DW_TAG.enumeration_type) this.walk(c, cu, scope);
      }
    }
  }

  /** An attribute of a DIE, following DW_AT_specification and DW_AT_abstract_origin. */
  private attr(die: Die, at: number): { value: AttrValue; die: Die } | undefined {
    let cur: Die | undefined = die;
    for (let guard = 0; cur && guard < 8; guard++) {
      const v = cur.attrs.get(at);
      if (v) return { value: v, die: cur };
      const next: AttrValue | undefined = cur.attrs.get(DW_AT.specification) ?? cur.attrs.get(DW_AT.abstract_origin);
      cur = next ? this.builder.refDie(next, cur) : undefined;
    }
    return undefined;
  }

  private attrString(die: Die, at: number): string | undefined {
    const a = this.attr(die, at);
    return a ? a.die.unit.string(a.value) : undefined;
  }

  private declPosition(die: Die): { declFile: string | undefined; declLine: number | undefined } {
    const f = this.attr(die, DW_AT.decl_file);
    const l = this.attr(die, DW_AT.decl_line);
    let declFile: string | undefined;
    if (f) {
      const idx = constantNumber(f.value);
      const cu = this.unitInfo.get(f.die.unit);
      if (idx !== undefined && cu?.lineTable) declFile = cu.lineTable.files[idx]?.path;
    }
    return { declFile, declLine: l ? constantNumber(l.value) : undefined };
  }

  private addVariable(die: Die, cu: CompileUnit, scope: string | undefined): void {
    const loc = die.attrs.get(DW_AT.location);
    let address = loc && loc.kind === "block" ? staticAddress(loc.bytes, die.unit) : undefined;
    // Only variables with storage of their own: a declaration (extern) is described where it is defined.
    if (!loc || loc.kind !== "block") {
      const declared = die.attrs.has(DW_AT.declaration);
      if (declared && scope === undefined && this.lazy !== undefined) {
        // Loaded lazily, the declaration is looked at only when no unit defines the name (an alias the
        // linker made, such as Linux's jiffies): the ELF symbol gives its address.
        address = this.declaredAddress(die);
        if (address === undefined) return;
      } else if (declared || scope !== undefined) {
        return;
      }
    }
    // Locals on the stack or in registers are not globals.
    if (scope !== undefined && address === undefined) return;
    const name = this.attrString(die, DW_AT.name);
    if (!name) return;
    const typeAttr = this.attr(die, DW_AT.type);
    const type = typeAttr ? this.builder.typeOf(typeAttr.die) : this.builder.typeOf(die);
    const ext = this.attr(die, DW_AT.external);
    const size = sizeOf(this.completeDeep(type));
    const v: Variable = {
      name, address, type, size,
      external: ext?.value.kind === "flag" && ext.value.value,
      scope, cu, ...this.declPosition(die), elfOnly: false,
    };
    const cv = this.attr(die, DW_AT.const_value);
    if (address === undefined && cv) {
      const bytes = constBytes(cv.value, size, die.unit);
      if (bytes) v.constValue = bytes;
    }
    this.pushVariable(v);
  }

  /** The ELF data symbol's address for a declared-only variable that no unit defines, else undefined. */
  private declaredAddress(die: Die): number | undefined {
    const name = this.attrString(die, DW_AT.name);
    if (name === undefined || this.lazy === undefined || this.lazy.index.definitionUnits(name).length > 0) return undefined;
    if (this.variablesByName.get(name)?.some((v) => !v.elfOnly)) return undefined;
    const s = this.elfSymbols.named(name).find((x) => x.shndx !== SHN_UNDEF && (x.type === STT_OBJECT || x.type === STT_NOTYPE));
    return s?.value;
  }

  /**
   * The locals and parameters declared directly in `die` (a function, block or inlined body covering
   * `scope`), then those of the blocks and inlined bodies nested in it.
   */
  private collectLocals(die: Die, scope: AddressRange[], depth: number, functionName: string, frameBase: Uint8Array | undefined): void {
    for (const c of die.children) {
      if (c.tag === DW_TAG.variable || c.tag === DW_TAG.formal_parameter) {
        this.addLocal(c, scope, depth, functionName, frameBase);
      } else if (c.tag === DW_TAG.lexical_block || c.tag === DW_TAG.inlined_subroutine) {
        let ranges: AddressRange[];
        try {
          ranges = dieRanges(c).filter((r) => !isTombstone(r.low));
        } catch (e) {
          if (this.strict) throw e;
          this.warnings.push(`scope at 0x${c.offset.toString(16)}: ${(e as Error).message}`);
          continue;
        }
        if (ranges.length === 0) continue;
        const name = c.tag === DW_TAG.inlined_subroutine ? this.attrString(c, DW_AT.name) ?? functionName : functionName;
        this.collectLocals(c, ranges, depth + 1, name, frameBase);
      }
    }
  }

  private addLocal(die: Die, scope: AddressRange[], depth: number, functionName: string, frameBase: Uint8Array | undefined): void {
    const name = this.attrString(die, DW_AT.name);
    if (!name) return;
    const loc = die.attrs.get(DW_AT.location);
    // A function-scope static has a fixed address: it is a global (see addVariable).
    if (loc?.kind === "block" && staticAddress(loc.bytes, die.unit) !== undefined) return;
    let location: LocalVariable["location"];
    try {
      location = loc === undefined ? undefined : loc.kind === "block" ? { expression: loc.bytes } : { list: readLocationList(die.unit, loc) };
    } catch (e) {
      if (this.strict) throw e;
      this.warnings.push(`location of \`${name}\` at 0x${die.offset.toString(16)}: ${(e as Error).message}`);
      location = undefined;
    }
    const typeAttr = this.attr(die, DW_AT.type);
    const type = typeAttr ? this.builder.typeOf(typeAttr.die) : this.builder.typeOf(die);
    const size = sizeOf(this.completeDeep(type));
    const local: LocalVariable = {
      name, parameter: die.tag === DW_TAG.formal_parameter, type, size, location, scope, depth, functionName, frameBase,
      unit: die.unit, ...this.declPosition(die),
    };
    const cv = this.attr(die, DW_AT.const_value);
    if (cv) {
      const bytes = constBytes(cv.value, size, die.unit);
      if (bytes) local.constValue = bytes;
    }
    this.locals.push(local);
  }

  private frames: CallFrames | undefined;

  /** The image's call frame information (.debug_frame and .eh_frame), read on first use. */
  get callFrames(): CallFrames {
    this.frames ??= new CallFrames(this.elf, this.slide);
    return this.frames;
  }

  /** Every local and parameter of out-of-line code (and of what was inlined into it). */
  allLocals(): readonly LocalVariable[] {
    return this.locals;
  }

  /** The locals and parameters in scope at code address `pc`, innermost scope first. */
  localsAt(pc: number): LocalVariable[] {
    this.needAddress(pc);
    const inScope = this.locals.filter((l) => l.scope.some((r) => pc >= r.low && pc < r.high));
    return inScope.sort((a, b) => b.depth - a.depth);
  }

  /** The local or parameter called `name` that code at `pc` sees (the innermost one), if any. */
  localAt(name: string, pc: number): LocalVariable | undefined {
    return this.localsAt(pc).find((l) => l.name === name);
  }

  /** Size-relevant completion: a variable of a forward-declared struct type takes the definition's size. */
  private completeDeep(t: CType): CType {
    return this.complete(resolveType(t));
  }

  private pushVariable(v: Variable): void {
    this.allVariables.push(v);
    const list = this.variablesByName.get(v.name);
    if (list) list.push(v);
    else this.variablesByName.set(v.name, [v]);
    this.sortedVariables = undefined;
  }

  private addFunction(die: Die, cu: CompileUnit): FunctionInfo | undefined {
    const name = this.attrString(die, DW_AT.name) ?? this.attrString(die, DW_AT.linkage_name);
    if (!name) return undefined;
    const ranges = dieRanges(die).filter((r) => !isTombstone(r.low));
    if (ranges.length === 0) return undefined;
    const u = die.unit;
    const entry = u.address(die.attrs.get(DW_AT.low_pc)) ?? u.address(die.attrs.get(DW_AT.entry_pc))
      ?? this.elfSymbols.named(name).find((s) => ranges.some((r) => s.value >= r.low && s.value < r.high))?.value
      ?? Math.min(...ranges.map((r) => r.low));
    const ext = this.attr(die, DW_AT.external);
    const typeDie = this.attr(die, DW_AT.type)?.die ?? die;
    const retType = this.builder.typeOf(typeDie);
    // Parameters are children of the DIE that carries the prototype (the abstract origin, if any).
    const protoDie = this.attr(die, DW_AT.prototyped)?.die ?? die;
    const params = protoDie.children.filter((c) => c.tag === DW_TAG.formal_parameter).map((c) => this.builder.typeOf(c));
    const fn: FunctionInfo = {
      name, entry, ranges, external: ext?.value.kind === "flag" && ext.value.value, cu, ...this.declPosition(die),
      type: {
        kind: "function", returnType: retType, params, prototyped: protoDie.attrs.has(DW_AT.prototyped),
        variadic: protoDie.children.some((c) => c.tag === DW_TAG.unspecified_parameters),
      },
      elfOnly: false,
    };
    this.pushFunction(fn);
    for (const r of ranges) this.functionRanges.push({ low: r.low, high: r.high, fn });
    return fn;
  }

  private pushFunction(fn: FunctionInfo): void {
    this.allFunctions.push(fn);
    const list = this.functionsByName.get(fn.name);
    if (list) list.push(fn);
    else this.functionsByName.set(fn.name, [fn]);
  }

  private addType(die: Die): void {
    const name = die.unit.string(die.attrs.get(DW_AT.name));
    if (!name) return;
    const key = die.tag === DW_TAG.structure_type ? `struct ${name}`
      : die.tag === DW_TAG.union_type ? `union ${name}`
      : die.tag === DW_TAG.enumeration_type ? `enum ${name}`
      : die.tag === 0x02 ? `class ${name}`
      : name;
    const list = this.typeDies.get(key);
    if (list) list.push(die);
    else this.typeDies.set(key, [die]);
  }

  private addEnumerators(die: Die): void {
    const t = this.builder.build(die);
    if (t.kind !== "enum") return;
    for (const e of t.enumerators) {
      const list = this.enumeratorsByName.get(e.name) ?? [];
      // The same header seen by several units gives equal enums: keep one per distinct value.
      if (!list.some((x) => x.value === e.value && x.type.name === t.name)) list.push({ name: e.name, value: e.value, type: t });
      this.enumeratorsByName.set(e.name, list);
    }
  }

  private elfFunction(name: string, value: number, size: number, bind: number): FunctionInfo {
    const key = `${name}@${value}`;
    let f = this.elfFunctions.get(key);
    if (!f) {
      f = {
        name, entry: value, ranges: size > 0 ? [{ low: value, high: value + size }] : [], external: bind !== 0,
        cu: undefined, declFile: undefined, declLine: undefined, type: undefined, elfOnly: true,
      };
      this.elfFunctions.set(key, f);
    }
    return f;
  }

  /** ELF symbols DWARF says nothing about become typeless variables and functions (assembly, no -g). */
  private addElfOnlySymbols(): void {
    for (const s of this.elfSymbols.codeSymbols()) {
      if (this.functionsByName.get(s.name)?.some((f) => f.entry === s.value)) continue;
      this.pushFunction(this.elfFunction(s.name, s.value, s.size, s.bind));
    }
    const known = new Set(this.allVariables.filter((v) => v.address !== undefined).map((v) => v.address));
    for (const s of this.elfSymbols.dataSymbols()) {
      // DWARF already describes this storage, with a type (gcc renames function statics: rounds.0).
      if (known.has(s.value)) continue;
      this.pushVariable({
        // Without DWARF the type is unknown: bytes, so `sym+off` counts bytes and casts take its address.
        name: s.name, address: s.value, type: { kind: "array", element: ELF_BYTE, count: s.size || undefined, lowerBound: 0 },
        size: s.size, external: s.bind !== 0, scope: undefined, cu: undefined, declFile: undefined, declLine: undefined, elfOnly: true,
        ...(s.type === STT_NOTYPE ? { extentGuessed: true } : {}),
      });
    }
  }
}


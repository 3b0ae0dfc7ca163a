/**
 * .debug_line: line-number program headers (versions 2 to 5, including the DWARF 5 directory and file
 * entry formats) and the state machine that turns each program into rows (address, file, line, column,
 * is_stmt, ...), grouped by sequence. Lookups across units live in line-index.ts.
 */
import { posix } from "node:path";
import { DW_FORM, DW_LNCT, DW_LNE, DW_LNS } from "./constants.js";
import { ByteReader, DwarfError } from "./reader.js";
import type { DwarfSections } from "./sections.js";

export interface LineFile {
  /** The name as written in the table. */
  name: string;
  dirIndex: number;
  /** Directory joined with the name; relative directories are resolved against the compilation directory. */
  path: string;
  md5?: Uint8Array;
}

export interface LineRow {
  address: number;
  /** File register: an index into LineTable.files (0-based in DWARF 5, 1-based before). */
  file: number;
  line: number;
  column: number;
  isStmt: boolean;
  basicBlock: boolean;
  endSequence: boolean;
  prologueEnd: boolean;
  epilogueBegin: boolean;
  isa: number;
  discriminator: number;
  opIndex: number;
}

export interface LineSequence {
  /** Address of the first row. */
  low: number;
  /** Address of the end_sequence row: one past the last instruction. */
  high: number;
  /** Rows in program order, ending with the end_sequence row. */
  rows: LineRow[];
}

export interface LineTable {
  offset: number;
  version: number;
  addressSize: number;
  minInstLength: number;
  maxOpsPerInst: number;
  defaultIsStmt: boolean;
  lineBase: number;
  lineRange: number;
  opcodeBase: number;
  directories: string[];
  /** Files by file-register value; index 0 is empty before DWARF 5. */
  files: (LineFile | undefined)[];
  sequences: LineSequence[];
}

interface EntryFormat {
  type: number;
  form: number;
}

function readEntryValue(r: ByteReader, form: number, offsetSize: number, sections: DwarfSections): string | number | Uint8Array {
  switch (form) {
    case DW_FORM.string: return r.cstring();
    case DW_FORM.line_strp: return sections.lineStr(r.offsetOf(offsetSize));
    case DW_FORM.strp: return sections.str(r.offsetOf(offsetSize));
    case DW_FORM.udata: return r.uleb();
    case DW_FORM.data1: return r.u8();
    case DW_FORM.data2: return r.u16();
    case DW_FORM.data4: return r.u32();
    case DW_FORM.data8: return r.u64n();
    case DW_FORM.data16: return r.block(16);
    case DW_FORM.block: return r.block(r.uleb());
    default:
      throw new DwarfError(`.debug_line: unsupported form 0x${form.toString(16)} in a directory/file entry format`);
  }
}

function readEntries(r: ByteReader, offsetSize: number, sections: DwarfSections): Map<number, string | number | Uint8Array>[] {
  const formatCount = r.u8();
  const formats: EntryFormat[] = [];
  for (let i = 0; i < formatCount; i++) formats.push({ type: r.uleb(), form: r.uleb() });
  const count = r.uleb();
  const out: Map<number, string | number | Uint8Array>[] = [];
  for (let i = 0; i < count; i++) {
    const entry = new Map<number, string | number | Uint8Array>();
    for (const f of formats) entry.set(f.type, readEntryValue(r, f.form, offsetSize, sections));
    out.push(entry);
  }
  return out;
}

function joinDir(base: string, dir: string): string {
  if (dir === "" ) return base;
  if (dir.startsWith("/") || base === "") return dir;
  return posix.join(base, dir);
}

/**
 * Parses the line table at `offset` of .debug_line. `compDir` (the unit's DW_AT_comp_dir) resolves
 * relative directories; `cuName` names the primary source file for DWARF 2-4 directory index 0.
 * `program` false reads the header alone: the files, no rows.
 */
export function parseLineTable(sections: DwarfSections, offset: number, compDir = "", program = true): LineTable {
  const r = sections.reader(".debug_line", offset);
  const { length, offsetSize } = r.initialLength();
  const end = r.offset + length;
  if (end > r.length) throw new DwarfError(`.debug_line: table at 0x${offset.toString(16)} runs past the end of the section`);
  const version = r.u16();
  if (version < 2 || version > 5) throw new DwarfError(`.debug_line: table at 0x${offset.toString(16)} has unsupported version ${version}`);
  let addressSize = 4;
  if (version >= 5) {
    addressSize = r.u8();
    r.u8(); // segment_selector_size
  }
  const headerLength = r.offsetOf(offsetSize);
  const programStart = r.offset + headerLength;
  const minInstLength = r.u8();
  const maxOpsPerInst = version >= 4 ? r.u8() || 1 : 1;
  const defaultIsStmt = r.u8() !== 0;
  const lineBase = r.i8();
  const lineRange = r.u8();
  const opcodeBase = r.u8();
  if (lineRange === 0) throw new DwarfError(`.debug_line: table at 0x${offset.toString(16)} has line_range 0`);
  const standardLengths = [0];
  for (let i = 1; i < opcodeBase; i++) standardLengths.push(r.u8());

  const directories: string[] = [];
  const files: (LineFile | undefined)[] = [];
  if (version >= 5) {
    for (const e of readEntries(r, offsetSize, sections)) directories.push(String(e.get(DW_LNCT.path) ?? ""));
    // Directory 0 is the compilation directory; the others may be relative to it.
    const dir0 = directories[0] ?? compDir;
    for (const e of readEntries(r, offsetSize, sections)) {
      const name = String(e.get(DW_LNCT.path) ?? "");
      const dirIndex = Number(e.get(DW_LNCT.directory_index) ?? 0);
      const dir = dirIndex === 0 ? dir0 : joinDir(dir0, directories[dirIndex] ?? "");
      const md5 = e.get(DW_LNCT.MD5);
      files.push({ name, dirIndex, path: joinDir(dir, name), ...(md5 instanceof Uint8Array ? { md5 } : {}) });
    }
  } else {
    directories.push(compDir);
    for (;;) {
      const d = r.cstring();
      if (d === "") break;
      directories.push(d);
    }
    files.push(undefined);
    for (;;) {
      const name = r.cstring();
      if (name === "") break;
      const dirIndex = r.uleb();
      r.uleb(); // modification time
      r.uleb(); // length
      files.push(makeV4File(name, dirIndex, directories, compDir));
    }
  }

  const table: LineTable = {
    offset, version, addressSize, minInstLength, maxOpsPerInst, defaultIsStmt, lineBase, lineRange, opcodeBase,
    directories, files, sequences: [],
  };
  // Without the program: the header alone (its files; no rows), for an index of which table names which file.
  if (program) runProgram(new ByteReader(r.bytes, ".debug_line", programStart), end, table, standardLengths, compDir, sections);
  return table;
}

function makeV4File(name: string, dirIndex: number, directories: string[], compDir: string): LineFile {
  const dir = dirIndex === 0 ? compDir : joinDir(compDir, directories[dirIndex] ?? "");
  return { name, dirIndex, path: joinDir(dir, name) };
}

function runProgram(r: ByteReader, end: number, t: LineTable, standardLengths: number[], compDir: string, sections: DwarfSections): void {
  const mask = t.addressSize >= 8 ? Number.MAX_SAFE_INTEGER : 2 ** (t.addressSize * 8);
  const wrap = (a: number): number => (t.addressSize >= 8 ? a : ((a % mask) + mask) % mask);
  let st = initialState(t);
  let rows: LineRow[] = [];
  const emit = (): void => {
    rows.push({ ...st });
    st.basicBlock = false;
    st.prologueEnd = false;
    st.epilogueBegin = false;
    st.discriminator = 0;
  };
  const advance = (operationAdvance: number): void => {
    if (t.maxOpsPerInst === 1) {
      st.address = wrap(st.address + t.minInstLength * operationAdvance);
    } else {
      const ops = st.opIndex + operationAdvance;
      st.address = wrap(st.address + t.minInstLength * Math.floor(ops / t.maxOpsPerInst));
      st.opIndex = ops % t.maxOpsPerInst;
    }
  };
  while (r.offset < end) {
    const op = r.u8();
    if (op >= t.opcodeBase) {
      const adjusted = op - t.opcodeBase;
      advance(Math.floor(adjusted / t.lineRange));
      st.line += t.lineBase + (adjusted % t.lineRange);
      emit();
      continue;
    }
    switch (op) {
      case 0: {
        const len = r.uleb();
        const next = r.offset + len;
        if (len === 0) break;
        const ext = r.u8();
        if (ext === DW_LNE.end_sequence) {
          st.endSequence = true;
          emit();
          t.sequences.push({ low: rows[0].address, high: st.address, rows });
          rows = [];
          st = initialState(t);
        } else if (ext === DW_LNE.set_address) {
          st.address = sections.relocate(r.uint(len - 1));
          st.opIndex = 0;
        } else if (ext === DW_LNE.define_file) {
          const name = r.cstring();
          const dirIndex = r.uleb();
          r.uleb();
          r.uleb();
          t.files.push(makeV4File(name, dirIndex, t.directories, compDir));
        } else if (ext === DW_LNE.set_discriminator) {
          st.discriminator = r.uleb();
        }
        r.offset = next;
        break;
      }
      case DW_LNS.copy:
        emit();
        break;
      case DW_LNS.advance_pc:
        advance(r.uleb());
        break;
      case DW_LNS.advance_line:
        st.line += r.sleb();
        break;
      case DW_LNS.set_file:
        st.file = r.uleb();
        break;
      case DW_LNS.set_column:
        st.column = r.uleb();
        break;
      case DW_LNS.negate_stmt:
        st.isStmt = !st.isStmt;
        break;
      case DW_LNS.set_basic_block:
        st.basicBlock = true;
        break;
      case DW_LNS.const_add_pc:
        advance(Math.floor((255 - t.opcodeBase) / t.lineRange));
        break;
      case DW_LNS.fixed_advance_pc:
        st.address = wrap(st.address + r.u16());
        st.opIndex = 0;
        break;
      case DW_LNS.set_prologue_end:
        st.prologueEnd = true;
        break;
      case DW_LNS.set_epilogue_begin:
        st.epilogueBegin = true;
        break;
      case DW_LNS.set_isa:
        st.isa = r.uleb();
        break;
      default:
        // An opcode this reader does not know: the header says how many ULEB operands to skip.
        for (let i = 0; i < (standardLengths[op] ?? 0); i++) r.uleb();
    }
  }
}

function initialState(t: LineTable): LineRow {
  return {
    address: 0, file: 1, line: 1, column: 0, isStmt: t.defaultIsStmt, basicBlock: false, endSequence: false,
    prologueEnd: false, epilogueBegin: false, isa: 0, discriminator: 0, opIndex: 0,
  };
}

/**
 * The DWARF input of an ELF file: the .debug_* sections by name, decompressed when the linker wrote them
 * with SHF_COMPRESSED (zlib), plus the string and address pools that attribute forms index into.
 */
import { inflateSync } from "node:zlib";
import type { Elf32 } from "../elf/elf32.js";
import { ByteReader, DwarfError, stringAt } from "./reader.js";

const SHF_COMPRESSED = 0x800;
const ELFCOMPRESS_ZLIB = 1;

export const DEBUG_SECTION_NAMES = [
  ".debug_info", ".debug_abbrev", ".debug_str", ".debug_str_offsets", ".debug_addr", ".debug_line",
  ".debug_line_str", ".debug_rnglists", ".debug_ranges", ".debug_loclists", ".debug_loc", ".debug_aranges",
] as const;
export type DebugSectionName = (typeof DEBUG_SECTION_NAMES)[number];

export class DwarfSections {
  private readonly data = new Map<string, Uint8Array>();
  /** Sections of a file read lazily (elf-file.ts), by name: how to read a range of one that is not read yet. */
  private readonly unread = new Map<string, (offset: number, length: number) => void>();

  /**
   * Sections given directly by name (used by tests that build DWARF by hand). `slide`: how far the
   * image ran from the addresses it was linked at (a kernel the decompressor moved: KASLR), added to
   * every address the DWARF holds as it is read (relocate), so answers name the addresses that ran.
   */
  constructor(sections: Partial<Record<DebugSectionName, Uint8Array>> = {}, readonly slide = 0) {
    for (const [name, bytes] of Object.entries(sections)) if (bytes) this.data.set(name, bytes);
  }

  static fromElf(elf: Elf32, slide = 0): DwarfSections {
    const out = new DwarfSections({}, slide);
    for (const sec of elf.sections) {
      let name = sec.name;
      // Only the DWARF sections are read (of a file read lazily, the others stay unread).
      if (!(DEBUG_SECTION_NAMES as readonly string[]).includes(name.startsWith(".zdebug_") ? "." + name.slice(2) : name)) continue;
      if (name === ".debug_info" && !(sec.flags & SHF_COMPRESSED)) {
        // The one large section a question needs only a few parts of (the units the index names).
        const { bytes, fill } = elf.sectionDataDeferred(sec);
        out.data.set(name, bytes);
        if (fill !== null) out.unread.set(name, fill);
        continue;
      }
      let bytes = elf.sectionData(sec);
      if (name.startsWith(".zdebug_")) {
        // Old GNU style: "ZLIB" + 8-byte big-endian size + zlib stream.
        name = "." + name.slice(2);
        if (bytes.length < 12 || String.fromCharCode(...bytes.subarray(0, 4)) !== "ZLIB") {
          throw new DwarfError(`${sec.name}: compressed section without a ZLIB header`);
        }
        bytes = new Uint8Array(inflateSync(bytes.subarray(12)));
      } else if (sec.flags & SHF_COMPRESSED) {
        // Elf32_Chdr: ch_type, ch_size, ch_addralign, then the compressed stream.
        const r = new ByteReader(bytes, sec.name);
        const type = r.u32();
        if (type !== ELFCOMPRESS_ZLIB) throw new DwarfError(`${sec.name}: unsupported compression type ${type}`);
        bytes = new Uint8Array(inflateSync(bytes.subarray(12)));
      }
      if ((DEBUG_SECTION_NAMES as readonly string[]).includes(name)) out.data.set(name, bytes);
    }
    return out;
  }

  has(name: DebugSectionName): boolean {
    return this.data.has(name);
  }

  /** The bytes of a section; empty when absent. */
  get(name: DebugSectionName): Uint8Array {
    this.readWhole(name);
    return this.data.get(name) ?? new Uint8Array(0);
  }

  /** A cursor at `offset` of a section; DwarfError when the section is missing. */
  reader(name: DebugSectionName, offset = 0): ByteReader {
    this.readWhole(name);
    return this.partReader(name, offset, 0);
  }

  /**
   * A cursor at `offset` of a section whose bytes [offset, offset + length) are all the caller reads: of
   * a section read lazily, only those are read (a unit of .debug_info). DwarfError when it is missing.
   */
  partReader(name: DebugSectionName, offset: number, length: number): ByteReader {
    const bytes = this.data.get(name);
    if (!bytes) throw new DwarfError(`${name} is referenced but the ELF has no such section`);
    if (length > 0 && offset < bytes.length) this.unread.get(name)?.(offset, length);
    return new ByteReader(bytes, name, offset);
  }

  /** Reads the rest of a section read lazily. */
  private readWhole(name: DebugSectionName): void {
    const fill = this.unread.get(name);
    if (fill === undefined) return;
    fill(0, this.data.get(name)?.length ?? 0);
    this.unread.delete(name);
  }

  /** .debug_str's strings by offset, decoded once: units name the same types and files over and over. */
  private readonly strings = new Map<number, string>();

  /** A string of .debug_str (DW_FORM_strp). */
  str(offset: number): string {
    let s = this.strings.get(offset);
    if (s === undefined) {
      s = stringAt(this.get(".debug_str"), offset, ".debug_str");
      this.strings.set(offset, s);
    }
    return s;
  }

  /** A string of .debug_line_str (DW_FORM_line_strp). */
  lineStr(offset: number): string {
    return stringAt(this.get(".debug_line_str"), offset, ".debug_line_str");
  }

  /** Entry `index` of the unit's .debug_str_offsets table starting at `base` (DW_FORM_strx*). */
  strx(base: number, index: number, offsetSize: number): string {
    const r = this.reader(".debug_str_offsets", base + index * offsetSize);
    return this.str(r.offsetOf(offsetSize));
  }

  /**
   * A link-time address as it ran: moved by the slide. The tombstones a linker leaves for discarded
   * code (0, and -1 or -2) stay what they are, so they are still recognised as such.
   */
  relocate(address: number): number {
    return this.slide === 0 || address === 0 || address >= 0xfffffffe ? address : (address + this.slide) >>> 0;
  }

  /** Entry `index` of the unit's .debug_addr table starting at `base`, as linked (DW_FORM_addrx*, DW_OP_addrx; relocate makes it an address that ran). */
  addrx(base: number, index: number, addressSize: number): number {
    const r = this.reader(".debug_addr", base + index * addressSize);
    return r.uint(addressSize);
  }
}

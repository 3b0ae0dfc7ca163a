/**
 * ELF32 little-endian reader: file header, program headers, section headers and symbol tables.
 * Used by the multiboot loader (segments) and by the symbol layer (sections, symbols, DWARF input).
 * Every malformed input raises ElfError with a message that names what is wrong.
 */

export class ElfError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ElfError";
  }
}

export const PT_LOAD = 1;
export const SHT_SYMTAB = 2;
export const SHT_NOBITS = 8;
export const EM_386 = 3;

export interface ElfProgramHeader {
  type: number;
  offset: number;
  vaddr: number;
  paddr: number;
  filesz: number;
  memsz: number;
  flags: number;
  align: number;
}

export interface ElfSection {
  name: string;
  type: number;
  flags: number;
  addr: number;
  offset: number;
  size: number;
  link: number;
  info: number;
  entsize: number;
}

export interface ElfSymbol {
  name: string;
  value: number;
  size: number;
  /** STT_* from st_info (0 notype, 1 object, 2 func, 3 section, 4 file). */
  type: number;
  /** STB_* from st_info (0 local, 1 global, 2 weak). */
  bind: number;
  /** Section index, or a special index such as SHN_ABS (0xfff1). */
  shndx: number;
}

/** Reads ranges of a file that are not in Elf32.bytes yet (see elf-file.ts). */
export interface ElfLoader {
  /** Makes bytes [offset, offset + length) of the file present in Elf32.bytes. */
  fill(offset: number, length: number): void;
}

export class Elf32 {
  readonly bytes: Uint8Array;
  /** Set when `bytes` holds only part of the file yet (elf-file.ts): section data is read through it. */
  loader: ElfLoader | undefined;
  readonly entry: number;
  readonly machine: number;
  readonly type: number;
  readonly programHeaders: ElfProgramHeader[];
  readonly sections: ElfSection[];
  private readonly view: DataView;

  /** Parses `bytes`; throws ElfError when it is not a little-endian ELF32 file for i386. */
  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (bytes.length < 52 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) {
      throw new ElfError("not an ELF file (no \\x7fELF magic)");
    }
    if (bytes[4] === 2) throw new ElfError("64-bit ELF (ELFCLASS64); ttd runs 32-bit i386 kernels");
    if (bytes[4] !== 1) throw new ElfError(`unknown ELF class ${bytes[4]}`);
    if (bytes[5] !== 1) throw new ElfError("big-endian ELF; i386 kernels are little-endian");
    this.type = this.u16(16);
    this.machine = this.u16(18);
    if (this.machine !== EM_386) throw new ElfError(`ELF machine ${this.machine} is not i386 (EM_386 = 3)`);
    this.entry = this.u32(24);
    const phoff = this.u32(28);
    const shoff = this.u32(32);
    const phentsize = this.u16(42);
    const phnum = this.u16(44);
    const shentsize = this.u16(46);
    const shnum = this.u16(48);
    const shstrndx = this.u16(50);

    this.programHeaders = [];
    if (phnum > 0) {
      if (phentsize < 32 || phoff + phnum * phentsize > bytes.length) {
        throw new ElfError("program header table lies outside the file (truncated?)");
      }
      for (let i = 0; i < phnum; i++) {
        const o = phoff + i * phentsize;
        this.programHeaders.push({
          type: this.u32(o), offset: this.u32(o + 4), vaddr: this.u32(o + 8), paddr: this.u32(o + 12),
          filesz: this.u32(o + 16), memsz: this.u32(o + 20), flags: this.u32(o + 24), align: this.u32(o + 28),
        });
      }
    }

    this.sections = [];
    if (shnum > 0 && shoff !== 0) {
      if (shentsize < 40 || shoff + shnum * shentsize > bytes.length) {
        throw new ElfError("section header table lies outside the file (truncated?)");
      }
      const raw: Omit<ElfSection, "name">[] = [];
      const nameOffsets: number[] = [];
      for (let i = 0; i < shnum; i++) {
        const o = shoff + i * shentsize;
        nameOffsets.push(this.u32(o));
        raw.push({
          type: this.u32(o + 4), flags: this.u32(o + 8), addr: this.u32(o + 12), offset: this.u32(o + 16),
          size: this.u32(o + 20), link: this.u32(o + 24), info: this.u32(o + 28), entsize: this.u32(o + 36),
        });
      }
      const strtab = shstrndx < raw.length ? raw[shstrndx] : undefined;
      for (let i = 0; i < raw.length; i++) {
        const s = raw[i];
        if (s.type !== SHT_NOBITS && s.type !== 0 && s.offset + s.size > bytes.length) {
          throw new ElfError(`section ${i} lies outside the file (truncated?)`);
        }
        const name = strtab ? this.cString(strtab.offset + nameOffsets[i]) : "";
        this.sections.push({ name, ...s });
      }
    }
  }

  /** The section named `name`, or undefined. */
  section(name: string): ElfSection | undefined {
    return this.sections.find((s) => s.name === name);
  }

  /** The bytes of a section (empty for SHT_NOBITS). */
  sectionData(section: ElfSection): Uint8Array {
    if (section.type === SHT_NOBITS) return new Uint8Array(0);
    this.loader?.fill(section.offset, section.size);
    return this.bytes.subarray(section.offset, section.offset + section.size);
  }

  /**
   * The bytes of a section as they are (unread parts are zeros when the file is read lazily), and how
   * to read a range of them (offsets within the section) before it is looked at; null when the whole
   * section is present anyway.
   */
  sectionDataDeferred(section: ElfSection): { bytes: Uint8Array; fill: ((offset: number, length: number) => void) | null } {
    const loader = this.loader;
    if (section.type === SHT_NOBITS || loader === undefined) return { bytes: this.sectionData(section), fill: null };
    const bytes = this.bytes.subarray(section.offset, section.offset + section.size);
    return { bytes, fill: (offset, length) => loader.fill(section.offset + offset, Math.min(length, section.size - offset)) };
  }

  /** All symbols of every SHT_SYMTAB section (the null symbol skipped). */
  symbols(): ElfSymbol[] {
    const out: ElfSymbol[] = [];
    for (const sec of this.sections) {
      if (sec.type !== SHT_SYMTAB) continue;
      const strtab = this.sections[sec.link];
      this.sectionData(sec);
      if (strtab) this.sectionData(strtab);
      const entsize = sec.entsize || 16;
      for (let o = sec.offset + entsize; o + 16 <= sec.offset + sec.size; o += entsize) {
        const info = this.bytes[o + 12];
        out.push({
          name: strtab ? this.cString(strtab.offset + this.u32(o)) : "",
          value: this.u32(o + 4),
          size: this.u32(o + 8),
          type: info & 15,
          bind: info >> 4,
          shndx: this.u16(o + 14),
        });
      }
    }
    return out;
  }

  private u16(o: number): number {
    return this.view.getUint16(o, true);
  }

  private u32(o: number): number {
    return this.view.getUint32(o, true);
  }

  private cString(o: number): string {
    let end = o;
    while (end < this.bytes.length && this.bytes[end] !== 0) end++;
    return new TextDecoder().decode(this.bytes.subarray(o, end));
  }
}

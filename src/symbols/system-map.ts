/**
 * Linux's System.map as a symbol source: `address type name` per line (nm's output, sorted), with no
 * sizes and no DWARF. ttd's symbol layer (DebugInfo) reads ELF symbol tables, so a System.map is turned
 * into a small ELF32 file holding only a symbol table: every consumer (why-write, history, print, the
 * TUI, the chain, the gdb stub) then sees the kernel's functions and variables exactly as it sees an ELF
 * without debug information.
 *
 * Sizes are not in the map: each symbol is taken to run up to the next symbol's address, so any address
 * inside the kernel names the symbol before it (`function+0x1c`). Data symbols are typeless labels
 * (STT_NOTYPE), so the distance to the next is not taken for the object's size: a question about
 * `jiffies` watches a word unless `--size` says more (src/query/location.ts).
 */
import { ElfError } from "../elf/elf32.js";

export interface MapSymbol {
  address: number;
  /** nm's type letter: T/t text, D/d data, B/b bss, R/r read-only data, W/w weak, A/a absolute... */
  type: string;
  name: string;
}

/** A symbol stretching further than this is taken as unsized (the gap to the next is not its body). */
const MAX_SYMBOL_SIZE = 16 * 1024 * 1024;
const LINE = /^([0-9a-fA-F]{8}|[0-9a-fA-F]{16}) ([a-zA-Z?-]) (\S+)/;

/** True when `bytes` start like a System.map (text lines of address, type letter, name). */
export function looksLikeSystemMap(bytes: Uint8Array): boolean {
  const head = new TextDecoder("latin1").decode(bytes.subarray(0, 256));
  return LINE.test(head);
}

/**
 * The symbols of a System.map. Throws an ElfError (the error the symbol loader reports as "no usable
 * symbols") for Debian's placeholder map, for 64-bit addresses and for a file with no symbol lines.
 */
export function parseSystemMap(text: string): MapSymbol[] {
  if (/The real System\.map is in the (\S+) package/.test(text)) {
    const pkg = /The real System\.map is in the (\S+) package/.exec(text)![1];
    throw new ElfError(`a placeholder System.map, without symbols: the real one is in the ${pkg} package`);
  }
  const out: MapSymbol[] = [];
  for (const line of text.split("\n")) {
    const m = LINE.exec(line);
    if (!m) continue;
    if (m[1].length === 16) {
      if (!/^0{8}/.test(m[1])) throw new ElfError(`64-bit addresses (${m[1]} ${m[3]}): a System.map of a 64-bit kernel; ttd runs i386 kernels`);
    }
    out.push({ address: parseInt(m[1].slice(-8), 16) >>> 0, type: m[2], name: m[3] });
  }
  if (out.length === 0) throw new ElfError("no symbol lines (address, type letter, name): not a System.map");
  return out;
}

const STT_NOTYPE = 0;
const STT_FUNC = 2;
const STB_LOCAL = 0;
const STB_GLOBAL = 1;
const STB_WEAK = 2;
const SHT_SYMTAB = 2;
const SHT_STRTAB = 3;
const SHT_NOBITS = 8;
const SHF_WRITE = 1;
const SHF_ALLOC = 2;
const SHF_EXECINSTR = 4;
const SHN_ABS = 0xfff1;
const TEXT_SECTION = 1;
const DATA_SECTION = 2;

/** How a map symbol becomes an ELF symbol: its type and the section that says code or data. */
function classify(type: string): { elfType: number; section: number; bind: number } | null {
  const bind = type === "W" || type === "w" || type === "V" || type === "v" ? STB_WEAK : type === type.toUpperCase() ? STB_GLOBAL : STB_LOCAL;
  switch (type.toLowerCase()) {
    case "t": case "w":
      return { elfType: STT_FUNC, section: TEXT_SECTION, bind };
    case "d": case "b": case "r": case "g": case "s": case "v":
      // A label, not an object: the map says where data starts, not its type or size.
      return { elfType: STT_NOTYPE, section: DATA_SECTION, bind };
    case "a":
      return { elfType: STT_NOTYPE, section: SHN_ABS, bind };
    default:
      return null; // undefined (U), debugging (N), unknown
  }
}

/** An ELF32 i386 executable holding only the map's symbols (sections .text/.data are NOBITS spans). */
export function systemMapElf(symbols: readonly MapSymbol[]): Uint8Array {
  const kept = symbols
    .map((s) => ({ s, c: classify(s.type) }))
    .filter((x): x is { s: MapSymbol; c: NonNullable<ReturnType<typeof classify>> } => x.c !== null)
    .sort((a, b) => a.s.address - b.s.address);
  const enc = new TextEncoder();
  // The string table: every name, NUL-terminated, encoded in one piece at the end.
  const names: string[] = [""];
  let strtabLength = 1;
  const nameOffset = (name: string): number => {
    const at = strtabLength;
    names.push(name);
    strtabLength += name.length + 1;
    return at;
  };
  // Sizes: up to the next higher address (absolute symbols are constants: no size).
  const addresses = kept.filter((x) => x.c.section !== SHN_ABS).map((x) => x.s.address);
  const nextAbove = (a: number): number | undefined => {
    let lo = 0;
    let hi = addresses.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (addresses[mid] <= a) lo = mid + 1;
      else hi = mid;
    }
    return addresses[lo];
  };
  const span = (section: number) => {
    const own = kept.filter((x) => x.c.section === section).map((x) => x.s.address);
    if (own.length === 0) return { low: 0, high: 0 };
    return { low: own[0], high: Math.min(0x100000000, own[own.length - 1] + 1) };
  };
  const text = span(TEXT_SECTION);
  const data = span(DATA_SECTION);

  const symtab = new Uint8Array(16 * (kept.length + 1));
  const sv = new DataView(symtab.buffer);
  // Locals first, as ELF requires (sh_info is the first global's index).
  const ordered = [...kept.filter((x) => x.c.bind === STB_LOCAL), ...kept.filter((x) => x.c.bind !== STB_LOCAL)];
  ordered.forEach(({ s, c }, i) => {
    const o = 16 * (i + 1);
    const next = c.section === SHN_ABS ? undefined : nextAbove(s.address);
    const size = next !== undefined && next - s.address <= MAX_SYMBOL_SIZE ? next - s.address : 0;
    sv.setUint32(o, nameOffset(s.name), true);
    sv.setUint32(o + 4, s.address, true);
    sv.setUint32(o + 8, size, true);
    symtab[o + 12] = (c.bind << 4) | c.elfType;
    sv.setUint16(o + 14, c.section, true);
  });
  const firstGlobal = 1 + kept.filter((x) => x.c.bind === STB_LOCAL).length;

  // The map was read as latin1, so one character is one byte, as it was in the file.
  const strtabBytes = new Uint8Array(Buffer.from(names.join("\0") + "\0", "latin1"));
  const shstr: number[] = [0];
  const shName = (n: string) => {
    const at = shstr.length;
    shstr.push(...enc.encode(n), 0);
    return at;
  };
  const sections = [
    { name: 0, type: 0, flags: 0, addr: 0, data: new Uint8Array(0), size: 0, link: 0, info: 0, entsize: 0 },
    { name: shName(".text"), type: SHT_NOBITS, flags: SHF_ALLOC | SHF_EXECINSTR, addr: text.low, data: new Uint8Array(0), size: text.high - text.low, link: 0, info: 0, entsize: 0 },
    { name: shName(".data"), type: SHT_NOBITS, flags: SHF_ALLOC | SHF_WRITE, addr: data.low, data: new Uint8Array(0), size: data.high - data.low, link: 0, info: 0, entsize: 0 },
    { name: shName(".symtab"), type: SHT_SYMTAB, flags: 0, addr: 0, data: symtab, size: symtab.length, link: 4, info: firstGlobal, entsize: 16 },
    { name: shName(".strtab"), type: SHT_STRTAB, flags: 0, addr: 0, data: strtabBytes, size: strtabBytes.length, link: 0, info: 0, entsize: 0 },
  ];
  const shstrIndex = sections.length;
  sections.push({ name: shName(".shstrtab"), type: SHT_STRTAB, flags: 0, addr: 0, data: new Uint8Array(0), size: 0, link: 0, info: 0, entsize: 0 });
  sections[shstrIndex].data = Uint8Array.from(shstr);
  sections[shstrIndex].size = shstr.length;

  // Layout: ELF header, section contents (4-aligned), section header table.
  let at = 52;
  const offsets = sections.map((s) => {
    if (s.type === SHT_NOBITS || s.type === 0) return 0;
    at = Math.ceil(at / 4) * 4;
    const o = at;
    at += s.data.length;
    return o;
  });
  const shoff = Math.ceil(at / 4) * 4;
  const out = new Uint8Array(shoff + 40 * sections.length);
  const v = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1], 0); // ELFCLASS32, little-endian, version 1
  v.setUint16(16, 2, true); // ET_EXEC
  v.setUint16(18, 3, true); // EM_386
  v.setUint32(20, 1, true);
  v.setUint32(32, shoff, true);
  v.setUint16(40, 52, true); // e_ehsize
  v.setUint16(42, 32, true); // e_phentsize
  v.setUint16(46, 40, true); // e_shentsize
  v.setUint16(48, sections.length, true);
  v.setUint16(50, shstrIndex, true);
  sections.forEach((s, i) => {
    if (offsets[i] !== 0) out.set(s.data, offsets[i]);
    const o = shoff + 40 * i;
    v.setUint32(o, s.name, true);
    v.setUint32(o + 4, s.type, true);
    v.setUint32(o + 8, s.flags, true);
    v.setUint32(o + 12, s.addr, true);
    v.setUint32(o + 16, offsets[i], true);
    v.setUint32(o + 20, s.size, true);
    v.setUint32(o + 24, s.link, true);
    v.setUint32(o + 28, s.info, true);
    v.setUint32(o + 36, s.entsize, true);
  });
  return out;
}

/**
 * ELF symbol-table lookups: by name, and address -> the symbol covering it. This is the fallback when an
 * image has no DWARF (or DWARF does not cover some code, such as hand-written assembly entry stubs).
 */
import type { Elf32, ElfSymbol } from "../elf/elf32.js";

const STT_NOTYPE = 0;
const STT_OBJECT = 1;
const STT_FUNC = 2;
const SHF_ALLOC = 0x2;
const SHF_EXECINSTR = 0x4;
const SHN_LORESERVE = 0xff00;
const SHN_ABS = 0xfff1;

export interface AddressSymbol {
  symbol: ElfSymbol;
  offset: number;
}

export class ElfSymbolIndex {
  /** Symbols that name code (functions and labels in executable sections), sorted by address. */
  private readonly code: ElfSymbol[];
  /** Symbols that name data (objects and labels in allocated, non-executable sections), sorted by address. */
  private readonly data: ElfSymbol[];
  private readonly byName = new Map<string, ElfSymbol[]>();

  /**
   * `slide`: how far the image ran from where it was linked (DebugInfo's LoadOptions.slide). Symbols
   * of sections move by it; absolute ones (constants such as phys_startup_32) and undefined ones do not.
   */
  constructor(elf: Elf32, slide = 0) {
    const linked = elf.symbols();
    const symbols = slide === 0 ? linked : linked.map((s) => (s.shndx === 0 || s.shndx >= SHN_LORESERVE ? s : { ...s, value: (s.value + slide) >>> 0 }));
    const code: ElfSymbol[] = [];
    const data: ElfSymbol[] = [];
    for (const s of symbols) {
      if (s.name === "" || s.type > STT_FUNC) continue;
      const list = this.byName.get(s.name);
      if (list) list.push(s);
      else this.byName.set(s.name, [s]);
      // Assembler-local labels (.L123) are noise in "function+offset" answers.
      if (s.name.startsWith(".L")) continue;
      const flags = s.shndx === SHN_ABS ? SHF_ALLOC : s.shndx > 0 && s.shndx < SHN_LORESERVE ? elf.sections[s.shndx]?.flags ?? 0 : 0;
      if (!(flags & SHF_ALLOC)) continue;
      // An absolute symbol without a size is a constant (a System.map's phys_startup_32), not a place:
      // it must not name the addresses that follow its value.
      if (s.shndx === SHN_ABS && s.size === 0) continue;
      if (s.type === STT_FUNC || (s.type === STT_NOTYPE && flags & SHF_EXECINSTR)) code.push(s);
      else if (s.type === STT_OBJECT || s.type === STT_NOTYPE) data.push(s);
    }
    // Among symbols at one address prefer global over local, typed over untyped, sized over unsized.
    const rank = (s: ElfSymbol): number => (s.bind === 1 ? 4 : s.bind === 2 ? 2 : 0) + (s.type !== STT_NOTYPE ? 2 : 0) + (s.size > 0 ? 1 : 0);
    const order = (a: ElfSymbol, b: ElfSymbol): number => a.value - b.value || rank(b) - rank(a);
    this.code = code.sort(order);
    this.data = data.sort(order);
  }

  get size(): number {
    return this.byName.size;
  }

  /** Every symbol with this name (several when local symbols of different files share it). */
  named(name: string): ElfSymbol[] {
    return this.byName.get(name) ?? [];
  }

  /** The code symbol covering `address`: its sized extent, or the nearest unsized label before it. */
  codeAt(address: number): AddressSymbol | undefined {
    return covering(this.code, address);
  }

  /** The data symbol covering `address`. */
  dataAt(address: number): AddressSymbol | undefined {
    return covering(this.data, address);
  }

  /** Code symbols in address order. */
  codeSymbols(): readonly ElfSymbol[] {
    return this.code;
  }

  /** Data symbols in address order. */
  dataSymbols(): readonly ElfSymbol[] {
    return this.data;
  }
}

function covering(list: ElfSymbol[], address: number): AddressSymbol | undefined {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid].value <= address) lo = mid + 1;
    else hi = mid;
  }
  // Walk back (a bounded distance): the nearest symbol may be sized and end before `address` while an
  // earlier one, such as an enclosing object, still covers it.
  for (let i = lo - 1; i >= 0 && i >= lo - 64; i--) {
    const s = list[i];
    if (s.size > 0 && address < s.value + s.size) return { symbol: s, offset: address - s.value };
  }
  // An unsized label (assembly) covers everything up to the next symbol at a higher address.
  for (let i = lo - 1; i >= 0; i--) {
    const s = list[i];
    if (s.value < list[lo - 1].value) break;
    if (s.size === 0) return { symbol: s, offset: address - s.value };
  }
  return undefined;
}

/**
 * Disassembly and symbol names for lockstep reports, read from the ELF image (code is not expected to
 * change at run time in the guests we compare, and this needs nothing from the emulator).
 */
import { disassemble } from "../disasm/disassembler.js";
import { Elf32, PT_LOAD } from "../elf/elf32.js";

/** What a lockstep report needs to show code: a symbol for an address and its disassembly. */
export interface CodeView {
  /** "name+0x12" for the nearest symbol at or below `addr`, or "" when there is none. */
  symbolize(addr: number): string;
  /** The instruction at `addr` in AT&T syntax, or a note when it cannot be read. */
  disassemble(addr: number): string;
}

/**
 * Code read from a machine's memory, for guests whose running code is not an ELF image's (a Linux
 * bzImage's decompressor, which moves itself): valid for the code in memory when it is asked.
 */
export class MemoryCode implements CodeView {
  constructor(private readonly ram: Uint8Array) {}

  symbolize(): string {
    return "";
  }

  disassemble(addr: number): string {
    const a = addr >>> 0;
    if (a >= this.ram.length) return "(not in RAM)";
    return disassemble(this.ram.subarray(a, Math.min(this.ram.length, a + 15)), a).text;
  }
}

const STT_FUNC = 2;
const STT_NOTYPE = 0;

export class ImageCode implements CodeView {
  private readonly elf: Elf32;
  /** Function and label symbols sorted by address. */
  private readonly syms: { name: string; value: number }[];

  constructor(elf: Elf32) {
    this.elf = elf;
    this.syms = elf
      .symbols()
      .filter((s) => (s.type === STT_FUNC || s.type === STT_NOTYPE) && s.name !== "" && s.shndx !== 0 && !s.name.startsWith(".L"))
      .map((s) => ({ name: s.name, value: s.value >>> 0 }))
      .sort((a, b) => a.value - b.value);
  }

  /**
   * Up to `n` bytes of the image at `addr`, taken from the segment that contains it by virtual or,
   * failing that, physical address (early boot code runs at physical addresses). Bytes past the end
   * of the file-backed part are not returned.
   */
  bytesAt(addr: number, n: number): Uint8Array {
    addr >>>= 0;
    for (const useVirtual of [true, false]) {
      for (const ph of this.elf.programHeaders) {
        if (ph.type !== PT_LOAD) continue;
        const base = useVirtual ? ph.vaddr : ph.paddr;
        if (addr >= base && addr < base + ph.filesz) {
          const off = ph.offset + (addr - base);
          const end = Math.min(ph.offset + ph.filesz, off + n);
          return this.elf.bytes.subarray(off, end);
        }
      }
    }
    return new Uint8Array(0);
  }

  /** "name+0x12" for the nearest symbol at or below `addr`, or "" when there is none. */
  symbolize(addr: number): string {
    addr >>>= 0;
    let lo = 0, hi = this.syms.length - 1, best = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.syms[mid].value <= addr) {
        best = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (best < 0) return "";
    const s = this.syms[best];
    const off = addr - s.value;
    return off === 0 ? s.name : `${s.name}+0x${off.toString(16)}`;
  }

  /** The instruction at `addr` in AT&T syntax (the one binutils prints), or a note when unknown. */
  disassemble(addr: number): string {
    const bytes = this.bytesAt(addr, 15);
    if (bytes.length === 0) return "(not in the image)";
    // Direct jumps and calls name their target, as objdump does.
    return disassemble(bytes, addr, (a) => this.symbolize(a)).text;
  }
}

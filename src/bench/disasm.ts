/**
 * Disassembly and symbol names for lockstep reports, read from the ELF image (code is not expected to
 * change at run time in the guests we compare, and this needs nothing from the emulator).
 */
import { Code, Decoder, DecoderOptions, Formatter, FormatterSyntax } from "iced-x86";
import { Elf32, PT_LOAD } from "../elf/elf32.js";

const STT_FUNC = 2;
const STT_NOTYPE = 0;

export class ImageCode {
  private readonly elf: Elf32;
  /** Function and label symbols sorted by address. */
  private readonly syms: { name: string; value: number }[];
  private formatter: Formatter | null = null;

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
    const decoder = new Decoder(32, bytes, DecoderOptions.None);
    try {
      decoder.ip = BigInt(addr >>> 0);
      const instr = decoder.decode();
      try {
        if (instr.code === Code.INVALID) return `(invalid: ${hex(bytes.subarray(0, 4))})`;
        this.formatter ??= new Formatter(FormatterSyntax.Gas);
        const text = this.formatter.format(instr);
        // Name the target of direct jumps and calls, as objdump does.
        const target = Number(instr.nearBranchTarget);
        const sym = target !== 0 ? this.symbolize(target) : "";
        return sym ? `${text} <${sym}>` : text;
      } finally {
        instr.free();
      }
    } finally {
      decoder.free();
    }
  }
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");
}

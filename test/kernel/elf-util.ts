/** Small lookups over the committed kernel images, shared by the kernel tests. */
import { readFileSync } from "node:fs";
import { Elf32, SHT_NOBITS, type ElfSymbol } from "../../src/elf/elf32.js";
import { imagePath, type KernelImage } from "./serial-expect.js";

export const KERNEL_OFFSET = 0xe0000000;

export function loadImage(image: KernelImage): Elf32 {
  return new Elf32(new Uint8Array(readFileSync(imagePath(image))));
}

export function symbol(elf: Elf32, name: string): ElfSymbol {
  const s = elf.symbols().find((sym) => sym.name === name);
  if (!s) throw new Error(`symbol ${name} not found`);
  return s;
}

/** `length` bytes of the loaded image at virtual address `addr` (from a section with file contents). */
export function bytesAt(elf: Elf32, addr: number, length: number): Uint8Array {
  for (const sec of elf.sections) {
    if (sec.type === SHT_NOBITS || sec.addr === 0) continue;
    if (addr >= sec.addr && addr + length <= sec.addr + sec.size) {
      const start = sec.offset + (addr - sec.addr);
      return elf.bytes.subarray(start, start + length);
    }
  }
  throw new Error(`no section holds 0x${addr.toString(16)}..+${length}`);
}

export function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(" ");
}

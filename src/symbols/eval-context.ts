/**
 * The machine state expressions are evaluated against. The trace layer implements EvalContext for
 * "memory and registers as they were at step N"; ImageContext implements it for the ELF image as loaded
 * (before any instruction ran), which is what a variable holds when nothing has written it yet.
 */
import { PT_LOAD, type Elf32 } from "../elf/elf32.js";

export interface EvalContext {
  /** `size` bytes at virtual address `address`; throws when they cannot be read. */
  readMemory(address: number, size: number): Uint8Array;
  /**
   * A 32-bit register or a segment/control register by lower-case name: eax ebx ecx edx esi edi ebp esp
   * eip eflags, cs ds es fs gs ss, cr0 cr2 cr3 cr4. Throws when the context has no such register.
   */
  register(name: string): number;
}

/** How an expression register name maps onto an EvalContext register. */
export interface RegisterSpec {
  /** The register EvalContext.register() is asked for. */
  base: string;
  /** Bit position and width of this name inside the base register (ax: 0/16, ah: 8/8). */
  shift: number;
  bits: number;
}

const REGISTERS = new Map<string, RegisterSpec>();
for (const r of ["eax", "ebx", "ecx", "edx", "esi", "edi", "ebp", "esp", "eip", "eflags", "cr0", "cr2", "cr3", "cr4"]) {
  REGISTERS.set(r, { base: r, shift: 0, bits: 32 });
}
for (const r of ["cs", "ds", "es", "fs", "gs", "ss"]) REGISTERS.set(r, { base: r, shift: 0, bits: 16 });
for (const r of ["ax", "bx", "cx", "dx", "si", "di", "bp", "sp", "ip"]) REGISTERS.set(r, { base: "e" + r, shift: 0, bits: 16 });
REGISTERS.set("flags", { base: "eflags", shift: 0, bits: 16 });
for (const r of ["a", "b", "c", "d"]) {
  REGISTERS.set(r + "l", { base: `e${r}x`, shift: 0, bits: 8 });
  REGISTERS.set(r + "h", { base: `e${r}x`, shift: 8, bits: 8 });
}
// gdb spells the program counter and stack pointer generically too.
REGISTERS.set("pc", { base: "eip", shift: 0, bits: 32 });
REGISTERS.set("sp", { base: "esp", shift: 0, bits: 32 });
REGISTERS.set("fp", { base: "ebp", shift: 0, bits: 32 });

/** The register an expression name (`eax`, `ax`, `al`, `pc`...) refers to, or undefined. */
export function registerSpec(name: string): RegisterSpec | undefined {
  return REGISTERS.get(name.toLowerCase());
}

/** Every register name expressions accept. */
export function registerNames(): string[] {
  return [...REGISTERS.keys()];
}

/** Reads a register through a context, narrowing sub-registers. */
export function readRegister(ctx: EvalContext, spec: RegisterSpec): number {
  const v = ctx.register(spec.base) >>> 0;
  return spec.bits === 32 ? v : (v >>> spec.shift) & ((1 << spec.bits) - 1);
}

/**
 * Memory as the ELF image defines it at load: PT_LOAD segments at their virtual addresses, file bytes
 * followed by zeros up to the segment's memory size. Registers are unknown.
 */
export class ImageContext implements EvalContext {
  private readonly segments: { vaddr: number; memsz: number; data: Uint8Array }[] = [];

  constructor(elf: Elf32) {
    for (const ph of elf.programHeaders) {
      if (ph.type !== PT_LOAD || ph.memsz === 0) continue;
      this.segments.push({ vaddr: ph.vaddr, memsz: ph.memsz, data: elf.bytes.subarray(ph.offset, ph.offset + Math.min(ph.filesz, ph.memsz)) });
    }
  }

  readMemory(address: number, size: number): Uint8Array {
    const out = new Uint8Array(size);
    let done = 0;
    while (done < size) {
      const a = (address + done) >>> 0;
      const seg = this.segments.find((s) => a >= s.vaddr && a < s.vaddr + s.memsz);
      if (!seg) throw new Error(`address 0x${a.toString(16)} is not in any loaded segment of the image`);
      const n = Math.min(size - done, seg.vaddr + seg.memsz - a);
      const from = a - seg.vaddr;
      // Bytes past the file part of the segment are zero (.bss).
      if (from < seg.data.length) out.set(seg.data.subarray(from, Math.min(from + n, seg.data.length)), done);
      done += n;
    }
    return out;
  }

  register(name: string): number {
    throw new Error(`register $${name} has no value in the static image (no step selected)`);
  }
}

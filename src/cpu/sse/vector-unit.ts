/**
 * What every MMX/SSE instruction shares: the mandatory prefix, the availability checks (#UD, #NM,
 * #MF), the MMX/x87 register aliasing, and three 16-byte scratch operands A (destination's old value),
 * B (source) and R (result) through which the lane operations work, so they allocate nothing and never
 * see whether an operand came from a register or memory.
 */
import type { CPU } from "../cpu.js";
import { CR0_EM, CR0_TS, GP, MF, NM, UD } from "../constants.js";
import { CR4_OSFXSR } from "./mxcsr.js";

/** One 128-bit operand with the lane views the instructions need. */
export class Lanes {
  readonly u32 = new Uint32Array(4);
  readonly i32 = new Int32Array(this.u32.buffer);
  readonly u16 = new Uint16Array(this.u32.buffer);
  readonly i16 = new Int16Array(this.u32.buffer);
  readonly u8 = new Uint8Array(this.u32.buffer);
  readonly i8 = new Int8Array(this.u32.buffer);

  copyFrom(o: Lanes): void {
    this.u32.set(o.u32);
  }
}

export const A = new Lanes();
export const B = new Lanes();
export const R = new Lanes();
/** The immediate byte of the current instruction (for the forms that have one). */
export const vec = { imm: 0 };

/** Mandatory prefixes, as the table is keyed: none, 66, F3, F2. */
export const PFX_NONE = 0, PFX_66 = 1, PFX_F3 = 2, PFX_F2 = 3;

/**
 * The decoder records F2/F3 as `repPrefix` (the last one wins) and 66 as a flipped operand size. For
 * SSE these are opcode bits: F2/F3 take precedence over 66, which is then an ignored operand-size prefix.
 */
export function mandatoryPrefix(cpu: CPU): number {
  if (cpu.repPrefix === 1) return PFX_F3;
  if (cpu.repPrefix === 2) return PFX_F2;
  return cpu.o32 !== cpu.codeDefault32 ? PFX_66 : PFX_NONE;
}

/** SSE/SSE2 instructions: #UD without CR4.OSFXSR or with CR0.EM, then #NM with CR0.TS. */
export function requireSse(cpu: CPU): void {
  if ((cpu.cr0 & CR0_EM) !== 0 || (cpu.cr4 & CR4_OSFXSR) === 0) cpu.raiseFault(UD, 0);
  if ((cpu.cr0 & CR0_TS) !== 0) cpu.raiseFault(NM, 0);
}

/** MMX instructions: #UD with CR0.EM, #NM with CR0.TS, then #MF while an x87 exception is pending (FSW.ES). */
export function requireMmx(cpu: CPU): void {
  if ((cpu.cr0 & CR0_EM) !== 0) cpu.raiseFault(UD, 0);
  if ((cpu.cr0 & CR0_TS) !== 0) cpu.raiseFault(NM, 0);
  if ((cpu.fpu.fsw & 0x80) !== 0) cpu.raiseFault(MF, 0);
}

/** SSE instructions with an MMX operand: the SSE rules, then the pending x87 exception. */
export function requireSseWithMmx(cpu: CPU): void {
  requireSse(cpu);
  if ((cpu.fpu.fsw & 0x80) !== 0) cpu.raiseFault(MF, 0);
}

/** Any instruction touching MMX registers puts the x87 stack in MMX mode: TOP 0, every tag valid. */
export function enterMmxMode(cpu: CPU): void {
  cpu.fpu.top = 0;
  cpu.fpu.ftw = 0;
}

// ---- Registers ---------------------------------------------------------------------------------

export function loadXmm(cpu: CPU, l: Lanes, reg: number): void {
  const x = cpu.fpu.xmm, i = reg << 2, u = l.u32;
  u[0] = x[i]; u[1] = x[i + 1]; u[2] = x[i + 2]; u[3] = x[i + 3];
}

export function storeXmm(cpu: CPU, l: Lanes, reg: number): void {
  const x = cpu.fpu.xmm, i = reg << 2, u = l.u32;
  x[i] = u[0]; x[i + 1] = u[1]; x[i + 2] = u[2]; x[i + 3] = u[3];
}

/** MMi is the significand of physical x87 register Ri. */
export function loadMm(cpu: CPU, l: Lanes, reg: number): void {
  const m = cpu.fpu.mant, u = l.u32;
  u[0] = m[reg << 1];
  u[1] = m[(reg << 1) + 1];
  u[2] = 0;
  u[3] = 0;
}

/** An MMX write also sets the register's sign/exponent to all ones (it reads as a NaN to the x87). */
export function storeMm(cpu: CPU, l: Lanes, reg: number): void {
  const fpu = cpu.fpu;
  fpu.mant[reg << 1] = l.u32[0];
  fpu.mant[(reg << 1) + 1] = l.u32[1];
  fpu.signExp[reg] = 0xffff;
}

// ---- Memory ------------------------------------------------------------------------------------

/** #GP(0) unless the memory operand's linear address is 16-byte aligned (MOVAPS and the packed forms). */
export function requireAligned16(cpu: CPU): void {
  if (((cpu.segBase[cpu.eaSeg] + cpu.eaOff) & 15) !== 0) cpu.raiseFault(GP, 0);
}

/** Reads `bytes` (4, 8 or 16) of the memory operand into the low lanes of `l`, zeroing the rest. */
export function readMemLanes(cpu: CPU, l: Lanes, bytes: number): void {
  const seg = cpu.eaSeg, off = cpu.eaOff, u = l.u32;
  const d0 = cpu.readMem32(seg, off);
  let d1 = 0, d2 = 0, d3 = 0;
  if (bytes >= 8) d1 = cpu.readMem32(seg, (off + 4) | 0);
  if (bytes === 16) {
    d2 = cpu.readMem32(seg, (off + 8) | 0);
    d3 = cpu.readMem32(seg, (off + 12) | 0);
  }
  u[0] = d0; u[1] = d1; u[2] = d2; u[3] = d3;
}

/** Writes the low `bytes` (4, 8 or 16) of `l` to the memory operand, checked first so nothing is half-written. */
export function writeMemLanes(cpu: CPU, l: Lanes, bytes: number): void {
  const seg = cpu.eaSeg, off = cpu.eaOff, u = l.u32;
  cpu.prepareWrite(seg, off, bytes);
  cpu.writeMem32(seg, off, u[0]);
  if (bytes >= 8) cpu.writeMem32(seg, (off + 4) | 0, u[1]);
  if (bytes === 16) {
    cpu.writeMem32(seg, (off + 8) | 0, u[2]);
    cpu.writeMem32(seg, (off + 12) | 0, u[3]);
  }
}

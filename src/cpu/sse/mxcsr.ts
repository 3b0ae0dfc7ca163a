/**
 * MXCSR: the SSE control/status register, and how an SSE floating-point instruction reports its
 * exceptions. Instructions accumulate the six flags of all their lanes in `fpExceptions`; `commitFp`
 * then sets them in MXCSR and, when one of them is unmasked, raises #XM (CR4.OSXMMEXCPT set) or #UD
 * (clear) before the destination is written, as the SDM requires (the flags stay set).
 */
import type { CPU } from "../cpu.js";

export const MX_IE = 0x01;
export const MX_DE = 0x02;
export const MX_ZE = 0x04;
export const MX_OE = 0x08;
export const MX_UE = 0x10;
export const MX_PE = 0x20;
/** Denormals-are-zeros: denormal source operands read as zeros of the same sign, without DE. */
export const MX_DAZ = 0x40;
/** Bits 7-12 mask the six exceptions in flag order. */
export const MX_MASK_SHIFT = 7;
/** Flush-to-zero: tiny results become zeros when underflow is masked. */
export const MX_FTZ = 0x8000;

/**
 * The bits LDMXCSR/FXRSTOR/XRSTOR accept, as FXSAVE reports in MXCSR_MASK: all sixteen, DAZ
 * included (QEMU reports 0xFFFF too; Linux reads the mask from FXSAVE and honours it).
 */
export const MXCSR_MASK = 0xffff;

export const CR4_OSFXSR = 1 << 9;
export const CR4_OSXMMEXCPT = 1 << 10;
export const CR4_OSXSAVE = 1 << 18;
/** #XM, the SIMD floating-point exception. */
export const XM = 19;

/** Rounding modes as MXCSR.RC encodes them. */
export const RC_NEAREST = 0, RC_DOWN = 1, RC_UP = 2, RC_ZERO = 3;

/**
 * The floating-point environment of the instruction being executed: set by `beginFp` from MXCSR, read
 * by the lane operations (float-round.ts, float-arith.ts, conversions.ts).
 */
export const fpEnv = {
  /** Flags raised so far by this instruction. */
  flags: 0,
  rounding: RC_NEAREST,
  daz: false,
  ftz: false,
  /** Exceptions masked in MXCSR (bit i for flag i). */
  masked: 0x3f,
};

/** Starts an SSE floating-point instruction under the current MXCSR. */
export function beginFp(mxcsr: number): void {
  fpEnv.flags = 0;
  fpEnv.rounding = (mxcsr >> 13) & 3;
  fpEnv.daz = (mxcsr & MX_DAZ) !== 0;
  fpEnv.ftz = (mxcsr & MX_FTZ) !== 0;
  fpEnv.masked = (mxcsr >> MX_MASK_SHIFT) & 0x3f;
}

/**
 * The flags an instruction reports: when any lane raised an unmasked pre-computation exception
 * (invalid, denormal, divide by zero), the processor stops before the post-computation ones
 * (overflow, underflow, precision) and reports none of those for any lane (measured on the host).
 */
export function settleFpFlags(): number {
  const pre = fpEnv.flags & (MX_IE | MX_DE | MX_ZE);
  if ((pre & ~fpEnv.masked) !== 0) fpEnv.flags = pre;
  return fpEnv.flags;
}

/** Records the flags; raises #XM/#UD when one is unmasked (the destination must not be written yet). */
export function commitFp(cpu: CPU): void {
  const f = settleFpFlags();
  if (f === 0) return;
  const fpu = cpu.fpu;
  fpu.mxcsr |= f;
  if ((f & ~fpEnv.masked & 0x3f) !== 0) cpu.raiseFault((cpu.cr4 & CR4_OSXMMEXCPT) !== 0 ? XM : 6, 0);
}

/** LDMXCSR, FXRSTOR, XRSTOR: a reserved bit set is #GP(0). */
export function loadMxcsr(cpu: CPU, v: number): void {
  if ((v & ~MXCSR_MASK) !== 0) cpu.gp(0);
  cpu.fpu.mxcsr = v & MXCSR_MASK;
}

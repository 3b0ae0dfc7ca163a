/**
 * The x87 register stack on top of FpuState: ST(i) access, push/pop with tags, the stack-fault
 * responses, and the end of an arithmetic instruction (exception flags, C1, ES/B) per the SDM's
 * "x87 FPU Floating-Point Exception Conditions". Values move as (sign/exponent, hi, lo) triples held
 * in `st` (the last read) so nothing is allocated.
 */
import type { FpuState } from "../fpu-state.js";
import { DE, fx, IE, OE, PE, SF, UE, ZE } from "./float80.js";

// FSW bits.
export const FSW_C0 = 0x0100;
export const FSW_C1 = 0x0200;
export const FSW_C2 = 0x0400;
export const FSW_C3 = 0x4000;
export const FSW_ES = 0x0080;
export const FSW_B = 0x8000;

export const TAG_VALID = 0;
export const TAG_ZERO = 1;
export const TAG_SPECIAL = 2;
export const TAG_EMPTY = 3;

/** The last register read by readST. */
export const st = { se: 0, hi: 0, lo: 0 };

export function physical(f: FpuState, i: number): number {
  return (f.top + i) & 7;
}

export function isEmpty(f: FpuState, i: number): boolean {
  return ((f.ftw >> (2 * physical(f, i))) & 3) === TAG_EMPTY;
}

/** The tag a value gets when written: zero, valid (normal) or special (NaN, infinity, denormal, unsupported). */
export function tagOfValue(se: number, hi: number, lo: number): number {
  const e = se & 0x7fff;
  if (e === 0) return (hi | lo) === 0 ? TAG_ZERO : TAG_SPECIAL;
  if (e === 0x7fff || (hi & 0x80000000) === 0) return TAG_SPECIAL;
  return TAG_VALID;
}

export function readST(f: FpuState, i: number): void {
  const p = physical(f, i);
  st.se = f.signExp[p];
  st.hi = f.mant[2 * p + 1];
  st.lo = f.mant[2 * p];
}

export function writePhysical(f: FpuState, p: number, se: number, hi: number, lo: number): void {
  f.signExp[p] = se;
  f.mant[2 * p + 1] = hi;
  f.mant[2 * p] = lo;
  const t = tagOfValue(se, hi, lo);
  f.ftw = (f.ftw & ~(3 << (2 * p))) | (t << (2 * p));
}

export function writeST(f: FpuState, i: number, se: number, hi: number, lo: number): void {
  writePhysical(f, physical(f, i), se, hi, lo);
}

export function setTagEmpty(f: FpuState, i: number): void {
  f.ftw |= 3 << (2 * physical(f, i));
}

export function pop(f: FpuState): void {
  setTagEmpty(f, 0);
  f.top = (f.top + 1) & 7;
}

export function push(f: FpuState, se: number, hi: number, lo: number): void {
  f.top = (f.top - 1) & 7;
  writeST(f, 0, se, hi, lo);
}

/** Recomputes ES and B from the exception flags and masks (B mirrors ES on the 387 and later). */
export function updateSummary(f: FpuState): void {
  if ((f.fsw & ~f.fcw & 0x3f) !== 0) f.fsw |= FSW_ES | FSW_B;
  else f.fsw &= ~(FSW_ES | FSW_B);
}

/** Sets exception flags (and ES/B when one is unmasked); the flags are sticky. */
export function raise(f: FpuState, flags: number): void {
  f.fsw |= flags & 0x7f;
  if ((flags & ~f.fcw & 0x3f) !== 0) f.fsw |= FSW_ES | FSW_B;
}

export function setC1(f: FpuState, on: boolean): void {
  f.fsw = on ? f.fsw | FSW_C1 : f.fsw & ~FSW_C1;
}

/** Prepares the soft-float context from FCW before an operation. */
export function beginOp(f: FpuState): void {
  const cw = f.fcw;
  const pc = (cw >> 8) & 3;
  fx.precision = pc === 0 ? 24 : pc === 2 ? 53 : 64;
  fx.rounding = (cw >> 10) & 3;
  fx.overflowMasked = (cw & OE) !== 0;
  fx.underflowMasked = (cw & UE) !== 0;
  fx.flags = 0;
  fx.roundedUp = false;
}

/** Like beginOp, for operations that are exact or rounded to 64 bits whatever PC says. */
export function beginOpFullPrecision(f: FpuState): void {
  beginOp(f);
  fx.precision = 64;
}

/**
 * Whether the operation's result may be delivered: an unmasked invalid-operation, denormal-operand or
 * zero-divide exception leaves the destination (and the stack) untouched, and only those flags are
 * reported. Returns false after recording them.
 */
export function resultAllowed(f: FpuState): boolean {
  const unmasked = fx.flags & ~f.fcw & (IE | DE | ZE);
  if (unmasked === 0) return true;
  raise(f, fx.flags & (IE | DE | ZE));
  setC1(f, false);
  return false;
}

/**
 * The end of an arithmetic instruction that delivered its result: flags raised, C1 = "rounded up" when
 * the result is inexact (cleared otherwise).
 */
export function finishArith(f: FpuState): void {
  setC1(f, (fx.flags & PE) !== 0 && fx.roundedUp);
  raise(f, fx.flags);
}

/**
 * Stack underflow (an empty register read): IE + SF with C1 = 0. Returns whether the masked response
 * (the real indefinite as the result) applies.
 */
export function stackUnderflow(f: FpuState): boolean {
  raise(f, IE | SF);
  setC1(f, false);
  return (f.fcw & IE) !== 0;
}

/** Stack overflow (a push onto a full register): IE + SF with C1 = 1. */
export function stackOverflow(f: FpuState): boolean {
  raise(f, IE | SF);
  setC1(f, true);
  return (f.fcw & IE) !== 0;
}


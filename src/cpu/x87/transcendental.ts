/**
 * FSIN, FCOS, FSINCOS and FPTAN as QEMU 7.2 computes them (the reference ttd is compared with): the
 * operand is rounded to a double under RC, the double function is evaluated as the C library does
 * (correctly rounded to nearest: here in 128-bit precision, wide-functions.ts, then rounded once), and
 * the double result is widened back. Operands beyond +/-2^63 (infinities included) set C2 and leave
 * ST0 alone; no exception flag is raised and C1 is left as it was, as QEMU does.
 */
import type { CPU } from "../cpu.js";
import { BIAS, EXT_EMAX, EXT_EMIN, F64_EMAX, F64_EMIN, FINITE, fx, opA, RC_NEAREST, roundPack, unpack } from "./float80.js";
import { fromDouble as fromDouble64, Wide } from "./wide-float.js";
import { trigOf } from "./wide-functions.js";
import { conv, loadFloat64, storeFloat64 } from "./convert.js";
import { beginOp, FSW_C2, isEmpty, push, readST, st, stackOverflow, stackUnderflow, writeST } from "./stack.js";

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
/** 2^63: QEMU's limit for the trigonometric instructions. */
const MAX_TRIG = 9223372036854775808;

/** ST0 rounded to a double under RC (flags discarded, as QEMU does). */
function st0AsDouble(cpu: CPU): number {
  beginOp(cpu.fpu);
  readST(cpu.fpu, 0);
  storeFloat64(st.se, st.hi, st.lo);
  u32[0] = conv.lo;
  u32[1] = conv.hi;
  return f64[0];
}

/**
 * A double result widened to extended in fx, rounded to the precision control under RC as QEMU's
 * conversion does; a NaN result keeps the operand's NaN (as the C library does).
 */
function fromDouble(x: number, operandNaN: boolean): void {
  if (!operandNaN) {
    f64[0] = x;
    if (x !== x) {
      // NaN from a non-NaN operand (an infinity): the default NaN of double arithmetic.
      u32[1] = 0xfff80000;
      u32[0] = 0;
    }
  }
  loadFloat64(u32[1], u32[0]);
  if (fx.precision === 24) {
    unpack(opA, fx.se, fx.hi, fx.lo);
    if (opA.cls === FINITE) roundPack(opA.sign, opA.exp, opA.hi, opA.lo, 0, EXT_EMIN, EXT_EMAX, 24, false);
  }
}

const wx = new Wide(), wr = new Wide();

/** sin, cos or tan (`which` 0, 1, 3) of a finite double, correctly rounded to a double. */
function libmTrig(x: number, which: number): number {
  if (x === 0) return which === 1 ? 1 : x;
  fromDouble64(wx, x);
  trigOf(wr, wx, which);
  if (wr.zero) return 0;
  const saved = fx.flags, savedRc = fx.rounding;
  fx.rounding = RC_NEAREST;
  roundPack(wr.sign, wr.exp + BIAS, wr.w[0], wr.w[1], wr.w[2] | (wr.w[3] !== 0 ? 1 : 0), F64_EMIN, F64_EMAX, 53, false);
  fx.rounding = savedRc;
  fx.flags = saved;
  // The double's value from the extended result (exact: 53 bits at most).
  const e = fx.se & 0x7fff;
  const mag = (fx.hi * 2 ** 32 + fx.lo) * 2 ** -63 * 2 ** (e - BIAS);
  return (fx.se & 0x8000) !== 0 ? -mag : mag;
}

/** `which`: 0 FSIN, 1 FCOS, 2 FSINCOS, 3 FPTAN. */
export function trig(cpu: CPU, which: number): void {
  const f = cpu.fpu;
  if (isEmpty(f, 0)) {
    if (stackUnderflow(f)) writeST(f, 0, 0xffff, 0xc0000000, 0);
    return;
  }
  if (which >= 2 && !isEmpty(f, 7)) {
    // FSINCOS and FPTAN push: a full stack is a stack fault (QEMU overwrites ST7; the hardware faults).
    if (stackOverflow(f)) {
      writeST(f, 0, 0xffff, 0xc0000000, 0);
      push(f, 0xffff, 0xc0000000, 0);
    }
    return;
  }
  const x = st0AsDouble(cpu);
  if (x > MAX_TRIG || x < -MAX_TRIG) {
    f.fsw |= FSW_C2;
    return;
  }
  const nan = x !== x;
  const r = nan ? x : libmTrig(x, which === 2 ? 0 : which);
  fromDouble(r, nan);
  writeST(f, 0, fx.se, fx.hi, fx.lo);
  if (which === 2) {
    // The operand's bits are still in u32 when it was a NaN.
    if (nan) {
      u32[0] = conv.lo;
      u32[1] = conv.hi;
    }
    fromDouble(nan ? x : libmTrig(x, 1), nan);
    push(f, fx.se, fx.hi, fx.lo);
  } else if (which === 3) {
    push(f, 0x3fff, 0x80000000, 0);
  }
  f.fsw &= ~FSW_C2;
}

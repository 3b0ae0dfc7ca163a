/**
 * The exponent-manipulating instructions: FSCALE (multiply by 2^trunc(ST1)), FXTRACT (split into
 * exponent and significand) and FRNDINT (round to an integer under RC). None is subject to the
 * precision control (SDM "Precision Control Field": only add, subtract, multiply, divide and square
 * root are), so results are rounded to 64 bits only when they leave the exponent range.
 */
import {
  BIAS, DE, EXT_EMAX, EXT_EMIN, FINITE, fx, INF, invalid, opA, opB, PE, propagateNaN1, propagateNaN2, roundPack, setResult,
  unpack, ZE, ZERO,
} from "./float80.js";
import { integer, loadInteger, roundToInteger } from "./convert.js";

/** ST0 x 2^trunc(ST1) into fx. */
export function scale(aSe: number, aHi: number, aLo: number, bSe: number, bHi: number, bLo: number): void {
  const a = opA, b = opB;
  unpack(a, aSe, aHi, aLo);
  unpack(b, bSe, bHi, bLo);
  if (propagateNaN2(a, b)) return;
  if (b.cls === INF) {
    if (b.sign === 1) {
      if (a.cls === INF) return invalid();
      if (a.denormal) fx.flags |= DE;
      return setResult(a.sign << 15, 0, 0);
    }
    if (a.cls === ZERO) return invalid();
    if (a.denormal) fx.flags |= DE;
    return setResult((a.sign << 15) | 0x7fff, 0x80000000, 0);
  }
  if (a.denormal || b.denormal) fx.flags |= DE;
  if (a.cls === ZERO || a.cls === INF) return setResult(a.se, a.rawHi, a.rawLo);
  // n = trunc(ST1), clamped: anything beyond +/-2^17 over- or underflows every operand alike.
  let n = 0;
  if (b.cls === FINITE) {
    const E = b.exp - BIAS;
    if (E >= 17) n = 0x20000;
    else if (E >= 0) n = b.hi >>> (31 - E);
    if (b.sign === 1) n = -n;
  }
  roundPack(a.sign, a.exp + n, a.hi, a.lo, 0, EXT_EMIN, EXT_EMAX, 64, true);
}

/** FXTRACT: the exponent into `extracted` (pushed below) and the significand into fx. */
export const extracted = { se: 0, hi: 0, lo: 0 };

export function extract(aSe: number, aHi: number, aLo: number): void {
  const a = opA;
  unpack(a, aSe, aHi, aLo);
  if (propagateNaN1(a)) {
    extracted.se = fx.se; extracted.hi = fx.hi; extracted.lo = fx.lo;
    return;
  }
  if (a.cls === ZERO) {
    fx.flags |= ZE;
    extracted.se = 0xffff; extracted.hi = 0x80000000; extracted.lo = 0;
    return setResult(a.se, 0, 0);
  }
  if (a.cls === INF) {
    extracted.se = 0x7fff; extracted.hi = 0x80000000; extracted.lo = 0;
    return setResult(a.se, 0x80000000, 0);
  }
  if (a.denormal) fx.flags |= DE;
  const E = a.exp - BIAS;
  loadInteger(E < 0, 0, Math.abs(E));
  extracted.se = fx.se; extracted.hi = fx.hi; extracted.lo = fx.lo;
  setResult((a.sign << 15) | BIAS, a.hi, a.lo);
}

/** FRNDINT into fx. */
export function roundToIntegral(aSe: number, aHi: number, aLo: number): void {
  const a = opA;
  unpack(a, aSe, aHi, aLo);
  if (propagateNaN1(a)) return;
  if (a.denormal) fx.flags |= DE;
  if (a.cls !== FINITE) return setResult(a.se, a.rawHi, a.rawLo);
  fx.roundedUp = false;
  if (a.exp - BIAS >= 63) return setResult(a.se, a.hi, a.lo);
  roundToInteger(a, fx.rounding);
  if (integer.inexact) {
    fx.flags |= PE;
    fx.roundedUp = integer.roundedUp;
  }
  if (integer.tooBig) return setResult((a.sign << 15) | (BIAS + 64), 0x80000000, 0);
  loadInteger(a.sign === 1, integer.hi, integer.lo);
  if ((fx.hi | fx.lo) === 0) setResult(a.sign << 15, 0, 0);
}

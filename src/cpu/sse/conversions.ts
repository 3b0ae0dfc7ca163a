/**
 * SSE conversions on one lane: float <-> int32 (rounding per MXCSR, or truncating for the CVTT
 * forms; NaN and out-of-range give the integer indefinite 0x80000000 with IE) and single <-> double.
 */
import { fpEnv, MX_IE, MX_PE, RC_DOWN, RC_NEAREST, RC_UP } from "./mxcsr.js";
import {
  bits64, f32Bits, f32IsDenormal, f32IsNaN, f32Value, f64Bits, f64IsDenormal, f64IsNaN, f64Value,
} from "./float-bits.js";
import { f32Operand, f64Operand } from "./float-arith.js";
import { roundToFormat, SINGLE } from "./float-round.js";

export const INTEGER_INDEFINITE = 0x80000000 | 0;

/** A number rounded to int32 per MXCSR (or toward zero); indefinite with IE when it does not fit. */
function toInt32(v: number, truncate: boolean): number {
  let r: number;
  if (truncate) r = Math.trunc(v);
  else {
    switch (fpEnv.rounding) {
      case RC_NEAREST: {
        r = Math.floor(v);
        const d = v - r;
        if (d > 0.5 || (d === 0.5 && r % 2 !== 0)) r += 1;
        break;
      }
      case RC_DOWN: r = Math.floor(v); break;
      case RC_UP: r = Math.ceil(v); break;
      default: r = Math.trunc(v); break;
    }
  }
  if (!(r >= -2147483648 && r <= 2147483647)) {
    fpEnv.flags |= MX_IE;
    return INTEGER_INDEFINITE;
  }
  if (r !== v) fpEnv.flags |= MX_PE;
  return r | 0;
}

/** CVTSS2SI/CVTTSS2SI/CVTPS2DQ/...: a single's bits to int32. Denormals read as zero under DAZ, and raise no DE. */
export function f32ToInt32(b: number, truncate: boolean): number {
  if (f32IsNaN(b)) {
    fpEnv.flags |= MX_IE;
    return INTEGER_INDEFINITE;
  }
  if (fpEnv.daz && f32IsDenormal(b)) return 0;
  return toInt32(f32Value(b), truncate);
}

export function f64ToInt32(lo: number, hi: number, truncate: boolean): number {
  if (f64IsNaN(lo, hi)) {
    fpEnv.flags |= MX_IE;
    return INTEGER_INDEFINITE;
  }
  if (fpEnv.daz && f64IsDenormal(lo, hi)) return 0;
  return toInt32(f64Value(lo, hi), truncate);
}

/** CVTSI2SS/CVTDQ2PS/CVTPI2PS: int32 to single, rounded per MXCSR. */
export function int32ToF32(i: number): number {
  return i === 0 ? 0 : f32Bits(roundToFormat(i, 0, 0, SINGLE));
}

/** CVTSS2SD/CVTPS2PD: exact, except that an SNaN is quieted (IE). Result in `bits64`. */
export function f32ToF64(b: number): void {
  if (f32IsNaN(b)) {
    if ((b & 0x400000) === 0) fpEnv.flags |= MX_IE;
    // Sign, all-ones exponent, quiet bit, the payload's 22 remaining bits at the top of the fraction.
    bits64.hi = (b & 0x80000000) | 0x7ff80000 | ((b & 0x3fffff) >>> 3);
    bits64.lo = (b & 7) << 29;
    return;
  }
  f64Bits(f32Operand(b));
}

/** CVTSD2SS/CVTPD2PS: rounded per MXCSR; an SNaN is quieted (IE) keeping the payload's top bits. */
export function f64ToF32(lo: number, hi: number): number {
  if (f64IsNaN(lo, hi)) {
    if ((hi & 0x80000) === 0) fpEnv.flags |= MX_IE;
    return (hi & 0x80000000) | 0x7fc00000 | ((hi & 0x7ffff) << 3) | (lo >>> 29);
  }
  const v = f64Operand(lo, hi);
  if (v === 0 || v === Infinity || v === -Infinity) return f32Bits(v);
  return f32Bits(roundToFormat(v, 0, 0, SINGLE));
}

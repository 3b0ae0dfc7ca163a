/**
 * Moving between IEEE bit patterns and JS numbers. Only non-NaN values go through numbers: engines may
 * quiet or canonicalise a NaN on the way, so NaNs are always handled on their bits.
 */
const f64 = new Float64Array(1);
const f64w = new Uint32Array(f64.buffer);
const f32 = new Float32Array(1);
const f32w = new Uint32Array(f32.buffer);

/** The halves of the last `f64Bits` result. */
export const bits64 = { lo: 0, hi: 0 };

export function f32Value(b: number): number {
  f32w[0] = b;
  return f32[0];
}

/** Bits of a number already representable in single precision. */
export function f32Bits(x: number): number {
  f32[0] = x;
  return f32w[0] | 0;
}

export function f64Value(lo: number, hi: number): number {
  f64w[0] = lo;
  f64w[1] = hi;
  return f64[0];
}

/** Sets `bits64` to the bits of `x`. */
export function f64Bits(x: number): void {
  f64[0] = x;
  bits64.lo = f64w[0] | 0;
  bits64.hi = f64w[1] | 0;
}

export function f32IsNaN(b: number): boolean {
  return (b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0;
}

export function f32IsSNaN(b: number): boolean {
  return f32IsNaN(b) && (b & 0x400000) === 0;
}

export function f32IsDenormal(b: number): boolean {
  return (b & 0x7f800000) === 0 && (b & 0x7fffff) !== 0;
}

export function f64IsNaN(lo: number, hi: number): boolean {
  return (hi & 0x7ff00000) === 0x7ff00000 && ((hi & 0xfffff) !== 0 || lo !== 0);
}

export function f64IsSNaN(lo: number, hi: number): boolean {
  return f64IsNaN(lo, hi) && (hi & 0x80000) === 0;
}

export function f64IsDenormal(lo: number, hi: number): boolean {
  return (hi & 0x7ff00000) === 0 && ((hi & 0xfffff) !== 0 || lo !== 0);
}

/** The default NaN SSE produces for an invalid operation ("QNaN floating-point indefinite"). */
export const F32_DEFAULT_NAN = 0xffc00000 | 0;
export const F64_DEFAULT_NAN_HI = 0xfff80000 | 0;

/** 2^k for any k in [-1074, 1023], exactly. */
const POW2 = new Float64Array(1074 + 1024);
for (let k = -1074; k <= 1023; k++) {
  if (k >= -1022) POW2[k + 1074] = f64Value(0, (k + 1023) << 20);
  else {
    const bit = k + 1074; // position in the 52-bit fraction
    POW2[k + 1074] = bit >= 32 ? f64Value(0, 1 << (bit - 32)) : f64Value(1 << bit, 0);
  }
}

export function pow2(k: number): number {
  return POW2[k + 1074];
}

/** x * 2^k, exactly whenever the result is representable (steps that stay in range). */
export function scaleB(x: number, k: number): number {
  while (k > 1023) {
    x *= POW2[1023 + 1074];
    k -= 1023;
  }
  while (k < -1022) {
    x *= POW2[-1022 + 1074];
    k += 1022;
  }
  return x * POW2[k + 1074];
}

/** floor(log2(|x|)) of a finite nonzero double, subnormals included. */
export function exponentOf(x: number): number {
  f64[0] = x;
  const e = (f64w[1] >>> 20) & 0x7ff;
  if (e !== 0) return e - 1023;
  f64[0] = x * 18446744073709551616; // 2^64
  return ((f64w[1] >>> 20) & 0x7ff) - 1023 - 64;
}

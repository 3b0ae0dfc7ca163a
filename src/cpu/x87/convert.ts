/**
 * Conversions between the extended format and the memory formats the x87 loads and stores: float32,
 * float64, two's-complement integers of 16/32/64 bits and 18-digit packed BCD. Loads of float32/64 are
 * exact (a signalling NaN raises IE and is quieted, a denormal raises DE); stores round under the
 * rounding control to the destination's precision and exponent range (FST's precision is the
 * format's, not the precision control's). Results of stores are left in `conv`.
 */
import {
  BIAS, DE, F32_EMAX, F32_EMIN, F64_EMAX, F64_EMIN, FINITE, fx, IE, INF, opA, PE, QNAN, RC_DOWN, RC_NEAREST, RC_UP,
  roundPack, setResult, shifted, shiftRightJam96, SNAN, UNSUPPORTED, ZERO, mul64, product, unpack, type Unpacked,
} from "./float80.js";

/** A stored value: `lo` (and `hi` for 64-bit formats); BCD uses `bcd`. */
export const conv = { hi: 0, lo: 0 };
export const bcd = new Uint8Array(10);

// ---- Loads ----------------------------------------------------------------------------------------

/** Whether the last load was of a denormal (raised as DE by FLD; an operand's DE for arithmetic). */
export const loaded = { denormal: false };

/**
 * float32 to extended. FLD quiets a signalling NaN (raising IE) and raises DE for a denormal; an
 * arithmetic instruction's memory operand (`asOperand`) keeps the NaN signalling and leaves both
 * exceptions to the operation, which ranks them against the other operand.
 */
export function loadFloat32(v: number, asOperand = false): void {
  const sign = v >>> 31, e = (v >>> 23) & 0xff, f = v & 0x7fffff;
  loaded.denormal = false;
  if (e === 0xff) {
    if (f === 0) return setResult((sign << 15) | 0x7fff, 0x80000000, 0);
    if (asOperand) return setResult((sign << 15) | 0x7fff, 0x80000000 | (f << 8), 0);
    if ((f & 0x400000) === 0) fx.flags |= IE;
    return setResult((sign << 15) | 0x7fff, 0xc0000000 | (f << 8), 0);
  }
  if (e === 0) {
    if (f === 0) return setResult(sign << 15, 0, 0);
    loaded.denormal = true;
    if (!asOperand) fx.flags |= DE;
    const s = Math.clz32(f) - 8; // shift to bit 23
    return setResult((sign << 15) | (F32_EMIN - s), (f << (s + 8)) >>> 0, 0);
  }
  setResult((sign << 15) | (e - 127 + BIAS), (0x80000000 | (f << 8)) >>> 0, 0);
}

export function loadFloat64(hi: number, lo: number, asOperand = false): void {
  hi >>>= 0; lo >>>= 0;
  const sign = hi >>> 31, e = (hi >>> 20) & 0x7ff, fh = hi & 0xfffff;
  loaded.denormal = false;
  if (e === 0x7ff) {
    if (fh === 0 && lo === 0) return setResult((sign << 15) | 0x7fff, 0x80000000, 0);
    if (asOperand) return setResult((sign << 15) | 0x7fff, 0x80000000 | (fh << 11) | (lo >>> 21), lo << 11);
    if ((fh & 0x80000) === 0) fx.flags |= IE;
    return setResult((sign << 15) | 0x7fff, 0xc0000000 | (fh << 11) | (lo >>> 21), lo << 11);
  }
  if (e === 0) {
    if (fh === 0 && lo === 0) return setResult(sign << 15, 0, 0);
    loaded.denormal = true;
    if (!asOperand) fx.flags |= DE;
    // Normalize the 52-bit fraction so its top bit lands on bit 63.
    let h = (fh << 11) | (lo >>> 21), l = lo << 11, exp = F64_EMIN;
    h >>>= 0; l >>>= 0;
    if (h === 0) { h = l; l = 0; exp -= 32; }
    const s = Math.clz32(h);
    if (s !== 0) { h = (h << s) | (l >>> (32 - s)); l <<= s; exp -= s; }
    return setResult((sign << 15) | exp, h, l);
  }
  setResult((sign << 15) | (e - 1023 + BIAS), 0x80000000 | (fh << 11) | (lo >>> 21), lo << 11);
}

/** Integer (as a sign and a 64-bit magnitude) to extended, exactly. */
export function loadInteger(negative: boolean, hi: number, lo: number): void {
  hi >>>= 0; lo >>>= 0;
  if (hi === 0 && lo === 0) return setResult(0, 0, 0);
  let exp = BIAS + 63;
  if (hi === 0) { hi = lo; lo = 0; exp -= 32; }
  const s = Math.clz32(hi);
  if (s !== 0) { hi = (hi << s) | (lo >>> (32 - s)); lo <<= s; exp -= s; }
  setResult((negative ? 0x8000 : 0) | exp, hi, lo);
}

export function loadInt16(v: number): void {
  v = (v << 16) >> 16;
  loadInteger(v < 0, 0, Math.abs(v));
}

export function loadInt32(v: number): void {
  v |= 0;
  loadInteger(v < 0, 0, v < 0 ? -v >>> 0 : v);
}

export function loadInt64(hi: number, lo: number): void {
  if ((hi | 0) < 0) {
    // Two's complement negation of hi:lo.
    lo = (~lo + 1) >>> 0;
    hi = (~hi + (lo === 0 ? 1 : 0)) >>> 0;
    loadInteger(true, hi, lo);
  } else loadInteger(false, hi, lo);
}

/** 18 BCD digits and a sign byte (bit 7) to extended; digits above 9 are taken at face value. */
export function loadBcd(b: Uint8Array): void {
  let high = 0, low = 0;
  for (let i = 8; i >= 5; i--) high = high * 100 + (b[i] >> 4) * 10 + (b[i] & 15);
  high = high * 10 + (b[4] >> 4);
  low = b[4] & 15;
  for (let i = 3; i >= 0; i--) low = low * 100 + (b[i] >> 4) * 10 + (b[i] & 15);
  // value = high x 10^9 + low, up to 10^18 - 1: exact through mul64.
  mul64(0, high, 0, 1e9);
  let lo = product.w0 + low, hi = product.w1;
  if (lo > 0xffffffff) { lo -= 0x100000000; hi++; }
  loadInteger((b[9] & 0x80) !== 0, hi, lo);
  if (hi === 0 && lo === 0 && (b[9] & 0x80) !== 0) setResult(0x8000, 0, 0);
}

// ---- Stores to float formats ----------------------------------------------------------------------

/** Extended to float32 bits in conv.lo. */
export function storeFloat32(se: number, hi: number, lo: number): void {
  const a = opA;
  unpack(a, se, hi, lo);
  const sign = a.sign;
  switch (a.cls) {
    case ZERO: conv.lo = sign << 31; return;
    case INF: conv.lo = ((sign << 31) | 0x7f800000) >>> 0; return;
    case UNSUPPORTED: fx.flags |= IE; conv.lo = 0xffc00000; return;
    case SNAN: case QNAN:
      if (a.cls === SNAN) fx.flags |= IE;
      conv.lo = ((sign << 31) | 0x7fc00000 | ((a.rawHi >>> 8) & 0x3fffff)) >>> 0;
      return;
  }
  roundPack(sign, a.exp, a.hi, a.lo, 0, F32_EMIN, F32_EMAX, 24, false);
  const e = fx.se & 0x7fff, h = fx.hi;
  if (e === 0x7fff) conv.lo = ((sign << 31) | 0x7f800000) >>> 0;
  else if ((h & 0x80000000) === 0) conv.lo = ((sign << 31) | (h >>> 8)) >>> 0;
  else conv.lo = ((sign << 31) | ((e - BIAS + 127) << 23) | ((h >>> 8) & 0x7fffff)) >>> 0;
}

/** Extended to float64 bits in conv.hi:conv.lo. */
export function storeFloat64(se: number, hi: number, lo: number): void {
  const a = opA;
  unpack(a, se, hi, lo);
  const sign = a.sign;
  conv.lo = 0;
  switch (a.cls) {
    case ZERO: conv.hi = sign << 31; return;
    case INF: conv.hi = ((sign << 31) | 0x7ff00000) >>> 0; return;
    case UNSUPPORTED: fx.flags |= IE; conv.hi = 0xfff80000; return;
    case SNAN: case QNAN:
      if (a.cls === SNAN) fx.flags |= IE;
      conv.hi = ((sign << 31) | 0x7ff80000 | ((a.rawHi >>> 11) & 0x7ffff)) >>> 0;
      conv.lo = ((a.rawHi << 21) | (a.rawLo >>> 11)) >>> 0;
      return;
  }
  roundPack(sign, a.exp, a.hi, a.lo, 0, F64_EMIN, F64_EMAX, 53, false);
  const e = fx.se & 0x7fff, h = fx.hi, l = fx.lo;
  if (e === 0x7fff) {
    conv.hi = ((sign << 31) | 0x7ff00000) >>> 0;
    return;
  }
  // Fraction: significand bits 62..11 (a denormal keeps bit 63 clear and exponent field 0).
  const fe = (h & 0x80000000) === 0 ? 0 : e - BIAS + 1023;
  conv.hi = ((sign << 31) | (fe << 20) | ((h >>> 11) & 0xfffff)) >>> 0;
  conv.lo = ((h << 21) | (l >>> 11)) >>> 0;
}

// ---- Rounding to an integer -----------------------------------------------------------------------

/** Output of roundToInteger: sign and 64-bit magnitude; `inexact` when a fraction was dropped. */
export const integer = { negative: false, hi: 0, lo: 0, inexact: false, roundedUp: false, tooBig: false };

/**
 * Rounds a finite operand to an integer under `rc` (or truncating, for FISTTP). Sets `tooBig` when the
 * magnitude needs more than 64 bits. Raises nothing: callers decide (FIST raises IE/PE, FRNDINT PE).
 */
export function roundToInteger(a: Unpacked, rc: number): void {
  integer.negative = a.sign === 1;
  integer.inexact = false;
  integer.roundedUp = false;
  integer.tooBig = false;
  if (a.cls === ZERO) {
    integer.hi = integer.lo = 0;
    return;
  }
  const E = a.exp - BIAS;
  if (E >= 64) {
    integer.tooBig = true;
    integer.hi = integer.lo = 0;
    return;
  }
  shiftRightJam96(a.hi, a.lo, 0, 63 - E);
  let hi = shifted.h, lo = shifted.l;
  const x = shifted.x;
  if (x !== 0) {
    integer.inexact = true;
    let inc = false;
    if (rc === RC_NEAREST) inc = x > 0x80000000 || (x === 0x80000000 && (lo & 1) === 1);
    else if (rc === RC_DOWN) inc = a.sign === 1;
    else if (rc === RC_UP) inc = a.sign === 0;
    if (inc) {
      integer.roundedUp = true;
      lo = (lo + 1) >>> 0;
      if (lo === 0) {
        hi = (hi + 1) >>> 0;
        if (hi === 0) integer.tooBig = true;
      }
    }
  }
  integer.hi = hi;
  integer.lo = lo;
}

/**
 * Extended to a signed integer of `bits` (16, 32, 64) rounded under `rc`; the two's-complement result
 * in conv.hi:conv.lo. Out of range, NaN, infinity or unsupported: IE and the integer indefinite.
 */
export function storeInteger(se: number, hi: number, lo: number, bits: number, rc: number): void {
  const a = opA;
  unpack(a, se, hi, lo);
  fx.roundedUp = false;
  if (a.cls !== FINITE && a.cls !== ZERO) return integerIndefinite(bits);
  roundToInteger(a, rc);
  const ih = integer.hi, il = integer.lo, neg = integer.negative;
  let fits: boolean;
  if (integer.tooBig) fits = false;
  else if (bits === 64) fits = ih < 0x80000000 || (neg && ih === 0x80000000 && il === 0);
  else if (bits === 32) fits = ih === 0 && (il < 0x80000000 || (neg && il === 0x80000000));
  else fits = ih === 0 && (il < 0x8000 || (neg && il === 0x8000));
  if (!fits) return integerIndefinite(bits);
  if (integer.inexact) {
    fx.flags |= PE;
    fx.roundedUp = integer.roundedUp;
  }
  if (neg) {
    const l = (~il + 1) >>> 0;
    conv.lo = l;
    conv.hi = (~ih + (l === 0 ? 1 : 0)) >>> 0;
  } else {
    conv.lo = il;
    conv.hi = ih;
  }
  if (bits === 16) conv.lo &= 0xffff;
}

function integerIndefinite(bits: number): void {
  fx.flags |= IE;
  conv.hi = bits === 64 ? 0x80000000 : 0;
  conv.lo = bits === 64 ? 0 : bits === 32 ? 0x80000000 : 0x8000;
}

/** Extended to packed BCD (in `bcd`), rounded under `rc`; beyond 18 digits: IE and the BCD indefinite. */
export function storeBcd(se: number, hi: number, lo: number, rc: number): void {
  const a = opA;
  unpack(a, se, hi, lo);
  fx.roundedUp = false;
  bcd.fill(0);
  if (a.cls !== FINITE && a.cls !== ZERO) return bcdIndefinite();
  roundToInteger(a, rc);
  let ih = integer.hi, il = integer.lo;
  // 10^18 = 0x0DE0B6B3_A7640000.
  if (integer.tooBig || ih > 0x0de0b6b3 || (ih === 0x0de0b6b3 && il >= 0xa7640000)) return bcdIndefinite();
  if (integer.inexact) {
    fx.flags |= PE;
    fx.roundedUp = integer.roundedUp;
  }
  for (let i = 0; i < 18; i++) {
    const qh = Math.floor(ih / 10), rh = ih - qh * 10;
    const t = rh * 0x100000000 + il;
    const ql = Math.floor(t / 10), digit = t - ql * 10;
    ih = qh;
    il = ql >>> 0;
    bcd[i >> 1] |= (i & 1) === 0 ? digit : digit << 4;
  }
  bcd[9] = integer.negative ? 0x80 : 0;
}

function bcdIndefinite(): void {
  fx.flags |= IE;
  bcd.fill(0);
  bcd[7] = 0xc0;
  bcd[8] = 0xff;
  bcd[9] = 0xff;
}

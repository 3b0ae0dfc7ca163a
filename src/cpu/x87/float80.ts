/**
 * Soft-float for the x87's 80-bit extended format on 32-bit integer halves (no BigInt, no allocation):
 * operands are unpacked into preallocated `Unpacked` records, results go to `fx` (sign/exponent word
 * and significand halves) and the exception flags they raise accumulate in `fx.flags`.
 *
 * Rounding follows the SDM's "Floating-Point Exception Conditions" and "Precision Control Field":
 * results are rounded to 24, 53 or 64 significand bits under the rounding control, but keep the 15-bit
 * exponent range; tininess is detected after rounding; a masked underflow is signalled only when the
 * tiny result is also inexact; a masked overflow gives infinity or the largest finite number of the
 * precision, as the rounding direction says; with overflow/underflow unmasked a register result is
 * delivered with its exponent biased by -/+24576. C1 ("rounded up") is `fx.roundedUp`.
 *
 * Exponents are handled as plain integers in the extended format's bias (16383); significands as two
 * uint32 halves `hi` (bits 63-32, bit 63 the explicit integer bit) and `lo`, plus `ext`, 32 more bits
 * below the significand whose lowest bit also collects everything shifted out further ("sticky").
 */

// Exception flags, at their FSW bit positions.
export const IE = 0x01;
export const DE = 0x02;
export const ZE = 0x04;
export const OE = 0x08;
export const UE = 0x10;
export const PE = 0x20;
export const SF = 0x40;

// Rounding control values (FCW bits 10-11).
export const RC_NEAREST = 0;
export const RC_DOWN = 1;
export const RC_UP = 2;
export const RC_ZERO = 3;

export const BIAS = 16383;
/** The extended exponent range, and the exponents that bound float32/float64 normals, in extended bias. */
export const EXT_EMIN = 1;
export const EXT_EMAX = 0x7ffe;
export const F64_EMIN = BIAS - 1022;
export const F64_EMAX = BIAS + 1023;
export const F32_EMIN = BIAS - 126;
export const F32_EMAX = BIAS + 127;
/** Exponent adjustment of an unmasked overflow/underflow result (SDM: 3 x 2^13). */
export const BIAS_ADJUST = 24576;

// Operand classes.
export const ZERO = 0;
/** Normal, or a denormal already normalized (then `denormal` is set). */
export const FINITE = 1;
export const INF = 2;
export const QNAN = 3;
export const SNAN = 4;
/** Unnormals, pseudo-NaNs and pseudo-infinities: formats the 387 and later reject as invalid. */
export const UNSUPPORTED = 5;

export class Unpacked {
  sign = 0;
  /** Biased exponent of the normalized significand (may be < 1 for a normalized denormal). */
  exp = 0;
  hi = 0;
  lo = 0;
  cls = ZERO;
  denormal = false;
  /** The operand as it was packed, for NaN propagation and copies. */
  se = 0;
  rawHi = 0;
  rawLo = 0;
}

/** The unit's arithmetic context and result register. */
export class Float80Context {
  /** Significand bits results are rounded to: 24, 53 or 64. */
  precision = 64;
  rounding = RC_NEAREST;
  /** Whether OE/UE are masked (decides the bias-adjusted response for register results). */
  overflowMasked = true;
  underflowMasked = true;
  /** Exception flags raised since last cleared. */
  flags = 0;
  /** The last rounding increased the magnitude (C1 after an inexact result). */
  roundedUp = false;
  // The result: sign/exponent word and significand halves.
  se = 0;
  hi = 0;
  lo = 0;
}

export const fx = new Float80Context();
const A = new Unpacked();
const B = new Unpacked();
export { A as opA, B as opB };

// ---- Unpacking ------------------------------------------------------------------------------------

export function unpack(o: Unpacked, se: number, hi: number, lo: number): void {
  hi >>>= 0;
  lo >>>= 0;
  o.se = se;
  o.rawHi = hi;
  o.rawLo = lo;
  o.sign = (se >>> 15) & 1;
  o.denormal = false;
  const e = se & 0x7fff;
  o.hi = hi;
  o.lo = lo;
  o.exp = e;
  if (e === 0x7fff) {
    if ((hi & 0x80000000) === 0) o.cls = UNSUPPORTED;
    else if ((hi & 0x7fffffff) === 0 && lo === 0) o.cls = INF;
    else o.cls = (hi & 0x40000000) !== 0 ? QNAN : SNAN;
  } else if (e === 0) {
    if (hi === 0 && lo === 0) {
      o.cls = ZERO;
    } else {
      // Denormals and pseudo-denormals: the value is significand x 2^(1 - bias - 63).
      o.cls = FINITE;
      o.denormal = true;
      o.exp = 1;
      normalizeInto(o);
    }
  } else if ((hi & 0x80000000) === 0) {
    o.cls = UNSUPPORTED;
  } else {
    o.cls = FINITE;
  }
}

function normalizeInto(o: Unpacked): void {
  let hi = o.hi, lo = o.lo, e = o.exp;
  if (hi === 0) {
    hi = lo;
    lo = 0;
    e -= 32;
  }
  const s = Math.clz32(hi);
  if (s !== 0) {
    hi = ((hi << s) | (lo >>> (32 - s))) >>> 0;
    lo = (lo << s) >>> 0;
    e -= s;
  }
  o.hi = hi;
  o.lo = lo;
  o.exp = e;
}

export function isNaNClass(c: number): boolean {
  return c === QNAN || c === SNAN;
}

// ---- Results --------------------------------------------------------------------------------------

export function setResult(se: number, hi: number, lo: number): void {
  fx.se = se & 0xffff;
  fx.hi = hi >>> 0;
  fx.lo = lo >>> 0;
}

/** The default NaN ("real indefinite"): negative, quiet, significand 0xC000000000000000. */
export function defaultNaN(): void {
  setResult(0xffff, 0xc0000000, 0);
}

export function invalid(): void {
  fx.flags |= IE;
  defaultNaN();
}

/** Returns `o` (a NaN) quieted. */
function quietOf(o: Unpacked): void {
  setResult(o.se, o.rawHi | 0x40000000, o.rawLo);
}

/**
 * NaN propagation for one or two operands, per the SDM's table "Rules for Generating QNaNs": an SNaN
 * raises IE; a QNaN wins over an SNaN; of two NaNs of one kind, the larger significand wins (on a tie the
 * positive one); the result is always quiet. Returns false when no operand is a NaN (nor unsupported).
 */
export function propagateNaN2(a: Unpacked, b: Unpacked): boolean {
  if (a.cls === UNSUPPORTED || b.cls === UNSUPPORTED) {
    invalid();
    return true;
  }
  const an = isNaNClass(a.cls), bn = isNaNClass(b.cls);
  if (!an && !bn) return false;
  if (a.cls === SNAN || b.cls === SNAN) fx.flags |= IE;
  if (an && bn) {
    if (a.cls === QNAN && b.cls === SNAN) quietOf(a);
    else if (a.cls === SNAN && b.cls === QNAN) quietOf(b);
    else {
      const ah = a.rawHi | 0x40000000, bh = b.rawHi | 0x40000000;
      const c = ah !== bh ? (ah >>> 0 > bh >>> 0 ? 1 : -1) : a.rawLo !== b.rawLo ? (a.rawLo > b.rawLo ? 1 : -1) : 0;
      if (c > 0) quietOf(a);
      else if (c < 0) quietOf(b);
      else quietOf(a.sign === 0 ? a : b);
    }
  } else quietOf(an ? a : b);
  return true;
}

export function propagateNaN1(a: Unpacked): boolean {
  if (a.cls === UNSUPPORTED) {
    invalid();
    return true;
  }
  if (!isNaNClass(a.cls)) return false;
  if (a.cls === SNAN) fx.flags |= IE;
  quietOf(a);
  return true;
}

// ---- Rounding -------------------------------------------------------------------------------------

/** Output of shiftRightJam96: 96 bits, h the most significant word. */
export const shifted = { h: 0, l: 0, x: 0 };

/** (h, l, x) >> n with everything shifted out OR-ed into bit 0 of the lowest word, into `shifted`. */
export function shiftRightJam96(h: number, l: number, x: number, n: number): void {
  if (n <= 0) {
    shifted.h = h >>> 0; shifted.l = l >>> 0; shifted.x = x >>> 0;
    return;
  }
  if (n >= 96) {
    shifted.h = 0; shifted.l = 0; shifted.x = (h | l | x) !== 0 ? 1 : 0;
    return;
  }
  let sticky = 0;
  while (n >= 32) {
    sticky |= x;
    x = l; l = h; h = 0;
    n -= 32;
  }
  if (n > 0) {
    sticky |= x << (32 - n);
    x = (x >>> n) | (l << (32 - n));
    l = (l >>> n) | (h << (32 - n));
    h = h >>> n;
  }
  shifted.h = h >>> 0; shifted.l = l >>> 0; shifted.x = (x | (sticky !== 0 ? 1 : 0)) >>> 0;
}

/**
 * Rounds the exact value (-1)^sign x (hi:lo.ext) x 2^(exp - bias - 63), hi's top bit set, to
 * `precision` bits within the exponent range [eMin, eMax] (extended bias), and leaves it in `fx`
 * as an extended value whose exponent is still in extended bias (0 for a result below eMin that stayed
 * denormal when eMin is the extended minimum). For narrower formats see packFloat32/packFloat64.
 * `adjustable`: a register result, for which unmasked overflow/underflow deliver a bias-adjusted value.
 */
export function roundPack(sign: number, exp: number, hi: number, lo: number, ext: number, eMin: number, eMax: number, precision: number, adjustable: boolean): void {
  hi >>>= 0; lo >>>= 0; ext >>>= 0;
  const rc = fx.rounding;
  let tiny = false;
  if (exp < eMin && adjustable && !fx.underflowMasked) {
    fx.flags |= UE;
    exp += BIAS_ADJUST;
  } else if (exp > eMax && adjustable && !fx.overflowMasked) {
    fx.flags |= OE;
    exp -= BIAS_ADJUST;
  }
  if (exp < eMin && adjustable && !fx.underflowMasked) {
    // Below even the bias-adjusted range of an unmasked underflow: a signed zero whatever RC says.
    fx.flags |= PE;
    fx.roundedUp = false;
    setResult(sign << 15, 0, 0);
    return;
  }
  if (exp < eMin) {
    // Tininess is detected after rounding: a value that rounds (at unbounded exponent) up to the
    // smallest normal is not tiny.
    tiny = exp < eMin - 1 || !roundsToNextBinade(sign, hi, lo, ext, precision, rc);
    shiftRightJam96(hi, lo, ext, eMin - exp);
    hi = shifted.h; lo = shifted.l; ext = shifted.x;
    exp = eMin;
  }
  // Which part of the significand is dropped, and where its least significant kept bit is.
  let state: number, lsb: number;
  if (precision === 64) {
    lsb = lo & 1;
    state = ext === 0 ? 0 : ext < 0x80000000 ? 1 : ext === 0x80000000 ? 2 : 3;
  } else if (precision === 53) {
    const d = lo & 0x7ff;
    lsb = (lo >>> 11) & 1;
    state = d === 0 && ext === 0 ? 0 : d < 0x400 ? 1 : d === 0x400 && ext === 0 ? 2 : 3;
    lo = (lo & ~0x7ff) >>> 0;
  } else {
    const d = hi & 0xff;
    lsb = (hi >>> 8) & 1;
    state = d === 0 && lo === 0 && ext === 0 ? 0 : d < 0x80 ? 1 : d === 0x80 && lo === 0 && ext === 0 ? 2 : 3;
    hi = (hi & ~0xff) >>> 0;
    lo = 0;
  }
  let inc = false;
  if (state !== 0) {
    if (rc === RC_NEAREST) inc = state === 3 || (state === 2 && lsb === 1);
    else if (rc === RC_DOWN) inc = sign === 1;
    else if (rc === RC_UP) inc = sign === 0;
  }
  if (inc) {
    let h = hi;
    if (precision === 64) {
      lo = (lo + 1) >>> 0;
      if (lo === 0) h = hi + 1;
    } else if (precision === 53) {
      lo = (lo + 0x800) >>> 0;
      if (lo < 0x800) h = hi + 1;
    } else {
      h = hi + 0x100;
    }
    if (h > 0xffffffff) {
      // Carry out of the integer bit: 1.111..1 rounded up to 2.0.
      hi = 0x80000000;
      exp++;
    } else hi = h;
  }
  fx.roundedUp = inc;
  if (state !== 0) fx.flags |= PE;
  // Underflow: masked, only when the tiny result is also inexact; unmasked, whenever it is tiny.
  if (tiny && (state !== 0 || !fx.underflowMasked)) fx.flags |= UE;
  if (exp > eMax && adjustable && !fx.overflowMasked) {
    // Rounding carried a register result out of the range with overflow unmasked.
    fx.flags |= OE;
    exp -= BIAS_ADJUST;
  }
  if (exp > eMax) {
    // Masked overflow (the unmasked register case was adjusted above).
    fx.flags |= OE | PE;
    // Beyond even the bias-adjusted range of an unmasked overflow: infinity whatever RC says.
    const toInf = rc === RC_NEAREST || (rc === RC_UP && sign === 0) || (rc === RC_DOWN && sign === 1) || (adjustable && !fx.overflowMasked);
    if (toInf) {
      fx.roundedUp = true;
      setResult((sign << 15) | 0x7fff, 0x80000000, 0);
    } else {
      fx.roundedUp = false;
      if (precision === 64) setResult((sign << 15) | eMax, 0xffffffff, 0xffffffff);
      else if (precision === 53) setResult((sign << 15) | eMax, 0xffffffff, 0xfffff800);
      else setResult((sign << 15) | eMax, 0xffffff00, 0);
    }
    return;
  }
  if ((hi & 0x80000000) === 0) {
    // Still below the normal range (or zero): a denormal of the extended format has exponent 0.
    if (eMin === EXT_EMIN) exp = 0;
  }
  setResult((sign << 15) | exp, hi, lo);
}

/** Whether rounding hi:lo.ext to `precision` bits under `rc` carries into the next power of two. */
function roundsToNextBinade(sign: number, hi: number, lo: number, ext: number, precision: number, rc: number): boolean {
  // Only an all-ones kept part can carry.
  let rest: number, half: boolean, above: boolean;
  if (precision === 64) {
    if (hi !== 0xffffffff || lo !== 0xffffffff) return false;
    rest = ext; half = ext === 0x80000000; above = ext > 0x80000000;
  } else if (precision === 53) {
    if (hi !== 0xffffffff || (lo | 0x7ff) >>> 0 !== 0xffffffff) return false;
    const d = lo & 0x7ff;
    rest = d | ext; half = d === 0x400 && ext === 0; above = d > 0x400 || (d === 0x400 && ext !== 0);
  } else {
    if ((hi | 0xff) >>> 0 !== 0xffffffff) return false;
    const d = hi & 0xff;
    rest = d | lo | ext; half = d === 0x80 && lo === 0 && ext === 0; above = d > 0x80 || (d === 0x80 && (lo | ext) !== 0);
  }
  if (rest === 0) return false;
  if (rc === RC_NEAREST) return above || half; // the kept part is odd (all ones): a tie rounds up
  if (rc === RC_UP) return sign === 0;
  if (rc === RC_DOWN) return sign === 1;
  return false;
}

/** Signed zero for an exact zero sum/difference of opposite-signed operands: -0 only when rounding down. */
function exactZero(): void {
  setResult(fx.rounding === RC_DOWN ? 0x8000 : 0, 0, 0);
}

function packUnpacked(o: Unpacked): void {
  // A finite operand returned unchanged: round it to the precision too (SDM: results of arithmetic are rounded).
  roundPack(o.sign, o.exp, o.hi, o.lo, 0, EXT_EMIN, EXT_EMAX, fx.precision, true);
}

// ---- Add and subtract -----------------------------------------------------------------------------

/** a + b (or a - b when `negateB`), from packed operands. */
export function add(aSe: number, aHi: number, aLo: number, bSe: number, bHi: number, bLo: number, negateB: boolean): void {
  unpack(A, aSe, aHi, aLo);
  unpack(B, bSe, bHi, bLo);
  addUnpacked(A, B, negateB);
}

export function addUnpacked(a: Unpacked, b: Unpacked, negateB: boolean): void {
  if (propagateNaN2(a, b)) return;
  if (a.denormal || b.denormal) fx.flags |= DE;
  const bs = b.sign ^ (negateB ? 1 : 0);
  if (a.cls === INF || b.cls === INF) {
    if (a.cls === INF && b.cls === INF && a.sign !== bs) return invalid();
    if (a.cls === INF) setResult((a.sign << 15) | 0x7fff, 0x80000000, 0);
    else setResult((bs << 15) | 0x7fff, 0x80000000, 0);
    return;
  }
  if (a.cls === ZERO && b.cls === ZERO) {
    if (a.sign === bs) setResult(a.sign << 15, 0, 0);
    else exactZero();
    return;
  }
  if (a.cls === ZERO) {
    roundPack(bs, b.exp, b.hi, b.lo, 0, EXT_EMIN, EXT_EMAX, fx.precision, true);
    return;
  }
  if (b.cls === ZERO) return packUnpacked(a);
  addMagnitudes(a.sign, a.exp, a.hi, a.lo, bs, b.exp, b.hi, b.lo);
}

function addMagnitudes(as: number, ae: number, ah: number, al: number, bs: number, be: number, bh: number, bl: number): void {
  // Make a the operand with the larger exponent.
  if (be > ae || (be === ae && (bh > ah || (bh === ah && bl > al)))) {
    let t = as; as = bs; bs = t;
    t = ae; ae = be; be = t;
    t = ah; ah = bh; bh = t;
    t = al; al = bl; bl = t;
  }
  shiftRightJam96(bh, bl, 0, ae - be);
  const xh = shifted.h, xl = shifted.l, xx = shifted.x;
  let rh: number, rl: number, rx: number, e = ae;
  if (as === bs) {
    rx = (0 + xx) >>> 0;
    rl = al + xl;
    let carry = rl > 0xffffffff ? 1 : 0;
    rl >>>= 0;
    rh = ah + xh + carry;
    carry = rh > 0xffffffff ? 1 : 0;
    rh >>>= 0;
    if (carry) {
      const sticky = rx & 1;
      rx = ((rx >>> 1) | (rl << 31) | sticky) >>> 0;
      rl = ((rl >>> 1) | (rh << 31)) >>> 0;
      rh = ((rh >>> 1) | 0x80000000) >>> 0;
      e++;
    }
  } else {
    // |a| >= |b|: subtract (a:0) - (x).
    rx = (0 - xx) >>> 0;
    let borrow = xx !== 0 ? 1 : 0;
    let t = al - xl - borrow;
    borrow = t < 0 ? 1 : 0;
    rl = t >>> 0;
    t = ah - xh - borrow;
    rh = t >>> 0;
    if (rh === 0 && rl === 0 && rx === 0) return exactZero();
    // Normalize left.
    while (rh === 0) {
      rh = rl; rl = rx; rx = 0;
      e -= 32;
    }
    const s = Math.clz32(rh);
    if (s !== 0) {
      rh = ((rh << s) | (rl >>> (32 - s))) >>> 0;
      rl = ((rl << s) | (rx >>> (32 - s))) >>> 0;
      rx = (rx << s) >>> 0;
      e -= s;
    }
  }
  roundPack(as, e, rh, rl, rx, EXT_EMIN, EXT_EMAX, fx.precision, true);
}

// ---- Multiply -------------------------------------------------------------------------------------

// 128-bit product scratch, p3 the most significant word.
let p3 = 0, p2 = 0, p1 = 0, p0 = 0;
/** mul64's product, for other modules. */
export const product = { w3: 0, w2: 0, w1: 0, w0: 0 };
// Output of mul32: the 64-bit product of two uint32 as two words.
let mh = 0, ml = 0;

/** a x b (uint32) into mh:ml, from 16-bit halves (every partial product exact in a double). */
function mul32(a: number, b: number): void {
  const a0 = a & 0xffff, a1 = a >>> 16, b0 = b & 0xffff, b1 = b >>> 16;
  const mid = a0 * b1 + a1 * b0; // < 2^33
  const low = a0 * b0 + (mid % 65536) * 65536; // < 2^33
  ml = low >>> 0;
  mh = (a1 * b1 + Math.floor(mid / 65536) + (low >= 4294967296 ? 1 : 0)) >>> 0;
}

/** The 128-bit product of two 64-bit significands into p3:p2:p1:p0. */
export function mul64(ah: number, al: number, bh: number, bl: number): void {
  ah >>>= 0; al >>>= 0; bh >>>= 0; bl >>>= 0;
  mul32(al, bl);
  p0 = ml;
  let w1 = mh, w2 = 0, w3 = 0;
  mul32(al, bh);
  w1 += ml; w2 += mh;
  mul32(ah, bl);
  w1 += ml; w2 += mh;
  mul32(ah, bh);
  w2 += ml; w3 += mh;
  // Propagate carries (each sum stays below 2^35, exact).
  let c = Math.floor(w1 / 4294967296);
  p1 = w1 >>> 0;
  w2 += c;
  c = Math.floor(w2 / 4294967296);
  p2 = w2 >>> 0;
  p3 = (w3 + c) >>> 0;
  product.w3 = p3; product.w2 = p2; product.w1 = p1; product.w0 = p0;
}

export function mul(aSe: number, aHi: number, aLo: number, bSe: number, bHi: number, bLo: number): void {
  unpack(A, aSe, aHi, aLo);
  unpack(B, bSe, bHi, bLo);
  mulUnpacked(A, B);
}

export function mulUnpacked(a: Unpacked, b: Unpacked): void {
  if (propagateNaN2(a, b)) return;
  const sign = a.sign ^ b.sign;
  if (a.cls === INF || b.cls === INF) {
    if (a.cls === ZERO || b.cls === ZERO) return invalid();
    if (a.denormal || b.denormal) fx.flags |= DE;
    setResult((sign << 15) | 0x7fff, 0x80000000, 0);
    return;
  }
  if (a.denormal || b.denormal) fx.flags |= DE;
  if (a.cls === ZERO || b.cls === ZERO) {
    setResult(sign << 15, 0, 0);
    return;
  }
  mul64(a.hi, a.lo, b.hi, b.lo);
  let e = a.exp + b.exp - BIAS;
  let h = p3, l = p2, x = (p1 | (p0 !== 0 ? 1 : 0)) >>> 0;
  if ((h & 0x80000000) !== 0) {
    e++;
  } else {
    // Product in [1, 2): one left shift; bit 31 of p1 moves up, p1's lower bits and p0 stay sticky.
    h = ((h << 1) | (l >>> 31)) >>> 0;
    l = ((l << 1) | (p1 >>> 31)) >>> 0;
    x = ((p1 << 1) | (p0 !== 0 ? 1 : 0)) >>> 0;
  }
  roundPack(sign, e, h, l, x, EXT_EMIN, EXT_EMAX, fx.precision, true);
}

// ---- Divide ---------------------------------------------------------------------------------------

export function div(aSe: number, aHi: number, aLo: number, bSe: number, bHi: number, bLo: number): void {
  unpack(A, aSe, aHi, aLo);
  unpack(B, bSe, bHi, bLo);
  divUnpacked(A, B);
}

// Quotient scratch of divide96.
let qh = 0, ql = 0, qx = 0;

/**
 * Quotient of two significands, restoring division: the dividend (rt:rh:rl, 65 bits) lies in [b, 2b).
 * Leaves 64 quotient bits in qh:ql, then 2 more bits in qx's top bits and a sticky bit (the
 * remainder was not zero) in qx's bit 0.
 */
function divide96(rt: number, rh: number, rl: number, bh: number, bl: number): void {
  let q1 = 0, q0 = 0, qe = 0;
  for (let i = 0; i < 66; i++) {
    let bit = 0;
    if (rt !== 0 || rh > bh || (rh === bh && rl >= bl)) {
      const t = rl - bl;
      rl = t >>> 0;
      rh = (rh - bh - (t < 0 ? 1 : 0)) >>> 0;
      rt = 0;
      bit = 1;
    }
    // 66 bits shift into q1:q0:qe from the bottom.
    q1 = ((q1 << 1) | (q0 >>> 31)) >>> 0;
    q0 = ((q0 << 1) | (qe >>> 31)) >>> 0;
    qe = ((qe << 1) | bit) >>> 0;
    rt = rh >>> 31;
    rh = ((rh << 1) | (rl >>> 31)) >>> 0;
    rl = (rl << 1) >>> 0;
  }
  // The first bit is at position 65: realign to 64 + 2.
  qh = ((q1 << 30) | (q0 >>> 2)) >>> 0;
  ql = ((q0 << 30) | (qe >>> 2)) >>> 0;
  qx = (((qe & 3) << 30) | (rt !== 0 || rh !== 0 || rl !== 0 ? 1 : 0)) >>> 0;
}

export function divUnpacked(a: Unpacked, b: Unpacked): void {
  if (propagateNaN2(a, b)) return;
  const sign = a.sign ^ b.sign;
  if (a.cls === INF) {
    if (b.cls === INF) return invalid();
    if (b.denormal) fx.flags |= DE;
    setResult((sign << 15) | 0x7fff, 0x80000000, 0);
    return;
  }
  if (b.cls === INF) {
    if (a.denormal) fx.flags |= DE;
    setResult(sign << 15, 0, 0);
    return;
  }
  if (b.cls === ZERO) {
    if (a.cls === ZERO) return invalid();
    // Division by zero ranks above a denormal dividend: no DE.
    fx.flags |= ZE;
    setResult((sign << 15) | 0x7fff, 0x80000000, 0);
    return;
  }
  if (a.denormal || b.denormal) fx.flags |= DE;
  if (a.cls === ZERO) {
    setResult(sign << 15, 0, 0);
    return;
  }
  let e = a.exp - b.exp + BIAS;
  const ah = a.hi, al = a.lo;
  if (ah < b.hi || (ah === b.hi && al < b.lo)) {
    // a < b: the quotient would be below 1; divide 2a instead.
    e--;
    divide96(ah >>> 31, ((ah << 1) | (al >>> 31)) >>> 0, (al << 1) >>> 0, b.hi, b.lo);
  } else {
    divide96(0, ah, al, b.hi, b.lo);
  }
  roundPack(sign, e, qh, ql, qx, EXT_EMIN, EXT_EMAX, fx.precision, true);
}

// ---- Square root ----------------------------------------------------------------------------------

export function sqrt(aSe: number, aHi: number, aLo: number): void {
  unpack(A, aSe, aHi, aLo);
  sqrtUnpacked(A);
}

export function sqrtUnpacked(a: Unpacked): void {
  if (propagateNaN1(a)) return;
  if (a.cls === ZERO) {
    setResult(a.sign << 15, 0, 0);
    return;
  }
  if (a.sign === 1) return invalid();
  if (a.denormal) fx.flags |= DE;
  if (a.cls === INF) {
    setResult(0x7fff, 0x80000000, 0);
    return;
  }
  // value = M/2^63 x 2^E. The root of N = M x 2^k (k = 69 for even E, 70 for odd) has 67 bits, the
  // top one at bit 66, and equals sqrt(value / 2^(E - (k - 69))) x 2^66.
  const E = a.exp - BIAS;
  const odd = (E & 1) !== 0;
  const k = odd ? 70 : 69;
  const eRes = ((E - (odd ? 1 : 0)) >> 1) + BIAS;
  const mh = a.hi, ml = a.lo;
  // Digit-by-digit root: remainder r (3 words), root q (3 words).
  let r2 = 0, r1 = 0, r0 = 0;
  let q2 = 0, q1 = 0, q0 = 0;
  for (let pair = 66; pair >= 0; pair--) {
    // Bring in N's bits 2*pair+1 and 2*pair.
    const j1 = 2 * pair + 1 - k, j0 = 2 * pair - k;
    const b1 = j1 >= 0 && j1 < 64 ? (j1 >= 32 ? (mh >>> (j1 - 32)) & 1 : (ml >>> j1) & 1) : 0;
    const b0 = j0 >= 0 && j0 < 64 ? (j0 >= 32 ? (mh >>> (j0 - 32)) & 1 : (ml >>> j0) & 1) : 0;
    r2 = ((r2 << 2) | (r1 >>> 30)) >>> 0;
    r1 = ((r1 << 2) | (r0 >>> 30)) >>> 0;
    r0 = ((r0 << 2) | (b1 << 1) | b0) >>> 0;
    // trial = 4q + 1
    const t2 = ((q2 << 2) | (q1 >>> 30)) >>> 0;
    const t1 = ((q1 << 2) | (q0 >>> 30)) >>> 0;
    const t0 = ((q0 << 2) | 1) >>> 0;
    q2 = ((q2 << 1) | (q1 >>> 31)) >>> 0;
    q1 = ((q1 << 1) | (q0 >>> 31)) >>> 0;
    q0 = (q0 << 1) >>> 0;
    if (r2 > t2 || (r2 === t2 && (r1 > t1 || (r1 === t1 && r0 >= t0)))) {
      let t = r0 - t0;
      r0 = t >>> 0;
      t = r1 - t1 - (t < 0 ? 1 : 0);
      r1 = t >>> 0;
      r2 = (r2 - t2 - (t < 0 ? 1 : 0)) >>> 0;
      q0 = (q0 | 1) >>> 0;
    }
  }
  // q: 67 bits, top at bit 66 (q2 bit 2). Significand = bits 66..3, ext = bits 2..0 then sticky.
  const h = ((q2 << 29) | (q1 >>> 3)) >>> 0;
  const l = ((q1 << 29) | (q0 >>> 3)) >>> 0;
  const x = (((q0 & 7) << 29) | (r2 !== 0 || r1 !== 0 || r0 !== 0 ? 1 : 0)) >>> 0;
  roundPack(0, eRes, h, l, x, EXT_EMIN, EXT_EMAX, fx.precision, true);
}

// ---- Compare --------------------------------------------------------------------------------------

export const CMP_LESS = 0;
export const CMP_EQUAL = 1;
export const CMP_GREATER = 2;
export const CMP_UNORDERED = 3;

/**
 * Compares a with b. `quiet` (FUCOM*): only SNaNs raise IE; otherwise any NaN does. Unsupported formats
 * always raise IE. Denormals raise DE (unless the comparison is unordered).
 */
export function compare(aSe: number, aHi: number, aLo: number, bSe: number, bHi: number, bLo: number, quiet: boolean): number {
  unpack(A, aSe, aHi, aLo);
  unpack(B, bSe, bHi, bLo);
  return compareUnpacked(A, B, quiet);
}

export function compareUnpacked(a: Unpacked, b: Unpacked, quiet: boolean): number {
  if (a.cls === UNSUPPORTED || b.cls === UNSUPPORTED) {
    fx.flags |= IE;
    return CMP_UNORDERED;
  }
  if (isNaNClass(a.cls) || isNaNClass(b.cls)) {
    if (!quiet || a.cls === SNAN || b.cls === SNAN) fx.flags |= IE;
    return CMP_UNORDERED;
  }
  if (a.denormal || b.denormal) fx.flags |= DE;
  return compareOrdered(a, b);
}

function compareOrdered(a: Unpacked, b: Unpacked): number {
  if (a.cls === ZERO && b.cls === ZERO) return CMP_EQUAL;
  if (a.sign !== b.sign) return a.sign === 1 ? CMP_LESS : CMP_GREATER;
  // Same sign: compare magnitudes.
  let c: number;
  const ai = a.cls === INF, bi = b.cls === INF;
  if (ai || bi) c = ai && bi ? 0 : ai ? 1 : -1;
  else if (a.cls === ZERO) c = -1;
  else if (b.cls === ZERO) c = 1;
  else if (a.exp !== b.exp) c = a.exp > b.exp ? 1 : -1;
  else if (a.hi !== b.hi) c = a.hi > b.hi ? 1 : -1;
  else if (a.lo !== b.lo) c = a.lo > b.lo ? 1 : -1;
  else c = 0;
  if (a.sign === 1) c = -c;
  return c < 0 ? CMP_LESS : c > 0 ? CMP_GREATER : CMP_EQUAL;
}

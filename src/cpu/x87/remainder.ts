/**
 * FPREM (truncating quotient, the 8087's partial remainder) and FPREM1 (IEEE remainder, quotient
 * rounded to nearest even). The remainder is exact. When the exponents differ by 64 or more, only a
 * partial reduction is done (C2 = 1) and the instruction must be repeated: the exponent difference is
 * brought down to a value N between 32 and 63 in one step, as the SDM's FPREM description allows.
 * Otherwise the quotient's three low bits are reported (Q2 in C0, Q1 in C3, Q0 in C1).
 */
import {
  DE, EXT_EMAX, EXT_EMIN, fx, INF, invalid, opA, opB, propagateNaN2, roundPack, setResult, unpack, ZERO,
} from "./float80.js";

export const remResult = { partial: false, quotient: 0 };

export function remainder(aSe: number, aHi: number, aLo: number, bSe: number, bHi: number, bLo: number, ieee: boolean): void {
  const a = opA, b = opB;
  unpack(a, aSe, aHi, aLo);
  unpack(b, bSe, bHi, bLo);
  remResult.partial = false;
  remResult.quotient = 0;
  if (propagateNaN2(a, b)) return;
  if (a.cls === INF || b.cls === ZERO) return invalid();
  if (a.denormal || b.denormal) fx.flags |= DE;
  if (a.cls === ZERO || b.cls === INF) {
    // The dividend is the remainder (a denormal one is kept as it was, normalized forms aside).
    if (a.cls === ZERO) setResult(a.se, 0, 0);
    else roundPack(a.sign, a.exp, a.hi, a.lo, 0, EXT_EMIN, EXT_EMAX, 64, true);
    return;
  }
  // Both finite and nonzero.
  let d = a.exp - b.exp;
  let eb = b.exp;
  if (d >= 64) {
    const n = 32 + ((d - 64) & 31);
    eb += d - n;
    d = n;
    remResult.partial = true;
  }
  if (d < (ieee ? -1 : 0)) {
    // |a| < |b|/2 (or < |b| for FPREM): the quotient is 0 and the remainder is a.
    roundPack(a.sign, a.exp, a.hi, a.lo, 0, EXT_EMIN, EXT_EMAX, 64, true);
    return;
  }
  // Long division of a's significand by b's over d + 1 quotient bits; r is at b's scale.
  let rt = 0, rh = a.hi, rl = a.lo;
  const bh = b.hi, bl = b.lo;
  let q = 0;
  let steps = d + 1;
  if (d < 0) {
    // FPREM1 with d = -1: a is at half b's scale; the quotient (0 or 1) comes from rounding below.
    rt = 0;
    steps = 0;
  }
  for (let i = 0; i < steps; i++) {
    if (i > 0) {
      rt = rh >>> 31;
      rh = ((rh << 1) | (rl >>> 31)) >>> 0;
      rl = (rl << 1) >>> 0;
    }
    q = (q << 1) & 0xff;
    if (rt !== 0 || rh > bh || (rh === bh && rl >= bl)) {
      const t = rl - bl;
      rl = t >>> 0;
      rh = (rh - bh - (t < 0 ? 1 : 0)) >>> 0;
      rt = 0;
      q |= 1;
    }
  }
  let sign = a.sign;
  let rExp = eb;
  if (d < 0) {
    // a (at exponent a.exp = eb - 1) compared with b / 2.
    rExp = eb - 1;
  }
  if (ieee && !remResult.partial) {
    // Round the quotient to nearest: compare 2r with b (r at scale rExp; for d < 0, r = a, compare r with b).
    let cmp: number;
    if (d < 0) {
      cmp = rh > bh || (rh === bh && rl > bl) ? 1 : rh === bh && rl === bl ? 0 : -1;
    } else {
      const dt = rh >>> 31, dh = ((rh << 1) | (rl >>> 31)) >>> 0, dl = (rl << 1) >>> 0;
      cmp = dt !== 0 || dh > bh || (dh === bh && dl > bl) ? 1 : dh === bh && dl === bl ? 0 : -1;
    }
    if (cmp > 0 || (cmp === 0 && (q & 1) === 1)) {
      // r = b - r (at scale rExp: for d < 0 use b/2 scale, i.e. 2b at rExp's scale minus r).
      q = (q + 1) & 0xff;
      sign ^= 1;
      if (d < 0) {
        // b at scale eb-1 is 2 x b's significand: 65 bits.
        const t2l = (bl << 1) >>> 0, t2h = ((bh << 1) | (bl >>> 31)) >>> 0, t2t = bh >>> 31;
        const t = t2l - rl;
        rl = t >>> 0;
        const u = t2h - rh - (t < 0 ? 1 : 0);
        rh = u >>> 0;
        rt = t2t - (u < 0 ? 1 : 0);
      } else {
        const t = bl - rl;
        rl = t >>> 0;
        rh = (bh - rh - (t < 0 ? 1 : 0)) >>> 0;
        rt = 0;
      }
    }
  }
  remResult.quotient = q;
  if (rt === 0 && rh === 0 && rl === 0) {
    setResult(a.sign << 15, 0, 0);
    return;
  }
  // Normalize r (up to 65 bits) at exponent rExp (its integer bit position is 63).
  let e = rExp;
  if (rt !== 0) {
    rl = ((rl >>> 1) | (rh << 31)) >>> 0;
    rh = ((rh >>> 1) | 0x80000000) >>> 0;
    e++;
  }
  if (rh === 0) { rh = rl; rl = 0; e -= 32; }
  const s = Math.clz32(rh);
  if (s !== 0) { rh = ((rh << s) | (rl >>> (32 - s))) >>> 0; rl = (rl << s) >>> 0; e -= s; }
  roundPack(sign, e, rh, rl, 0, EXT_EMIN, EXT_EMAX, 64, true);
}

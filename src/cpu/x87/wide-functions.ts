/**
 * Elementary functions on wide values (wide-float.ts): the constants ln 2, log2(e) and pi computed at
 * load from their series, and log2, log2(1 + x), e^t - 1, atan, sin and cos, each accurate to about
 * 2^-120 relative, so one final rounding to 64 (or 53) bits is correct but for hard cases.
 */
import { add, copy, div, fromInt, integerBit, mul, sqrt, trunc, Wide } from "./wide-float.js";

const term = new Wide(), power = new Wide(), sq = new Wide(), acc = new Wide(), k = new Wide();
/** Scratch values callers may use between calls (every function here may overwrite them). */
export const tmp = new Wide(), num = new Wide();

/** d = atanh(z) (alternating = false) or atan(z) (true), |z| well below 1, by their power series. */
function oddSeries(d: Wide, z: Wide, alternating: boolean): void {
  copy(acc, z);
  copy(power, z);
  mul(sq, z, z);
  for (let n = 3; n < 400; n += 2) {
    mul(power, power, sq);
    fromInt(k, n);
    div(term, power, k);
    if (term.zero || term.exp < acc.exp - 132) break;
    add(acc, acc, term, alternating && (n & 2) !== 0);
  }
  copy(d, acc);
}

export const LN2 = new Wide(), LOG2E = new Wide(), PI = new Wide(), HALF_PI = new Wide(), ONE = new Wide();

{
  // ln 2 = 2 atanh(1/3); pi = 16 atan(1/5) - 4 atan(1/239) (Machin).
  const third = new Wide(), a = new Wide(), b = new Wide();
  fromInt(ONE, 1);
  fromInt(tmp, 3);
  div(third, ONE, tmp);
  oddSeries(LN2, third, false);
  LN2.exp += 1;
  div(LOG2E, ONE, LN2);
  fromInt(tmp, 5);
  div(a, ONE, tmp);
  oddSeries(a, a, true);
  a.exp += 4;
  fromInt(tmp, 239);
  div(b, ONE, tmp);
  oddSeries(b, b, true);
  b.exp += 2;
  add(PI, a, b, true);
  copy(HALF_PI, PI);
  HALF_PI.exp -= 1;
}

const lnF = new Wide(), den = new Wide();

/** d = log2(x) for x > 0. */
export function log2Of(d: Wide, x: Wide): void {
  // x = f x 2^e with f in [sqrt(1/2), sqrt(2)).
  copy(lnF, x);
  let e = x.exp;
  lnF.exp = 0;
  // sqrt(2) = 1.6A09E667... : compare the significand's top word.
  if (lnF.w[0] > 0xb504f333) {
    lnF.exp = -1;
    e++;
  }
  add(num, lnF, ONE, true);
  add(den, lnF, ONE);
  div(tmp, num, den);
  oddSeries(tmp, tmp, false);
  tmp.exp += 1; // ln f
  mul(tmp, tmp, LOG2E);
  fromInt(k, e);
  add(d, k, tmp);
}

/** d = log2(1 + x) for x > -1, accurate for small x: 2 atanh(x / (2 + x)) / ln 2. */
export function log2OnePlus(d: Wide, x: Wide): void {
  copy(num, ONE);
  num.exp = 1; // 2
  add(den, num, x);
  div(tmp, x, den);
  oddSeries(tmp, tmp, false);
  tmp.exp += 1;
  mul(d, tmp, LOG2E);
}

/** d = e^t - 1 by its series (|t| < 1). */
export function expm1Of(d: Wide, t: Wide): void {
  copy(acc, t);
  copy(term, t);
  for (let n = 2; n < 200; n++) {
    mul(term, term, t);
    fromInt(k, n);
    div(term, term, k);
    if (term.zero || term.exp < acc.exp - 132) break;
    add(acc, acc, term);
  }
  copy(d, acc);
}

/** d = atan(z) for z >= 0. */
export function atanOf(d: Wide, z: Wide): void {
  // Two halvings: atan(z) = 2 atan(z / (1 + sqrt(1 + z^2))).
  copy(num, z);
  for (let i = 0; i < 2; i++) {
    mul(tmp, num, num);
    add(tmp, tmp, ONE);
    sqrt(tmp, tmp);
    add(tmp, tmp, ONE);
    div(num, num, tmp);
  }
  oddSeries(d, num, true);
  d.exp += 2;
}

const t = new Wide(), q = new Wide(), r = new Wide(), r2 = new Wide(), s = new Wide(), c = new Wide(), HALF = new Wide();
fromInt(HALF, 1);
HALF.exp = -1;

/** d = sin(r) (cosine = false) or cos(r) by their series, |r| <= pi/4. */
function sinCosSeries(d: Wide, x: Wide, cosine: boolean): void {
  mul(r2, x, x);
  if (cosine) fromInt(acc, 1);
  else copy(acc, x);
  if (cosine) fromInt(term, 1);
  else copy(term, x);
  for (let n = cosine ? 2 : 3; n < 200; n += 2) {
    mul(term, term, r2);
    fromInt(k, n * (n - 1));
    div(term, term, k);
    if (term.zero || term.exp < acc.exp - 132) break;
    add(acc, acc, term, (n & 2) !== 0);
  }
  copy(d, acc);
}

/**
 * sin, cos or tan (`which` 0, 1, 3) of a finite nonzero x: |x| = q pi/2 + r with |r| <= pi/4, then
 * the quadrant picks the function of r. Accurate while |x| 2^-120 is small against the result.
 */
export function trigOf(d: Wide, x: Wide, which: number): void {
  const sign = x.sign;
  copy(s, x);
  s.sign = 0;
  div(t, s, HALF_PI);
  add(t, t, HALF);
  trunc(q, t);
  const quadrant = integerBit(q, 0) | (integerBit(q, 1) << 1);
  mul(t, q, HALF_PI);
  add(r, s, t, true);
  sinCosSeries(s, r, false);
  sinCosSeries(c, r, true);
  if (which === 3) {
    if ((quadrant & 1) === 0) div(d, s, c);
    else {
      div(d, c, s);
      d.sign ^= 1;
    }
    d.sign ^= sign;
    return;
  }
  // sin: q=0 sin r, 1 cos r, 2 -sin r, 3 -cos r; cos is sin shifted by one quadrant.
  const k2 = (quadrant + (which === 1 ? 1 : 0)) & 3;
  copy(d, (k2 & 1) === 0 ? s : c);
  if (k2 >= 2) d.sign ^= 1;
  if (which === 0) d.sign ^= sign;
}

/**
 * Elementary functions on wide values (wide-float.ts): the constants ln 2, log2(e) and pi computed
 * from their series on first use, and log2, log2(1 + x), e^t - 1, atan, sin and cos, each accurate to about
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

/** ln 2, log2(e), pi, pi/2 and 1 as wide values. */
export interface WideConstants {
  readonly ln2: Wide;
  readonly log2e: Wide;
  readonly pi: Wide;
  readonly halfPi: Wide;
  readonly one: Wide;
}

let computed: WideConstants | null = null;

/**
 * The constants, computed from their series on first use rather than at load: summing the series
 * takes over 10 ms, which every process that loads the CPU (every query's re-execution) would pay
 * though few guests ever run an x87 transcendental instruction.
 */
export function wideConstants(): WideConstants {
  return (computed ??= computeConstants());
}

function computeConstants(): WideConstants {
  // ln 2 = 2 atanh(1/3); pi = 16 atan(1/5) - 4 atan(1/239) (Machin).
  const ln2 = new Wide(), log2e = new Wide(), pi = new Wide(), halfPi = new Wide(), one = new Wide();
  const third = new Wide(), a = new Wide(), b = new Wide();
  fromInt(one, 1);
  fromInt(tmp, 3);
  div(third, one, tmp);
  oddSeries(ln2, third, false);
  ln2.exp += 1;
  div(log2e, one, ln2);
  fromInt(tmp, 5);
  div(a, one, tmp);
  oddSeries(a, a, true);
  a.exp += 4;
  fromInt(tmp, 239);
  div(b, one, tmp);
  oddSeries(b, b, true);
  b.exp += 2;
  add(pi, a, b, true);
  copy(halfPi, pi);
  halfPi.exp -= 1;
  return { ln2, log2e, pi, halfPi, one };
}

const lnF = new Wide(), den = new Wide();

/** d = log2(x) for x > 0. */
export function log2Of(d: Wide, x: Wide): void {
  const { one, log2e } = wideConstants();
  // x = f x 2^e with f in [sqrt(1/2), sqrt(2)).
  copy(lnF, x);
  let e = x.exp;
  lnF.exp = 0;
  // sqrt(2) = 1.6A09E667... : compare the significand's top word.
  if (lnF.w[0] > 0xb504f333) {
    lnF.exp = -1;
    e++;
  }
  add(num, lnF, one, true);
  add(den, lnF, one);
  div(tmp, num, den);
  oddSeries(tmp, tmp, false);
  tmp.exp += 1; // ln f
  mul(tmp, tmp, log2e);
  fromInt(k, e);
  add(d, k, tmp);
}

/** d = log2(1 + x) for x > -1, accurate for small x: 2 atanh(x / (2 + x)) / ln 2. */
export function log2OnePlus(d: Wide, x: Wide): void {
  const { one, log2e } = wideConstants();
  copy(num, one);
  num.exp = 1; // 2
  add(den, num, x);
  div(tmp, x, den);
  oddSeries(tmp, tmp, false);
  tmp.exp += 1;
  mul(d, tmp, log2e);
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
  const { one } = wideConstants();
  // Two halvings: atan(z) = 2 atan(z / (1 + sqrt(1 + z^2))).
  copy(num, z);
  for (let i = 0; i < 2; i++) {
    mul(tmp, num, num);
    add(tmp, tmp, one);
    sqrt(tmp, tmp);
    add(tmp, tmp, one);
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
  const { halfPi } = wideConstants();
  const sign = x.sign;
  copy(s, x);
  s.sign = 0;
  div(t, s, halfPi);
  add(t, t, HALF);
  trunc(q, t);
  const quadrant = integerBit(q, 0) | (integerBit(q, 1) << 1);
  mul(t, q, halfPi);
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

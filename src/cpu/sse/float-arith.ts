/**
 * SSE floating-point arithmetic on one lane: add, subtract, multiply, divide, square root, in single
 * or double precision, with SSE's NaN rules (first source NaN wins, quieted; invalid operations give
 * the default NaN), DAZ, the denormal flag, and exact rounding through float-round.ts.
 *
 * Lanes travel as bit patterns (single: one dword; double: two dwords, result in `bits64`), signed
 * or unsigned alike (so signs are tested with masks); values that are not NaNs become JS numbers for
 * the arithmetic.
 */
import { fpEnv, MX_DE, MX_IE, MX_ZE, RC_DOWN } from "./mxcsr.js";
import {
  bits64, exponentOf, F32_DEFAULT_NAN, F64_DEFAULT_NAN_HI, f32Bits, f32IsDenormal, f32IsNaN, f32Value, f64Bits,
  f64IsDenormal, f64IsNaN, f64Value, pow2, scaleB,
} from "./float-bits.js";
import { DOUBLE, roundToFormat, SINGLE } from "./float-round.js";

export const OP_ADD = 0, OP_SUB = 1, OP_MUL = 2, OP_DIV = 3;

// ---- Operands ----------------------------------------------------------------------------------

/** A single-precision source operand (not a NaN) as a number: DAZ or the denormal flag applied. */
export function f32Operand(b: number): number {
  if (f32IsDenormal(b)) {
    if (fpEnv.daz) return (b & 0x80000000) !== 0 ? -0 : 0;
    fpEnv.flags |= MX_DE;
  }
  return f32Value(b);
}

export function f64Operand(lo: number, hi: number): number {
  if (f64IsDenormal(lo, hi)) {
    if (fpEnv.daz) return (hi & 0x80000000) !== 0 ? -0 : 0;
    fpEnv.flags |= MX_DE;
  }
  return f64Value(lo, hi);
}

/** SSE's NaN result for two sources of which at least one is a NaN: the first NaN, quieted. */
export function f32NaNResult(a: number, b: number): number {
  if (((f32IsNaN(a) && (a & 0x400000) === 0) || (f32IsNaN(b) && (b & 0x400000) === 0))) fpEnv.flags |= MX_IE;
  return (f32IsNaN(a) ? a : b) | 0x400000;
}

export function f64NaNResult(alo: number, ahi: number, blo: number, bhi: number): void {
  const aNaN = f64IsNaN(alo, ahi), bNaN = f64IsNaN(blo, bhi);
  if ((aNaN && (ahi & 0x80000) === 0) || (bNaN && (bhi & 0x80000) === 0)) fpEnv.flags |= MX_IE;
  if (aNaN) { bits64.lo = alo; bits64.hi = ahi | 0x80000; }
  else { bits64.lo = blo; bits64.hi = bhi | 0x80000; }
}

// ---- Lanes -------------------------------------------------------------------------------------

/** a op b in single precision, bits in and out. */
export function f32Arith(op: number, a: number, b: number): number {
  if (f32IsNaN(a) || f32IsNaN(b)) return f32NaNResult(a, b);
  const before = fpEnv.flags;
  dividedByZero = false;
  const v = arith(op, f32Operand(a), f32Operand(b), SINGLE);
  if (dividedByZero) zeroDivideHidesDenormal(before);
  return v !== v ? F32_DEFAULT_NAN : f32Bits(v);
}

/** a op b in double precision; the result in `bits64`. */
export function f64Arith(op: number, alo: number, ahi: number, blo: number, bhi: number): void {
  if (f64IsNaN(alo, ahi) || f64IsNaN(blo, bhi)) return f64NaNResult(alo, ahi, blo, bhi);
  const before = fpEnv.flags;
  dividedByZero = false;
  const v = arith(op, f64Operand(alo, ahi), f64Operand(blo, bhi), DOUBLE);
  if (dividedByZero) zeroDivideHidesDenormal(before);
  if (v !== v) { bits64.lo = 0; bits64.hi = F64_DEFAULT_NAN_HI; } else f64Bits(v);
}

/** Set by a division by zero in the current lane. */
let dividedByZero = false;

/** A denormal divided by zero reports only the division by zero (measured on the host). */
function zeroDivideHidesDenormal(before: number): void {
  fpEnv.flags = (fpEnv.flags & ~MX_DE) | (before & MX_DE);
}

export function f32Sqrt(a: number): number {
  if (f32IsNaN(a)) return f32NaNResult(a, a);
  if ((a & 0x80000000) !== 0 && (a & 0x7fffffff) !== 0 && !(fpEnv.daz && f32IsDenormal(a))) return F32_DEFAULT_NAN | invalidFlag();
  const v = sqrtRounded(f32Operand(a), SINGLE);
  return v !== v ? F32_DEFAULT_NAN : f32Bits(v);
}

export function f64Sqrt(lo: number, hi: number): void {
  if (f64IsNaN(lo, hi)) return f64NaNResult(lo, hi, lo, hi);
  if ((hi & 0x80000000) !== 0 && ((hi & 0x7fffffff) !== 0 || lo !== 0) && !(fpEnv.daz && f64IsDenormal(lo, hi))) {
    fpEnv.flags |= MX_IE;
    bits64.lo = 0;
    bits64.hi = F64_DEFAULT_NAN_HI;
    return;
  }
  const v = sqrtRounded(f64Operand(lo, hi), DOUBLE);
  if (v !== v) { bits64.lo = 0; bits64.hi = F64_DEFAULT_NAN_HI; } else f64Bits(v);
}

// ---- Exact arithmetic on numbers -------------------------------------------------------------------

/** x op y for non-NaN x and y, rounded to `fmt`; NaN (with IE recorded) for an invalid operation. */
export function arith(op: number, x: number, y: number, fmt: number): number {
  switch (op) {
    case OP_ADD: return add(x, y, fmt);
    case OP_SUB: return add(x, -y, fmt);
    case OP_MUL: return mul(x, y, fmt);
    default: return div(x, y, fmt);
  }
}

function invalidFlag(): number {
  fpEnv.flags |= MX_IE;
  return 0;
}

function invalid(): number {
  fpEnv.flags |= MX_IE;
  return NaN;
}

/** The sign of an exact zero sum of operands of opposite signs: -0 only when rounding down. */
function zeroSum(): number {
  return fpEnv.rounding === RC_DOWN ? -0 : 0;
}

function add(x: number, y: number, fmt: number): number {
  if (x === Infinity || x === -Infinity || y === Infinity || y === -Infinity) {
    if (x === -y) return invalid();
    return x === Infinity || x === -Infinity ? x : y;
  }
  if (y === 0) {
    if (x === 0) return Object.is(x, y) ? x : zeroSum();
    return roundToFormat(x, 0, 0, fmt);
  }
  if (x === 0) return roundToFormat(y, 0, 0, fmt);
  let a = x, b = y;
  if (Math.abs(a) < Math.abs(b)) { a = y; b = x; }
  const ea = exponentOf(a), eb = exponentOf(b);
  // A far smaller addend only decides the direction of the residual: keep its sign at a harmless size.
  if (ea - eb > 60) b = b < 0 ? -pow2(ea - 61) : pow2(ea - 61);
  let scale = 0;
  if (ea > 1000) { scale = 2; a *= 0.25; b *= 0.25; }
  else if (ea < -900) { scale = -200; a = scaleB(a, 200); b = scaleB(b, 200); }
  // TwoSum: hi + lo === a + b exactly.
  const hi = a + b;
  if (hi === 0) return zeroSum();
  const bv = hi - a;
  const lo = (a - (hi - bv)) + (b - bv);
  return roundToFormat(hi, lo > 0 ? 1 : lo < 0 ? -1 : 0, scale, fmt);
}

/** Dekker's exact product of two doubles in [1, 4): `prodHi` + `prodLo`. */
let prodHi = 0, prodLo = 0;
function twoProduct(a: number, b: number): void {
  const p = a * b;
  const ca = 134217729 * a, cb = 134217729 * b; // Veltkamp split at 27 bits
  const ah = ca - (ca - a), al = a - ah;
  const bh = cb - (cb - b), bl = b - bh;
  prodHi = p;
  prodLo = ((ah * bh - p) + ah * bl + al * bh) + al * bl;
}

function mul(x: number, y: number, fmt: number): number {
  const neg = (x < 0 || Object.is(x, -0)) !== (y < 0 || Object.is(y, -0));
  const ax = Math.abs(x), ay = Math.abs(y);
  if (ax === Infinity || ay === Infinity) {
    if (ax === 0 || ay === 0) return invalid();
    return neg ? -Infinity : Infinity;
  }
  if (ax === 0 || ay === 0) return neg ? -0 : 0;
  const ex = exponentOf(ax), ey = exponentOf(ay);
  twoProduct(scaleB(ax, -ex), scaleB(ay, -ey));
  const s = prodLo > 0 ? 1 : prodLo < 0 ? -1 : 0;
  return roundToFormat(neg ? -prodHi : prodHi, neg ? -s : s, ex + ey, fmt);
}

function div(x: number, y: number, fmt: number): number {
  const neg = (x < 0 || Object.is(x, -0)) !== (y < 0 || Object.is(y, -0));
  const ax = Math.abs(x), ay = Math.abs(y);
  if (ax === Infinity) {
    if (ay === Infinity) return invalid();
    return neg ? -Infinity : Infinity;
  }
  if (ay === Infinity) return neg ? -0 : 0;
  if (ay === 0) {
    if (ax === 0) return invalid();
    fpEnv.flags |= MX_ZE;
    dividedByZero = true;
    return neg ? -Infinity : Infinity;
  }
  if (ax === 0) return neg ? -0 : 0;
  const ex = exponentOf(ax), ey = exponentOf(ay);
  const mx = scaleB(ax, -ex), my = scaleB(ay, -ey);
  const q = mx / my;
  // The remainder mx - q*my (exact: Sterbenz) gives the residual's sign.
  twoProduct(q, my);
  const d = mx - prodHi;
  const s = d > prodLo ? 1 : d < prodLo ? -1 : 0;
  return roundToFormat(neg ? -q : q, neg ? -s : s, ex - ey, fmt);
}

/** Square root of a non-NaN number rounded to `fmt`; NaN (IE) for a negative operand. */
export function sqrtRounded(x: number, fmt: number): number {
  if (x === 0 || x === Infinity) return x;
  if (x < 0) return invalid();
  let e = exponentOf(x);
  if ((e & 1) !== 0) e -= 1;
  const m = scaleB(x, -e); // [1, 4)
  const q = Math.sqrt(m);
  twoProduct(q, q);
  const d = m - prodHi;
  const s = d > prodLo ? 1 : d < prodLo ? -1 : 0;
  return roundToFormat(q, s, e / 2, fmt);
}

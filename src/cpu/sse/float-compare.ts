/**
 * SSE comparisons on one lane: the CMPPS/CMPSS predicates (all-ones or zero masks), COMISS/UCOMISS
 * (EFLAGS), and MIN/MAX, whose answer for NaNs and equal zeros is always the second (source) operand.
 */
import { fpEnv, MX_IE } from "./mxcsr.js";
import { bits64, f32IsNaN, f32IsSNaN, f64IsDenormal, f64IsNaN, f64IsSNaN } from "./float-bits.js";
import { f32Operand, f64Operand } from "./float-arith.js";

/** Unordered/less/equal/greater outcome of the last comparison. */
export const CMP_UNORDERED = 0, CMP_LESS = 1, CMP_EQUAL = 2, CMP_GREATER = 3;

/**
 * Predicates 1, 2, 5, 6 (LT, LE, NLT, NLE) signal invalid on any NaN; 0, 3, 4, 7 (EQ, UNORD, NEQ, ORD)
 * only on a signalling NaN. COMISS signals on any NaN, UCOMISS only on signalling ones.
 */
export function f32Compare(a: number, b: number, signalQuiet: boolean): number {
  if (f32IsNaN(a) || f32IsNaN(b)) {
    if (signalQuiet || f32IsSNaN(a) || f32IsSNaN(b)) fpEnv.flags |= MX_IE;
    return CMP_UNORDERED;
  }
  return order(f32Operand(a), f32Operand(b));
}

export function f64Compare(alo: number, ahi: number, blo: number, bhi: number, signalQuiet: boolean): number {
  if (f64IsNaN(alo, ahi) || f64IsNaN(blo, bhi)) {
    if (signalQuiet || f64IsSNaN(alo, ahi) || f64IsSNaN(blo, bhi)) fpEnv.flags |= MX_IE;
    return CMP_UNORDERED;
  }
  return order(f64Operand(alo, ahi), f64Operand(blo, bhi));
}

function order(x: number, y: number): number {
  return x < y ? CMP_LESS : x > y ? CMP_GREATER : CMP_EQUAL;
}

/** Whether predicate imm (0-7) signals invalid for a quiet NaN operand. */
export function predicateSignalsQuiet(imm: number): boolean {
  return (imm & 3) === 1 || (imm & 3) === 2;
}

/** The truth of CMPPS predicate `imm` (0-7) for a comparison outcome. */
export function predicateHolds(imm: number, c: number): boolean {
  let r: boolean;
  switch (imm & 3) {
    case 0: r = c === CMP_EQUAL; break;
    case 1: r = c === CMP_LESS; break;
    case 2: r = c === CMP_LESS || c === CMP_EQUAL; break;
    default: r = c === CMP_UNORDERED; break;
  }
  return (imm & 4) !== 0 ? !r : r;
}

/**
 * MINSS/MAXSS on bits: NaN in either (IE, quiet or not) or two zeros give the source b unchanged;
 * otherwise the smaller/larger. With DAZ a denormal answer is written as the zero it was read as
 * (measured: even when it is the source chosen because of a NaN).
 */
export function f32MinMax(a: number, b: number, max: boolean): number {
  let w = b;
  if (f32IsNaN(a) || f32IsNaN(b)) fpEnv.flags |= MX_IE;
  else {
    const x = f32Operand(a), y = f32Operand(b);
    if (max ? x > y : x < y) w = a;
  }
  return fpEnv.daz && (w & 0x7f800000) === 0 ? w & 0x80000000 : w;
}

/** MINSD/MAXSD: as f32MinMax; the result in `bits64`. */
export function f64MinMax(alo: number, ahi: number, blo: number, bhi: number, max: boolean): void {
  let pickA = false;
  if (f64IsNaN(alo, ahi) || f64IsNaN(blo, bhi)) fpEnv.flags |= MX_IE;
  else {
    const x = f64Operand(alo, ahi), y = f64Operand(blo, bhi);
    pickA = max ? x > y : x < y;
  }
  const lo = pickA ? alo : blo, hi = pickA ? ahi : bhi;
  if (fpEnv.daz && f64IsDenormal(lo, hi)) {
    bits64.lo = 0;
    bits64.hi = hi & 0x80000000;
  } else {
    bits64.lo = lo;
    bits64.hi = hi;
  }
}

/**
 * The packed (PS/PD) and scalar (SS/SD) forms of the SSE floating-point instructions, lane by lane over
 * A (destination's old value) and B (source) into R, which starts as a copy of A so the scalar forms
 * keep the upper lanes. Flags accumulate in fpEnv for the dispatcher to commit.
 */
import type { CPU } from "../cpu.js";
import { AF, CF, OF, PF, SF, ZF } from "../constants.js";
import { bits64, f64Bits } from "./float-bits.js";
import { f32Arith, f32Sqrt, f64Arith, f64Sqrt, OP_DIV } from "./float-arith.js";
import {
  CMP_EQUAL, CMP_LESS, CMP_UNORDERED, f32Compare, f32MinMax, f64Compare, f64MinMax, predicateHolds, predicateSignalsQuiet,
} from "./float-compare.js";
import { f32ToF64, f32ToInt32, f64ToF32, f64ToInt32, int32ToF32 } from "./conversions.js";
import { fpEnv } from "./mxcsr.js";
import { A, B, R, vec } from "./vector-unit.js";

// ---- Arithmetic (op: OP_ADD, OP_SUB, OP_MUL, OP_DIV) ------------------------------------------------

export function arithPs(op: number, lanes: number): void {
  for (let i = 0; i < lanes; i++) R.u32[i] = f32Arith(op, A.u32[i], B.u32[i]);
}
export function arithPd(op: number, lanes: number): void {
  for (let i = 0; i < 2 * lanes; i += 2) {
    f64Arith(op, A.u32[i], A.u32[i + 1], B.u32[i], B.u32[i + 1]);
    R.u32[i] = bits64.lo;
    R.u32[i + 1] = bits64.hi;
  }
}
export function sqrtPs(lanes: number): void {
  for (let i = 0; i < lanes; i++) R.u32[i] = f32Sqrt(B.u32[i]);
}
export function sqrtPd(lanes: number): void {
  for (let i = 0; i < 2 * lanes; i += 2) {
    f64Sqrt(B.u32[i], B.u32[i + 1]);
    R.u32[i] = bits64.lo;
    R.u32[i + 1] = bits64.hi;
  }
}
export function minMaxPs(max: boolean, lanes: number): void {
  for (let i = 0; i < lanes; i++) R.u32[i] = f32MinMax(A.u32[i], B.u32[i], max);
}
export function minMaxPd(max: boolean, lanes: number): void {
  for (let i = 0; i < 2 * lanes; i += 2) {
    f64MinMax(A.u32[i], A.u32[i + 1], B.u32[i], B.u32[i + 1], max);
    R.u32[i] = bits64.lo;
    R.u32[i + 1] = bits64.hi;
  }
}

/**
 * RCPPS/RSQRTPS and their scalar forms: hardware gives 12-bit approximations that differ between
 * processors; ttd gives what QEMU 7.2 gives: 1/x correctly rounded, 1/sqrt(x) as 1/(sqrt x rounded)
 * rounded, under MXCSR's rounding, DAZ and FTZ, leaving MXCSR's flags as they were.
 */
export function reciprocalPs(sqrt: boolean, lanes: number): void {
  const saved = fpEnv.flags;
  for (let i = 0; i < lanes; i++) {
    const x = sqrt ? f32Sqrt(B.u32[i]) : B.u32[i];
    R.u32[i] = f32Arith(OP_DIV, 0x3f800000, x);
  }
  fpEnv.flags = saved;
}

// ---- Compares ----------------------------------------------------------------------------------

export function cmpPs(lanes: number): void {
  const imm = vec.imm & 7, sq = predicateSignalsQuiet(imm);
  for (let i = 0; i < lanes; i++) R.i32[i] = predicateHolds(imm, f32Compare(A.u32[i], B.u32[i], sq)) ? -1 : 0;
}
export function cmpPd(lanes: number): void {
  const imm = vec.imm & 7, sq = predicateSignalsQuiet(imm);
  for (let i = 0; i < 2 * lanes; i += 2) {
    const m = predicateHolds(imm, f64Compare(A.u32[i], A.u32[i + 1], B.u32[i], B.u32[i + 1], sq)) ? -1 : 0;
    R.i32[i] = m;
    R.i32[i + 1] = m;
  }
}

/** COMISS/UCOMISS/COMISD/UCOMISD: ZF PF CF from the comparison, OF SF AF cleared. */
export function setComparisonFlags(cpu: CPU, c: number): void {
  cpu.setFlag(ZF, c === CMP_UNORDERED || c === CMP_EQUAL);
  cpu.setFlag(PF, c === CMP_UNORDERED);
  cpu.setFlag(CF, c === CMP_UNORDERED || c === CMP_LESS);
  cpu.setFlag(OF, false);
  cpu.setFlag(SF, false);
  cpu.setFlag(AF, false);
}
export function comiss(cpu: CPU, signalQuiet: boolean): void {
  setComparisonFlags(cpu, f32Compare(A.u32[0], B.u32[0], signalQuiet));
}
export function comisd(cpu: CPU, signalQuiet: boolean): void {
  setComparisonFlags(cpu, f64Compare(A.u32[0], A.u32[1], B.u32[0], B.u32[1], signalQuiet));
}

// ---- Conversions between lanes -------------------------------------------------------------------

/** CVTPS2PD (2 lanes) / CVTSS2SD (1): singles in B's low lanes to doubles. */
export function cvtPs2Pd(lanes: number): void {
  const s0 = B.u32[0], s1 = B.u32[1];
  f32ToF64(s0);
  R.u32[0] = bits64.lo; R.u32[1] = bits64.hi;
  if (lanes === 2) {
    f32ToF64(s1);
    R.u32[2] = bits64.lo; R.u32[3] = bits64.hi;
  }
}
/** CVTPD2PS (2 lanes, upper half zeroed) / CVTSD2SS (1, upper lanes kept). */
export function cvtPd2Ps(lanes: number): void {
  R.u32[0] = f64ToF32(B.u32[0], B.u32[1]);
  if (lanes === 2) {
    R.u32[1] = f64ToF32(B.u32[2], B.u32[3]);
    R.u32[2] = 0;
    R.u32[3] = 0;
  }
}
/** CVTDQ2PS / CVTPI2PS: int32 lanes to singles. */
export function cvtDq2Ps(lanes: number): void {
  for (let i = 0; i < lanes; i++) R.u32[i] = int32ToF32(B.i32[i]);
}
/** CVTDQ2PD / CVTPI2PD: the two low int32 lanes to doubles (exact). */
export function cvtDq2Pd(): void {
  const a = B.i32[0], b = B.i32[1];
  f64Bits(a);
  R.u32[0] = bits64.lo; R.u32[1] = bits64.hi;
  f64Bits(b);
  R.u32[2] = bits64.lo; R.u32[3] = bits64.hi;
}
/** CVT(T)PS2DQ / CVT(T)PS2PI: singles to int32 lanes. */
export function cvtPs2Dq(lanes: number, truncate: boolean): void {
  for (let i = 0; i < lanes; i++) R.i32[i] = f32ToInt32(B.u32[i], truncate);
}
/** CVT(T)PD2DQ (upper half zeroed) / CVT(T)PD2PI: doubles to int32 lanes. */
export function cvtPd2Dq(truncate: boolean): void {
  const a = f64ToInt32(B.u32[0], B.u32[1], truncate);
  const b = f64ToInt32(B.u32[2], B.u32[3], truncate);
  R.i32[0] = a; R.i32[1] = b; R.u32[2] = 0; R.u32[3] = 0;
}

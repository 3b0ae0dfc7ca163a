/**
 * The instructions on top of remainder.ts and scale-extract-round.ts: FPREM, FPREM1 (condition codes
 * C0/C3/C1 = quotient bits Q2/Q1/Q0, C2 = reduction incomplete), FSCALE, FXTRACT and FRNDINT.
 */
import type { CPU } from "../cpu.js";
import { fx } from "./float80.js";
import { remainder, remResult } from "./remainder.js";
import { extract, extracted, roundToIntegral, scale } from "./scale-extract-round.js";
import {
  beginOp, beginOpFullPrecision, finishArith, FSW_C0, FSW_C1, FSW_C2, FSW_C3, isEmpty, push, raise, readST, resultAllowed,
  st, stackOverflow, stackUnderflow, writeST,
} from "./stack.js";

function underflowIndefinite(cpu: CPU): void {
  if (stackUnderflow(cpu.fpu)) writeST(cpu.fpu, 0, 0xffff, 0xc0000000, 0);
}

export function fprem(cpu: CPU, ieee: boolean): void {
  const f = cpu.fpu;
  beginOpFullPrecision(f);
  if (isEmpty(f, 0) || isEmpty(f, 1)) return underflowIndefinite(cpu);
  readST(f, 1);
  const bSe = st.se, bHi = st.hi, bLo = st.lo;
  readST(f, 0);
  remainder(st.se, st.hi, st.lo, bSe, bHi, bLo, ieee);
  if (!resultAllowed(f)) return;
  writeST(f, 0, fx.se, fx.hi, fx.lo);
  raise(f, fx.flags);
  const q = remResult.quotient;
  let cc = 0;
  if (remResult.partial) cc = FSW_C2;
  else {
    if (q & 4) cc |= FSW_C0;
    if (q & 2) cc |= FSW_C3;
    if (q & 1) cc |= FSW_C1;
  }
  f.fsw = (f.fsw & ~(FSW_C0 | FSW_C1 | FSW_C2 | FSW_C3)) | cc;
}

export function fscale(cpu: CPU): void {
  const f = cpu.fpu;
  beginOpFullPrecision(f);
  if (isEmpty(f, 0) || isEmpty(f, 1)) return underflowIndefinite(cpu);
  readST(f, 1);
  const bSe = st.se, bHi = st.hi, bLo = st.lo;
  readST(f, 0);
  scale(st.se, st.hi, st.lo, bSe, bHi, bLo);
  if (!resultAllowed(f)) return;
  writeST(f, 0, fx.se, fx.hi, fx.lo);
  finishArith(f);
}

export function fxtract(cpu: CPU): void {
  const f = cpu.fpu;
  beginOpFullPrecision(f);
  if (isEmpty(f, 0)) {
    if (!stackUnderflow(f)) return;
    writeST(f, 0, 0xffff, 0xc0000000, 0);
    if (isEmpty(f, 7)) push(f, 0xffff, 0xc0000000, 0);
    return;
  }
  if (!isEmpty(f, 7)) {
    if (stackOverflow(f)) {
      writeST(f, 0, 0xffff, 0xc0000000, 0);
      push(f, 0xffff, 0xc0000000, 0);
    }
    return;
  }
  readST(f, 0);
  extract(st.se, st.hi, st.lo);
  if (!resultAllowed(f)) return;
  writeST(f, 0, extracted.se, extracted.hi, extracted.lo);
  push(f, fx.se, fx.hi, fx.lo);
  finishArith(f);
}

export function frndint(cpu: CPU): void {
  const f = cpu.fpu;
  beginOp(f);
  if (isEmpty(f, 0)) return underflowIndefinite(cpu);
  readST(f, 0);
  roundToIntegral(st.se, st.hi, st.lo);
  if (!resultAllowed(f)) return;
  writeST(f, 0, fx.se, fx.hi, fx.lo);
  finishArith(f);
}

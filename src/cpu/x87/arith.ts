/**
 * x87 arithmetic and comparison instructions: FADD/FSUB/FSUBR/FMUL/FDIV/FDIVR in their register,
 * memory (m32fp, m64fp, m16int, m32int) and popping forms, FCOM/FCOMP/FCOMPP, FUCOM(P)(P), FICOM(P), FCOMI/
 * FUCOMI(P), FTST, FXAM, FSQRT, FCHS, FABS. Memory operands are read before any state changes, so a
 * fault leaves the FPU as it was.
 */
import type { CPU } from "../cpu.js";
import { AF, CF, OF, PF, SF as EFLAGS_SF, ZF } from "../constants.js";
import {
  addUnpacked, CMP_EQUAL, CMP_LESS, CMP_UNORDERED, compareUnpacked, divUnpacked, fx, mulUnpacked, opA, opB,
  sqrtUnpacked, unpack,
} from "./float80.js";
import { loaded, loadFloat32, loadFloat64, loadInt16, loadInt32 } from "./convert.js";
import {
  beginOp, FSW_C0, FSW_C1, FSW_C2, FSW_C3, finishArith, isEmpty, pop, readST, resultAllowed, setC1, st, stackUnderflow,
  writeST, raise,
} from "./stack.js";

// Operation kinds, as the reg field of D8 /r numbers them.
export const K_ADD = 0;
export const K_MUL = 1;
export const K_COM = 2;
export const K_COMP = 3;
export const K_SUB = 4;
export const K_SUBR = 5;
export const K_DIV = 6;
export const K_DIVR = 7;

// Memory operand formats.
export const M32FP = 0;
export const M64FP = 1;
export const M16INT = 2;
export const M32INT = 3;

/** Reads the memory operand into opB (with its denormal-ness), leaving signalling NaNs signalling. */
function readMemOperand(cpu: CPU, fmt: number): void {
  const seg = cpu.eaSeg, off = cpu.eaOff;
  switch (fmt) {
    case M32FP: loadFloat32(cpu.readMem32(seg, off), true); break;
    case M64FP: {
      const lo = cpu.readMem32(seg, off);
      loadFloat64(cpu.readMem32(seg, (off + 4) | 0), lo, true);
      break;
    }
    case M16INT: loaded.denormal = false; loadInt16(cpu.readMem16(seg, off)); break;
    default: loaded.denormal = false; loadInt32(cpu.readMem32(seg, off)); break;
  }
  unpack(opB, fx.se, fx.hi, fx.lo);
  opB.denormal = loaded.denormal;
}

/** x op y into fx; kinds SUBR/DIVR compute y op x. */
function compute(kind: number): void {
  switch (kind) {
    case K_ADD: addUnpacked(opA, opB, false); break;
    case K_MUL: mulUnpacked(opA, opB); break;
    case K_SUB: addUnpacked(opA, opB, true); break;
    case K_SUBR: addUnpacked(opB, opA, true); break;
    case K_DIV: divUnpacked(opA, opB); break;
    default: divUnpacked(opB, opA); break;
  }
}

/** Writes the real indefinite to ST(dst) (a masked stack underflow's result), popping if asked. */
function indefiniteResult(cpu: CPU, dst: number, popAfter: boolean): void {
  const f = cpu.fpu;
  if (stackUnderflow(f)) {
    writeST(f, dst, 0xffff, 0xc0000000, 0);
    if (popAfter) pop(f);
  }
}

/** ST0 = ST0 op m (D8, DC, DA, DE memory forms). */
export function arithMem(cpu: CPU, kind: number, fmt: number): void {
  const f = cpu.fpu;
  beginOp(f);
  readMemOperand(cpu, fmt);
  if (isEmpty(f, 0)) return indefiniteResult(cpu, 0, false);
  readST(f, 0);
  unpack(opA, st.se, st.hi, st.lo);
  compute(kind);
  if (!resultAllowed(f)) return;
  writeST(f, 0, fx.se, fx.hi, fx.lo);
  finishArith(f);
}

/**
 * ST(dst) = ST(x) op ST(y) for the register forms: D8 (dst 0, x ST0, y ST(i)), DC and DE (dst i,
 * x ST(i), y ST0, with SUB/SUBR and DIV/DIVR already swapped by the table), DE popping.
 */
export function arithReg(cpu: CPU, kind: number, dst: number, x: number, y: number, popAfter: boolean): void {
  const f = cpu.fpu;
  beginOp(f);
  if (isEmpty(f, x) || isEmpty(f, y)) return indefiniteResult(cpu, dst, popAfter);
  readST(f, x);
  unpack(opA, st.se, st.hi, st.lo);
  readST(f, y);
  unpack(opB, st.se, st.hi, st.lo);
  compute(kind);
  if (!resultAllowed(f)) return;
  writeST(f, dst, fx.se, fx.hi, fx.lo);
  finishArith(f);
  if (popAfter) pop(f);
}

// ---- Comparisons ----------------------------------------------------------------------------------

/** Sets C3/C2/C0 from a comparison result (C1 cleared). */
function setConditions(cpu: CPU, r: number): void {
  const f = cpu.fpu;
  let cc = 0;
  if (r === CMP_LESS) cc = FSW_C0;
  else if (r === CMP_EQUAL) cc = FSW_C3;
  else if (r === CMP_UNORDERED) cc = FSW_C0 | FSW_C2 | FSW_C3;
  f.fsw = (f.fsw & ~(FSW_C0 | FSW_C1 | FSW_C2 | FSW_C3)) | cc;
}

/**
 * A comparison always sets its condition codes (or EFLAGS), even when it raises an unmasked IE or DE;
 * the unmasked exception only suppresses the pops. Returns whether the pops may happen.
 */
function comparePops(cpu: CPU): boolean {
  const f = cpu.fpu;
  raise(f, fx.flags);
  return (fx.flags & ~f.fcw & 0x3f) === 0;
}

/** FCOM/FCOMP/FCOMPP/FUCOM*: ST0 compared with ST(i); `pops` 0, 1 or 2. */
export function compareReg(cpu: CPU, i: number, quiet: boolean, pops: number): void {
  const f = cpu.fpu;
  beginOp(f);
  if (isEmpty(f, 0) || isEmpty(f, i)) {
    if (stackUnderflow(f)) {
      setConditions(cpu, CMP_UNORDERED);
      for (let n = 0; n < pops; n++) pop(f);
    }
    return;
  }
  readST(f, 0);
  unpack(opA, st.se, st.hi, st.lo);
  readST(f, i);
  unpack(opB, st.se, st.hi, st.lo);
  setConditions(cpu, compareUnpacked(opA, opB, quiet));
  if (comparePops(cpu)) for (let n = 0; n < pops; n++) pop(f);
}

/** FCOM/FCOMP/FICOM/FICOMP with a memory operand. */
export function compareMem(cpu: CPU, fmt: number, popAfter: boolean): void {
  const f = cpu.fpu;
  beginOp(f);
  readMemOperand(cpu, fmt);
  if (isEmpty(f, 0)) {
    if (stackUnderflow(f)) {
      setConditions(cpu, CMP_UNORDERED);
      if (popAfter) pop(f);
    }
    return;
  }
  readST(f, 0);
  unpack(opA, st.se, st.hi, st.lo);
  setConditions(cpu, compareUnpacked(opA, opB, false));
  if (comparePops(cpu) && popAfter) pop(f);
}

/** FCOMI/FCOMIP/FUCOMI/FUCOMIP: the result in ZF/PF/CF, OF/SF/AF cleared; C1 cleared. */
export function compareToEflags(cpu: CPU, i: number, quiet: boolean, popAfter: boolean): void {
  const f = cpu.fpu;
  beginOp(f);
  let r: number;
  if (isEmpty(f, 0) || isEmpty(f, i)) {
    if (!stackUnderflow(f)) return;
    r = CMP_UNORDERED;
  } else {
    readST(f, 0);
    unpack(opA, st.se, st.hi, st.lo);
    readST(f, i);
    unpack(opB, st.se, st.hi, st.lo);
    r = compareUnpacked(opA, opB, quiet);
    if (!comparePops(cpu)) popAfter = false;
    setC1(f, false);
  }
  const bits = r === CMP_LESS ? CF : r === CMP_EQUAL ? ZF : r === CMP_UNORDERED ? ZF | PF | CF : 0;
  cpu.freezeFlags();
  cpu.flags = (cpu.flags & ~(ZF | PF | CF | OF | EFLAGS_SF | AF)) | bits;
  if (popAfter) pop(f);
}

/** FTST: ST0 compared with +0.0. */
export function ftst(cpu: CPU): void {
  const f = cpu.fpu;
  beginOp(f);
  if (isEmpty(f, 0)) {
    if (stackUnderflow(f)) setConditions(cpu, CMP_UNORDERED);
    return;
  }
  readST(f, 0);
  unpack(opA, st.se, st.hi, st.lo);
  unpack(opB, 0, 0, 0);
  setConditions(cpu, compareUnpacked(opA, opB, false));
  raise(f, fx.flags);
}

/** FXAM: the class of ST0 in C3/C2/C0 and its sign in C1 (the stale sign when empty). */
export function fxam(cpu: CPU): void {
  const f = cpu.fpu;
  readST(f, 0);
  const e = st.se & 0x7fff, hi = st.hi >>> 0, lo = st.lo >>> 0;
  let cc: number;
  if (isEmpty(f, 0)) cc = FSW_C3 | FSW_C0;
  else if (e === 0x7fff) {
    if ((hi & 0x80000000) === 0) cc = 0;
    else cc = (hi & 0x7fffffff) === 0 && lo === 0 ? FSW_C2 | FSW_C0 : FSW_C0;
  } else if (e === 0) cc = hi === 0 && lo === 0 ? FSW_C3 : FSW_C3 | FSW_C2;
  else cc = (hi & 0x80000000) === 0 ? 0 : FSW_C2;
  if ((st.se & 0x8000) !== 0) cc |= FSW_C1;
  f.fsw = (f.fsw & ~(FSW_C0 | FSW_C1 | FSW_C2 | FSW_C3)) | cc;
}

// ---- One-operand arithmetic -----------------------------------------------------------------------

export function fsqrt(cpu: CPU): void {
  const f = cpu.fpu;
  beginOp(f);
  if (isEmpty(f, 0)) return indefiniteResult(cpu, 0, false);
  readST(f, 0);
  unpack(opA, st.se, st.hi, st.lo);
  sqrtUnpacked(opA);
  if (!resultAllowed(f)) return;
  writeST(f, 0, fx.se, fx.hi, fx.lo);
  finishArith(f);
}

/** FCHS (`abs` false) and FABS: sign changes only, no NaN is quieted, no exception but the stack's. */
export function signOp(cpu: CPU, abs: boolean): void {
  const f = cpu.fpu;
  if (isEmpty(f, 0)) return indefiniteResult(cpu, 0, false);
  readST(f, 0);
  writeST(f, 0, abs ? st.se & 0x7fff : st.se ^ 0x8000, st.hi, st.lo);
  setC1(f, false);
}

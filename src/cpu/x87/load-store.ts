/**
 * x87 data transfer: FLD/FST/FSTP (m32, m64, m80, ST(i)), FILD/FIST/FISTP/FISTTP (m16, m32, m64),
 * FBLD/FBSTP, the constants (FLD1, FLDZ, FLDPI...), FXCH and FCMOVcc. Stores check the whole
 * destination for writability before writing its first byte and before changing any FPU state (the
 * SDM lists no x87 state update that precedes a store's fault), so a faulting store leaves both alone.
 */
import type { CPU } from "../cpu.js";
import { fx, IE, RC_DOWN, RC_ZERO, RC_UP } from "./float80.js";
import {
  bcd, conv, loadBcd, loadFloat32, loadFloat64, loadInt16, loadInt32, loadInt64, storeBcd, storeFloat32, storeFloat64,
  storeInteger,
} from "./convert.js";
import {
  beginOp, finishArith, isEmpty, pop, push, raise, readST, setC1, st, stackOverflow, stackUnderflow, writeST,
} from "./stack.js";

// Memory formats of loads and stores.
export const F32 = 0;
export const F64 = 1;
export const F80 = 2;
export const I16 = 3;
export const I32 = 4;
export const I64 = 5;
export const BCD = 6;

const SIZE = [4, 8, 10, 2, 4, 8, 10];
const bytes10 = new Uint8Array(10);

/** Pushes fx's value, or handles a full stack (masked: the real indefinite is pushed). */
function pushResult(cpu: CPU): void {
  const f = cpu.fpu;
  if (!isEmpty(f, 7)) {
    if (stackOverflow(f)) push(f, 0xffff, 0xc0000000, 0);
    return;
  }
  push(f, fx.se, fx.hi, fx.lo);
}

/** FLD/FILD/FBLD from memory. */
export function loadMem(cpu: CPU, fmt: number): void {
  const f = cpu.fpu, seg = cpu.eaSeg, off = cpu.eaOff;
  beginOp(f);
  switch (fmt) {
    case F32: loadFloat32(cpu.readMem32(seg, off)); break;
    case F64: {
      const lo = cpu.readMem32(seg, off);
      loadFloat64(cpu.readMem32(seg, (off + 4) | 0), lo);
      break;
    }
    case F80: {
      const lo = cpu.readMem32(seg, off), hi = cpu.readMem32(seg, (off + 4) | 0), se = cpu.readMem16(seg, (off + 8) | 0);
      fx.se = se; fx.hi = hi >>> 0; fx.lo = lo >>> 0;
      break;
    }
    case I16: loadInt16(cpu.readMem16(seg, off)); break;
    case I32: loadInt32(cpu.readMem32(seg, off)); break;
    case I64: {
      const lo = cpu.readMem32(seg, off);
      loadInt64(cpu.readMem32(seg, (off + 4) | 0), lo);
      break;
    }
    default:
      for (let i = 0; i < 10; i++) bytes10[i] = cpu.readMem8(seg, (off + i) | 0);
      loadBcd(bytes10);
      break;
  }
  if (!isEmpty(f, 7)) {
    if (stackOverflow(f)) push(f, 0xffff, 0xc0000000, 0);
    return;
  }
  // An unmasked IE (a signalling NaN) suppresses the load; an unmasked DE does not.
  if ((fx.flags & ~f.fcw & IE) !== 0) {
    raise(f, fx.flags);
    return;
  }
  push(f, fx.se, fx.hi, fx.lo);
  raise(f, fx.flags);
  setC1(f, false);
}

/** FLD ST(i). */
export function loadReg(cpu: CPU, i: number): void {
  const f = cpu.fpu;
  if (isEmpty(f, i)) {
    if (!stackUnderflow(f)) return;
    fx.se = 0xffff; fx.hi = 0xc0000000; fx.lo = 0;
  } else {
    readST(f, i);
    fx.se = st.se; fx.hi = st.hi; fx.lo = st.lo;
    setC1(f, false);
  }
  pushResult(cpu);
}

/** The constants of D9 E8-EE, as [exponent, hi, lo, low bit of the value rounded down] rows. */
const CONSTANTS: ReadonlyArray<readonly [number, number, number, number]> = [
  [0x3fff, 0x80000000, 0x00000000, -1], // 1
  [0x4000, 0xd49a784b, 0xcd1b8afe, 0], // log2(10): the nearest value is below the true one
  [0x3fff, 0xb8aa3b29, 0x5c17f0bc, 1], // log2(e): the nearest value is above it
  [0x4000, 0xc90fdaa2, 0x2168c235, 1], // pi: above
  [0x3ffd, 0x9a209a84, 0xfbcff799, 1], // log10(2): above
  [0x3ffe, 0xb17217f7, 0xd1cf79ac, 1], // ln(2): above
  [0x0000, 0x00000000, 0x00000000, -1], // +0
];

/**
 * FLD1 .. FLDZ: the constant rounded per RC from its 66-bit internal form (SDM FLD1/FLDL2T/...: the
 * result is the value rounded to 64 bits as RC says). Exact ones (1, 0) ignore RC.
 */
export function loadConstant(cpu: CPU, n: number): void {
  const f = cpu.fpu;
  const [se, hi, lo, above] = CONSTANTS[n];
  let l = lo;
  const rc = (f.fcw >> 10) & 3;
  if (above === 1 && (rc === RC_DOWN || rc === RC_ZERO)) l = lo - 1;
  else if (above === 0 && rc === RC_UP) l = lo + 1;
  fx.se = se; fx.hi = hi; fx.lo = l >>> 0;
  setC1(f, false);
  pushResult(cpu);
}

/** FST/FSTP/FIST/FISTP/FISTTP/FBSTP to memory. `truncate`: FISTTP. */
export function storeMem(cpu: CPU, fmt: number, popAfter: boolean, truncate: boolean): void {
  const f = cpu.fpu, seg = cpu.eaSeg, off = cpu.eaOff;
  beginOp(f);
  const empty = isEmpty(f, 0);
  if (empty) {
    fx.flags = IE | 0x40;
    if ((f.fcw & IE) === 0) {
      stackUnderflow(f);
      return;
    }
    // Masked: the indefinite of the destination format is stored.
    fx.se = 0xffff; fx.hi = 0xc0000000; fx.lo = 0;
  } else {
    readST(f, 0);
    fx.se = st.se; fx.hi = st.hi; fx.lo = st.lo;
  }
  const se = fx.se, hi = fx.hi, lo = fx.lo;
  const rc = truncate ? RC_ZERO : fx.rounding;
  switch (fmt) {
    case F32: storeFloat32(se, hi, lo); break;
    case F64: storeFloat64(se, hi, lo); break;
    case I16: storeInteger(se, hi, lo, 16, rc); break;
    case I32: storeInteger(se, hi, lo, 32, rc); break;
    case I64: storeInteger(se, hi, lo, 64, rc); break;
    case BCD: storeBcd(se, hi, lo, rc); break;
    default: break;
  }
  if (empty) fx.flags = IE | 0x40;
  // Unmasked invalid, overflow or underflow: nothing is stored and nothing popped.
  if ((fx.flags & ~f.fcw & (IE | 0x08 | 0x10)) !== 0) {
    raise(f, fx.flags & ~0x20);
    if (!empty) setC1(f, false);
    return;
  }
  cpu.prepareWrite(seg, off, SIZE[fmt]);
  switch (fmt) {
    case F32: cpu.writeMem32(seg, off, conv.lo); break;
    case F64: case I64:
      cpu.writeMem32(seg, off, conv.lo);
      cpu.writeMem32(seg, (off + 4) | 0, conv.hi);
      break;
    case F80:
      cpu.writeMem32(seg, off, lo);
      cpu.writeMem32(seg, (off + 4) | 0, hi);
      cpu.writeMem16(seg, (off + 8) | 0, se);
      break;
    case I16: cpu.writeMem16(seg, off, conv.lo); break;
    case I32: cpu.writeMem32(seg, off, conv.lo); break;
    default:
      for (let i = 0; i < 10; i++) cpu.writeMem8(seg, (off + i) | 0, bcd[i]);
      break;
  }
  if (empty) stackUnderflow(f);
  else finishArith(f);
  if (popAfter) pop(f);
}

/** FST/FSTP ST(i): a copy, no rounding. */
export function storeReg(cpu: CPU, i: number, popAfter: boolean): void {
  const f = cpu.fpu;
  if (isEmpty(f, 0)) {
    if (!stackUnderflow(f)) return;
    writeST(f, i, 0xffff, 0xc0000000, 0);
  } else {
    readST(f, 0);
    writeST(f, i, st.se, st.hi, st.lo);
    setC1(f, false);
  }
  if (popAfter) pop(f);
}

/** FXCH ST(i): an empty operand becomes the real indefinite first (masked underflow). */
export function exchange(cpu: CPU, i: number): void {
  const f = cpu.fpu;
  const e0 = isEmpty(f, 0), ei = isEmpty(f, i);
  if (e0 || ei) {
    if (!stackUnderflow(f)) return;
    if (e0) writeST(f, 0, 0xffff, 0xc0000000, 0);
    if (ei) writeST(f, i, 0xffff, 0xc0000000, 0);
  } else setC1(f, false);
  readST(f, 0);
  const se = st.se, hi = st.hi, lo = st.lo;
  readST(f, i);
  writeST(f, 0, st.se, st.hi, st.lo);
  writeST(f, i, se, hi, lo);
  if (e0 || ei) setC1(f, false);
}

/** FCMOVcc ST0, ST(i): moves when the EFLAGS condition holds (tested even if ST(i) is empty). */
export function conditionalMove(cpu: CPU, i: number, cond: boolean): void {
  const f = cpu.fpu;
  if (isEmpty(f, 0) || isEmpty(f, i)) {
    if (!stackUnderflow(f)) return;
    if (cond) writeST(f, 0, 0xffff, 0xc0000000, 0);
    return;
  }
  setC1(f, false);
  if (!cond) return;
  readST(f, i);
  writeST(f, 0, st.se, st.hi, st.lo);
}

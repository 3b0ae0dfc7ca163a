/**
 * FSIN, FCOS, FSINCOS and FPTAN as QEMU 7.2 computes them (the reference ttd is compared with): the
 * operand is rounded to a double under RC, the double function is evaluated, and the double result is
 * widened back. Operands beyond +/-2^63 (infinities included) set C2 and leave ST0 alone; no exception
 * flag is raised and C1 is left as it was, as QEMU does.
 */
import type { CPU } from "../cpu.js";
import { EXT_EMAX, EXT_EMIN, FINITE, fx, opA, roundPack, unpack } from "./float80.js";
import { conv, loadFloat64, storeFloat64 } from "./convert.js";
import { beginOp, FSW_C2, isEmpty, push, readST, st, stackUnderflow, writeST } from "./stack.js";

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
/** 2^63: QEMU's limit for the trigonometric instructions. */
const MAX_TRIG = 9223372036854775808;

/** ST0 rounded to a double under RC (flags discarded, as QEMU does). */
function st0AsDouble(cpu: CPU): number {
  beginOp(cpu.fpu);
  readST(cpu.fpu, 0);
  storeFloat64(st.se, st.hi, st.lo);
  u32[0] = conv.lo;
  u32[1] = conv.hi;
  return f64[0];
}

/**
 * A double result widened to extended in fx, rounded to the precision control under RC as QEMU's
 * conversion does; a NaN result keeps the operand's NaN (as the C library does).
 */
function fromDouble(x: number, operandNaN: boolean): void {
  if (!operandNaN) {
    f64[0] = x;
    if (x !== x) {
      // NaN from a non-NaN operand (an infinity): the default NaN of double arithmetic.
      u32[1] = 0xfff80000;
      u32[0] = 0;
    }
  }
  loadFloat64(u32[1], u32[0]);
  if (fx.precision === 24) {
    unpack(opA, fx.se, fx.hi, fx.lo);
    if (opA.cls === FINITE) roundPack(opA.sign, opA.exp, opA.hi, opA.lo, 0, EXT_EMIN, EXT_EMAX, 24, false);
  }
}

/** `which`: 0 FSIN, 1 FCOS, 2 FSINCOS, 3 FPTAN. */
export function trig(cpu: CPU, which: number): void {
  const f = cpu.fpu;
  if (isEmpty(f, 0)) {
    if (stackUnderflow(f)) writeST(f, 0, 0xffff, 0xc0000000, 0);
    return;
  }
  const x = st0AsDouble(cpu);
  if (x > MAX_TRIG || x < -MAX_TRIG) {
    f.fsw |= FSW_C2;
    return;
  }
  const nan = x !== x;
  const r = which === 1 ? Math.cos(x) : which === 3 ? Math.tan(x) : Math.sin(x);
  fromDouble(r, nan);
  writeST(f, 0, fx.se, fx.hi, fx.lo);
  if (which === 2) {
    // The operand's bits are still in u32 when it was a NaN.
    if (nan) {
      u32[0] = conv.lo;
      u32[1] = conv.hi;
    }
    fromDouble(Math.cos(x), nan);
    push(f, fx.se, fx.hi, fx.lo);
  } else if (which === 3) {
    push(f, 0x3fff, 0x80000000, 0);
  }
  f.fsw &= ~FSW_C2;
}

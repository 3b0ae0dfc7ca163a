/**
 * F2XM1, FYL2X, FYL2XP1 and FPATAN, evaluated in 128-bit precision (wide-float.ts) and rounded once to
 * 64 bits under the rounding control (the precision control does not apply to them), so results are
 * correctly rounded but for operands extremely close to a rounding boundary. Special operands follow the SDM's tables for each instruction, with
 * QEMU 7.2's choice where the SDM leaves the result undefined (F2XM1 of |x| > 1, infinities included,
 * is invalid). Logarithms use ln(f) = 2 atanh((f - 1) / (f + 1)) on f in [sqrt(1/2), sqrt(2)); the
 * exponential uses the series of e^t - 1; the arctangent halves its argument twice before its series.
 */
import type { CPU } from "../cpu.js";
import {
  BIAS, DE, EXT_EMAX, EXT_EMIN, FINITE, fx, INF, invalid, opA, opB, propagateNaN1, propagateNaN2, roundPack, setResult,
  unpack, ZE, ZERO, type Unpacked,
} from "./float80.js";
import { add, copy, div, fromParts, mul, setZero, Wide } from "./wide-float.js";
import { atanOf, expm1Of, log2Of, log2OnePlus, num, tmp, wideConstants } from "./wide-functions.js";
import { beginOpFullPrecision as beginOp, finishArith, isEmpty, pop, readST, resultAllowed, st, stackUnderflow, writeST } from "./stack.js";

// ---- Delivering results -----------------------------------------------------------------------------

const x = new Wide(), y = new Wide(), r = new Wide();

function wideOf(d: Wide, o: Unpacked): void {
  if (o.cls === ZERO) {
    setZero(d);
    d.sign = o.sign;
  } else fromParts(d, o.sign, o.exp - BIAS, o.hi, o.lo);
}

/** Rounds a wide result to 64 bits under the rounding control into fx. */
function deliver(v: Wide): void {
  if (v.zero) return setResult(v.sign << 15, 0, 0);
  roundPack(v.sign, v.exp + BIAS, v.w[0], v.w[1], v.w[2] | (v.w[3] !== 0 ? 1 : 0), EXT_EMIN, EXT_EMAX, fx.precision, true);
}

function infinity(sign: number): void {
  setResult((sign << 15) | 0x7fff, 0x80000000, 0);
}

function zero(sign: number): void {
  setResult(sign << 15, 0, 0);
}

// ---- The instructions -------------------------------------------------------------------------------

export function f2xm1(cpu: CPU): void {
  const f = cpu.fpu;
  beginOp(f);
  if (isEmpty(f, 0)) {
    if (stackUnderflow(f)) writeST(f, 0, 0xffff, 0xc0000000, 0);
    return;
  }
  readST(f, 0);
  const a = opA;
  unpack(a, st.se, st.hi, st.lo);
  if (!propagateNaN1(a)) {
    if (a.cls === ZERO) setResult(a.se, 0, 0);
    else if (a.cls === INF || a.exp > BIAS || (a.exp === BIAS && (a.hi !== 0x80000000 || a.lo !== 0))) invalid();
    else if (a.exp === BIAS) setResult(a.sign ? 0xbffe : 0x3fff, 0x80000000, 0); // 2^1 - 1 = 1, 2^-1 - 1 = -0.5
    else {
      if (a.denormal) fx.flags |= DE;
      wideOf(x, a);
      mul(x, x, wideConstants().ln2);
      expm1Of(r, x);
      deliver(r);
    }
  }
  if (!resultAllowed(f)) return;
  writeST(f, 0, fx.se, fx.hi, fx.lo);
  finishArith(f);
}

/** The two-operand instructions: ST1 = fn(ST1, ST0), then pop. */
function binary(cpu: CPU, compute: (y: Unpacked, x: Unpacked) => void): void {
  const f = cpu.fpu;
  beginOp(f);
  if (isEmpty(f, 0) || isEmpty(f, 1)) {
    if (stackUnderflow(f)) {
      writeST(f, 1, 0xffff, 0xc0000000, 0);
      pop(f);
    }
    return;
  }
  readST(f, 0);
  unpack(opA, st.se, st.hi, st.lo);
  readST(f, 1);
  unpack(opB, st.se, st.hi, st.lo);
  if (!propagateNaN2(opB, opA)) {
    if (opA.denormal || opB.denormal) fx.flags |= DE;
    compute(opB, opA);
  }
  if (!resultAllowed(f)) return;
  writeST(f, 1, fx.se, fx.hi, fx.lo);
  finishArith(f);
  pop(f);
}

/** Whether a finite nonzero x is exactly 1. */
function isOne(a: Unpacked): boolean {
  return a.cls === FINITE && a.sign === 0 && a.exp === BIAS && a.hi === 0x80000000 && a.lo === 0;
}

/** Sign of log2(x) for finite positive x: 0 above 1, 1 below. */
function logSign(a: Unpacked): number {
  return a.exp >= BIAS ? 0 : 1;
}

export function fyl2x(cpu: CPU): void {
  binary(cpu, (b, a) => {
    // b = y (ST1), a = x (ST0).
    if (a.sign === 1 && a.cls !== ZERO) return invalid();
    if (a.cls === ZERO) {
      if (b.cls === ZERO) return invalid();
      if (b.cls !== INF) fx.flags |= ZE;
      return infinity(b.sign ^ 1);
    }
    if (a.cls === INF) {
      if (b.cls === ZERO) return invalid();
      return infinity(b.sign);
    }
    if (isOne(a)) {
      if (b.cls === INF) return invalid();
      return zero(b.sign);
    }
    if (b.cls === INF) return infinity(b.sign ^ logSign(a));
    if (b.cls === ZERO) return zero(b.sign ^ logSign(a));
    wideOf(x, a);
    wideOf(y, b);
    log2Of(r, x);
    mul(r, r, y);
    deliver(r);
  });
}

export function fyl2xp1(cpu: CPU): void {
  binary(cpu, (b, a) => {
    if (a.cls === ZERO) {
      if (b.cls === INF) return invalid();
      return zero(a.sign ^ b.sign);
    }
    if (a.cls === INF) {
      if (a.sign === 1 || b.cls === ZERO) return invalid();
      return infinity(b.sign);
    }
    // Beyond sqrt(1/2) <= 1 + x <= sqrt(2) (the SDM leaves the result undefined): invalid, as QEMU.
    const boundHi = a.sign === 1 ? 0x95f61998 : 0xd413cccf, boundLo = a.sign === 1 ? 0x0c4336f7 : 0xe7799211;
    if (a.exp > BIAS - 2 || (a.exp === BIAS - 2 && (a.hi > boundHi || (a.hi === boundHi && a.lo > boundLo)))) {
      return invalid();
    }
    if (b.cls === INF) return infinity(b.sign ^ a.sign);
    if (b.cls === ZERO) return zero(b.sign ^ a.sign);
    wideOf(x, a);
    wideOf(y, b);
    log2OnePlus(r, x);
    mul(r, r, y);
    deliver(r);
  });
}


export function fpatan(cpu: CPU): void {
  binary(cpu, (b, a) => {
    // atan2(y = b, x = a).
    const { pi, halfPi } = wideConstants();
    const ys = b.sign;
    if (b.cls === ZERO) {
      if (a.sign === 0) return zero(ys);
      copy(r, pi);
      r.sign = ys;
      return deliver(r);
    }
    if (b.cls === INF) {
      if (a.cls === INF) {
        // +-pi/4 or +-3pi/4.
        copy(r, pi);
        r.exp -= 2;
        if (a.sign === 1) {
          copy(tmp, r);
          tmp.exp += 1;
          add(r, r, tmp);
        }
      } else copy(r, halfPi);
      r.sign = ys;
      return deliver(r);
    }
    if (a.cls === ZERO) {
      copy(r, halfPi);
      r.sign = ys;
      return deliver(r);
    }
    if (a.cls === INF) {
      if (a.sign === 0) return zero(ys);
      copy(r, pi);
      r.sign = ys;
      return deliver(r);
    }
    wideOf(x, a);
    wideOf(y, b);
    x.sign = 0;
    y.sign = 0;
    if (b.exp < a.exp || (b.exp === a.exp && (b.hi < a.hi || (b.hi === a.hi && b.lo <= a.lo)))) {
      div(num, y, x);
      atanOf(r, num);
    } else {
      div(num, x, y);
      atanOf(tmp, num);
      add(r, halfPi, tmp, true);
    }
    if (a.sign === 1) add(r, pi, r, true);
    r.sign = ys;
    deliver(r);
  });
}

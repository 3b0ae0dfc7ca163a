/**
 * F2XM1, FYL2X, FYL2XP1 and FPATAN. Placeholder: evaluated through doubles until the extended-precision
 * versions land.
 */
import type { CPU } from "../cpu.js";
import { fx } from "./float80.js";
import { conv, loadFloat64, storeFloat64 } from "./convert.js";
import { beginOp, isEmpty, pop, readST, st, stackUnderflow, writeST } from "./stack.js";

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

function asDouble(cpu: CPU, i: number): number {
  readST(cpu.fpu, i);
  storeFloat64(st.se, st.hi, st.lo);
  u32[0] = conv.lo;
  u32[1] = conv.hi;
  return f64[0];
}

function deliver(cpu: CPU, dst: number, x: number): void {
  f64[0] = x;
  loadFloat64(u32[1], u32[0]);
  writeST(cpu.fpu, dst, fx.se, fx.hi, fx.lo);
}

export function f2xm1(cpu: CPU): void {
  const f = cpu.fpu;
  beginOp(f);
  if (isEmpty(f, 0)) {
    if (stackUnderflow(f)) writeST(f, 0, 0xffff, 0xc0000000, 0);
    return;
  }
  deliver(cpu, 0, Math.expm1(asDouble(cpu, 0) * Math.LN2));
}

function binary(cpu: CPU, fn: (y: number, x: number) => number): void {
  const f = cpu.fpu;
  beginOp(f);
  if (isEmpty(f, 0) || isEmpty(f, 1)) {
    if (stackUnderflow(f)) {
      writeST(f, 1, 0xffff, 0xc0000000, 0);
      pop(f);
    }
    return;
  }
  const x = asDouble(cpu, 0), y = asDouble(cpu, 1);
  deliver(cpu, 1, fn(y, x));
  pop(f);
}

export function fyl2x(cpu: CPU): void {
  binary(cpu, (y, x) => y * Math.log2(x));
}

export function fyl2xp1(cpu: CPU): void {
  binary(cpu, (y, x) => y * Math.log1p(x) / Math.LN2);
}

export function fpatan(cpu: CPU): void {
  binary(cpu, (y, x) => Math.atan2(y, x));
}

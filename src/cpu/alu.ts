/**
 * The eight classic ALU operations (ADD OR ADC SBB AND SUB XOR CMP), INC/DEC and NEG, for any
 * operand size. Results are returned untruncated; callers store them through sized views. Flags are
 * recorded lazily (flags.ts).
 */
import type { CPU } from "./cpu.js";
import { ARITH_FLAGS, CF } from "./constants.js";
import { OP_ADC, OP_ADD, OP_SBB, OP_SUB } from "./flags.js";

/** ADD (and the flags it sets). Compiled code calls it directly: one small function per operation inlines well. */
export function add(cpu: CPU, a: number, b: number, size: number): number {
  const r = (a + b) | 0;
  cpu.setLazy(OP_ADD, a, b, r, size, ARITH_FLAGS);
  return r;
}

/** SUB and CMP. */
export function sub(cpu: CPU, a: number, b: number, size: number): number {
  const r = (a - b) | 0;
  cpu.setLazy(OP_SUB, a, b, r, size, ARITH_FLAGS);
  return r;
}

/** AND, OR, XOR and TEST, given their result: CF = OF = 0, the rest from the result. */
export function logic(cpu: CPU, r: number, size: number): number {
  cpu.setLogicFlags(r, size);
  return r;
}

/** ALU operation `op` (the reg field of opcodes 80-83, or bits 3..5 of 00-3D) on a and b. */
export function alu(cpu: CPU, op: number, a: number, b: number, size: number): number {
  let r: number;
  switch (op) {
    case 0:
      return add(cpu, a, b, size);
    case 1:
      return logic(cpu, a | b, size);
    case 2: {
      const c = cpu.getCF() ? 1 : 0;
      r = (a + b + c) | 0;
      cpu.setLazy(c ? OP_ADC : OP_ADD, a, b, r, size, ARITH_FLAGS);
      return r;
    }
    case 3: {
      const c = cpu.getCF() ? 1 : 0;
      r = (a - b - c) | 0;
      cpu.setLazy(c ? OP_SBB : OP_SUB, a, b, r, size, ARITH_FLAGS);
      return r;
    }
    case 4:
      return logic(cpu, a & b, size);
    case 5:
    case 7:
      return sub(cpu, a, b, size);
    default:
      return logic(cpu, a ^ b, size);
  }
}

/** INC: like ADD 1 but CF is preserved. */
export function inc(cpu: CPU, a: number, size: number): number {
  cpu.freezeCF();
  const r = (a + 1) | 0;
  cpu.setLazy(OP_ADD, a, 1, r, size, ARITH_FLAGS & ~CF);
  return r;
}

/** DEC: like SUB 1 but CF is preserved. */
export function dec(cpu: CPU, a: number, size: number): number {
  cpu.freezeCF();
  const r = (a - 1) | 0;
  cpu.setLazy(OP_SUB, a, 1, r, size, ARITH_FLAGS & ~CF);
  return r;
}

/** NEG: 0 - a (CF set unless a is zero). */
export function neg(cpu: CPU, a: number, size: number): number {
  const r = (0 - a) | 0;
  cpu.setLazy(OP_SUB, 0, a, r, size, ARITH_FLAGS);
  return r;
}

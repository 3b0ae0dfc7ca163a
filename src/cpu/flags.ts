/**
 * Lazy arithmetic flags. Arithmetic instructions record their operands, result and kind; the six
 * status flags are derived only when something reads them (a Jcc, pushf, an interrupt). `lazy` says
 * which flags must be derived; the others are read from `flags` directly.
 */
import type { CPU } from "./cpu.js";
import { AF, CF, OF, PF, SF, ZF } from "./constants.js";

// Kinds of the last flag-setting operation.
export const OP_ADD = 0;
/** ADC with a carry-in of one (ADC with carry-in zero is recorded as ADD). */
export const OP_ADC = 1;
export const OP_SUB = 2;
/** SBB with a borrow-in of one (SBB with borrow-in zero is recorded as SUB). */
export const OP_SBB = 3;
/** AND/OR/XOR/TEST and shifts: CF, OF and AF are zero or given eagerly. */
export const OP_LOGIC = 4;

/** Value masks and sign bits indexed by operand-size code (0 = byte, 1 = word, 2 = dword). */
export const SIZE_MASK = [0xff, 0xffff, -1] as const;
export const SIZE_SIGN = [0x80, 0x8000, -0x80000000] as const;

/** PARITY[b] is PF for the byte b (even number of set bits). */
export const PARITY = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let b = i, n = 0;
  while (b) { n += b & 1; b >>= 1; }
  PARITY[i] = n & 1 ? 0 : 1;
}

export function computeCF(cpu: CPU): boolean {
  const m = SIZE_MASK[cpu.lfSize];
  const res = (cpu.lfRes & m) >>> 0, a = (cpu.lfA & m) >>> 0, b = (cpu.lfB & m) >>> 0;
  switch (cpu.lfOp) {
    case OP_ADD: return res < a;
    case OP_ADC: return res <= a;
    case OP_SUB: return a < b;
    case OP_SBB: return a <= b;
    default: return false;
  }
}

export function computeOF(cpu: CPU): boolean {
  const s = SIZE_SIGN[cpu.lfSize];
  const res = cpu.lfRes, a = cpu.lfA, b = cpu.lfB;
  switch (cpu.lfOp) {
    case OP_ADD:
    case OP_ADC: return ((a ^ res) & (b ^ res) & s) !== 0;
    case OP_SUB:
    case OP_SBB: return ((a ^ b) & (a ^ res) & s) !== 0;
    default: return false;
  }
}

export function computeAF(cpu: CPU): boolean {
  if (cpu.lfOp === OP_LOGIC) return false;
  return ((cpu.lfA ^ cpu.lfB ^ cpu.lfRes) & 0x10) !== 0;
}

/** Folds every lazy flag into `cpu.flags` and clears `cpu.lazy`. */
export function materializeFlags(cpu: CPU): void {
  const lazy = cpu.lazy;
  if (lazy === 0) return;
  let f = cpu.flags & ~lazy;
  const res = cpu.lfRes & SIZE_MASK[cpu.lfSize];
  if (lazy & CF && computeCF(cpu)) f |= CF;
  if (lazy & PF && PARITY[res & 0xff]) f |= PF;
  if (lazy & AF && computeAF(cpu)) f |= AF;
  if (lazy & ZF && res === 0) f |= ZF;
  if (lazy & SF && (cpu.lfRes & SIZE_SIGN[cpu.lfSize]) !== 0) f |= SF;
  if (lazy & OF && computeOF(cpu)) f |= OF;
  cpu.flags = f;
  cpu.lazy = 0;
}

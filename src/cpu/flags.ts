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

/** CF of a recorded operation (kind `op` on `a` and `b` giving `res` at size code `size`). */
export function cfOf(op: number, a: number, b: number, res: number, size: number): boolean {
  const m = SIZE_MASK[size];
  const r = (res & m) >>> 0, x = (a & m) >>> 0, y = (b & m) >>> 0;
  switch (op) {
    case OP_ADD: return r < x;
    case OP_ADC: return r <= x;
    case OP_SUB: return x < y;
    case OP_SBB: return x <= y;
    default: return false;
  }
}

/** OF of a recorded operation. */
export function ofOf(op: number, a: number, b: number, res: number, size: number): boolean {
  const s = SIZE_SIGN[size];
  switch (op) {
    case OP_ADD:
    case OP_ADC: return ((a ^ res) & (b ^ res) & s) !== 0;
    case OP_SUB:
    case OP_SBB: return ((a ^ b) & (a ^ res) & s) !== 0;
    default: return false;
  }
}

export function computeCF(cpu: CPU): boolean {
  return cfOf(cpu.lfOp, cpu.lfA, cpu.lfB, cpu.lfRes, cpu.lfSize);
}

export function computeOF(cpu: CPU): boolean {
  return ofOf(cpu.lfOp, cpu.lfA, cpu.lfB, cpu.lfRes, cpu.lfSize);
}

// The six status flags of a flag state given as values: eager flags `fl`, lazy mask `lz` and the
// recorded operation (`op` on `a` and `b` giving `res` at size code `size`).
const cf = (fl: number, lz: number, op: number, a: number, b: number, res: number, size: number): boolean =>
  (lz & CF) !== 0 ? cfOf(op, a, b, res, size) : (fl & CF) !== 0;
const of = (fl: number, lz: number, op: number, a: number, b: number, res: number, size: number): boolean =>
  (lz & OF) !== 0 ? ofOf(op, a, b, res, size) : (fl & OF) !== 0;
const zf = (fl: number, lz: number, res: number, size: number): boolean => ((lz & ZF) !== 0 ? (res & SIZE_MASK[size]) === 0 : (fl & ZF) !== 0);
const sf = (fl: number, lz: number, res: number, size: number): boolean => ((lz & SF) !== 0 ? (res & SIZE_SIGN[size]) !== 0 : (fl & SF) !== 0);
const pf = (fl: number, lz: number, res: number): boolean => ((lz & PF) !== 0 ? PARITY[res & 0xff] === 1 : (fl & PF) !== 0);

type Condition = (fl: number, lz: number, op: number, a: number, b: number, res: number, size: number) => boolean;

/**
 * The sixteen condition codes (the low nibble of Jcc/SETcc/CMOVcc: O NO B NB E NE BE A S NS P NP L GE LE
 * G) over a flag state given as values, one small function each: compiled code, which keeps the flag
 * state in JS locals, calls the one it needs by name (small enough for V8 to inline); the CPU's
 * condition() goes through conditionOf.
 */
export const CONDITIONS: readonly Condition[] = [
  (fl, lz, op, a, b, res, size) => of(fl, lz, op, a, b, res, size),
  (fl, lz, op, a, b, res, size) => !of(fl, lz, op, a, b, res, size),
  (fl, lz, op, a, b, res, size) => cf(fl, lz, op, a, b, res, size),
  (fl, lz, op, a, b, res, size) => !cf(fl, lz, op, a, b, res, size),
  (fl, lz, _op, _a, _b, res, size) => zf(fl, lz, res, size),
  (fl, lz, _op, _a, _b, res, size) => !zf(fl, lz, res, size),
  (fl, lz, op, a, b, res, size) => cf(fl, lz, op, a, b, res, size) || zf(fl, lz, res, size),
  (fl, lz, op, a, b, res, size) => !(cf(fl, lz, op, a, b, res, size) || zf(fl, lz, res, size)),
  (fl, lz, _op, _a, _b, res, size) => sf(fl, lz, res, size),
  (fl, lz, _op, _a, _b, res, size) => !sf(fl, lz, res, size),
  (fl, lz, _op, _a, _b, res) => pf(fl, lz, res),
  (fl, lz, _op, _a, _b, res) => !pf(fl, lz, res),
  (fl, lz, op, a, b, res, size) => sf(fl, lz, res, size) !== of(fl, lz, op, a, b, res, size),
  (fl, lz, op, a, b, res, size) => sf(fl, lz, res, size) === of(fl, lz, op, a, b, res, size),
  (fl, lz, op, a, b, res, size) => zf(fl, lz, res, size) || sf(fl, lz, res, size) !== of(fl, lz, op, a, b, res, size),
  (fl, lz, op, a, b, res, size) => !(zf(fl, lz, res, size) || sf(fl, lz, res, size) !== of(fl, lz, op, a, b, res, size)),
];

/** Condition code `cc` over a flag state given as values (see CONDITIONS). */
export function conditionOf(cc: number, fl: number, lz: number, op: number, a: number, b: number, res: number, size: number): boolean {
  return CONDITIONS[cc](fl, lz, op, a, b, res, size);
}

/** CF of a flag state given as values (see CONDITIONS). */
export const carryOf = cf;

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

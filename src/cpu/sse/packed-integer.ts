/**
 * Packed integer arithmetic of MMX and SSE2 (one implementation for both widths): `n` is the operand
 * size in dwords, 2 for an MMX register, 4 for an XMM register. Every operation reads the destination's
 * old value from A and the source from B, and leaves its result in R.
 */
import { A, B, R } from "./vector-unit.js";

const satS8 = (v: number) => (v > 127 ? 127 : v < -128 ? -128 : v);
const satU8 = (v: number) => (v > 255 ? 255 : v < 0 ? 0 : v);
const satS16 = (v: number) => (v > 32767 ? 32767 : v < -32768 ? -32768 : v);
const satU16 = (v: number) => (v > 65535 ? 65535 : v < 0 ? 0 : v);

// ---- Add / subtract ----------------------------------------------------------------------------

export function paddb(n: number): void { for (let i = 0; i < 4 * n; i++) R.u8[i] = A.u8[i] + B.u8[i]; }
export function paddw(n: number): void { for (let i = 0; i < 2 * n; i++) R.u16[i] = A.u16[i] + B.u16[i]; }
export function paddd(n: number): void { for (let i = 0; i < n; i++) R.u32[i] = A.u32[i] + B.u32[i]; }
export function paddq(n: number): void {
  for (let i = 0; i < n; i += 2) {
    const lo = (A.u32[i] + B.u32[i]);
    R.u32[i] = lo;
    R.u32[i + 1] = A.u32[i + 1] + B.u32[i + 1] + (lo > 0xffffffff ? 1 : 0);
  }
}
export function psubb(n: number): void { for (let i = 0; i < 4 * n; i++) R.u8[i] = A.u8[i] - B.u8[i]; }
export function psubw(n: number): void { for (let i = 0; i < 2 * n; i++) R.u16[i] = A.u16[i] - B.u16[i]; }
export function psubd(n: number): void { for (let i = 0; i < n; i++) R.u32[i] = A.u32[i] - B.u32[i]; }
export function psubq(n: number): void {
  for (let i = 0; i < n; i += 2) {
    const borrow = A.u32[i] < B.u32[i] ? 1 : 0;
    R.u32[i] = A.u32[i] - B.u32[i];
    R.u32[i + 1] = A.u32[i + 1] - B.u32[i + 1] - borrow;
  }
}
export function paddsb(n: number): void { for (let i = 0; i < 4 * n; i++) R.i8[i] = satS8(A.i8[i] + B.i8[i]); }
export function paddsw(n: number): void { for (let i = 0; i < 2 * n; i++) R.i16[i] = satS16(A.i16[i] + B.i16[i]); }
export function paddusb(n: number): void { for (let i = 0; i < 4 * n; i++) R.u8[i] = satU8(A.u8[i] + B.u8[i]); }
export function paddusw(n: number): void { for (let i = 0; i < 2 * n; i++) R.u16[i] = satU16(A.u16[i] + B.u16[i]); }
export function psubsb(n: number): void { for (let i = 0; i < 4 * n; i++) R.i8[i] = satS8(A.i8[i] - B.i8[i]); }
export function psubsw(n: number): void { for (let i = 0; i < 2 * n; i++) R.i16[i] = satS16(A.i16[i] - B.i16[i]); }
export function psubusb(n: number): void { for (let i = 0; i < 4 * n; i++) R.u8[i] = satU8(A.u8[i] - B.u8[i]); }
export function psubusw(n: number): void { for (let i = 0; i < 2 * n; i++) R.u16[i] = satU16(A.u16[i] - B.u16[i]); }

// ---- Multiply ----------------------------------------------------------------------------------

export function pmullw(n: number): void { for (let i = 0; i < 2 * n; i++) R.u16[i] = Math.imul(A.i16[i], B.i16[i]); }
export function pmulhw(n: number): void { for (let i = 0; i < 2 * n; i++) R.u16[i] = (A.i16[i] * B.i16[i]) >> 16; }
export function pmulhuw(n: number): void { for (let i = 0; i < 2 * n; i++) R.u16[i] = (A.u16[i] * B.u16[i]) >>> 16; }
/** PMULUDQ: the low dword of each quadword, multiplied into a full 64-bit product. */
export function pmuludq(n: number): void {
  for (let i = 0; i < n; i += 2) {
    const a = A.u32[i], b = B.u32[i];
    const al = a & 0xffff, ah = a >>> 16, bl = b & 0xffff, bh = b >>> 16;
    const ll = al * bl, mid = ah * bl + al * bh, hh = ah * bh; // mid < 2^33
    const lo = ll + (mid % 65536) * 65536;
    R.u32[i] = lo;
    R.u32[i + 1] = hh + Math.floor(mid / 65536) + Math.floor(lo / 4294967296);
  }
}
export function pmaddwd(n: number): void {
  for (let i = 0; i < n; i++) R.u32[i] = A.i16[2 * i] * B.i16[2 * i] + A.i16[2 * i + 1] * B.i16[2 * i + 1];
}
/** PSADBW: per quadword, the sum of absolute byte differences in its low word, zeros above. */
export function psadbw(n: number): void {
  for (let q = 0; q < n; q += 2) {
    let s = 0;
    for (let i = 4 * q; i < 4 * q + 8; i++) s += Math.abs(A.u8[i] - B.u8[i]);
    R.u32[q] = s;
    R.u32[q + 1] = 0;
  }
}

// ---- Average, min, max -------------------------------------------------------------------------

export function pavgb(n: number): void { for (let i = 0; i < 4 * n; i++) R.u8[i] = (A.u8[i] + B.u8[i] + 1) >> 1; }
export function pavgw(n: number): void { for (let i = 0; i < 2 * n; i++) R.u16[i] = (A.u16[i] + B.u16[i] + 1) >> 1; }
export function pminub(n: number): void { for (let i = 0; i < 4 * n; i++) R.u8[i] = Math.min(A.u8[i], B.u8[i]); }
export function pmaxub(n: number): void { for (let i = 0; i < 4 * n; i++) R.u8[i] = Math.max(A.u8[i], B.u8[i]); }
export function pminsw(n: number): void { for (let i = 0; i < 2 * n; i++) R.i16[i] = Math.min(A.i16[i], B.i16[i]); }
export function pmaxsw(n: number): void { for (let i = 0; i < 2 * n; i++) R.i16[i] = Math.max(A.i16[i], B.i16[i]); }

// ---- Compare -----------------------------------------------------------------------------------

export function pcmpeqb(n: number): void { for (let i = 0; i < 4 * n; i++) R.u8[i] = A.u8[i] === B.u8[i] ? 0xff : 0; }
export function pcmpeqw(n: number): void { for (let i = 0; i < 2 * n; i++) R.u16[i] = A.u16[i] === B.u16[i] ? 0xffff : 0; }
export function pcmpeqd(n: number): void { for (let i = 0; i < n; i++) R.i32[i] = A.u32[i] === B.u32[i] ? -1 : 0; }
export function pcmpgtb(n: number): void { for (let i = 0; i < 4 * n; i++) R.u8[i] = A.i8[i] > B.i8[i] ? 0xff : 0; }
export function pcmpgtw(n: number): void { for (let i = 0; i < 2 * n; i++) R.u16[i] = A.i16[i] > B.i16[i] ? 0xffff : 0; }
export function pcmpgtd(n: number): void { for (let i = 0; i < n; i++) R.i32[i] = A.i32[i] > B.i32[i] ? -1 : 0; }

// ---- Logic (also ANDPS/ANDNPS/ORPS/XORPS and their PD forms) ------------------------------------

export function pand(n: number): void { for (let i = 0; i < n; i++) R.u32[i] = A.u32[i] & B.u32[i]; }
export function pandn(n: number): void { for (let i = 0; i < n; i++) R.u32[i] = ~A.u32[i] & B.u32[i]; }
export function por(n: number): void { for (let i = 0; i < n; i++) R.u32[i] = A.u32[i] | B.u32[i]; }
export function pxor(n: number): void { for (let i = 0; i < n; i++) R.u32[i] = A.u32[i] ^ B.u32[i]; }

// ---- Shifts: the count is the source's whole low quadword (B) or the immediate ------------------

/** The shift count from B's low quadword, saturated at 255 (anything that large empties every lane). */
export function countFromSource(): number {
  return B.u32[1] !== 0 || B.u32[0] > 255 ? 255 : B.u32[0];
}

export function shiftWords(n: number, count: number, kind: number): void {
  for (let i = 0; i < 2 * n; i++) {
    if (kind === SHIFT_RIGHT_ARITH) R.i16[i] = A.i16[i] >> (count > 15 ? 15 : count);
    else if (count > 15) R.u16[i] = 0;
    else R.u16[i] = kind === SHIFT_LEFT ? A.u16[i] << count : A.u16[i] >>> count;
  }
}

export function shiftDwords(n: number, count: number, kind: number): void {
  for (let i = 0; i < n; i++) {
    if (kind === SHIFT_RIGHT_ARITH) R.i32[i] = A.i32[i] >> (count > 31 ? 31 : count);
    else if (count > 31) R.u32[i] = 0;
    else R.u32[i] = kind === SHIFT_LEFT ? A.u32[i] << count : A.u32[i] >>> count;
  }
}

/** Quadword shifts (there is no arithmetic one). */
export function shiftQwords(n: number, count: number, left: boolean): void {
  for (let i = 0; i < n; i += 2) {
    const lo = A.u32[i], hi = A.u32[i + 1];
    if (count > 63) { R.u32[i] = 0; R.u32[i + 1] = 0; }
    else if (count === 0) { R.u32[i] = lo; R.u32[i + 1] = hi; }
    else if (left) {
      if (count >= 32) { R.u32[i + 1] = lo << (count - 32); R.u32[i] = 0; }
      else { R.u32[i + 1] = (hi << count) | (lo >>> (32 - count)); R.u32[i] = lo << count; }
    } else if (count >= 32) { R.u32[i] = hi >>> (count - 32); R.u32[i + 1] = 0; }
    else { R.u32[i] = (lo >>> count) | (hi << (32 - count)); R.u32[i + 1] = hi >>> count; }
  }
}

export const SHIFT_RIGHT = 0, SHIFT_RIGHT_ARITH = 1, SHIFT_LEFT = 2;

/** PSRLDQ/PSLLDQ: the whole 128-bit register by bytes. */
export function shiftBytes(count: number, left: boolean): void {
  for (let i = 0; i < 16; i++) {
    const from = left ? i - count : i + count;
    R.u8[i] = from >= 0 && from < 16 ? A.u8[from] : 0;
  }
}

/**
 * Data movement between lanes: unpacks (interleaves), packs with saturation, the SHUFPS/SHUFPD and
 * PSHUF* shuffles, and the sign-bit masks MOVMSKPS/MOVMSKPD/PMOVMSKB. A is the destination's old value,
 * B the source, R the result; `n` the width in dwords (2 MMX, 4 XMM).
 */
import { A, B, R, vec } from "./vector-unit.js";

/** Interleaves the low (or high) halves of A and B, element size `size` bytes. */
function unpack(n: number, size: number, high: boolean): void {
  const bytes = 4 * n, half = bytes >> 1;
  const base = high ? half : 0;
  let o = 0;
  for (let e = 0; e < half; e += size) {
    for (let k = 0; k < size; k++) R.u8[o++] = A.u8[base + e + k];
    for (let k = 0; k < size; k++) R.u8[o++] = B.u8[base + e + k];
  }
}

export const punpcklbw = (n: number) => unpack(n, 1, false);
export const punpcklwd = (n: number) => unpack(n, 2, false);
export const punpckldq = (n: number) => unpack(n, 4, false);
export const punpcklqdq = (n: number) => unpack(n, 8, false);
export const punpckhbw = (n: number) => unpack(n, 1, true);
export const punpckhwd = (n: number) => unpack(n, 2, true);
export const punpckhdq = (n: number) => unpack(n, 4, true);
export const punpckhqdq = (n: number) => unpack(n, 8, true);

const satS8 = (v: number) => (v > 127 ? 127 : v < -128 ? -128 : v);
const satU8 = (v: number) => (v > 255 ? 255 : v < 0 ? 0 : v);
const satS16 = (v: number) => (v > 32767 ? 32767 : v < -32768 ? -32768 : v);

export function packsswb(n: number): void {
  const w = 2 * n;
  for (let i = 0; i < w; i++) { R.i8[i] = satS8(A.i16[i]); R.i8[w + i] = satS8(B.i16[i]); }
}
export function packuswb(n: number): void {
  const w = 2 * n;
  for (let i = 0; i < w; i++) { R.u8[i] = satU8(A.i16[i]); R.u8[w + i] = satU8(B.i16[i]); }
}
export function packssdw(n: number): void {
  for (let i = 0; i < n; i++) { R.i16[i] = satS16(A.i32[i]); R.i16[n + i] = satS16(B.i32[i]); }
}

export function shufps(): void {
  const imm = vec.imm;
  R.u32[0] = A.u32[imm & 3];
  R.u32[1] = A.u32[(imm >> 2) & 3];
  R.u32[2] = B.u32[(imm >> 4) & 3];
  R.u32[3] = B.u32[(imm >> 6) & 3];
}

export function shufpd(): void {
  const a = (vec.imm & 1) << 1, b = vec.imm & 2;
  R.u32[0] = A.u32[a]; R.u32[1] = A.u32[a + 1];
  R.u32[2] = B.u32[b]; R.u32[3] = B.u32[b + 1];
}

export function pshufd(): void {
  for (let i = 0; i < 4; i++) R.u32[i] = B.u32[(vec.imm >> (2 * i)) & 3];
}

/** PSHUFW (MMX) and PSHUFLW: the four low words shuffled; PSHUFLW copies the high quadword. */
export function pshuflw(): void {
  for (let i = 0; i < 4; i++) R.u16[i] = B.u16[(vec.imm >> (2 * i)) & 3];
  R.u32[2] = B.u32[2];
  R.u32[3] = B.u32[3];
}

export function pshufhw(): void {
  R.u32[0] = B.u32[0];
  R.u32[1] = B.u32[1];
  for (let i = 0; i < 4; i++) R.u16[4 + i] = B.u16[4 + ((vec.imm >> (2 * i)) & 3)];
}

/** Sign bits of B's lanes: MOVMSKPS (dwords), MOVMSKPD (quadwords), PMOVMSKB (bytes, `n` dwords). */
export function movmskps(): number {
  return (B.u32[0] >>> 31) | ((B.u32[1] >>> 31) << 1) | ((B.u32[2] >>> 31) << 2) | ((B.u32[3] >>> 31) << 3);
}
export function movmskpd(): number {
  return (B.u32[1] >>> 31) | ((B.u32[3] >>> 31) << 1);
}
export function pmovmskb(n: number): number {
  let m = 0;
  for (let i = 0; i < 4 * n; i++) m |= (B.u8[i] >>> 7) << i;
  return m;
}

/**
 * The move instructions' lane effects: loads, stores and register-to-register moves of 32, 64 and
 * 128 bits between XMM, MMX and memory. The dispatcher (instruction-table.ts) has already loaded A
 * (old destination), B (source) and R (= A); these choose what R becomes.
 */
import type { CPU } from "../cpu.js";
import { B, R } from "./vector-unit.js";

/** MOVAPS/MOVUPS/MOVDQA/MOVDQU/MOVQ mm and the non-temporal stores: the whole source. */
export function moveAll(): void {
  R.copyFrom(B);
}

/** MOVSS: from memory the upper lanes are zeroed; between registers they are kept. */
export function movss(cpu: CPU): void {
  if (cpu.modrm < 0xc0) R.u32.fill(0);
  R.u32[0] = B.u32[0];
}

export function movsd(cpu: CPU): void {
  if (cpu.modrm < 0xc0) R.u32.fill(0);
  R.u32[0] = B.u32[0];
  R.u32[1] = B.u32[1];
}

/** MOVSS/MOVSD stores: to memory only the low lane(s) are written; to a register the rest stays. */
export function storeLowDword(): void {
  R.u32[0] = B.u32[0];
}

export function storeLowQword(): void {
  R.u32[0] = B.u32[0];
  R.u32[1] = B.u32[1];
}

/** MOVLPS/MOVLPD load; MOVHLPS (register form of 0F 12): the source's high quadword. */
export function movlps(cpu: CPU): void {
  const o = cpu.modrm >= 0xc0 ? 2 : 0;
  R.u32[0] = B.u32[o];
  R.u32[1] = B.u32[o + 1];
}

/** MOVHPS/MOVHPD load and MOVLHPS: the source's low quadword into the high one. */
export function movhps(): void {
  R.u32[2] = B.u32[0];
  R.u32[3] = B.u32[1];
}

/** MOVHPS/MOVHPD store: the high quadword to memory. */
export function storeHighQword(): void {
  R.u32[0] = B.u32[2];
  R.u32[1] = B.u32[3];
}

/** MOVQ xmm, xmm/m64 (F3 0F 7E), MOVQ xmm/m64, xmm (66 0F D6), MOVQ2DQ: the low quadword, zero-extended. */
export function movqZeroExtend(): void {
  R.u32[0] = B.u32[0];
  R.u32[1] = B.u32[1];
  R.u32[2] = 0;
  R.u32[3] = 0;
}

/** MOVD mm/xmm, r/m32: the dword, zero-extended. */
export function movdIn(): void {
  R.u32[0] = B.u32[0];
  R.u32[1] = 0;
  R.u32[2] = 0;
  R.u32[3] = 0;
}


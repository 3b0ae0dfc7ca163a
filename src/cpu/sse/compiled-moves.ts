/**
 * What compiled blocks call for the commonest SSE instructions (jit/compile-block.ts): the 128-bit
 * moves MOVAPS/MOVAPD/MOVUPS/MOVUPD/MOVDQA/MOVDQU in both directions and PXOR. Each does the same
 * checks as the table's dispatcher (availability, alignment, a store checked before it writes), so a
 * block may hold them and fault exactly where the interpreter would.
 */
import type { CPU } from "../cpu.js";
import { requireSse } from "./vector-unit.js";

function aligned(c: CPU, seg: number, off: number): void {
  if (((c.segBase[seg] + off) & 15) !== 0) c.gp(0);
}

/** XMM[reg] = m128 at seg:off. */
export function sseLoad128(c: CPU, seg: number, off: number, reg: number, align: boolean): void {
  requireSse(c);
  if (align) aligned(c, seg, off);
  const d0 = c.readMem32(seg, off), d1 = c.readMem32(seg, (off + 4) | 0);
  const d2 = c.readMem32(seg, (off + 8) | 0), d3 = c.readMem32(seg, (off + 12) | 0);
  const x = c.fpu.xmm, i = reg << 2;
  x[i] = d0; x[i + 1] = d1; x[i + 2] = d2; x[i + 3] = d3;
}

/** m128 at seg:off = XMM[reg]. */
export function sseStore128(c: CPU, seg: number, off: number, reg: number, align: boolean): void {
  requireSse(c);
  if (align) aligned(c, seg, off);
  c.prepareWrite(seg, off, 16);
  const x = c.fpu.xmm, i = reg << 2;
  c.writeMem32(seg, off, x[i]);
  c.writeMem32(seg, (off + 4) | 0, x[i + 1]);
  c.writeMem32(seg, (off + 8) | 0, x[i + 2]);
  c.writeMem32(seg, (off + 12) | 0, x[i + 3]);
}

/** XMM[dst] = XMM[src]. */
export function sseCopy128(c: CPU, dst: number, src: number): void {
  requireSse(c);
  const x = c.fpu.xmm;
  x.copyWithin(dst << 2, src << 2, (src << 2) + 4);
}

/** PXOR XMM[dst], XMM[src] (or, with `seg` >= 0, the aligned m128 at seg:off). */
export function ssePxor(c: CPU, dst: number, src: number, seg: number, off: number): void {
  requireSse(c);
  const x = c.fpu.xmm, i = dst << 2;
  if (seg >= 0) {
    aligned(c, seg, off);
    const d0 = c.readMem32(seg, off), d1 = c.readMem32(seg, (off + 4) | 0);
    const d2 = c.readMem32(seg, (off + 8) | 0), d3 = c.readMem32(seg, (off + 12) | 0);
    x[i] ^= d0; x[i + 1] ^= d1; x[i + 2] ^= d2; x[i + 3] ^= d3;
    return;
  }
  const j = src << 2;
  x[i] ^= x[j]; x[i + 1] ^= x[j + 1]; x[i + 2] ^= x[j + 2]; x[i + 3] ^= x[j + 3];
}

/**
 * FXSAVE/FXRSTOR (0F AE /0 /1) and the 512-byte legacy region XSAVE shares with them:
 *
 *   0 FCW   2 FSW (TOP included)   4 abridged FTW (bit i: physical register Ri not empty)   6 FOP
 *   8 FIP   12 FCS   16 FDP   20 FDS   24 MXCSR   28 MXCSR_MASK
 *   32 + 16i  ST(i) (stack order, not physical), 80 bits in a 16-byte slot
 *   160 + 16i XMMi
 *
 * Bytes 5, 14-15, 22-23 are written as zero (FCS and FDS as dwords, FTW as a word, as QEMU stores them);
 * the last six bytes of each ST slot and bytes 288-511 are left as they were. Without CR4.OSFXSR,
 * MXCSR and the XMM registers are neither saved nor restored (the SDM leaves it to the implementation;
 * QEMU and ttd skip them).
 */
import type { CPU } from "../cpu.js";
import { CR0_EM, CR0_TS, NM } from "../constants.js";
import { CR4_OSFXSR, MXCSR_MASK } from "./mxcsr.js";
import { requireAligned16 } from "./vector-unit.js";
import { tagOf } from "../fpu-state.js";

export const FXSAVE_SIZE = 512;

/** FXSAVE/FXRSTOR: #NM with CR0.EM or CR0.TS (they never raise #UD for CR0.EM). */
function requireFxsr(cpu: CPU): void {
  if ((cpu.cr0 & (CR0_EM | CR0_TS)) !== 0) cpu.raiseFault(NM, 0);
}

/** The x87 part of the legacy region: control, status, tags, pointers, ST0-ST7. */
export function saveX87(cpu: CPU, seg: number, off: number): void {
  const f = cpu.fpu;
  let abridged = 0;
  for (let i = 0; i < 8; i++) if (((f.ftw >> (2 * i)) & 3) !== 3) abridged |= 1 << i;
  cpu.writeMem16(seg, off, f.fcw);
  cpu.writeMem16(seg, (off + 2) | 0, f.statusWord());
  cpu.writeMem16(seg, (off + 4) | 0, abridged);
  cpu.writeMem16(seg, (off + 6) | 0, f.fop & 0x7ff);
  cpu.writeMem32(seg, (off + 8) | 0, f.fip);
  cpu.writeMem32(seg, (off + 12) | 0, f.fcs & 0xffff);
  cpu.writeMem32(seg, (off + 16) | 0, f.fdp);
  cpu.writeMem32(seg, (off + 20) | 0, f.fds & 0xffff);
  for (let i = 0; i < 8; i++) {
    const r = (f.top + i) & 7;
    const o = (off + 32 + 16 * i) | 0;
    cpu.writeMem32(seg, o, f.mant[2 * r]);
    cpu.writeMem32(seg, (o + 4) | 0, f.mant[2 * r + 1]);
    cpu.writeMem16(seg, (o + 8) | 0, f.signExp[r]);
  }
}

export function saveMxcsr(cpu: CPU, seg: number, off: number): void {
  cpu.writeMem32(seg, (off + 24) | 0, cpu.fpu.mxcsr);
  cpu.writeMem32(seg, (off + 28) | 0, MXCSR_MASK);
}

export function saveXmm(cpu: CPU, seg: number, off: number): void {
  const x = cpu.fpu.xmm;
  for (let i = 0; i < 32; i++) cpu.writeMem32(seg, (off + 160 + 4 * i) | 0, x[i]);
}

/** Loads the x87 part (after every check has passed: nothing else can fault). */
export function restoreX87(cpu: CPU, seg: number, off: number): void {
  const f = cpu.fpu;
  const fcw = cpu.readMem16(seg, off);
  const fsw = cpu.readMem16(seg, (off + 2) | 0);
  const abridged = cpu.readMem8(seg, (off + 4) | 0);
  const fop = cpu.readMem16(seg, (off + 6) | 0);
  const fip = cpu.readMem32(seg, (off + 8) | 0);
  const fcs = cpu.readMem16(seg, (off + 12) | 0);
  const fdp = cpu.readMem32(seg, (off + 16) | 0);
  const fds = cpu.readMem16(seg, (off + 20) | 0);
  f.fcw = fcw;
  f.setStatusWord(fsw);
  f.fop = fop & 0x7ff;
  f.fip = fip;
  f.fcs = fcs;
  f.fdp = fdp;
  f.fds = fds;
  for (let i = 0; i < 8; i++) {
    const r = (f.top + i) & 7;
    const o = (off + 32 + 16 * i) | 0;
    f.mant[2 * r] = cpu.readMem32(seg, o);
    f.mant[2 * r + 1] = cpu.readMem32(seg, (o + 4) | 0);
    f.signExp[r] = cpu.readMem16(seg, (o + 8) | 0);
  }
  let ftw = 0;
  for (let r = 0; r < 8; r++) {
    const tag = (abridged & (1 << r)) === 0 ? 3 : tagOf(f.mant[2 * r], f.mant[2 * r + 1], f.signExp[r]);
    ftw |= tag << (2 * r);
  }
  f.ftw = ftw;
}

export function restoreXmm(cpu: CPU, seg: number, off: number): void {
  const x = cpu.fpu.xmm;
  for (let i = 0; i < 32; i++) x[i] = cpu.readMem32(seg, (off + 160 + 4 * i) | 0);
}

/** Reads the image's MXCSR, #GP(0) when it sets a reserved bit. */
export function checkedMxcsr(cpu: CPU, seg: number, off: number): number {
  const v = cpu.readMem32(seg, (off + 24) | 0);
  if ((v & ~MXCSR_MASK) !== 0) cpu.gp(0);
  return v;
}

/**
 * Faults now if any of `size` bytes at seg:off could not be read (segment limit, either page), so a
 * restore cannot stop half-way with part of the state loaded.
 */
export function probeRead(cpu: CPU, seg: number, off: number, size: number): void {
  if (cpu.segFastRead[seg] === 0) cpu.checkSegment(seg, off, size, false);
  cpu.readMem8(seg, off);
  cpu.readMem8(seg, (off + size - 1) | 0);
}

export function fxsave(cpu: CPU): void {
  requireFxsr(cpu);
  if (cpu.modrm >= 0xc0) cpu.raiseFault(6, 0);
  requireAligned16(cpu);
  const seg = cpu.eaSeg, off = cpu.eaOff;
  cpu.prepareWrite(seg, off, FXSAVE_SIZE);
  saveX87(cpu, seg, off);
  if ((cpu.cr4 & CR4_OSFXSR) !== 0) {
    saveMxcsr(cpu, seg, off);
    saveXmm(cpu, seg, off);
  }
}

export function fxrstor(cpu: CPU): void {
  requireFxsr(cpu);
  if (cpu.modrm >= 0xc0) cpu.raiseFault(6, 0);
  requireAligned16(cpu);
  const seg = cpu.eaSeg, off = cpu.eaOff;
  probeRead(cpu, seg, off, FXSAVE_SIZE);
  const sse = (cpu.cr4 & CR4_OSFXSR) !== 0;
  const mxcsr = sse ? checkedMxcsr(cpu, seg, off) : 0;
  restoreX87(cpu, seg, off);
  if (sse) {
    cpu.fpu.mxcsr = mxcsr;
    restoreXmm(cpu, seg, off);
  }
}

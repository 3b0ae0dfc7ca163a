/**
 * XSAVE/XRSTOR/XSAVEOPT (0F AE /4 /5 /6) in the standard format, and XGETBV/XSETBV (0F 01 D0/D1), for
 * the two state components this CPU has: x87 (XCR0 bit 0) and SSE (bit 1). The area is the 512-byte
 * legacy region (fxsave.ts) followed by the 64-byte XSAVE header, whose first quadword is XSTATE_BV.
 *
 * XINUSE (which components are not in their initial configuration) is computed from the registers:
 * XSAVE and XSAVEOPT record it in XSTATE_BV for the requested components, and XSAVEOPT skips writing a
 * component in its initial configuration (the "init optimisation"; the "modified optimisation", which
 * would also skip components unchanged since the last XRSTOR, is not done: the SDM allows either).
 * MXCSR (with MXCSR_MASK) is written whenever SSE is requested, as the SDM says.
 */
import type { CPU } from "../cpu.js";
import { CR0_TS, EAX, ECX, EDX, NM, UD } from "../constants.js";
import { requireCpl0 } from "../system.js";
import { CR4_OSXSAVE } from "./mxcsr.js";
import {
  checkedMxcsr, FXSAVE_SIZE, probeRead, restoreX87, restoreXmm, saveMxcsr, saveX87, saveXmm,
} from "./fxsave.js";
import { FCW_POWER_ON } from "../fpu-state.js";

export const XSTATE_X87 = 1;
export const XSTATE_SSE = 2;
/** The XCR0 bits this CPU supports (CPUID.(EAX=0DH,ECX=0):EAX). */
export const XCR0_SUPPORTED = XSTATE_X87 | XSTATE_SSE;
/** Size of the standard-format area: legacy region + header. */
export const XSAVE_AREA_SIZE = FXSAVE_SIZE + 64;
const HEADER = FXSAVE_SIZE;

function requireXsave(cpu: CPU): void {
  if ((cpu.cr4 & CR4_OSXSAVE) === 0) cpu.raiseFault(UD, 0);
  if ((cpu.cr0 & CR0_TS) !== 0) cpu.raiseFault(NM, 0);
  if (cpu.modrm >= 0xc0) cpu.raiseFault(UD, 0);
  // The area must be 64-byte aligned.
  if (((cpu.segBase[cpu.eaSeg] + cpu.eaOff) & 63) !== 0) cpu.gp(0);
}

/** XINUSE: bit 0 unless the x87 state is FNINIT's with zero registers and pointers; bit 1 unless every XMM register is zero. */
export function xinuse(cpu: CPU): number {
  const f = cpu.fpu;
  let x87 = f.fcw !== FCW_POWER_ON || f.statusWord() !== 0 || f.ftw !== 0xffff ||
    (f.fip | f.fcs | f.fdp | f.fds | f.fop) !== 0;
  for (let i = 0; i < 16 && !x87; i++) x87 = f.mant[i] !== 0;
  for (let i = 0; i < 8 && !x87; i++) x87 = f.signExp[i] !== 0;
  let sse = false;
  for (let i = 0; i < 32 && !sse; i++) sse = f.xmm[i] !== 0;
  return (x87 ? XSTATE_X87 : 0) | (sse ? XSTATE_SSE : 0);
}

/** XSAVE (optimised: XSAVEOPT). The requested-feature bitmap is XCR0 & EDX:EAX. */
export function xsave(cpu: CPU, optimised: boolean): void {
  requireXsave(cpu);
  const seg = cpu.eaSeg, off = cpu.eaOff;
  const rfbm = cpu.fpu.xcr0 & cpu.regs[EAX];
  const inUse = xinuse(cpu);
  const write = optimised ? rfbm & inUse : rfbm;
  cpu.prepareWrite(seg, off, XSAVE_AREA_SIZE);
  const oldBv = cpu.readMem32(seg, (off + HEADER) | 0);
  if ((write & XSTATE_X87) !== 0) saveX87(cpu, seg, off);
  if ((rfbm & XSTATE_SSE) !== 0) saveMxcsr(cpu, seg, off);
  if ((write & XSTATE_SSE) !== 0) saveXmm(cpu, seg, off);
  cpu.writeMem32(seg, (off + HEADER) | 0, (oldBv & ~rfbm) | (inUse & rfbm));
}

/** XRSTOR, standard format: components requested and present in XSTATE_BV are loaded, the other requested ones initialised. */
export function xrstor(cpu: CPU): void {
  requireXsave(cpu);
  const seg = cpu.eaSeg, off = cpu.eaOff;
  const f = cpu.fpu;
  const rfbm = f.xcr0 & cpu.regs[EAX];
  const bvLo = cpu.readMem32(seg, (off + HEADER) | 0);
  const bvHi = cpu.readMem32(seg, (off + HEADER + 4) | 0);
  // XSTATE_BV within XCR0; XCOMP_BV (bit 63 would mean the compacted format) and the next quadword zero.
  if ((bvLo & ~f.xcr0) !== 0 || bvHi !== 0) cpu.gp(0);
  for (let o = 8; o < 24; o += 4) if (cpu.readMem32(seg, (off + HEADER + o) | 0) !== 0) cpu.gp(0);
  const mxcsr = (rfbm & XSTATE_SSE) !== 0 ? checkedMxcsr(cpu, seg, off) : 0;
  probeRead(cpu, seg, off, XSAVE_AREA_SIZE);
  if ((rfbm & XSTATE_X87) !== 0) {
    if ((bvLo & XSTATE_X87) !== 0) restoreX87(cpu, seg, off);
    else cpu.fpu.resetX87();
  }
  if ((rfbm & XSTATE_SSE) !== 0) {
    f.mxcsr = mxcsr;
    if ((bvLo & XSTATE_SSE) !== 0) restoreXmm(cpu, seg, off);
    else f.xmm.fill(0);
  }
}

/** XGETBV (0F 01 D0): EDX:EAX = XCR[ECX]; only XCR0 exists. Any CPL. */
export function xgetbv(cpu: CPU): void {
  if ((cpu.cr4 & CR4_OSXSAVE) === 0) cpu.raiseFault(UD, 0);
  if (cpu.regs[ECX] !== 0) cpu.gp(0);
  cpu.regs[EAX] = cpu.fpu.xcr0;
  cpu.regs[EDX] = 0;
}

/** XSETBV (0F 01 D1): CPL 0; XCR0 must keep x87 and name only supported components. */
export function xsetbv(cpu: CPU): void {
  if ((cpu.cr4 & CR4_OSXSAVE) === 0) cpu.raiseFault(UD, 0);
  requireCpl0(cpu);
  const lo = cpu.regs[EAX], hi = cpu.regs[EDX];
  if (cpu.regs[ECX] !== 0 || hi !== 0 || (lo & ~XCR0_SUPPORTED) !== 0 || (lo & XSTATE_X87) === 0) cpu.gp(0);
  cpu.fpu.xcr0 = lo;
}


/**
 * 0F AE (group 15) and the other cache-control and non-temporal instructions: FXSAVE, FXRSTOR,
 * LDMXCSR, STMXCSR, XSAVE, XRSTOR, XSAVEOPT, CLFLUSH, LFENCE/MFENCE/SFENCE, MOVNTI, MASKMOVQ and
 * MASKMOVDQU. This machine has no caches and executes in order, so fences do nothing and CLFLUSH only
 * checks that its operand could be accessed.
 */
import type { CPU } from "../cpu.js";
import { DS, EDI, UD } from "../constants.js";
import { fxrstor, fxsave } from "./fxsave.js";
import { xrstor, xsave } from "./xsave.js";
import { loadMxcsr } from "./mxcsr.js";
import { B, Lanes, loadMm, loadXmm, mandatoryPrefix, PFX_NONE, requireSse } from "./vector-unit.js";

const MASK = new Lanes();

export function group15(cpu: CPU): void {
  const sub = (cpu.modrm >> 3) & 7;
  const plain = mandatoryPrefix(cpu) === PFX_NONE;
  if (cpu.modrm >= 0xc0) {
    // E8-EF LFENCE, F0-F7 MFENCE, F8-FF SFENCE.
    if (sub >= 5 && plain) return;
    cpu.raiseFault(UD, 0);
  }
  const seg = cpu.eaSeg, off = cpu.eaOff;
  switch (sub) {
    case 0: fxsave(cpu); return;
    case 1: fxrstor(cpu); return;
    case 2:
      requireSse(cpu);
      loadMxcsr(cpu, cpu.readMem32(seg, off));
      return;
    case 3:
      requireSse(cpu);
      cpu.writeMem32(seg, off, cpu.fpu.mxcsr);
      return;
    case 4: xsave(cpu, false); return;
    case 5: xrstor(cpu); return;
    case 6:
      if (!plain) cpu.raiseFault(UD, 0); // 66: CLWB, not implemented
      xsave(cpu, true);
      return;
    default: {
      if (!plain) cpu.raiseFault(UD, 0); // 66: CLFLUSHOPT, not implemented
      // CLFLUSH faults as a byte read would, but reads nothing (the line could be MMIO).
      if (cpu.segFastRead[seg] === 0) cpu.checkSegment(seg, off, 1, false);
      cpu.mmu.translate((cpu.segBase[seg] + off) | 0, false, cpu.mmu.user);
    }
  }
}

/** MOVNTI m32, r32: a plain store here. */
export function movnti(cpu: CPU): void {
  cpu.writeE32(cpu.regs[(cpu.modrm >> 3) & 7]);
}

/**
 * MASKMOVQ/MASKMOVDQU: the bytes of the reg operand whose mask byte (r/m register) has its top bit set
 * are stored at DS:(E)DI (a segment override applies).
 */
export function maskmov(cpu: CPU, bytes: number): void {
  const reg = (cpu.modrm >> 3) & 7, rm = cpu.modrm & 7;
  if (bytes === 8) loadMm(cpu, MASK, rm); else loadXmm(cpu, MASK, rm);
  if (bytes === 8) loadMm(cpu, B, reg); else loadXmm(cpu, B, reg);
  let any = false;
  for (let i = 0; i < bytes; i++) if (MASK.u8[i] >= 0x80) any = true;
  if (!any) return;
  const seg = cpu.segOverride >= 0 ? cpu.segOverride : DS;
  const base = cpu.a32 ? cpu.regs[EDI] : cpu.regs16[EDI << 1];
  cpu.prepareWrite(seg, base, bytes);
  for (let i = 0; i < bytes; i++) {
    if (MASK.u8[i] >= 0x80) cpu.writeMem8(seg, cpu.a32 ? (base + i) | 0 : (base + i) & 0xffff, B.u8[i]);
  }
}

/**
 * The CPU's architectural state as plain JSON-able data, for keyframes and tests: saving and loading
 * it round-trips every register, the hidden segment caches, system registers and the run state.
 * Derived state (lazy flags, the TLB, compiled blocks, the fetch cache) is rebuilt, not stored.
 */
import type { CPU } from "./cpu.js";
import type { MsrState } from "./msrs.js";
import type { FpuStateData } from "./fpu-state.js";
import { plainArray } from "../machine/plain-array.js";

export interface CpuState {
  regs: number[];
  eip: number;
  eflags: number;
  seg: { sel: number; base: number; limit: number; attr: number }[];
  cpl: number;
  cr0: number;
  cr2: number;
  cr3: number;
  cr4: number;
  gdt: [number, number];
  idt: [number, number];
  ldt: [number, number, number];
  tr: [number, number, number, number];
  dr: number[];
  sysenter: [number, number, number];
  apicBase: number;
  tscOffset: number;
  steps: number;
  halted: boolean;
  interruptShadowUntil: number;
  /** Absent in states saved before it existed (no shadow). */
  debugShadowUntil?: number;
  pendingException: [number, number] | null;
  /** PAT, MTRRs and the other stored MSRs; absent in states saved before they existed (power-on values). */
  msrs?: MsrState;
  /** x87/MMX/SSE registers; absent in states saved before the FPU existed (power-on values). */
  fpu?: FpuStateData;
}

export function saveCpuState(cpu: CPU): CpuState {
  const seg = [];
  for (let s = 0; s < 6; s++) seg.push({ sel: cpu.segSel[s], base: cpu.segBase[s], limit: cpu.segLimit[s], attr: cpu.segAttr[s] });
  return {
    regs: plainArray(cpu.regs),
    eip: cpu.eip,
    eflags: cpu.getEflags(),
    seg,
    cpl: cpu.cpl,
    cr0: cpu.cr0,
    cr2: cpu.cr2,
    cr3: cpu.cr3,
    cr4: cpu.cr4,
    gdt: [cpu.gdtBase, cpu.gdtLimit],
    idt: [cpu.idtBase, cpu.idtLimit],
    ldt: [cpu.ldtSel, cpu.ldtBase, cpu.ldtLimit],
    tr: [cpu.trSel, cpu.trBase, cpu.trLimit, cpu.trAttr],
    dr: plainArray(cpu.dr),
    sysenter: [cpu.sysenterCs, cpu.sysenterEsp, cpu.sysenterEip],
    apicBase: cpu.apicBase,
    tscOffset: cpu.tscOffset,
    steps: cpu.steps,
    halted: cpu.halted,
    interruptShadowUntil: cpu.interruptShadowUntil,
    debugShadowUntil: cpu.debugShadowUntil,
    pendingException: cpu.pendingExceptionState(),
    msrs: cpu.msrs.save(),
    fpu: cpu.fpu.save(),
  };
}

/** Restores `state` into `cpu`. Memory must already hold the matching contents. */
export function loadCpuState(cpu: CPU, state: CpuState): void {
  cpu.regs.set(state.regs);
  cpu.eip = state.eip;
  cpu.setEflags(state.eflags);
  for (let s = 0; s < 6; s++) {
    const g = state.seg[s];
    cpu.setSegmentCache(s, g.sel, g.base, g.limit, g.attr);
  }
  cpu.setCpl(state.cpl);
  cpu.cr0 = state.cr0;
  cpu.cr2 = state.cr2;
  cpu.cr3 = state.cr3;
  cpu.cr4 = state.cr4;
  const mmu = cpu.mmu;
  mmu.paging = (state.cr0 & (1 << 31)) !== 0;
  mmu.writeProtect = (state.cr0 & (1 << 16)) !== 0;
  mmu.pse = (state.cr4 & (1 << 4)) !== 0;
  mmu.pge = (state.cr4 & (1 << 7)) !== 0;
  mmu.cr3 = state.cr3;
  mmu.flush(false);
  [cpu.gdtBase, cpu.gdtLimit] = state.gdt;
  [cpu.idtBase, cpu.idtLimit] = state.idt;
  [cpu.ldtSel, cpu.ldtBase, cpu.ldtLimit] = state.ldt;
  [cpu.trSel, cpu.trBase, cpu.trLimit, cpu.trAttr] = state.tr;
  cpu.dr.set(state.dr);
  [cpu.sysenterCs, cpu.sysenterEsp, cpu.sysenterEip] = state.sysenter;
  cpu.apicBase = state.apicBase;
  cpu.tscOffset = state.tscOffset;
  cpu.steps = state.steps;
  cpu.halted = state.halted;
  cpu.interruptShadowUntil = state.interruptShadowUntil;
  cpu.debugShadowUntil = state.debugShadowUntil ?? -1;
  cpu.setPendingExceptionState(state.pendingException);
  cpu.msrs.load(state.msrs);
  cpu.fpu.load(state.fpu);
  cpu.invalidateFetch();
}

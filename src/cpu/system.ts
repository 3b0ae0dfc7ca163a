/**
 * System instructions: descriptor-table registers (LGDT/LIDT/SGDT/SIDT/LLDT/LTR/SLDT/STR), control
 * and debug registers, RDMSR/WRMSR, RDTSC, SYSENTER/SYSEXIT, LAR/LSL/VERR/VERW, CLTS, INVLPG; group 7
 * also holds XGETBV/XSETBV (sse/xsave.ts).
 * CPUID is in cpuid.ts, the MSRs other than TSC, APIC base and SYSENTER in msrs.ts.
 */
import type { CPU } from "./cpu.js";
import { ATTR_CODE, ATTR_DB, ATTR_DC, ATTR_G, ATTR_PRESENT, ATTR_RW, ATTR_S } from "./constants.js";
import {
  CR0_PE, CR0_PG, CR0_TS, CR0_WP, CR4_PGE, CR4_PSE, CS, ECX, EDX, EAX, ESP, IF, MSR_APIC_BASE, MSR_SYSENTER_CS,
  MSR_SYSENTER_EIP, MSR_SYSENTER_ESP, MSR_TSC, NP, RF, SS, UD, VM, ZF,
} from "./constants.js";
import { attrDpl, readDescriptor } from "./segments.js";
import { WriteCause } from "./observer.js";
import { CR4_OSXSAVE } from "./sse/mxcsr.js";
import { xgetbv, xsetbv } from "./sse/xsave.js";

/** Raises #GP(0) unless CPL is 0 (in protected mode). */
export function requireCpl0(cpu: CPU): void {
  if (cpu.cpl !== 0 && (cpu.cr0 & CR0_PE) !== 0) cpu.gp(0);
}

// ---- Control registers ----------------------------------------------------------------------------

const CR4_PAE = 1 << 5;
/**
 * CR4 bits this CPU accepts: VME through OSXMMEXCPT (bits 0-10: OSFXSR is 9, OSXMMEXCPT 10) and
 * OSXSAVE (18); PAE is absent, as CPUID says.
 */
const CR4_SUPPORTED = (0x7ff & ~CR4_PAE) | CR4_OSXSAVE;

export function writeCr0(cpu: CPU, v: number): void {
  if ((v & CR0_PG) !== 0 && (v & CR0_PE) === 0) cpu.gp(0);
  const old = cpu.cr0;
  // ET is hardwired to one on this CPU, as on every CPU since the 486.
  cpu.cr0 = v | 0x10;
  const mmu = cpu.mmu;
  mmu.paging = (v & CR0_PG) !== 0;
  mmu.writeProtect = (v & CR0_WP) !== 0;
  if (((old ^ v) & (CR0_PG | CR0_WP | CR0_PE)) !== 0) mmu.flush(false);
  cpu.invalidateFetch();
}

export function writeCr3(cpu: CPU, v: number): void {
  cpu.cr3 = v;
  cpu.mmu.cr3 = v;
  cpu.mmu.flush(true);
  cpu.invalidateFetch();
}

export function writeCr4(cpu: CPU, v: number): void {
  if ((v & ~CR4_SUPPORTED) !== 0) cpu.gp(0);
  const old = cpu.cr4;
  cpu.cr4 = v;
  cpu.mmu.pse = (v & CR4_PSE) !== 0;
  cpu.mmu.pge = (v & CR4_PGE) !== 0;
  if (((old ^ v) & (CR4_PSE | CR4_PGE)) !== 0) cpu.mmu.flush(false);
  cpu.invalidateFetch();
}

/** MOV to/from CRn and DRn (0F 20-23). The ModRM's mod field is ignored: the operand is always a register. */
export function movControl(cpu: CPU, op: number): void {
  const m = cpu.fetch8();
  const n = (m >> 3) & 7, r = m & 7;
  requireCpl0(cpu);
  const regs = cpu.regs;
  switch (op) {
    case 0x20:
      switch (n) {
        case 0: regs[r] = cpu.cr0; return;
        case 2: regs[r] = cpu.cr2; return;
        case 3: regs[r] = cpu.cr3; return;
        case 4: regs[r] = cpu.cr4; return;
        default: cpu.raiseFault(UD, 0);
      }
      return;
    case 0x22:
      switch (n) {
        case 0: writeCr0(cpu, regs[r]); return;
        case 2: cpu.cr2 = regs[r]; return;
        case 3: writeCr3(cpu, regs[r]); return;
        case 4: writeCr4(cpu, regs[r]); return;
        default: cpu.raiseFault(UD, 0);
      }
      return;
    case 0x21:
      // DR4/DR5 alias DR6/DR7 (CR4.DE clear). Breakpoints are stored, not acted on.
      regs[r] = cpu.dr[n === 4 || n === 5 ? n + 2 : n];
      return;
    default:
      cpu.dr[n === 4 || n === 5 ? n + 2 : n] = regs[r];
  }
}

// ---- Descriptor tables ----------------------------------------------------------------------------

/** 0F 01: SGDT SIDT LGDT LIDT SMSW LMSW INVLPG. */
export function group7(cpu: CPU): void {
  cpu.decodeModrm();
  const op = (cpu.modrm >> 3) & 7;
  const mem = cpu.modrm < 0xc0;
  switch (op) {
    case 0: case 1: {
      if (!mem) return cpu.unimplemented(`0f 01 ${cpu.modrm.toString(16)}`);
      const limit = op === 0 ? cpu.gdtLimit : cpu.idtLimit;
      const base = op === 0 ? cpu.gdtBase : cpu.idtBase;
      cpu.prepareWrite(cpu.eaSeg, cpu.eaOff, 6);
      cpu.writeMem16(cpu.eaSeg, cpu.eaOff, limit);
      cpu.writeMem32(cpu.eaSeg, (cpu.eaOff + 2) | 0, cpu.o32 ? base : base & 0xffffff);
      return;
    }
    case 2: case 3: {
      if (!mem) {
        // 0F 01 D0 XGETBV, D1 XSETBV.
        if (cpu.modrm === 0xd0) return xgetbv(cpu);
        if (cpu.modrm === 0xd1) return xsetbv(cpu);
        cpu.raiseFault(UD, 0);
      }
      requireCpl0(cpu);
      const limit = cpu.readMem16(cpu.eaSeg, cpu.eaOff);
      let base = cpu.readMem32(cpu.eaSeg, (cpu.eaOff + 2) | 0);
      if (!cpu.o32) base &= 0xffffff;
      if (op === 2) { cpu.gdtLimit = limit; cpu.gdtBase = base; }
      else { cpu.idtLimit = limit; cpu.idtBase = base; }
      return;
    }
    case 4: {
      // SMSW: to a register the whole CR0 (as QEMU), to memory its low word.
      if (!mem && cpu.o32) cpu.regs[cpu.modrm & 7] = cpu.cr0;
      else cpu.writeE16(cpu.cr0 & 0xffff);
      return;
    }
    case 6: {
      requireCpl0(cpu);
      const v = cpu.readE16();
      // LMSW changes PE, MP, EM, TS only, and cannot clear PE.
      writeCr0(cpu, (cpu.cr0 & ~0xe) | (v & 0xf) | (cpu.cr0 & CR0_PE));
      return;
    }
    case 7: {
      if (!mem) return cpu.unimplemented(`0f 01 ${cpu.modrm.toString(16)}`);
      requireCpl0(cpu);
      cpu.mmu.invalidatePage((cpu.segBase[cpu.eaSeg] + cpu.eaOff) | 0);
      cpu.invalidateFetch();
      return;
    }
    default:
      cpu.raiseFault(UD, 0);
  }
}

/** 0F 00: SLDT STR LLDT LTR VERR VERW. */
export function group6(cpu: CPU): void {
  if ((cpu.cr0 & CR0_PE) === 0) cpu.raiseFault(UD, 0);
  cpu.decodeModrm();
  const op = (cpu.modrm >> 3) & 7;
  switch (op) {
    case 0: case 1: {
      const v = op === 0 ? cpu.ldtSel : cpu.trSel;
      if (cpu.modrm >= 0xc0 && cpu.o32) cpu.regs[cpu.modrm & 7] = v;
      else cpu.writeE16(v);
      return;
    }
    case 2: lldt(cpu, cpu.readE16()); return;
    case 3: ltr(cpu, cpu.readE16()); return;
    case 4: case 5: verify(cpu, cpu.readE16(), op === 5); return;
    default: cpu.raiseFault(UD, 0);
  }
}

function lldt(cpu: CPU, sel: number): void {
  requireCpl0(cpu);
  if ((sel & 0xfffc) === 0) {
    cpu.ldtSel = sel;
    cpu.ldtBase = 0;
    cpu.ldtLimit = 0;
    return;
  }
  if ((sel & 4) !== 0) cpu.gp(sel & 0xfffc);
  const d = cpu.descData;
  if (!readDescriptor(cpu, sel, d)) cpu.gp(sel & 0xfffc);
  const attr = d.attr;
  if ((attr & ATTR_S) !== 0 || (attr & 0xf) !== 2) cpu.gp(sel & 0xfffc);
  if ((attr & ATTR_PRESENT) === 0) cpu.raiseFault(NP, sel & 0xfffc);
  cpu.ldtSel = sel;
  cpu.ldtBase = d.base;
  cpu.ldtLimit = d.limit;
}

function ltr(cpu: CPU, sel: number): void {
  requireCpl0(cpu);
  const err = sel & 0xfffc;
  if (err === 0) cpu.gp(0);
  if ((sel & 4) !== 0) cpu.gp(err);
  const d = cpu.descData;
  if (!readDescriptor(cpu, sel, d)) cpu.gp(err);
  const attr = d.attr;
  const type = attr & 0xf;
  // Only an available TSS (16-bit type 1 or 32-bit type 9) can be loaded.
  if ((attr & ATTR_S) !== 0 || (type !== 1 && type !== 9)) cpu.gp(err);
  if ((attr & ATTR_PRESENT) === 0) cpu.raiseFault(NP, err);
  // Mark the TSS busy in the GDT: a CPU write of its own.
  const mmu = cpu.mmu;
  const saved = mmu.writeCause;
  mmu.writeCause = WriteCause.TaskState;
  try {
    mmu.writeSys((d.addr + 4) | 0, 4, d.hi | 0x200);
  } finally {
    mmu.writeCause = saved;
  }
  cpu.trSel = sel;
  cpu.trBase = d.base;
  cpu.trLimit = d.limit;
  cpu.trAttr = attr | 0x2;
}

/** Whether a descriptor with attributes `attr` for `sel` is visible at CPL/RPL (non-conforming needs DPL >= both). */
function privilegeVisible(cpu: CPU, sel: number, attr: number): boolean {
  const conformingCode = (attr & ATTR_S) !== 0 && (attr & ATTR_CODE) !== 0 && (attr & ATTR_DC) !== 0;
  if (conformingCode) return true;
  const dpl = attrDpl(attr);
  return dpl >= cpu.cpl && dpl >= (sel & 3);
}

function verify(cpu: CPU, sel: number, write: boolean): void {
  let ok = false;
  if ((sel & 0xfffc) !== 0 && readDescriptor(cpu, sel, cpu.descData)) {
    const attr = cpu.descData.attr;
    if ((attr & ATTR_S) !== 0 && privilegeVisible(cpu, sel, attr)) {
      const code = (attr & ATTR_CODE) !== 0;
      ok = write ? !code && (attr & ATTR_RW) !== 0 : !code || (attr & ATTR_RW) !== 0;
    }
  }
  cpu.setFlag(ZF, ok);
}

/** System descriptor types LAR accepts (TSSs, LDT, call and task gates) and LSL accepts (those with a limit), as bit sets. */
const LAR_SYSTEM_TYPES = (1 << 1) | (1 << 2) | (1 << 3) | (1 << 4) | (1 << 5) | (1 << 9) | (1 << 11) | (1 << 12);
const LSL_SYSTEM_TYPES = (1 << 1) | (1 << 2) | (1 << 3) | (1 << 9) | (1 << 11);

/** LAR (0F 02) and LSL (0F 03). */
export function larLsl(cpu: CPU, lsl: boolean): void {
  if ((cpu.cr0 & CR0_PE) === 0) cpu.raiseFault(UD, 0);
  cpu.decodeModrm();
  const sel = cpu.readE16();
  let ok = false;
  const d = cpu.descData;
  if ((sel & 0xfffc) !== 0 && readDescriptor(cpu, sel, d)) {
    const attr = d.attr;
    let typeOk = true;
    if ((attr & ATTR_S) === 0) {
      const t = attr & 0xf;
      typeOk = ((lsl ? LSL_SYSTEM_TYPES : LAR_SYSTEM_TYPES) & (1 << t)) !== 0;
    }
    ok = typeOk && privilegeVisible(cpu, sel, attr);
    if (ok) {
      const reg = (cpu.modrm >> 3) & 7;
      if (lsl) cpu.setRegV(reg, d.limit);
      else cpu.setRegV(reg, d.hi & 0x00f0ff00);
    }
  }
  cpu.setFlag(ZF, ok);
}

// ---- MSRs, TSC ---------------------------------------------------------------------------------

export function rdmsr(cpu: CPU): void {
  requireCpl0(cpu);
  const regs = cpu.regs;
  let lo = 0, hi = 0;
  switch (regs[ECX] >>> 0) {
    case MSR_TSC: {
      const t = tsc(cpu);
      lo = t % 4294967296 | 0;
      hi = Math.floor(t / 4294967296) | 0;
      break;
    }
    case MSR_APIC_BASE: lo = cpu.apicBase; break;
    case MSR_SYSENTER_CS: lo = cpu.sysenterCs; break;
    case MSR_SYSENTER_ESP: lo = cpu.sysenterEsp; break;
    case MSR_SYSENTER_EIP: lo = cpu.sysenterEip; break;
    default:
      // The rest (PAT, MTRRs, MISC_ENABLE...) or #GP for an MSR this processor does not have.
      if (!cpu.msrs.read(regs[ECX] >>> 0)) cpu.gp(0);
      lo = cpu.msrs.lo;
      hi = cpu.msrs.hi;
  }
  regs[EAX] = lo;
  regs[EDX] = hi;
}

export function wrmsr(cpu: CPU): void {
  requireCpl0(cpu);
  const regs = cpu.regs;
  const lo = regs[EAX], hi = regs[EDX];
  switch (regs[ECX] >>> 0) {
    case MSR_TSC:
      cpu.tscOffset = ((hi >>> 0) * 4294967296 + (lo >>> 0)) - cpu.clock();
      return;
    case MSR_APIC_BASE:
      cpu.apicBase = lo;
      if (cpu.onApicBaseWrite !== null) cpu.onApicBaseWrite(lo);
      return;
    case MSR_SYSENTER_CS: cpu.sysenterCs = lo & 0xffff; return;
    case MSR_SYSENTER_ESP: cpu.sysenterEsp = lo; return;
    case MSR_SYSENTER_EIP: cpu.sysenterEip = lo; return;
    default:
      if (!cpu.msrs.write(regs[ECX] >>> 0, lo >>> 0, hi >>> 0)) cpu.gp(0);
  }
}

function tsc(cpu: CPU): number {
  return cpu.clock() + cpu.tscOffset;
}

const CR4_TSD = 1 << 2;

/** The value RDTSC reads; #GP(0) when CR4.TSD keeps it from CPL > 0 in protected mode. */
export function readTsc(cpu: CPU): number {
  if ((cpu.cr4 & CR4_TSD) !== 0 && cpu.cpl !== 0 && (cpu.cr0 & CR0_PE) !== 0) cpu.gp(0);
  return tsc(cpu);
}

export function rdtsc(cpu: CPU): void {
  const t = readTsc(cpu);
  cpu.regs[EAX] = t % 4294967296 | 0;
  cpu.regs[EDX] = Math.floor(t / 4294967296) | 0;
}

// ---- Fast system calls ------------------------------------------------------------------------------

const FLAT = -1;
const CODE_ATTR = ATTR_PRESENT | ATTR_S | ATTR_CODE | ATTR_RW | ATTR_DB | ATTR_G | 0x1;
const DATA_ATTR = ATTR_PRESENT | ATTR_S | ATTR_RW | ATTR_DB | ATTR_G | 0x1;

/** SYSENTER: flat ring-0 CS/SS from IA32_SYSENTER_CS, ESP/EIP from their MSRs; IF, VM, RF cleared. */
export function sysenter(cpu: CPU): void {
  if ((cpu.cr0 & CR0_PE) === 0 || (cpu.sysenterCs & 0xfffc) === 0) cpu.gp(0);
  const cs = cpu.sysenterCs & 0xfffc;
  cpu.setEflags(cpu.getEflags() & ~(IF | VM | RF));
  cpu.setSegmentCache(CS, cs, 0, FLAT, CODE_ATTR);
  cpu.setSegmentCache(SS, (cs + 8) & 0xfffc, 0, FLAT, DATA_ATTR);
  cpu.setCpl(0);
  cpu.regs[ESP] = cpu.sysenterEsp;
  cpu.eip = cpu.sysenterEip;
}

/** SYSEXIT: flat ring-3 CS = SYSENTER_CS+16, SS = +24 (RPL 3), ESP = ECX, EIP = EDX. */
export function sysexit(cpu: CPU): void {
  if ((cpu.cr0 & CR0_PE) === 0 || cpu.cpl !== 0 || (cpu.sysenterCs & 0xfffc) === 0) cpu.gp(0);
  const base = cpu.sysenterCs & 0xfffc;
  cpu.setSegmentCache(CS, (base + 16) | 3, 0, FLAT, CODE_ATTR | (3 << 5));
  cpu.setSegmentCache(SS, (base + 24) | 3, 0, FLAT, DATA_ATTR | (3 << 5));
  cpu.setCpl(3);
  cpu.regs[ESP] = cpu.regs[ECX];
  cpu.eip = cpu.regs[EDX];
}

export function clts(cpu: CPU): void {
  requireCpl0(cpu);
  cpu.cr0 &= ~CR0_TS;
}


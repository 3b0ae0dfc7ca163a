/**
 * Segment descriptors: reading them from the GDT/LDT, decoding base/limit/attributes, the accessed
 * bit, and loading data and stack segment registers with every protected-mode check in the SDM's order.
 * Descriptor reads are supervisor accesses whatever the CPL.
 */
import type { CPU } from "./cpu.js";
import { ATTR_CODE, ATTR_DC, ATTR_PRESENT, ATTR_RW, ATTR_S } from "./constants.js";
import { CR0_PE, NP, SS, SS_FAULT, CS } from "./constants.js";
import { WriteCause } from "./observer.js";

/** The descriptor most recently read by readDescriptor (scratch state: no allocation per load). */
export const desc = { lo: 0, hi: 0, addr: 0 };

/** Base address encoded in a descriptor. */
export function descBase(lo: number, hi: number): number {
  return ((lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000)) | 0;
}

/** Byte-granular limit of a descriptor (G scales by 4 KiB), as an int32 holding an unsigned value. */
export function descLimit(lo: number, hi: number): number {
  const raw = (lo & 0xffff) | (hi & 0x000f0000);
  return (hi & 0x00800000) !== 0 ? ((raw << 12) | 0xfff) : raw;
}

/** Attributes in the CPU's segAttr layout: access byte in bits 0..7, AVL/L/DB/G in bits 12..15. */
export function descAttr(hi: number): number {
  return (hi >> 8) & 0xf0ff;
}

export function attrDpl(attr: number): number {
  return (attr >> 5) & 3;
}

/**
 * Reads the descriptor for `sel` into `desc`. Returns false when the selector's index lies beyond the
 * GDT or LDT limit (the caller raises the fault its instruction specifies).
 */
export function readDescriptor(cpu: CPU, sel: number): boolean {
  const index = sel & 0xfff8;
  let base: number, limit: number;
  if ((sel & 4) !== 0) {
    if ((cpu.ldtSel & 0xfffc) === 0) return false;
    base = cpu.ldtBase;
    limit = cpu.ldtLimit >>> 0;
  } else {
    base = cpu.gdtBase;
    limit = cpu.gdtLimit >>> 0;
  }
  if (index + 7 > limit) return false;
  const addr = (base + index) | 0;
  desc.addr = addr;
  desc.lo = cpu.mmu.readSys(addr, 4);
  desc.hi = cpu.mmu.readSys((addr + 4) | 0, 4);
  return true;
}

/** Sets the accessed bit of the descriptor in `desc` if it is clear (a CPU write of its own). */
export function markAccessed(cpu: CPU): void {
  if ((desc.hi & 0x100) !== 0) return;
  desc.hi |= 0x100;
  const mmu = cpu.mmu;
  const saved = mmu.writeCause;
  mmu.writeCause = WriteCause.Descriptor;
  try {
    mmu.writeSys((desc.addr + 4) | 0, 4, desc.hi);
  } finally {
    mmu.writeCause = saved;
  }
}

/** Loads the hidden cache of `seg` from `desc` with selector `sel`. */
export function commitSegment(cpu: CPU, seg: number, sel: number): void {
  cpu.setSegmentCache(seg, sel, descBase(desc.lo, desc.hi), descLimit(desc.lo, desc.hi), descAttr(desc.hi));
}

/** Real-mode style load: base = selector * 16, limits and attributes kept. */
function loadSegmentReal(cpu: CPU, seg: number, sel: number): void {
  cpu.setSegmentCache(seg, sel, (sel & 0xffff) << 4, cpu.segLimit[seg], cpu.segAttr[seg] | ATTR_PRESENT | ATTR_S);
}

/**
 * MOV/POP/LDS-family load of a data or stack segment register, with the SDM's checks:
 * SS needs a present, writable data segment with RPL = DPL = CPL; DS/ES/FS/GS accept null, data or
 * readable code segments with enough privilege.
 */
export function loadDataSegment(cpu: CPU, seg: number, selector: number): void {
  const sel = selector & 0xffff;
  if ((cpu.cr0 & CR0_PE) === 0) {
    loadSegmentReal(cpu, seg, sel);
    return;
  }
  const errSel = sel & 0xfffc;
  if (seg === SS) {
    if (errSel === 0) cpu.gp(0);
    if (!readDescriptor(cpu, sel)) cpu.gp(errSel);
    const attr = descAttr(desc.hi);
    if ((sel & 3) !== cpu.cpl) cpu.gp(errSel);
    if ((attr & ATTR_S) === 0 || (attr & ATTR_CODE) !== 0 || (attr & ATTR_RW) === 0) cpu.gp(errSel);
    if (attrDpl(attr) !== cpu.cpl) cpu.gp(errSel);
    if ((attr & ATTR_PRESENT) === 0) cpu.raiseFault(SS_FAULT, errSel);
    markAccessed(cpu);
    commitSegment(cpu, SS, sel);
    return;
  }
  if (errSel === 0) {
    cpu.setSegmentNull(seg, sel);
    return;
  }
  if (!readDescriptor(cpu, sel)) cpu.gp(errSel);
  const attr = descAttr(desc.hi);
  if ((attr & ATTR_S) === 0) cpu.gp(errSel);
  const code = (attr & ATTR_CODE) !== 0;
  if (code && (attr & ATTR_RW) === 0) cpu.gp(errSel);
  // Data and non-conforming code segments need RPL <= DPL and CPL <= DPL.
  if (!code || (attr & ATTR_DC) === 0) {
    const dpl = attrDpl(attr);
    if ((sel & 3) > dpl || cpu.cpl > dpl) cpu.gp(errSel);
  }
  if ((attr & ATTR_PRESENT) === 0) cpu.raiseFault(NP, errSel);
  markAccessed(cpu);
  commitSegment(cpu, seg, sel);
}

/**
 * After a return to an outer privilege level: data segment registers whose DPL is below the new CPL
 * (data or non-conforming code) are loaded with null, so the outer level cannot keep inner access.
 */
export function nullInaccessibleSegments(cpu: CPU, segs: readonly number[]): void {
  for (const seg of segs) {
    const attr = cpu.segAttr[seg];
    if ((attr & ATTR_PRESENT) === 0) continue;
    const conformingCode = (attr & ATTR_CODE) !== 0 && (attr & ATTR_DC) !== 0;
    if (!conformingCode && attrDpl(attr) < cpu.cpl) cpu.setSegmentNull(seg, 0);
  }
}

/** Loads CS from `desc` with the RPL set to `cpl`, and makes `cpl` current. */
export function commitCode(cpu: CPU, sel: number, cpl: number): void {
  cpu.setSegmentCache(CS, (sel & 0xfffc) | cpl, descBase(desc.lo, desc.hi), descLimit(desc.lo, desc.hi), descAttr(desc.hi));
  cpu.setCpl(cpl);
}


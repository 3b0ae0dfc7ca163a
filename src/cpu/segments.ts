/**
 * Segment descriptors: reading them from the GDT/LDT, decoding base/limit/attributes, the accessed
 * bit, and loading data and stack segment registers with every protected-mode check in the SDM's order.
 * Descriptor reads are supervisor accesses whatever the CPL.
 */
import type { CPU } from "./cpu.js";
import { ATTR_CODE, ATTR_DC, ATTR_PRESENT, ATTR_RW, ATTR_S } from "./constants.js";
import { CR0_PE, NP, SS, SS_FAULT, CS } from "./constants.js";
import { WriteCause } from "./observer.js";

/**
 * A segment descriptor as read from the GDT or LDT: its two dwords and the linear address it was read
 * from (for the accessed and busy bits). The CPU owns one per role (CPU.descCode, descStack, descData)
 * so that code checking a CS and an SS descriptor at once keeps both without copying.
 */
export class Descriptor {
  lo = 0;
  hi = 0;
  addr = 0;

  get base(): number {
    return descBase(this.lo, this.hi);
  }

  get limit(): number {
    return descLimit(this.lo, this.hi);
  }

  get attr(): number {
    return descAttr(this.hi);
  }
}

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
 * Reads the descriptor for `sel` into `d`. Returns false when the selector's index lies beyond the
 * GDT or LDT limit (the caller raises the fault its instruction specifies).
 */
export function readDescriptor(cpu: CPU, sel: number, d: Descriptor): boolean {
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
  d.addr = addr;
  d.lo = cpu.mmu.readSys(addr, 4);
  d.hi = cpu.mmu.readSys((addr + 4) | 0, 4);
  return true;
}

/** Sets the accessed bit of descriptor `d` if it is clear (a CPU write of its own). */
export function markAccessed(cpu: CPU, d: Descriptor): void {
  if ((d.hi & 0x100) !== 0) return;
  d.hi |= 0x100;
  const mmu = cpu.mmu;
  const saved = mmu.writeCause;
  mmu.writeCause = WriteCause.Descriptor;
  try {
    mmu.writeSys((d.addr + 4) | 0, 4, d.hi);
  } finally {
    mmu.writeCause = saved;
  }
}

/** Loads the hidden cache of `seg` from descriptor `d` with selector `sel`. */
export function commitSegment(cpu: CPU, seg: number, sel: number, d: Descriptor): void {
  cpu.setSegmentCache(seg, sel, d.base, d.limit, d.attr);
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
    const d = cpu.descStack;
    if (!readDescriptor(cpu, sel, d)) cpu.gp(errSel);
    const attr = d.attr;
    if ((sel & 3) !== cpu.cpl) cpu.gp(errSel);
    if ((attr & ATTR_S) === 0 || (attr & ATTR_CODE) !== 0 || (attr & ATTR_RW) === 0) cpu.gp(errSel);
    if (attrDpl(attr) !== cpu.cpl) cpu.gp(errSel);
    if ((attr & ATTR_PRESENT) === 0) cpu.raiseFault(SS_FAULT, errSel);
    markAccessed(cpu, d);
    commitSegment(cpu, SS, sel, d);
    return;
  }
  if (errSel === 0) {
    cpu.setSegmentNull(seg, sel);
    return;
  }
  const d = cpu.descData;
  if (!readDescriptor(cpu, sel, d)) cpu.gp(errSel);
  const attr = d.attr;
  if ((attr & ATTR_S) === 0) cpu.gp(errSel);
  const code = (attr & ATTR_CODE) !== 0;
  if (code && (attr & ATTR_RW) === 0) cpu.gp(errSel);
  // Data and non-conforming code segments need RPL <= DPL and CPL <= DPL.
  if (!code || (attr & ATTR_DC) === 0) {
    const dpl = attrDpl(attr);
    if ((sel & 3) > dpl || cpu.cpl > dpl) cpu.gp(errSel);
  }
  if ((attr & ATTR_PRESENT) === 0) cpu.raiseFault(NP, errSel);
  markAccessed(cpu, d);
  commitSegment(cpu, seg, sel, d);
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

/** Loads CS from descriptor `d` with the RPL set to `cpl`, and makes `cpl` current. */
export function commitCode(cpu: CPU, sel: number, cpl: number, d: Descriptor): void {
  cpu.setSegmentCache(CS, (sel & 0xfffc) | cpl, d.base, d.limit, d.attr);
  cpu.setCpl(cpl);
}


/**
 * Interrupt and exception delivery through the IDT (interrupt and trap gates, same-privilege and
 * inner-privilege with the TSS stack switch), IRET to the same and to an outer privilege level with
 * every check in the SDM's order, and the EFLAGS privilege rules shared with POPF.
 *
 * Delivery is atomic: every check and every frame write happens before any register changes, so a
 * fault during delivery leaves the interrupted state intact for the double-fault logic.
 */
import type { CPU } from "./cpu.js";
import { ATTR_CODE, ATTR_DB, ATTR_DC, ATTR_PRESENT, ATTR_RW, ATTR_S } from "./constants.js";
import {
  AC, CF, CR0_PE, CS, DF, EFLAGS_IOPL_SHIFT, ESP, ID, IF, IOPL, NP, NT, OF, PF, AF, ZF, SF, RF, SS, SS_FAULT, TF, TS, VM,
  ES, DS, FS, GS,
} from "./constants.js";
import { hasErrorCode } from "./exceptions.js";
import { attrDpl, commitCode, commitSegment, markAccessed, nullInaccessibleSegments, readDescriptor } from "./segments.js";
import { StepKind, WriteCause } from "./observer.js";

export const enum EventSource {
  /** A hardware interrupt from the PIC or APIC. */
  External = 0,
  /** An exception raised by the CPU (fault, trap or abort). */
  Exception = 1,
  /** INT n, INT3, INTO: privilege-checked against the gate's DPL. */
  Software = 2,
}

/** Flags an IRET or POPF may change at CPL 0 (VM and the virtual-interrupt flags excluded). */
const EFLAGS_WRITABLE = CF | PF | AF | ZF | SF | TF | IF | DF | OF | IOPL | NT | RF | AC | ID;

const frame = new Int32Array(6);

/**
 * Delivers `vector` with error code `errorCode` (pushed only for exceptions that define one).
 * `returnEip` is the EIP pushed: the faulting instruction for faults, the next one for traps,
 * software interrupts and external interrupts.
 */
export function deliverEvent(cpu: CPU, vector: number, errorCode: number, source: EventSource, returnEip: number): void {
  const cplBefore = cpu.cpl;
  if ((cpu.cr0 & CR0_PE) === 0) {
    deliverReal(cpu, vector, returnEip);
  } else {
    deliverProtected(cpu, vector, errorCode, source, returnEip);
  }
  cpu.halted = false;
  cpu.eventDeliveredInStep = true;
  if (cpu.observer !== null) {
    const kind = source === EventSource.External ? StepKind.Interrupt : source === EventSource.Exception ? StepKind.Exception : StepKind.SoftwareInterrupt;
    cpu.observer.onEvent(kind, cpu.steps, vector, source === EventSource.Exception && hasErrorCode(vector) ? errorCode : -1, returnEip, cplBefore, cpu.cpl);
  }
}

function deliverReal(cpu: CPU, vector: number, returnEip: number): void {
  const ivt = (cpu.idtBase + vector * 4) | 0;
  const target = cpu.mmu.readSys(ivt, 4);
  const flags = cpu.getEflags();
  const sp = cpu.regs16[ESP << 1];
  const ssBase = cpu.segBase[SS];
  const mmu = cpu.mmu;
  const saved = mmu.writeCause;
  mmu.writeCause = WriteCause.InterruptFrame;
  try {
    mmu.writeSys((ssBase + ((sp - 2) & 0xffff)) | 0, 2, flags);
    mmu.writeSys((ssBase + ((sp - 4) & 0xffff)) | 0, 2, cpu.segSel[CS]);
    mmu.writeSys((ssBase + ((sp - 6) & 0xffff)) | 0, 2, returnEip);
  } finally {
    mmu.writeCause = saved;
  }
  cpu.regs16[ESP << 1] = sp - 6;
  cpu.setEflags(flags & ~(IF | TF | AC));
  const sel = target >>> 16;
  cpu.setSegmentCache(CS, sel, sel << 4, cpu.segLimit[CS], cpu.segAttr[CS]);
  cpu.eip = target & 0xffff;
}

function deliverProtected(cpu: CPU, vector: number, errorCode: number, source: EventSource, returnEip: number): void {
  const ext = source === EventSource.Software ? 0 : 1;
  const idtErr = vector * 8 + 2 + ext;
  if (vector * 8 + 7 > (cpu.idtLimit >>> 0)) cpu.gp(idtErr);
  const gateAddr = (cpu.idtBase + vector * 8) | 0;
  const lo = cpu.mmu.readSys(gateAddr, 4);
  const hi = cpu.mmu.readSys((gateAddr + 4) | 0, 4);
  const gateType = (hi >> 8) & 0x1f;
  let gate32: boolean, trapGate: boolean;
  switch (gateType) {
    case 0x0e: gate32 = true; trapGate = false; break;
    case 0x0f: gate32 = true; trapGate = true; break;
    case 0x06: gate32 = false; trapGate = false; break;
    case 0x07: gate32 = false; trapGate = true; break;
    case 0x05: return cpu.unimplemented(`task gate in IDT entry ${vector}`);
    default: return cpu.gp(idtErr);
  }
  if (source === EventSource.Software && ((hi >> 13) & 3) < cpu.cpl) cpu.gp(vector * 8 + 2);
  if ((hi & 0x8000) === 0) cpu.raiseFault(NP, idtErr);

  const sel = lo >>> 16;
  const offset = gate32 ? ((lo & 0xffff) | (hi & 0xffff0000)) : lo & 0xffff;
  if ((sel & 0xfffc) === 0) cpu.gp(ext);
  const cs = cpu.descCode;
  if (!readDescriptor(cpu, sel, cs)) cpu.gp((sel & 0xfffc) | ext);
  const csAttr = cs.attr;
  if ((csAttr & ATTR_S) === 0 || (csAttr & ATTR_CODE) === 0) cpu.gp((sel & 0xfffc) | ext);
  const dpl = attrDpl(csAttr);
  if (dpl > cpu.cpl) cpu.gp((sel & 0xfffc) | ext);
  if ((csAttr & ATTR_PRESENT) === 0) cpu.raiseFault(NP, (sel & 0xfffc) | ext);
  if ((offset >>> 0) > (cs.limit >>> 0)) cpu.gp(ext);

  const pushError = source === EventSource.Exception && hasErrorCode(vector);
  const size = gate32 ? 4 : 2;
  const eflags = cpu.getEflags();
  const conforming = (csAttr & ATTR_DC) !== 0;
  let n = 0;

  if (!conforming && dpl < cpu.cpl) {
    // Inner privilege: the new stack comes from the TSS, and the old SS:ESP goes on it.
    const tss32 = (cpu.trAttr & 0x8) !== 0;
    const slot = tss32 ? 4 + dpl * 8 : 2 + dpl * 4;
    if (slot + (tss32 ? 5 : 3) > (cpu.trLimit >>> 0)) cpu.raiseFault(TS, (cpu.trSel & 0xfffc) | ext);
    const newEsp = tss32 ? cpu.mmu.readSys((cpu.trBase + slot) | 0, 4) : cpu.mmu.readSys((cpu.trBase + slot) | 0, 2);
    const newSs = cpu.mmu.readSys((cpu.trBase + slot + (tss32 ? 4 : 2)) | 0, 2);
    const ssErr = (newSs & 0xfffc) | ext;
    if ((newSs & 0xfffc) === 0) cpu.raiseFault(TS, ext);
    const ss = cpu.descStack;
    if (!readDescriptor(cpu, newSs, ss)) cpu.raiseFault(TS, ssErr);
    const ssAttr = ss.attr;
    if ((newSs & 3) !== dpl || attrDpl(ssAttr) !== dpl) cpu.raiseFault(TS, ssErr);
    if ((ssAttr & ATTR_S) === 0 || (ssAttr & ATTR_CODE) !== 0 || (ssAttr & ATTR_RW) === 0) cpu.raiseFault(TS, ssErr);
    if ((ssAttr & ATTR_PRESENT) === 0) cpu.raiseFault(SS_FAULT, ssErr);
    const ssBase = ss.base;
    const ss32 = (ssAttr & ATTR_DB) !== 0;

    frame[n++] = cpu.segSel[SS];
    frame[n++] = cpu.regs[ESP];
    frame[n++] = eflags;
    frame[n++] = cpu.segSel[CS];
    frame[n++] = returnEip;
    if (pushError) frame[n++] = errorCode;
    const top = ss32 ? newEsp : newEsp & 0xffff;
    checkStackRoom(cpu, ssAttr, ss.limit, top, n * size, ssErr);
    writeFrame(cpu, ssBase, top, n, size, ss32, dpl === 3);

    // Commit: nothing below can fault.
    markAccessed(cpu, ss);
    commitSegment(cpu, SS, (newSs & 0xfffc) | dpl, ss);
    setStackPointer(cpu, ss32, top - n * size);
  } else if (conforming || dpl === cpu.cpl) {
    frame[n++] = eflags;
    frame[n++] = cpu.segSel[CS];
    frame[n++] = returnEip;
    if (pushError) frame[n++] = errorCode;
    const ss32 = cpu.stack32;
    const top = ss32 ? cpu.regs[ESP] : cpu.regs[ESP] & 0xffff;
    if (cpu.segFastWrite[SS] === 0) checkStackRoom(cpu, cpu.segAttr[SS], cpu.segLimit[SS], top, n * size, ext);
    writeFrame(cpu, cpu.segBase[SS], top, n, size, ss32, cpu.cpl === 3);
    setStackPointer(cpu, ss32, top - n * size);
  } else {
    cpu.gp((sel & 0xfffc) | ext);
  }

  markAccessed(cpu, cs);
  commitCode(cpu, sel, conforming ? cpu.cpl : dpl, cs);
  cpu.eip = offset;
  let f = eflags & ~(TF | NT | RF | VM);
  if (!trapGate) f &= ~IF;
  cpu.setEflags(f);
}

/** Raises #SS(err) unless [top - bytes, top) lies within the stack segment's limits. */
function checkStackRoom(cpu: CPU, attr: number, limit: number, top: number, bytes: number, err: number): void {
  const lim = limit >>> 0;
  const low = (top - bytes) >>> 0;
  const high = (top - 1) >>> 0;
  if ((attr & ATTR_DC) !== 0) {
    const upper = (attr & ATTR_DB) !== 0 ? 0xffffffff : 0xffff;
    if (low <= lim || high > upper) cpu.raiseFault(SS_FAULT, err);
  } else if (high > lim || low > high) {
    cpu.raiseFault(SS_FAULT, err);
  }
}

/**
 * Writes frame[0..n) downwards from `top` (frame[0] highest), as the CPU's own writes. Every page is
 * checked before the first byte is stored, so a #PF here leaves memory untouched.
 */
function writeFrame(cpu: CPU, ssBase: number, top: number, n: number, size: 2 | 4, ss32: boolean, user: boolean): void {
  const mmu = cpu.mmu;
  const wrap = (x: number) => (ss32 ? x | 0 : x & 0xffff);
  for (let i = 0; i < n; i++) mmu.probeWrite((ssBase + wrap(top - (i + 1) * size)) | 0, size, user);
  const saved = mmu.writeCause;
  mmu.writeCause = WriteCause.InterruptFrame;
  try {
    for (let i = 0; i < n; i++) mmu.writeAs((ssBase + wrap(top - (i + 1) * size)) | 0, size, frame[i], user);
  } finally {
    mmu.writeCause = saved;
  }
}

function setStackPointer(cpu: CPU, ss32: boolean, sp: number): void {
  if (ss32) cpu.regs[ESP] = sp;
  else cpu.regs16[ESP << 1] = sp;
}

/**
 * EFLAGS as written by IRET/POPF at privilege `cpl`: IOPL changes only at CPL 0, IF only when
 * CPL <= IOPL, VM is never set here (virtual-8086 mode is not supported), and a 16-bit operand
 * changes only the low word.
 */
export function mergeEflags(cpu: CPU, value: number, o32: boolean, cpl: number): number {
  const old = cpu.getEflags();
  let writable = EFLAGS_WRITABLE;
  if ((cpu.cr0 & CR0_PE) !== 0) {
    if (cpl > 0) writable &= ~IOPL;
    if (cpl > ((old & IOPL) >> EFLAGS_IOPL_SHIFT)) writable &= ~IF;
  }
  if (!o32) writable &= 0xffff;
  return (old & ~writable) | (value & writable);
}

/** IRET / IRETD. */
export function iret(cpu: CPU): void {
  const o32 = cpu.o32;
  const size = o32 ? 4 : 2;
  if ((cpu.cr0 & CR0_PE) === 0) {
    const ip = cpu.peekStack(0, size), cs = cpu.peekStack(size, size) & 0xffff, fl = cpu.peekStack(2 * size, size);
    cpu.adjustStack(3 * size);
    cpu.setSegmentCache(CS, cs, cs << 4, cpu.segLimit[CS], cpu.segAttr[CS]);
    cpu.eip = o32 ? ip : ip & 0xffff;
    cpu.setEflags(mergeEflags(cpu, fl, o32, 0));
    return;
  }
  if ((cpu.flags & NT) !== 0) return cpu.unimplemented("IRET with EFLAGS.NT set (task return)");

  const newEip = cpu.peekStack(0, size);
  const csSel = cpu.peekStack(size, size) & 0xffff;
  const newFlags = cpu.peekStack(2 * size, size);
  if (o32 && (newFlags & VM) !== 0 && cpu.cpl === 0) return cpu.unimplemented("IRET to virtual-8086 mode");

  const rpl = csSel & 3;
  const csErr = csSel & 0xfffc;
  if (csErr === 0) cpu.gp(0);
  const cs = cpu.descCode;
  if (!readDescriptor(cpu, csSel, cs)) cpu.gp(csErr);
  const csAttr = cs.attr;
  if ((csAttr & ATTR_S) === 0 || (csAttr & ATTR_CODE) === 0) cpu.gp(csErr);
  if (rpl < cpu.cpl) cpu.gp(csErr);
  const dpl = attrDpl(csAttr);
  if ((csAttr & ATTR_DC) !== 0 ? dpl > rpl : dpl !== rpl) cpu.gp(csErr);
  if ((csAttr & ATTR_PRESENT) === 0) cpu.raiseFault(NP, csErr);

  const eip = o32 ? newEip : newEip & 0xffff;
  if (rpl > cpu.cpl) {
    // Return to an outer privilege level: SS:ESP come from the frame too.
    const newEsp = cpu.peekStack(3 * size, size);
    const ssSel = cpu.peekStack(4 * size, size) & 0xffff;
    const ssErr = ssSel & 0xfffc;
    if (ssErr === 0) cpu.gp(0);
    const ss = cpu.descStack;
    if (!readDescriptor(cpu, ssSel, ss)) cpu.gp(ssErr);
    const ssAttr = ss.attr;
    if ((ssSel & 3) !== rpl) cpu.gp(ssErr);
    if ((ssAttr & ATTR_S) === 0 || (ssAttr & ATTR_CODE) !== 0 || (ssAttr & ATTR_RW) === 0) cpu.gp(ssErr);
    if (attrDpl(ssAttr) !== rpl) cpu.gp(ssErr);
    if ((ssAttr & ATTR_PRESENT) === 0) cpu.raiseFault(SS_FAULT, ssErr);
    if ((eip >>> 0) > (cs.limit >>> 0)) cpu.gp(0);

    const flags = mergeEflags(cpu, newFlags, o32, cpu.cpl);
    markAccessed(cpu, ss);
    commitSegment(cpu, SS, ssSel, ss);
    if (cpu.stack32) cpu.regs[ESP] = o32 ? newEsp : newEsp & 0xffff;
    else cpu.regs16[ESP << 1] = newEsp;
    markAccessed(cpu, cs);
    commitCode(cpu, csSel, rpl, cs);
    cpu.eip = eip;
    cpu.setEflags(flags);
    nullInaccessibleSegments(cpu, OUTER_RETURN_SEGMENTS);
    return;
  }

  if ((eip >>> 0) > (cs.limit >>> 0)) cpu.gp(0);
  const flags = mergeEflags(cpu, newFlags, o32, cpu.cpl);
  markAccessed(cpu, cs);
  commitCode(cpu, csSel, cpu.cpl, cs);
  cpu.adjustStack(3 * size);
  cpu.eip = eip;
  cpu.setEflags(flags);
}

export const OUTER_RETURN_SEGMENTS = [ES, FS, GS, DS] as const;

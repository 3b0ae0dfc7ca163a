/**
 * Far JMP, CALL and RET through code segments (conforming and non-conforming), including RETF to an
 * outer privilege level. Call gates and task switches are not supported: they raise #UD and are named
 * in the run summary as unimplemented.
 */
import type { CPU } from "./cpu.js";
import { ATTR_CODE, ATTR_DC, ATTR_PRESENT, ATTR_RW, ATTR_S } from "./constants.js";
import { CR0_PE, CS, ESP, NP, SS, SS_FAULT } from "./constants.js";
import { attrDpl, commitCode, commitSegment, markAccessed, nullInaccessibleSegments, readDescriptor } from "./segments.js";
import { OUTER_RETURN_SEGMENTS } from "./interrupts.js";

/**
 * Checks `sel` as the target of a far JMP or CALL at the current privilege and leaves its descriptor
 * in CPU.descCode. Conforming: DPL <= CPL. Non-conforming: RPL <= CPL and DPL = CPL.
 */
function checkFarTarget(cpu: CPU, sel: number, offset: number): void {
  const err = sel & 0xfffc;
  if (err === 0) cpu.gp(0);
  const d = cpu.descCode;
  if (!readDescriptor(cpu, sel, d)) cpu.gp(err);
  const attr = d.attr;
  if ((attr & ATTR_S) === 0) {
    const type = attr & 0xf;
    if (type === 4 || type === 0xc) cpu.unimplemented("far transfer through a call gate");
    if (type === 5 || type === 1 || type === 9) cpu.unimplemented("far transfer to a task (task switch)");
    cpu.gp(err);
  }
  if ((attr & ATTR_CODE) === 0) cpu.gp(err);
  const dpl = attrDpl(attr);
  if ((attr & ATTR_DC) !== 0) {
    if (dpl > cpu.cpl) cpu.gp(err);
  } else if ((sel & 3) > cpu.cpl || dpl !== cpu.cpl) {
    cpu.gp(err);
  }
  if ((attr & ATTR_PRESENT) === 0) cpu.raiseFault(NP, err);
  if ((offset >>> 0) > (d.limit >>> 0)) cpu.gp(0);
}

function loadCsReal(cpu: CPU, sel: number): void {
  cpu.setSegmentCache(CS, sel, (sel & 0xffff) << 4, cpu.segLimit[CS], cpu.segAttr[CS]);
}

export function farJump(cpu: CPU, sel: number, offset: number): void {
  sel &= 0xffff;
  if ((cpu.cr0 & CR0_PE) === 0) {
    loadCsReal(cpu, sel);
    cpu.eip = offset;
    return;
  }
  checkFarTarget(cpu, sel, offset);
  markAccessed(cpu, cpu.descCode);
  commitCode(cpu, sel, cpu.cpl, cpu.descCode);
  cpu.eip = offset;
}

export function farCall(cpu: CPU, sel: number, offset: number): void {
  sel &= 0xffff;
  const retEip = cpu.eip;
  const oldCs = cpu.segSel[CS];
  if ((cpu.cr0 & CR0_PE) === 0) {
    cpu.pushV(oldCs);
    cpu.pushV(retEip);
    loadCsReal(cpu, sel);
    cpu.eip = offset;
    return;
  }
  checkFarTarget(cpu, sel, offset);
  // The pushes may fault; CS is committed only after both succeed (ESP is restored on a fault).
  cpu.pushV(oldCs);
  cpu.pushV(retEip);
  markAccessed(cpu, cpu.descCode);
  commitCode(cpu, sel, cpu.cpl, cpu.descCode);
  cpu.eip = offset;
}

/** RETF [imm16]: to the same privilege, or to an outer one popping SS:ESP as well. */
export function farReturn(cpu: CPU, imm: number): void {
  const size = cpu.o32 ? 4 : 2;
  const newEip = cpu.peekStack(0, size);
  const csSel = cpu.peekStack(size, size) & 0xffff;
  const eip = cpu.o32 ? newEip : newEip & 0xffff;
  if ((cpu.cr0 & CR0_PE) === 0) {
    loadCsReal(cpu, csSel);
    cpu.eip = eip;
    cpu.adjustStack(2 * size + imm);
    return;
  }
  const err = csSel & 0xfffc;
  const rpl = csSel & 3;
  if (err === 0) cpu.gp(0);
  const cs = cpu.descCode;
  if (!readDescriptor(cpu, csSel, cs)) cpu.gp(err);
  const attr = cs.attr;
  if ((attr & ATTR_S) === 0 || (attr & ATTR_CODE) === 0) cpu.gp(err);
  if (rpl < cpu.cpl) cpu.gp(err);
  const dpl = attrDpl(attr);
  if ((attr & ATTR_DC) !== 0 ? dpl > rpl : dpl !== rpl) cpu.gp(err);
  if ((attr & ATTR_PRESENT) === 0) cpu.raiseFault(NP, err);

  if (rpl > cpu.cpl) {
    const newEsp = cpu.peekStack(2 * size + imm, size);
    const ssSel = cpu.peekStack(3 * size + imm, size) & 0xffff;
    const ssErr = ssSel & 0xfffc;
    if (ssErr === 0) cpu.gp(0);
    const ss = cpu.descStack;
    if (!readDescriptor(cpu, ssSel, ss)) cpu.gp(ssErr);
    const ssAttr = ss.attr;
    if ((ssSel & 3) !== rpl || attrDpl(ssAttr) !== rpl) cpu.gp(ssErr);
    if ((ssAttr & ATTR_S) === 0 || (ssAttr & ATTR_CODE) !== 0 || (ssAttr & ATTR_RW) === 0) cpu.gp(ssErr);
    if ((ssAttr & ATTR_PRESENT) === 0) cpu.raiseFault(SS_FAULT, ssErr);
    if ((eip >>> 0) > (cs.limit >>> 0)) cpu.gp(0);
    markAccessed(cpu, ss);
    commitSegment(cpu, SS, ssSel, ss);
    if (cpu.stack32) cpu.regs[ESP] = (newEsp + imm) | 0;
    else cpu.regs16[ESP << 1] = newEsp + imm;
    markAccessed(cpu, cs);
    commitCode(cpu, csSel, rpl, cs);
    cpu.eip = eip;
    nullInaccessibleSegments(cpu, OUTER_RETURN_SEGMENTS);
    return;
  }
  if ((eip >>> 0) > (cs.limit >>> 0)) cpu.gp(0);
  markAccessed(cpu, cs);
  commitCode(cpu, csSel, cpu.cpl, cs);
  cpu.eip = eip;
  cpu.adjustStack(2 * size + imm);
}

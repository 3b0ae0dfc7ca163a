/**
 * Control transfers: Jcc, JMP, CALL, RET (near and far), LOOP/JCXZ, INT n/INT3/INTO/INT1, IRET, BOUND.
 * Protected-mode far transfers are in ../../far-transfer.ts, event delivery in ../../interrupts.ts.
 */
import type { CPU } from "../../cpu.js";
import type { Handler } from "../table.js";
import { farCall, farJump, farReturn } from "../../far-transfer.js";
import { deliverEvent, EventSource, iret } from "../../interrupts.js";
import { BP, BR, CS, ECX, OVERFLOW, UD } from "../../constants.js";

/** Near jump by a displacement from the next instruction (EIP wraps to 16 bits with a 16-bit operand). */
export function jumpRelative(cpu: CPU, d: number): void {
  setEip(cpu, (cpu.eip + d) | 0);
}

/** Sets EIP for a near transfer; the target must lie within CS's limit. */
export function setEip(cpu: CPU, target: number): void {
  const t = cpu.o32 ? target : target & 0xffff;
  if ((t >>> 0) > (cpu.segLimit[CS] >>> 0)) cpu.gp(0);
  cpu.eip = t;
}

/** 70-7F: Jcc rel8. */
export function jccJb(cc: number): Handler {
  return (cpu) => {
    const d = cpu.fetchS8();
    if (cpu.condition(cc)) jumpRelative(cpu, d);
  };
}

/** 0F 80-8F: Jcc rel16/32. */
export function jccJz(cc: number): Handler {
  return (cpu) => {
    const d = cpu.o32 ? cpu.fetch32() : (cpu.fetch16() << 16) >> 16;
    if (cpu.condition(cc)) jumpRelative(cpu, d);
  };
}

export function jmpJb(cpu: CPU): void {
  jumpRelative(cpu, cpu.fetchS8());
}

export function jmpJz(cpu: CPU): void {
  const d = cpu.fetchImm();
  jumpRelative(cpu, cpu.o32 ? d : (d << 16) >> 16);
}

export function callJz(cpu: CPU): void {
  const d = cpu.fetchImm();
  cpu.pushV(cpu.eip);
  jumpRelative(cpu, cpu.o32 ? d : (d << 16) >> 16);
}

/** FF /2: CALL r/m. */
export function callEv(cpu: CPU): void {
  cpu.decodeModrm();
  const target = cpu.readEv();
  cpu.pushV(cpu.eip);
  setEip(cpu, target);
}

/** FF /4: JMP r/m. */
export function jmpEv(cpu: CPU): void {
  cpu.decodeModrm();
  setEip(cpu, cpu.readEv());
}

/** FF /3, /5: CALL/JMP far through a pointer in memory. */
export function farEp(call: boolean): Handler {
  return (cpu) => {
    cpu.decodeModrm();
    if (cpu.modrm >= 0xc0) cpu.raiseFault(UD, 0);
    const o32 = cpu.o32;
    const off = o32 ? cpu.readMem32(cpu.eaSeg, cpu.eaOff) : cpu.readMem16(cpu.eaSeg, cpu.eaOff);
    const sel = cpu.readMem16(cpu.eaSeg, (cpu.eaOff + (o32 ? 4 : 2)) | 0);
    if (call) farCall(cpu, sel, off);
    else farJump(cpu, sel, off);
  };
}

/** 9A / EA: CALL/JMP far to an immediate pointer. */
export function farAp(call: boolean): Handler {
  return (cpu) => {
    const off = cpu.fetchImm();
    const sel = cpu.fetch16();
    if (call) farCall(cpu, sel, off);
    else farJump(cpu, sel, off);
  };
}

export function retIw(cpu: CPU): void {
  const imm = cpu.fetch16();
  const target = cpu.popV();
  cpu.adjustStack(imm);
  setEip(cpu, target);
}

export function ret(cpu: CPU): void {
  setEip(cpu, cpu.popV());
}

export function retfIw(cpu: CPU): void {
  farReturn(cpu, cpu.fetch16());
}

export function retf(cpu: CPU): void {
  farReturn(cpu, 0);
}

function softwareInterrupt(cpu: CPU, vector: number): void {
  deliverEvent(cpu, vector, 0, EventSource.Software, cpu.eip);
}

export function int3(cpu: CPU): void {
  softwareInterrupt(cpu, BP);
}

export function intIb(cpu: CPU): void {
  softwareInterrupt(cpu, cpu.fetch8());
}

export function into(cpu: CPU): void {
  if (cpu.getOF()) softwareInterrupt(cpu, OVERFLOW);
}

/** F1: INT1 / ICEBP, a debug trap delivered like an exception. */
export function int1(cpu: CPU): void {
  deliverEvent(cpu, 1, 0, EventSource.Exception, cpu.eip);
}

export { iret };

/** E0-E2: LOOPNE, LOOPE, LOOP (`kind` 0-2): ECX (CX with a 16-bit address size) counts down. */
export function loop(kind: number): Handler {
  return (cpu) => {
    const d = cpu.fetchS8();
    const regs = cpu.regs;
    let count: number;
    if (cpu.a32) count = regs[ECX] = (regs[ECX] - 1) | 0;
    else { count = (cpu.getReg16(ECX) - 1) & 0xffff; cpu.setReg16(ECX, count); }
    const take = count !== 0 && (kind === 2 || (kind === 1 ? cpu.getZF() : !cpu.getZF()));
    if (take) jumpRelative(cpu, d);
  };
}

export function jcxz(cpu: CPU): void {
  const d = cpu.fetchS8();
  if ((cpu.a32 ? cpu.regs[ECX] : cpu.getReg16(ECX)) === 0) jumpRelative(cpu, d);
}

export function bound(cpu: CPU): void {
  cpu.decodeModrm();
  if (cpu.modrm >= 0xc0) cpu.raiseFault(UD, 0);
  const reg = (cpu.modrm >> 3) & 7;
  if (cpu.o32) {
    const lo = cpu.readMem32(cpu.eaSeg, cpu.eaOff), hi = cpu.readMem32(cpu.eaSeg, (cpu.eaOff + 4) | 0);
    const v = cpu.regs[reg];
    if (v < lo || v > hi) cpu.raiseFault(BR, 0);
  } else {
    const lo = (cpu.readMem16(cpu.eaSeg, cpu.eaOff) << 16) >> 16, hi = (cpu.readMem16(cpu.eaSeg, (cpu.eaOff + 2) | 0) << 16) >> 16;
    const v = (cpu.getReg16(reg) << 16) >> 16;
    if (v < lo || v > hi) cpu.raiseFault(BR, 0);
  }
}

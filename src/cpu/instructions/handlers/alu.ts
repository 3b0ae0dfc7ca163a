/**
 * Two-operand arithmetic and logic in their operand forms (ADD OR ADC SBB AND SUB XOR CMP, TEST, INC,
 * DEC, NOT, NEG, XADD, CMPXCHG, CMPXCHG8B). The operations themselves are in ../../alu.ts; these
 * handlers fetch the operands and store the result. `aop` is the ALU operation number (opcode bits
 * 3-5 or ModRM.reg); 7 (CMP) writes nothing.
 */
import type { CPU } from "../../cpu.js";
import type { Handler } from "../table.js";
import { alu, dec, inc, neg } from "../../alu.js";
import { EAX, EBX, ECX, EDX, UD, ZF } from "../../constants.js";

/** op Eb, Gb */
export function aluEbGb(aop: number): Handler {
  return (cpu) => {
    cpu.decodeModrm();
    const b = cpu.getReg8((cpu.modrm >> 3) & 7);
    if (aop === 7) alu(cpu, 7, cpu.readE8(), b, 0);
    else cpu.writeE8(alu(cpu, aop, cpu.readE8W(), b, 0));
  };
}

/** op Ev, Gv */
export function aluEvGv(aop: number): Handler {
  return (cpu) => {
    cpu.decodeModrm();
    const reg = (cpu.modrm >> 3) & 7;
    if (cpu.o32) {
      const b = cpu.regs[reg];
      if (aop === 7) alu(cpu, 7, cpu.readE32(), b, 2);
      else cpu.writeE32(alu(cpu, aop, cpu.readE32W(), b, 2));
    } else {
      const b = cpu.getReg16(reg);
      if (aop === 7) alu(cpu, 7, cpu.readE16(), b, 1);
      else cpu.writeE16(alu(cpu, aop, cpu.readE16W(), b, 1));
    }
  };
}

/** op Gb, Eb */
export function aluGbEb(aop: number): Handler {
  return (cpu) => {
    cpu.decodeModrm();
    const reg = (cpu.modrm >> 3) & 7;
    const r = alu(cpu, aop, cpu.getReg8(reg), cpu.readE8(), 0);
    if (aop !== 7) cpu.setReg8(reg, r);
  };
}

/** op Gv, Ev */
export function aluGvEv(aop: number): Handler {
  return (cpu) => {
    cpu.decodeModrm();
    const reg = (cpu.modrm >> 3) & 7;
    if (cpu.o32) {
      const r = alu(cpu, aop, cpu.regs[reg], cpu.readE32(), 2);
      if (aop !== 7) cpu.regs[reg] = r;
    } else {
      const r = alu(cpu, aop, cpu.getReg16(reg), cpu.readE16(), 1);
      if (aop !== 7) cpu.setReg16(reg, r);
    }
  };
}

/** op AL, Ib */
export function aluAlIb(aop: number): Handler {
  return (cpu) => {
    const r = alu(cpu, aop, cpu.regs8[0], cpu.fetch8(), 0);
    if (aop !== 7) cpu.regs8[0] = r;
  };
}

/** op eAX, Iz */
export function aluEaxIz(aop: number): Handler {
  return (cpu) => {
    if (cpu.o32) {
      const r = alu(cpu, aop, cpu.regs[EAX], cpu.fetch32(), 2);
      if (aop !== 7) cpu.regs[EAX] = r;
    } else {
      const r = alu(cpu, aop, cpu.regs16[0], cpu.fetch16(), 1);
      if (aop !== 7) cpu.regs16[0] = r;
    }
  };
}

/** Group 1 (80, 82): op Eb, Ib */
export function aluEbIb(aop: number): Handler {
  return (cpu) => {
    cpu.decodeModrm();
    if (aop === 7) alu(cpu, 7, cpu.readE8(), cpu.fetch8(), 0);
    else { const a = cpu.readE8W(); cpu.writeE8(alu(cpu, aop, a, cpu.fetch8(), 0)); }
  };
}

/** Group 1 (81, 83): op Ev, Iz / op Ev, Ib sign-extended. */
export function aluEvI(aop: number, byteImmediate: boolean): Handler {
  return (cpu) => {
    cpu.decodeModrm();
    if (cpu.o32) {
      if (aop === 7) { const a = cpu.readE32(); alu(cpu, 7, a, byteImmediate ? cpu.fetchS8() : cpu.fetch32(), 2); }
      else { const a = cpu.readE32W(); cpu.writeE32(alu(cpu, aop, a, byteImmediate ? cpu.fetchS8() : cpu.fetch32(), 2)); }
    } else {
      if (aop === 7) { const a = cpu.readE16(); alu(cpu, 7, a, byteImmediate ? cpu.fetchS8() : cpu.fetch16(), 1); }
      else { const a = cpu.readE16W(); cpu.writeE16(alu(cpu, aop, a, byteImmediate ? cpu.fetchS8() : cpu.fetch16(), 1)); }
    }
  };
}

export function testEbGb(cpu: CPU): void {
  cpu.decodeModrm();
  cpu.setLogicFlags(cpu.readE8() & cpu.getReg8((cpu.modrm >> 3) & 7), 0);
}

export function testEvGv(cpu: CPU): void {
  cpu.decodeModrm();
  cpu.setLogicFlags(cpu.readEv() & cpu.getRegV((cpu.modrm >> 3) & 7), cpu.o32 ? 2 : 1);
}

export function testAlIb(cpu: CPU): void {
  cpu.setLogicFlags(cpu.regs8[0] & cpu.fetch8(), 0);
}

export function testEaxIz(cpu: CPU): void {
  cpu.setLogicFlags((cpu.o32 ? cpu.regs[EAX] : cpu.regs16[0]) & cpu.fetchImm(), cpu.o32 ? 2 : 1);
}

/** F6/F7 /0 (and /1, an alias): TEST r/m, imm. `size` 0 byte, else the operand size. */
export function testEI(byte: boolean): Handler {
  return (cpu) => {
    cpu.decodeModrm();
    const size = byte ? 0 : cpu.o32 ? 2 : 1;
    const a = readESized(cpu, size);
    const imm = size === 0 ? cpu.fetch8() : size === 1 ? cpu.fetch16() : cpu.fetch32();
    cpu.setLogicFlags(a & imm, size);
  };
}

/** F6/F7 /2 NOT and /3 NEG. */
export function notNegE(byte: boolean, negate: boolean): Handler {
  return (cpu) => {
    cpu.decodeModrm();
    const size = byte ? 0 : cpu.o32 ? 2 : 1;
    const a = size === 0 ? cpu.readE8W() : size === 1 ? cpu.readE16W() : cpu.readE32W();
    const r = negate ? neg(cpu, a, size) : ~a;
    if (size === 0) cpu.writeE8(r);
    else if (size === 1) cpu.writeE16(r);
    else cpu.writeE32(r);
  };
}

export function readESized(cpu: CPU, size: number): number {
  return size === 0 ? cpu.readE8() : size === 1 ? cpu.readE16() : cpu.readE32();
}

/** INC/DEC r16/r32 (40-4F). */
export function incDecZv(r: number, decrement: boolean): Handler {
  return (cpu) => {
    if (cpu.o32) cpu.regs[r] = decrement ? dec(cpu, cpu.regs[r], 2) : inc(cpu, cpu.regs[r], 2);
    else cpu.setReg16(r, decrement ? dec(cpu, cpu.getReg16(r), 1) : inc(cpu, cpu.getReg16(r), 1));
  };
}

/** FE /0 /1: INC/DEC r/m8. */
export function incDecEb(decrement: boolean): Handler {
  return (cpu) => {
    cpu.decodeModrm();
    const a = cpu.readE8W();
    cpu.writeE8(decrement ? dec(cpu, a, 0) : inc(cpu, a, 0));
  };
}

/** FF /0 /1: INC/DEC r/m16/32. */
export function incDecEv(decrement: boolean): Handler {
  return (cpu) => {
    cpu.decodeModrm();
    const sz = cpu.o32 ? 2 : 1;
    const a = cpu.readEvW();
    cpu.writeEv(decrement ? dec(cpu, a, sz) : inc(cpu, a, sz));
  };
}

export function cmpxchgEbGb(cpu: CPU): void {
  cpu.decodeModrm();
  const dst = cpu.readE8W();
  alu(cpu, 7, cpu.regs8[0], dst, 0);
  if (cpu.regs8[0] === dst) cpu.writeE8(cpu.getReg8((cpu.modrm >> 3) & 7));
  else { cpu.writeE8(dst); cpu.regs8[0] = dst; }
}

export function cmpxchgEvGv(cpu: CPU): void {
  cpu.decodeModrm();
  const dst = cpu.readEvW();
  const acc = cpu.o32 ? cpu.regs[EAX] : cpu.regs16[0];
  alu(cpu, 7, acc, dst, cpu.o32 ? 2 : 1);
  if (acc === dst) cpu.writeEv(cpu.getRegV((cpu.modrm >> 3) & 7));
  else { cpu.writeEv(dst); cpu.setRegV(EAX, dst); }
}

export function xaddEbGb(cpu: CPU): void {
  cpu.decodeModrm();
  const reg = (cpu.modrm >> 3) & 7;
  const dst = cpu.readE8W();
  const sum = alu(cpu, 0, dst, cpu.getReg8(reg), 0);
  // The destination is written last (`xadd al, al` leaves the sum); memory before registers.
  if (cpu.modrm >= 0xc0) { cpu.setReg8(reg, dst); cpu.writeE8(sum); }
  else { cpu.writeE8(sum); cpu.setReg8(reg, dst); }
}

export function xaddEvGv(cpu: CPU): void {
  cpu.decodeModrm();
  const reg = (cpu.modrm >> 3) & 7;
  const dst = cpu.readEvW();
  const sum = alu(cpu, 0, dst, cpu.getRegV(reg), cpu.o32 ? 2 : 1);
  if (cpu.modrm >= 0xc0) { cpu.setRegV(reg, dst); cpu.writeEv(sum); }
  else { cpu.writeEv(sum); cpu.setRegV(reg, dst); }
}

/** 0F C7 /1: CMPXCHG8B m64. */
export function cmpxchg8b(cpu: CPU): void {
  cpu.decodeModrm();
  if (cpu.modrm >= 0xc0) cpu.raiseFault(UD, 0);
  const seg = cpu.eaSeg, off = cpu.eaOff;
  cpu.prepareWrite(seg, off, 8);
  const lo = cpu.readMem32(seg, off), hi = cpu.readMem32(seg, (off + 4) | 0);
  const regs = cpu.regs;
  if (lo === regs[EAX] && hi === regs[EDX]) {
    cpu.writeMem32(seg, off, regs[EBX]);
    cpu.writeMem32(seg, (off + 4) | 0, regs[ECX]);
    cpu.setFlag(ZF, true);
  } else {
    cpu.writeMem32(seg, off, lo);
    cpu.writeMem32(seg, (off + 4) | 0, hi);
    regs[EAX] = lo;
    regs[EDX] = hi;
    cpu.setFlag(ZF, false);
  }
}

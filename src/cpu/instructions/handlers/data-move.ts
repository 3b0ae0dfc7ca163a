/**
 * Data movement: MOV in its forms, XCHG, LEA, MOVZX/MOVSX, CBW/CWD, MOV moffs, XLAT, BSWAP, CMOVcc,
 * SETcc, LAHF/SAHF and SALC.
 */
import type { CPU } from "../../cpu.js";
import type { Handler } from "../table.js";
import { AF, CF, DS, EAX, EBX, EDX, PF, SF, UD, ZF } from "../../constants.js";

export function movEbGb(cpu: CPU): void {
  cpu.decodeModrm();
  cpu.writeE8(cpu.getReg8((cpu.modrm >> 3) & 7));
}

export function movEvGv(cpu: CPU): void {
  cpu.decodeModrm();
  if (cpu.o32) cpu.writeE32(cpu.regs[(cpu.modrm >> 3) & 7]);
  else cpu.writeE16(cpu.getReg16((cpu.modrm >> 3) & 7));
}

export function movGbEb(cpu: CPU): void {
  cpu.decodeModrm();
  cpu.setReg8((cpu.modrm >> 3) & 7, cpu.readE8());
}

export function movGvEv(cpu: CPU): void {
  cpu.decodeModrm();
  if (cpu.o32) cpu.regs[(cpu.modrm >> 3) & 7] = cpu.readE32();
  else cpu.setReg16((cpu.modrm >> 3) & 7, cpu.readE16());
}

/** C6 /0: MOV Eb, Ib. */
export function movEbIb(cpu: CPU): void {
  cpu.decodeModrm();
  cpu.writeE8(cpu.fetch8());
}

/** C7 /0: MOV Ev, Iz. */
export function movEvIz(cpu: CPU): void {
  cpu.decodeModrm();
  cpu.writeEv(cpu.fetchImm());
}

/** B0-B7: MOV r8, Ib. */
export function movZbIb(r: number): Handler {
  return (cpu) => cpu.setReg8(r, cpu.fetch8());
}

/** B8-BF: MOV r16/32, Iv. */
export function movZvIv(r: number): Handler {
  return (cpu) => {
    if (cpu.o32) cpu.regs[r] = cpu.fetch32();
    else cpu.setReg16(r, cpu.fetch16());
  };
}

export function lea(cpu: CPU): void {
  cpu.decodeModrm();
  if (cpu.modrm >= 0xc0) cpu.raiseFault(UD, 0);
  cpu.setRegV((cpu.modrm >> 3) & 7, cpu.eaOff);
}

export function xchgEbGb(cpu: CPU): void {
  cpu.decodeModrm();
  const reg = (cpu.modrm >> 3) & 7;
  const a = cpu.readE8W();
  cpu.writeE8(cpu.getReg8(reg));
  cpu.setReg8(reg, a);
}

export function xchgEvGv(cpu: CPU): void {
  cpu.decodeModrm();
  const reg = (cpu.modrm >> 3) & 7;
  const a = cpu.readEvW();
  cpu.writeEv(cpu.getRegV(reg));
  cpu.setRegV(reg, a);
}

/** 91-97: XCHG r, eAX. */
export function xchgZvEax(r: number): Handler {
  return (cpu) => {
    const regs = cpu.regs;
    if (cpu.o32) { const t = regs[r]; regs[r] = regs[EAX]; regs[EAX] = t; }
    else { const t = cpu.getReg16(r); cpu.setReg16(r, cpu.regs16[0]); cpu.regs16[0] = t; }
  };
}

/** 90: NOP (PAUSE with F3). */
export function nop(): void {}

/** CBW/CWDE. */
export function convertToWider(cpu: CPU): void {
  if (cpu.o32) cpu.regs[EAX] = (cpu.regs16[0] << 16) >> 16;
  else cpu.regs16[0] = (cpu.regs8[0] << 24) >> 24;
}

/** CWD/CDQ. */
export function convertToDouble(cpu: CPU): void {
  if (cpu.o32) cpu.regs[EDX] = cpu.regs[EAX] >> 31;
  else cpu.regs16[EDX << 1] = (cpu.regs16[0] & 0x8000) !== 0 ? 0xffff : 0;
}

/** The segment for an instruction's implicit DS operand (after any override prefix). */
function defaultSeg(cpu: CPU): number {
  return cpu.segOverride >= 0 ? cpu.segOverride : DS;
}

/** The moffs operand of A0-A3 (address-size wide). */
function moffs(cpu: CPU): number {
  return cpu.a32 ? cpu.fetch32() : cpu.fetch16();
}

export function movAlOb(cpu: CPU): void {
  cpu.regs8[0] = cpu.readMem8(defaultSeg(cpu), moffs(cpu));
}

export function movEaxOv(cpu: CPU): void {
  const off = moffs(cpu);
  if (cpu.o32) cpu.regs[EAX] = cpu.readMem32(defaultSeg(cpu), off);
  else cpu.regs16[0] = cpu.readMem16(defaultSeg(cpu), off);
}

export function movObAl(cpu: CPU): void {
  cpu.writeMem8(defaultSeg(cpu), moffs(cpu), cpu.regs8[0]);
}

export function movOvEax(cpu: CPU): void {
  const off = moffs(cpu);
  if (cpu.o32) cpu.writeMem32(defaultSeg(cpu), off, cpu.regs[EAX]);
  else cpu.writeMem16(defaultSeg(cpu), off, cpu.regs16[0]);
}

export function xlat(cpu: CPU): void {
  const base = cpu.a32 ? cpu.regs[EBX] : cpu.getReg16(EBX);
  const off = cpu.a32 ? (base + cpu.regs8[0]) | 0 : (base + cpu.regs8[0]) & 0xffff;
  cpu.regs8[0] = cpu.readMem8(defaultSeg(cpu), off);
}

/** D6: SALC (undocumented, as QEMU): AL = CF ? FF : 0. */
export function salc(cpu: CPU): void {
  cpu.regs8[0] = cpu.getCF() ? 0xff : 0;
}

export function sahf(cpu: CPU): void {
  cpu.freezeFlags();
  const ah = cpu.regs8[1];
  cpu.flags = (cpu.flags & ~(SF | ZF | AF | PF | CF)) | (ah & (SF | ZF | AF | PF | CF));
}

export function lahf(cpu: CPU): void {
  cpu.regs8[1] = cpu.getEflags() & 0xff;
}

/** 0F 40-4F: CMOVcc reads its source even when the condition is false (a fault is possible either way). */
export function cmov(cc: number): Handler {
  return (cpu) => {
    cpu.decodeModrm();
    const v = cpu.readEv();
    if (cpu.condition(cc)) cpu.setRegV((cpu.modrm >> 3) & 7, v);
  };
}

/** 0F 90-9F: SETcc Eb. */
export function setcc(cc: number): Handler {
  return (cpu) => {
    cpu.decodeModrm();
    cpu.writeE8(cpu.condition(cc) ? 1 : 0);
  };
}

/** 0F B6/B7/BE/BF: MOVZX/MOVSX Gv from Eb or Ew. */
export function movExtend(word: boolean, signed: boolean): Handler {
  return (cpu) => {
    cpu.decodeModrm();
    const v = word ? cpu.readE16() : cpu.readE8();
    cpu.setRegV((cpu.modrm >> 3) & 7, !signed ? v : word ? (v << 16) >> 16 : (v << 24) >> 24);
  };
}

/** 0F C8-CF: BSWAP. With a 16-bit operand it is undefined; QEMU and real CPUs give zero. */
export function bswap(r: number): Handler {
  return (cpu) => {
    const regs = cpu.regs;
    const v = regs[r];
    if (cpu.o32) regs[r] = ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
    else cpu.setReg16(r, 0);
  };
}

/** 0F 0D, 0F 18-1F: prefetch hints and the multi-byte NOP: decode the operand, do nothing. */
export function nopEv(cpu: CPU): void {
  cpu.decodeModrm();
}

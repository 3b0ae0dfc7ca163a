/** Shifts and rotates (group 2, SHLD/SHRD) and the bit instructions (BT/BTS/BTR/BTC, BSF/BSR). */
import type { CPU } from "../../cpu.js";
import type { Handler } from "../table.js";
import { shift, shld, shrd } from "../../shift.js";
import { CF, ECX } from "../../constants.js";

/** Where a shift count comes from: an immediate byte, the constant 1, or CL. */
export const enum Count { Imm8, One, Cl }

function count(cpu: CPU, c: Count): number {
  return c === Count.Imm8 ? cpu.fetch8() : c === Count.One ? 1 : cpu.regs8[ECX << 2];
}

/** Group 2 on r/m8: ROL ROR RCL RCR SHL SHR SAL SAR by ModRM.reg. */
export function shiftEb(c: Count): Handler {
  return (cpu) => {
    cpu.decodeModrm();
    const sop = (cpu.modrm >> 3) & 7;
    const a = cpu.readE8W();
    cpu.writeE8(shift(cpu, sop, a, count(cpu, c), 0));
  };
}

/** Group 2 on r/m16/32. */
export function shiftEv(c: Count): Handler {
  return (cpu) => {
    cpu.decodeModrm();
    const sop = (cpu.modrm >> 3) & 7;
    const a = cpu.readEvW();
    cpu.writeEv(shift(cpu, sop, a, count(cpu, c), cpu.o32 ? 2 : 1));
  };
}

/** 0F A4/A5 SHLD, 0F AC/AD SHRD (by Ib or CL). */
export function doubleShift(right: boolean, c: Count): Handler {
  return (cpu) => {
    cpu.decodeModrm();
    const sz = cpu.o32 ? 2 : 1;
    const a = cpu.readEvW();
    const n = count(cpu, c);
    const src = cpu.getRegV((cpu.modrm >> 3) & 7);
    cpu.writeEv(right ? shrd(cpu, a, src, n, sz) : shld(cpu, a, src, n, sz));
  };
}

/**
 * BT/BTS/BTR/BTC (kind 0..3) Ev, Gv: with a memory operand the register bit offset is signed and may
 * address any bit of the bit string around the operand.
 */
export function bitEvGv(kind: number): Handler {
  return (cpu) => {
    cpu.decodeModrm();
    bitOp(cpu, kind, cpu.getRegV((cpu.modrm >> 3) & 7), false);
  };
}

/** 0F BA /4-/7: BT/BTS/BTR/BTC Ev, Ib. */
export function bitEvIb(kind: number): Handler {
  return (cpu) => {
    cpu.decodeModrm();
    bitOp(cpu, kind, cpu.fetch8() & (cpu.o32 ? 31 : 15), true);
  };
}

function bitOp(cpu: CPU, kind: number, offset: number, immediate: boolean): void {
  const o32 = cpu.o32;
  const width = o32 ? 32 : 16;
  if (cpu.modrm >= 0xc0 || immediate) {
    const bit = offset & (width - 1);
    if (cpu.modrm >= 0xc0) {
      const v = cpu.getRegV(cpu.modrm & 7);
      const r = applyBit(cpu, kind, v, bit);
      if (kind !== 0) cpu.setRegV(cpu.modrm & 7, r);
      return;
    }
    const v = kind === 0 ? cpu.readEv() : cpu.readEvW();
    const r = applyBit(cpu, kind, v, bit);
    if (kind !== 0) cpu.writeEv(r);
    return;
  }
  // Memory operand with a register offset: move the address by whole operands.
  const signed = o32 ? offset | 0 : (offset << 16) >> 16;
  const unitBytes = width / 8;
  const unit = Math.floor(signed / width);
  const off = (cpu.eaOff + unit * unitBytes) | 0;
  cpu.eaOff = cpu.a32 ? off : off & 0xffff;
  const bit = signed - unit * width;
  const v = kind === 0 ? cpu.readEv() : cpu.readEvW();
  const r = applyBit(cpu, kind, v, bit);
  if (kind !== 0) cpu.writeEv(r);
}

function applyBit(cpu: CPU, kind: number, v: number, bit: number): number {
  const m = 1 << bit;
  cpu.setFlag(CF, (v & m) !== 0);
  switch (kind) {
    case 1: return v | m;
    case 2: return v & ~m;
    case 3: return v ^ m;
    default: return v;
  }
}

/** 0F BC BSF / 0F BD BSR. */
export function bitScan(reverse: boolean): Handler {
  return (cpu) => {
    cpu.decodeModrm();
    const v = cpu.o32 ? cpu.readE32() : cpu.readE16();
    // ZF reports a zero source; the undefined flags are QEMU's: those of a logic operation with the
    // source as its result (SF, PF from it; CF, OF, AF clear).
    cpu.setLogicFlags(v, cpu.o32 ? 2 : 1);
    // A zero source leaves the destination unchanged (as QEMU and AMD do).
    if (v === 0) return;
    const bit = reverse ? 31 - Math.clz32(v) : 31 - Math.clz32(v & -v);
    cpu.setRegV((cpu.modrm >> 3) & 7, bit);
  };
}

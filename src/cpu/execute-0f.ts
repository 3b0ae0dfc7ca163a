/** The two-byte opcode map (0F xx). */
import type { CPU } from "./cpu.js";
import { alu } from "./alu.js";
import { shld, shrd } from "./shift.js";
import { imulTrunc } from "./muldiv.js";
import { loadDataSegment } from "./segments.js";
import { jumpRelative, loadFarPointer } from "./execute.js";
import { cpuid } from "./cpuid.js";
import { executeVector } from "./sse/instruction-table.js";
import { clts, group6, group7, larLsl, movControl, rdmsr, rdtsc, requireCpl0, sysenter, sysexit, wrmsr } from "./system.js";
import { CF, EAX, EBX, ECX, EDX, FS, GS, SS, UD, ZF } from "./constants.js";

export function execute0F(cpu: CPU): void {
  const op = cpu.fetch8();
  const o32 = cpu.o32;
  const sz = o32 ? 2 : 1;
  const regs = cpu.regs;
  switch (op) {
    case 0x00: group6(cpu); return;
    case 0x01: group7(cpu); return;
    case 0x02: larLsl(cpu, false); return;
    case 0x03: larLsl(cpu, true); return;
    case 0x06: clts(cpu); return;
    case 0x08: case 0x09: requireCpl0(cpu); return; // INVD/WBINVD: no caches to manage
    case 0x0b: case 0xb9: case 0xff: cpu.raiseFault(UD, 0); return; // UD2, UD1, UD0
    case 0x0d: case 0x18: case 0x19: case 0x1a: case 0x1b: case 0x1c: case 0x1d: case 0x1e: case 0x1f:
      // Prefetch hints and the multi-byte NOP: decode the operand, do nothing.
      cpu.decodeModrm();
      return;
    case 0x20: case 0x21: case 0x22: case 0x23: movControl(cpu, op); return;
    case 0x30: wrmsr(cpu); return;
    case 0x31: rdtsc(cpu); return;
    case 0x32: rdmsr(cpu); return;
    case 0x34: sysenter(cpu); return;
    case 0x35: sysexit(cpu); return;

    case 0x40: case 0x41: case 0x42: case 0x43: case 0x44: case 0x45: case 0x46: case 0x47:
    case 0x48: case 0x49: case 0x4a: case 0x4b: case 0x4c: case 0x4d: case 0x4e: case 0x4f: {
      // CMOVcc reads its source even when the condition is false (a fault is possible either way).
      cpu.decodeModrm();
      const v = cpu.readEv();
      if (cpu.condition(op & 15)) cpu.setRegV((cpu.modrm >> 3) & 7, v);
      return;
    }
    case 0x80: case 0x81: case 0x82: case 0x83: case 0x84: case 0x85: case 0x86: case 0x87:
    case 0x88: case 0x89: case 0x8a: case 0x8b: case 0x8c: case 0x8d: case 0x8e: case 0x8f: {
      const d = o32 ? cpu.fetch32() : (cpu.fetch16() << 16) >> 16;
      if (cpu.condition(op & 15)) jumpRelative(cpu, d);
      return;
    }
    case 0x90: case 0x91: case 0x92: case 0x93: case 0x94: case 0x95: case 0x96: case 0x97:
    case 0x98: case 0x99: case 0x9a: case 0x9b: case 0x9c: case 0x9d: case 0x9e: case 0x9f:
      cpu.decodeModrm();
      cpu.writeE8(cpu.condition(op & 15) ? 1 : 0);
      return;

    case 0xa0: cpu.pushV(cpu.segSel[FS]); return;
    case 0xa8: cpu.pushV(cpu.segSel[GS]); return;
    case 0xa1: case 0xa9: {
      const seg = op === 0xa1 ? FS : GS;
      const v = cpu.peekStack(0, o32 ? 4 : 2);
      loadDataSegment(cpu, seg, v & 0xffff);
      cpu.adjustStack(o32 ? 4 : 2);
      return;
    }
    case 0xa2: cpuid(cpu); return;
    case 0xa3: bitOp(cpu, 0, false); return;
    case 0xab: bitOp(cpu, 1, false); return;
    case 0xb3: bitOp(cpu, 2, false); return;
    case 0xbb: bitOp(cpu, 3, false); return;
    case 0xba: {
      cpu.decodeModrm();
      const sub = (cpu.modrm >> 3) & 7;
      if (sub < 4) cpu.raiseFault(UD, 0);
      bitOp(cpu, sub - 4, true);
      return;
    }
    case 0xa4: case 0xa5: case 0xac: case 0xad: {
      cpu.decodeModrm();
      const a = cpu.readEvW();
      const count = (op & 1) === 0 ? cpu.fetch8() : cpu.regs8[ECX << 2];
      const src = cpu.getRegV((cpu.modrm >> 3) & 7);
      cpu.writeEv(op <= 0xa5 ? shld(cpu, a, src, count, sz) : shrd(cpu, a, src, count, sz));
      return;
    }
    case 0xaf: {
      cpu.decodeModrm();
      const reg = (cpu.modrm >> 3) & 7;
      cpu.setRegV(reg, imulTrunc(cpu, cpu.getRegV(reg), cpu.readEv(), sz));
      return;
    }
    case 0xb0: {
      cpu.decodeModrm();
      const dst = cpu.readE8W();
      alu(cpu, 7, cpu.regs8[0], dst, 0);
      if (cpu.regs8[0] === dst) cpu.writeE8(cpu.getReg8((cpu.modrm >> 3) & 7));
      else { cpu.writeE8(dst); cpu.regs8[0] = dst; }
      return;
    }
    case 0xb1: {
      cpu.decodeModrm();
      const dst = cpu.readEvW();
      const acc = o32 ? regs[EAX] : cpu.regs16[0];
      alu(cpu, 7, acc, dst, sz);
      if (acc === dst) cpu.writeEv(cpu.getRegV((cpu.modrm >> 3) & 7));
      else { cpu.writeEv(dst); cpu.setRegV(EAX, dst); }
      return;
    }
    case 0xb2: loadFarPointer(cpu, SS); return;
    case 0xb4: loadFarPointer(cpu, FS); return;
    case 0xb5: loadFarPointer(cpu, GS); return;
    case 0xb6: cpu.decodeModrm(); cpu.setRegV((cpu.modrm >> 3) & 7, cpu.readE8()); return;
    case 0xb7: cpu.decodeModrm(); cpu.setRegV((cpu.modrm >> 3) & 7, cpu.readE16()); return;
    case 0xbe: cpu.decodeModrm(); cpu.setRegV((cpu.modrm >> 3) & 7, (cpu.readE8() << 24) >> 24); return;
    case 0xbf: cpu.decodeModrm(); cpu.setRegV((cpu.modrm >> 3) & 7, (cpu.readE16() << 16) >> 16); return;
    case 0xbc: case 0xbd: {
      cpu.decodeModrm();
      const v = o32 ? cpu.readE32() : cpu.readE16();
      // ZF reports a zero source; the destination is then left unchanged (as QEMU and AMD do).
      if (v === 0) {
        cpu.setFlag(ZF, true);
        return;
      }
      const bit = op === 0xbc ? 31 - Math.clz32(v & -v) : 31 - Math.clz32(v);
      cpu.setRegV((cpu.modrm >> 3) & 7, bit);
      cpu.setFlag(ZF, false);
      return;
    }
    case 0xc0: {
      cpu.decodeModrm();
      const reg = (cpu.modrm >> 3) & 7;
      const dst = cpu.readE8W();
      const sum = alu(cpu, 0, dst, cpu.getReg8(reg), 0);
      // The destination is written last (`xadd al, al` leaves the sum); memory before registers.
      if (cpu.modrm >= 0xc0) { cpu.setReg8(reg, dst); cpu.writeE8(sum); }
      else { cpu.writeE8(sum); cpu.setReg8(reg, dst); }
      return;
    }
    case 0xc1: {
      cpu.decodeModrm();
      const reg = (cpu.modrm >> 3) & 7;
      const dst = cpu.readEvW();
      const sum = alu(cpu, 0, dst, cpu.getRegV(reg), sz);
      if (cpu.modrm >= 0xc0) { cpu.setRegV(reg, dst); cpu.writeEv(sum); }
      else { cpu.writeEv(sum); cpu.setRegV(reg, dst); }
      return;
    }
    case 0xc7: {
      cpu.decodeModrm();
      if (((cpu.modrm >> 3) & 7) !== 1 || cpu.modrm >= 0xc0) cpu.raiseFault(UD, 0);
      cmpxchg8b(cpu);
      return;
    }
    case 0xc8: case 0xc9: case 0xca: case 0xcb: case 0xcc: case 0xcd: case 0xce: case 0xcf: {
      const r = op & 7;
      const v = regs[r];
      if (o32) regs[r] = ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
      else cpu.setReg16(r, 0); // BSWAP with a 16-bit operand is undefined; QEMU and real CPUs give zero
      return;
    }
    default:
      // MMX, SSE, SSE2 and the save/restore group: the vector unit's table.
      if (executeVector(cpu, op)) return;
      return cpu.unimplemented(`opcode 0x0f 0x${op.toString(16)}`);
  }
}

/**
 * BT/BTS/BTR/BTC (kind 0..3). With a register bit offset and a memory operand the offset is signed and
 * may address any bit of the bit string around the operand.
 */
function bitOp(cpu: CPU, kind: number, immediate: boolean): void {
  if (!immediate) cpu.decodeModrm();
  const o32 = cpu.o32;
  const width = o32 ? 32 : 16;
  let offset: number;
  if (immediate) offset = cpu.fetch8() & (width - 1);
  else offset = cpu.getRegV((cpu.modrm >> 3) & 7);
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

function cmpxchg8b(cpu: CPU): void {
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

/**
 * Decodes prefixes and executes one instruction (one-byte opcode map). Two-byte opcodes (0F xx) are
 * in execute-0f.ts. Each case is the instruction's semantics or a call into its family's file.
 * Registers are written only after the instruction's last memory access that can fault, except ESP,
 * which the fault handler restores.
 */
import type { CPU } from "./cpu.js";
import { alu, dec, inc, neg } from "./alu.js";
import { shift } from "./shift.js";
import { div, idiv, imul1, imulTrunc, mul } from "./muldiv.js";
import { aaa, aad, aam, aas, daa, das } from "./bcd.js";
import { cmps, ins, lods, movs, outs, scas, stos } from "./string-ops.js";
import { portIn, portOut } from "./io.js";
import { farCall, farJump, farReturn } from "./far-transfer.js";
import { deliverEvent, EventSource, iret, mergeEflags } from "./interrupts.js";
import { loadDataSegment } from "./segments.js";
import { execute0F } from "./execute-0f.js";
import { executeWait, executeX87 } from "./x87/dispatch.js";
import {
  AF, BP, BR, CF, CR0_PE, CS, DF, DS, EAX, EBP, EBX, ECX, EDX, EFLAGS_IOPL_SHIFT, ES, ESP,
  FS, GS, IF, IOPL, OVERFLOW, PF, RF, SF, SS, UD, VM, ZF,
} from "./constants.js";

/** Executes the instruction at CS:EIP. */
export function execute(cpu: CPU): void {
  const def32 = cpu.codeDefault32;
  let o32 = def32, a32 = def32;
  cpu.segOverride = -1;
  cpu.repPrefix = 0;
  let op = cpu.fetch8();
  let lock = false;
  // Prefixes: an instruction is at most 15 bytes, so a 15th prefix (leaving no room for an opcode) is #GP(0).
  for (let n = 1; ; n++) {
    if (n > 15) cpu.gp(0);
    if (op === 0x66) o32 = !def32;
    else if (op === 0x67) a32 = !def32;
    else if (op === 0xf3) cpu.repPrefix = 1;
    else if (op === 0xf2) cpu.repPrefix = 2;
    else if (op === 0x26) cpu.segOverride = ES;
    else if (op === 0x2e) cpu.segOverride = CS;
    else if (op === 0x36) cpu.segOverride = SS;
    else if (op === 0x3e) cpu.segOverride = DS;
    else if (op === 0x64) cpu.segOverride = FS;
    else if (op === 0x65) cpu.segOverride = GS;
    else if (op === 0xf0) lock = true;
    else break;
    op = cpu.fetch8();
  }
  cpu.o32 = o32;
  cpu.a32 = a32;
  if (lock) checkLock(cpu, op);
  const regs = cpu.regs;
  const sz = o32 ? 2 : 1;

  switch (op) {
    // ---- ALU: ADD OR ADC SBB AND SUB XOR CMP in six forms each ---------------------------------
    case 0x00: case 0x08: case 0x10: case 0x18: case 0x20: case 0x28: case 0x30: case 0x38: {
      const aop = op >> 3;
      cpu.decodeModrm();
      const b = cpu.getReg8((cpu.modrm >> 3) & 7);
      if (aop === 7) alu(cpu, 7, cpu.readE8(), b, 0);
      else cpu.writeE8(alu(cpu, aop, cpu.readE8W(), b, 0));
      return;
    }
    case 0x01: case 0x09: case 0x11: case 0x19: case 0x21: case 0x29: case 0x31: case 0x39: {
      const aop = op >> 3;
      cpu.decodeModrm();
      const reg = (cpu.modrm >> 3) & 7;
      if (o32) {
        const b = regs[reg];
        if (aop === 7) alu(cpu, 7, cpu.readE32(), b, 2);
        else cpu.writeE32(alu(cpu, aop, cpu.readE32W(), b, 2));
      } else {
        const b = cpu.getReg16(reg);
        if (aop === 7) alu(cpu, 7, cpu.readE16(), b, 1);
        else cpu.writeE16(alu(cpu, aop, cpu.readE16W(), b, 1));
      }
      return;
    }
    case 0x02: case 0x0a: case 0x12: case 0x1a: case 0x22: case 0x2a: case 0x32: case 0x3a: {
      const aop = op >> 3;
      cpu.decodeModrm();
      const reg = (cpu.modrm >> 3) & 7;
      const r = alu(cpu, aop, cpu.getReg8(reg), cpu.readE8(), 0);
      if (aop !== 7) cpu.setReg8(reg, r);
      return;
    }
    case 0x03: case 0x0b: case 0x13: case 0x1b: case 0x23: case 0x2b: case 0x33: case 0x3b: {
      const aop = op >> 3;
      cpu.decodeModrm();
      const reg = (cpu.modrm >> 3) & 7;
      if (o32) {
        const r = alu(cpu, aop, regs[reg], cpu.readE32(), 2);
        if (aop !== 7) regs[reg] = r;
      } else {
        const r = alu(cpu, aop, cpu.getReg16(reg), cpu.readE16(), 1);
        if (aop !== 7) cpu.setReg16(reg, r);
      }
      return;
    }
    case 0x04: case 0x0c: case 0x14: case 0x1c: case 0x24: case 0x2c: case 0x34: case 0x3c: {
      const aop = op >> 3;
      const r = alu(cpu, aop, cpu.regs8[0], cpu.fetch8(), 0);
      if (aop !== 7) cpu.regs8[0] = r;
      return;
    }
    case 0x05: case 0x0d: case 0x15: case 0x1d: case 0x25: case 0x2d: case 0x35: case 0x3d: {
      const aop = op >> 3;
      if (o32) {
        const r = alu(cpu, aop, regs[EAX], cpu.fetch32(), 2);
        if (aop !== 7) regs[EAX] = r;
      } else {
        const r = alu(cpu, aop, cpu.regs16[0], cpu.fetch16(), 1);
        if (aop !== 7) cpu.regs16[0] = r;
      }
      return;
    }

    // ---- Segment register push/pop -----------------------------------------------------------------
    case 0x06: cpu.pushV(cpu.segSel[ES]); return;
    case 0x0e: cpu.pushV(cpu.segSel[CS]); return;
    case 0x16: cpu.pushV(cpu.segSel[SS]); return;
    case 0x1e: cpu.pushV(cpu.segSel[DS]); return;
    case 0x07: popSegment(cpu, ES); return;
    case 0x17:
      popSegment(cpu, SS);
      // MOV/POP SS hold off interrupts and debug traps for one instruction so SS:ESP can be loaded as a pair.
      cpu.interruptShadowUntil = cpu.steps + 2;
      cpu.debugShadowUntil = cpu.steps + 2;
      return;
    case 0x1f: popSegment(cpu, DS); return;

    // ---- BCD -----------------------------------------------------------------------------------
    case 0x27: daa(cpu); return;
    case 0x2f: das(cpu); return;
    case 0x37: aaa(cpu); return;
    case 0x3f: aas(cpu); return;

    // ---- INC/DEC/PUSH/POP register ---------------------------------------------------------------
    case 0x40: case 0x41: case 0x42: case 0x43: case 0x44: case 0x45: case 0x46: case 0x47: {
      const r = op & 7;
      if (o32) regs[r] = inc(cpu, regs[r], 2);
      else cpu.setReg16(r, inc(cpu, cpu.getReg16(r), 1));
      return;
    }
    case 0x48: case 0x49: case 0x4a: case 0x4b: case 0x4c: case 0x4d: case 0x4e: case 0x4f: {
      const r = op & 7;
      if (o32) regs[r] = dec(cpu, regs[r], 2);
      else cpu.setReg16(r, dec(cpu, cpu.getReg16(r), 1));
      return;
    }
    case 0x50: case 0x51: case 0x52: case 0x53: case 0x54: case 0x55: case 0x56: case 0x57:
      if (o32) cpu.push32(regs[op & 7]);
      else cpu.push16(cpu.getReg16(op & 7));
      return;
    case 0x58: case 0x59: case 0x5a: case 0x5b: case 0x5c: case 0x5d: case 0x5e: case 0x5f:
      // POP ESP loads the popped value (the increment happens first, then the write).
      if (o32) { const v = cpu.pop32(); regs[op & 7] = v; }
      else { const v = cpu.pop16(); cpu.setReg16(op & 7, v); }
      return;

    case 0x60: pusha(cpu); return;
    case 0x61: popa(cpu); return;
    case 0x62: bound(cpu); return;
    case 0x63: arpl(cpu); return;

    case 0x68: cpu.pushV(cpu.fetchImm()); return;
    case 0x6a: cpu.pushV(cpu.fetchS8()); return;
    case 0x69: {
      cpu.decodeModrm();
      const a = cpu.readEv();
      const b = cpu.fetchImm();
      cpu.setRegV((cpu.modrm >> 3) & 7, imulTrunc(cpu, a, b, sz));
      return;
    }
    case 0x6b: {
      cpu.decodeModrm();
      const a = cpu.readEv();
      const b = cpu.fetchS8();
      cpu.setRegV((cpu.modrm >> 3) & 7, imulTrunc(cpu, a, b, sz));
      return;
    }
    case 0x6c: ins(cpu, 1); return;
    case 0x6d: ins(cpu, o32 ? 4 : 2); return;
    case 0x6e: outs(cpu, 1); return;
    case 0x6f: outs(cpu, o32 ? 4 : 2); return;

    // ---- Jcc rel8 ----------------------------------------------------------------------------------
    case 0x70: case 0x71: case 0x72: case 0x73: case 0x74: case 0x75: case 0x76: case 0x77:
    case 0x78: case 0x79: case 0x7a: case 0x7b: case 0x7c: case 0x7d: case 0x7e: case 0x7f: {
      const d = cpu.fetchS8();
      if (cpu.condition(op & 15)) jumpRelative(cpu, d);
      return;
    }

    // ---- Group 1: ALU r/m, imm ---------------------------------------------------------------------
    case 0x80: case 0x82: {
      cpu.decodeModrm();
      const aop = (cpu.modrm >> 3) & 7;
      if (aop === 7) alu(cpu, 7, cpu.readE8(), cpu.fetch8(), 0);
      else { const a = cpu.readE8W(); cpu.writeE8(alu(cpu, aop, a, cpu.fetch8(), 0)); }
      return;
    }
    case 0x81: case 0x83: {
      cpu.decodeModrm();
      const aop = (cpu.modrm >> 3) & 7;
      if (o32) {
        if (aop === 7) { const a = cpu.readE32(); alu(cpu, 7, a, op === 0x81 ? cpu.fetch32() : cpu.fetchS8(), 2); }
        else { const a = cpu.readE32W(); cpu.writeE32(alu(cpu, aop, a, op === 0x81 ? cpu.fetch32() : cpu.fetchS8(), 2)); }
      } else {
        if (aop === 7) { const a = cpu.readE16(); alu(cpu, 7, a, op === 0x81 ? cpu.fetch16() : cpu.fetchS8(), 1); }
        else { const a = cpu.readE16W(); cpu.writeE16(alu(cpu, aop, a, op === 0x81 ? cpu.fetch16() : cpu.fetchS8(), 1)); }
      }
      return;
    }

    // ---- TEST, XCHG, MOV -----------------------------------------------------------------------
    case 0x84: cpu.decodeModrm(); cpu.setLogicFlags(cpu.readE8() & cpu.getReg8((cpu.modrm >> 3) & 7), 0); return;
    case 0x85: cpu.decodeModrm(); cpu.setLogicFlags(cpu.readEv() & cpu.getRegV((cpu.modrm >> 3) & 7), sz); return;
    case 0x86: {
      cpu.decodeModrm();
      const reg = (cpu.modrm >> 3) & 7;
      const a = cpu.readE8W();
      cpu.writeE8(cpu.getReg8(reg));
      cpu.setReg8(reg, a);
      return;
    }
    case 0x87: {
      cpu.decodeModrm();
      const reg = (cpu.modrm >> 3) & 7;
      const a = cpu.readEvW();
      cpu.writeEv(cpu.getRegV(reg));
      cpu.setRegV(reg, a);
      return;
    }
    case 0x88: cpu.decodeModrm(); cpu.writeE8(cpu.getReg8((cpu.modrm >> 3) & 7)); return;
    case 0x89:
      cpu.decodeModrm();
      if (o32) cpu.writeE32(regs[(cpu.modrm >> 3) & 7]);
      else cpu.writeE16(cpu.getReg16((cpu.modrm >> 3) & 7));
      return;
    case 0x8a: cpu.decodeModrm(); cpu.setReg8((cpu.modrm >> 3) & 7, cpu.readE8()); return;
    case 0x8b:
      cpu.decodeModrm();
      if (o32) regs[(cpu.modrm >> 3) & 7] = cpu.readE32();
      else cpu.setReg16((cpu.modrm >> 3) & 7, cpu.readE16());
      return;
    case 0x8c: {
      cpu.decodeModrm();
      const sreg = (cpu.modrm >> 3) & 7;
      if (sreg > 5) cpu.raiseFault(UD, 0);
      const v = cpu.segSel[sreg];
      // To a register with a 32-bit operand the selector is zero-extended; to memory it is 16 bits.
      if (cpu.modrm >= 0xc0 && o32) regs[cpu.modrm & 7] = v;
      else cpu.writeE16(v);
      return;
    }
    case 0x8d: {
      cpu.decodeModrm();
      if (cpu.modrm >= 0xc0) cpu.raiseFault(UD, 0);
      cpu.setRegV((cpu.modrm >> 3) & 7, cpu.eaOff);
      return;
    }
    case 0x8e: {
      cpu.decodeModrm();
      const sreg = (cpu.modrm >> 3) & 7;
      if (sreg === CS || sreg > 5) cpu.raiseFault(UD, 0);
      loadDataSegment(cpu, sreg, cpu.readE16());
      if (sreg === SS) {
        cpu.interruptShadowUntil = cpu.steps + 2;
        cpu.debugShadowUntil = cpu.steps + 2;
      }
      return;
    }
    case 0x8f: {
      // POP r/m: the address is computed with ESP already incremented.
      const v = o32 ? cpu.pop32() : cpu.pop16();
      cpu.decodeModrm();
      cpu.writeEv(v);
      return;
    }

    case 0x90:
      // NOP (PAUSE with F3).
      return;
    case 0x91: case 0x92: case 0x93: case 0x94: case 0x95: case 0x96: case 0x97: {
      const r = op & 7;
      if (o32) { const t = regs[r]; regs[r] = regs[EAX]; regs[EAX] = t; }
      else { const t = cpu.getReg16(r); cpu.setReg16(r, cpu.regs16[0]); cpu.regs16[0] = t; }
      return;
    }
    case 0x98:
      if (o32) regs[EAX] = (cpu.regs16[0] << 16) >> 16;
      else cpu.regs16[0] = (cpu.regs8[0] << 24) >> 24;
      return;
    case 0x99:
      if (o32) regs[EDX] = regs[EAX] >> 31;
      else cpu.regs16[EDX << 1] = (cpu.regs16[0] & 0x8000) !== 0 ? 0xffff : 0;
      return;
    case 0x9a: {
      const off = cpu.fetchImm();
      const sel = cpu.fetch16();
      farCall(cpu, sel, off);
      return;
    }
    case 0x9b: executeWait(cpu); return; // WAIT/FWAIT
    case 0x9c: {
      // PUSHF/POPF fault on IOPL only in virtual-8086 mode (unsupported); in protected mode POPF just
      // leaves IF (and IOPL) alone when the privilege does not allow changing them.
      // PUSHF never pushes VM or RF set.
      const f = cpu.getEflags() & ~(VM | RF);
      if (o32) cpu.push32(f);
      else cpu.push16(f);
      return;
    }
    case 0x9d: {
      const v = o32 ? cpu.pop32() : cpu.pop16();
      cpu.setEflags(mergeEflags(cpu, v, o32, cpu.cpl) & ~RF);
      return;
    }
    case 0x9e: {
      cpu.freezeFlags();
      const ah = cpu.regs8[1];
      cpu.flags = (cpu.flags & ~(SF | ZF | AF | PF | CF)) | (ah & (SF | ZF | AF | PF | CF));
      return;
    }
    case 0x9f: cpu.regs8[1] = cpu.getEflags() & 0xff; return;

    // ---- MOV moffs, string instructions, TEST imm, MOV reg, imm --------------------------------
    case 0xa0: cpu.regs8[0] = cpu.readMem8(defaultSeg(cpu), moffs(cpu)); return;
    case 0xa1: {
      const off = moffs(cpu);
      if (o32) regs[EAX] = cpu.readMem32(defaultSeg(cpu), off);
      else cpu.regs16[0] = cpu.readMem16(defaultSeg(cpu), off);
      return;
    }
    case 0xa2: cpu.writeMem8(defaultSeg(cpu), moffs(cpu), cpu.regs8[0]); return;
    case 0xa3: {
      const off = moffs(cpu);
      if (o32) cpu.writeMem32(defaultSeg(cpu), off, regs[EAX]);
      else cpu.writeMem16(defaultSeg(cpu), off, cpu.regs16[0]);
      return;
    }
    case 0xa4: movs(cpu, 1); return;
    case 0xa5: movs(cpu, o32 ? 4 : 2); return;
    case 0xa6: cmps(cpu, 1); return;
    case 0xa7: cmps(cpu, o32 ? 4 : 2); return;
    case 0xa8: cpu.setLogicFlags(cpu.regs8[0] & cpu.fetch8(), 0); return;
    case 0xa9: cpu.setLogicFlags((o32 ? regs[EAX] : cpu.regs16[0]) & cpu.fetchImm(), sz); return;
    case 0xaa: stos(cpu, 1); return;
    case 0xab: stos(cpu, o32 ? 4 : 2); return;
    case 0xac: lods(cpu, 1); return;
    case 0xad: lods(cpu, o32 ? 4 : 2); return;
    case 0xae: scas(cpu, 1); return;
    case 0xaf: scas(cpu, o32 ? 4 : 2); return;
    case 0xb0: case 0xb1: case 0xb2: case 0xb3: case 0xb4: case 0xb5: case 0xb6: case 0xb7:
      cpu.setReg8(op & 7, cpu.fetch8());
      return;
    case 0xb8: case 0xb9: case 0xba: case 0xbb: case 0xbc: case 0xbd: case 0xbe: case 0xbf:
      if (o32) regs[op & 7] = cpu.fetch32();
      else cpu.setReg16(op & 7, cpu.fetch16());
      return;

    // ---- Group 2 shifts ------------------------------------------------------------------------
    case 0xc0: case 0xd0: case 0xd2: {
      cpu.decodeModrm();
      const sop = (cpu.modrm >> 3) & 7;
      const a = cpu.readE8W();
      const count = op === 0xc0 ? cpu.fetch8() : op === 0xd0 ? 1 : cpu.regs8[ECX << 2];
      cpu.writeE8(shift(cpu, sop, a, count, 0));
      return;
    }
    case 0xc1: case 0xd1: case 0xd3: {
      cpu.decodeModrm();
      const sop = (cpu.modrm >> 3) & 7;
      const a = cpu.readEvW();
      const count = op === 0xc1 ? cpu.fetch8() : op === 0xd1 ? 1 : cpu.regs8[ECX << 2];
      cpu.writeEv(shift(cpu, sop, a, count, sz));
      return;
    }

    // ---- Near returns, far pointers, MOV r/m imm, ENTER/LEAVE, far returns, INT, IRET ------------
    case 0xc2: {
      const imm = cpu.fetch16();
      const target = cpu.popV();
      cpu.adjustStack(imm);
      setEip(cpu, target);
      return;
    }
    case 0xc3: setEip(cpu, cpu.popV()); return;
    case 0xc4: loadFarPointer(cpu, ES); return;
    case 0xc5: loadFarPointer(cpu, DS); return;
    case 0xc6: {
      cpu.decodeModrm();
      if ((cpu.modrm & 0x38) !== 0) cpu.raiseFault(UD, 0);
      cpu.writeE8(cpu.fetch8());
      return;
    }
    case 0xc7: {
      cpu.decodeModrm();
      if ((cpu.modrm & 0x38) !== 0) cpu.raiseFault(UD, 0);
      cpu.writeEv(cpu.fetchImm());
      return;
    }
    case 0xc8: enter(cpu); return;
    case 0xc9: leave(cpu); return;
    case 0xca: farReturn(cpu, cpu.fetch16()); return;
    case 0xcb: farReturn(cpu, 0); return;
    case 0xcc: softwareInterrupt(cpu, BP); return;
    case 0xcd: softwareInterrupt(cpu, cpu.fetch8()); return;
    case 0xce: if (cpu.getOF()) softwareInterrupt(cpu, OVERFLOW); return;
    case 0xcf: iret(cpu); return;

    case 0xd4: aam(cpu, cpu.fetch8()); return;
    case 0xd5: aad(cpu, cpu.fetch8()); return;
    case 0xd6: cpu.regs8[0] = cpu.getCF() ? 0xff : 0; return; // SALC (undocumented, as QEMU)
    case 0xd7: {
      const base = a32 ? regs[EBX] : cpu.getReg16(EBX);
      const off = a32 ? (base + cpu.regs8[0]) | 0 : (base + cpu.regs8[0]) & 0xffff;
      cpu.regs8[0] = cpu.readMem8(defaultSeg(cpu), off);
      return;
    }
    case 0xd8: case 0xd9: case 0xda: case 0xdb: case 0xdc: case 0xdd: case 0xde: case 0xdf:
      executeX87(cpu, op); // x87 escape
      return;

    // ---- LOOP, JCXZ, IN/OUT, CALL/JMP ------------------------------------------------------------
    case 0xe0: case 0xe1: case 0xe2: {
      const d = cpu.fetchS8();
      let count: number;
      if (a32) count = regs[ECX] = (regs[ECX] - 1) | 0;
      else { count = (cpu.getReg16(ECX) - 1) & 0xffff; cpu.setReg16(ECX, count); }
      const take = count !== 0 && (op === 0xe2 || (op === 0xe1 ? cpu.getZF() : !cpu.getZF()));
      if (take) jumpRelative(cpu, d);
      return;
    }
    case 0xe3: {
      const d = cpu.fetchS8();
      if ((a32 ? regs[ECX] : cpu.getReg16(ECX)) === 0) jumpRelative(cpu, d);
      return;
    }
    case 0xe4: cpu.regs8[0] = portIn(cpu, cpu.fetch8(), 1); return;
    case 0xe5: {
      const port = cpu.fetch8();
      if (o32) regs[EAX] = portIn(cpu, port, 4);
      else cpu.regs16[0] = portIn(cpu, port, 2);
      return;
    }
    case 0xe6: portOut(cpu, cpu.fetch8(), 1, cpu.regs8[0]); return;
    case 0xe7: {
      const port = cpu.fetch8();
      if (o32) portOut(cpu, port, 4, regs[EAX]);
      else portOut(cpu, port, 2, cpu.regs16[0]);
      return;
    }
    case 0xe8: {
      const d = cpu.fetchImm();
      cpu.pushV(cpu.eip);
      jumpRelative(cpu, o32 ? d : (d << 16) >> 16);
      return;
    }
    case 0xe9: {
      const d = cpu.fetchImm();
      jumpRelative(cpu, o32 ? d : (d << 16) >> 16);
      return;
    }
    case 0xea: {
      const off = cpu.fetchImm();
      const sel = cpu.fetch16();
      farJump(cpu, sel, off);
      return;
    }
    case 0xeb: jumpRelative(cpu, cpu.fetchS8()); return;
    case 0xec: cpu.regs8[0] = portIn(cpu, cpu.getReg16(EDX), 1); return;
    case 0xed:
      if (o32) regs[EAX] = portIn(cpu, cpu.getReg16(EDX), 4);
      else cpu.regs16[0] = portIn(cpu, cpu.getReg16(EDX), 2);
      return;
    case 0xee: portOut(cpu, cpu.getReg16(EDX), 1, cpu.regs8[0]); return;
    case 0xef:
      if (o32) portOut(cpu, cpu.getReg16(EDX), 4, regs[EAX]);
      else portOut(cpu, cpu.getReg16(EDX), 2, cpu.regs16[0]);
      return;

    case 0xf1: // INT1 / ICEBP: a debug trap delivered like an exception.
      deliverEvent(cpu, 1, 0, EventSource.Exception, cpu.eip);
      return;
    case 0xf4:
      // HLT is privileged; it retires, then the CPU waits for an interrupt.
      if (cpu.cpl !== 0 && (cpu.cr0 & CR0_PE) !== 0) cpu.gp(0);
      cpu.halted = true;
      return;
    case 0xf5: cpu.setFlag(CF, !cpu.getCF()); return;
    case 0xf6: group3(cpu, 0); return;
    case 0xf7: group3(cpu, sz); return;
    case 0xf8: cpu.setFlag(CF, false); return;
    case 0xf9: cpu.setFlag(CF, true); return;
    case 0xfa:
      if (!ioplAllows(cpu)) cpu.gp(0);
      cpu.flags &= ~IF;
      return;
    case 0xfb:
      if (!ioplAllows(cpu)) cpu.gp(0);
      // STI delays interrupts until after the next instruction (so STI; HLT cannot miss one).
      if ((cpu.flags & IF) === 0) cpu.interruptShadowUntil = cpu.steps + 2;
      cpu.flags |= IF;
      return;
    case 0xfc: cpu.flags &= ~DF; return;
    case 0xfd: cpu.flags |= DF; return;
    case 0xfe: {
      cpu.decodeModrm();
      const r = (cpu.modrm >> 3) & 7;
      if (r > 1) cpu.raiseFault(UD, 0);
      const a = cpu.readE8W();
      cpu.writeE8(r === 0 ? inc(cpu, a, 0) : dec(cpu, a, 0));
      return;
    }
    case 0xff: group5(cpu); return;

    case 0x0f: execute0F(cpu); return;

    default:
      // 0xd6-style gaps are handled above; what remains here is genuinely invalid.
      return cpu.unimplemented(`opcode 0x${op.toString(16)}`);
  }
}

// ---- Helpers for the cases above ---------------------------------------------------------------

/**
 * LOCK is valid only on the read-modify-write instructions the SDM lists (ADD ADC AND BTC BTR BTS
 * CMPXCHG CMPXCHG8B DEC INC NEG NOT OR SBB SUB XOR XADD XCHG) with a memory destination; anything else
 * is #UD. Peeks at the opcode's ModRM (and second opcode byte) without consuming them.
 */
function checkLock(cpu: CPU, op: number): void {
  const eip = cpu.eip;
  let ok: boolean, modrm: number;
  if (op === 0x0f) {
    const op2 = cpu.fetch8();
    modrm = cpu.fetch8();
    const r = (modrm >> 3) & 7;
    ok = op2 === 0xab || op2 === 0xb3 || op2 === 0xbb || op2 === 0xb0 || op2 === 0xb1 || op2 === 0xc0 || op2 === 0xc1 ||
      (op2 === 0xba && r >= 5) || (op2 === 0xc7 && r === 1);
  } else {
    modrm = cpu.fetch8();
    const r = (modrm >> 3) & 7;
    ok = (op < 0x40 && (op & 7) < 2 && (op & 0x38) !== 0x38) || // ALU r/m, reg (not CMP)
      (op >= 0x80 && op <= 0x83 && r !== 7) || // group 1 (not CMP)
      op === 0x86 || op === 0x87 ||
      ((op === 0xf6 || op === 0xf7) && (r === 2 || r === 3)) || // NOT, NEG
      ((op === 0xfe || op === 0xff) && r < 2); // INC, DEC
  }
  cpu.eip = eip;
  if (!ok || modrm >= 0xc0) cpu.raiseFault(UD, 0);
}

/** Near jump by a displacement from the next instruction (EIP wraps to 16 bits with a 16-bit operand). */
export function jumpRelative(cpu: CPU, d: number): void {
  const t = (cpu.eip + d) | 0;
  setEip(cpu, t);
}

/** Sets EIP for a near transfer; the target must lie within CS's limit. */
export function setEip(cpu: CPU, target: number): void {
  const t = cpu.o32 ? target : target & 0xffff;
  if ((t >>> 0) > (cpu.segLimit[CS] >>> 0)) cpu.gp(0);
  cpu.eip = t;
}

/** LEAVE: ESP = EBP, then pop EBP (the read comes first, so a fault changes nothing). */
export function leave(cpu: CPU): void {
  const o32 = cpu.o32;
  const frame = cpu.stack32 ? cpu.regs[EBP] : cpu.getReg16(EBP);
  const v = o32 ? cpu.readMem32(SS, frame) : cpu.readMem16(SS, frame);
  if (cpu.stack32) cpu.regs[ESP] = (frame + (o32 ? 4 : 2)) | 0;
  else cpu.setReg16(ESP, frame + (o32 ? 4 : 2));
  cpu.setRegV(EBP, v);
}

/** The segment for an instruction's implicit DS operand (after any override prefix). */
function defaultSeg(cpu: CPU): number {
  return cpu.segOverride >= 0 ? cpu.segOverride : DS;
}

/** The moffs operand of A0-A3 (address-size wide). */
function moffs(cpu: CPU): number {
  return cpu.a32 ? cpu.fetch32() : cpu.fetch16();
}

/** CLI/STI/PUSHF/POPF privilege: in protected mode CPL must not exceed IOPL (no VME/PVI support). */
function ioplAllows(cpu: CPU): boolean {
  return (cpu.cr0 & CR0_PE) === 0 || cpu.cpl <= ((cpu.flags & IOPL) >> EFLAGS_IOPL_SHIFT);
}

function popSegment(cpu: CPU, seg: number): void {
  const v = cpu.o32 ? cpu.peekStack(0, 4) : cpu.peekStack(0, 2);
  loadDataSegment(cpu, seg, v & 0xffff);
  cpu.adjustStack(cpu.o32 ? 4 : 2);
}

/** LES/LDS/LSS/LFS/LGS: offset then selector from memory. */
export function loadFarPointer(cpu: CPU, seg: number): void {
  cpu.decodeModrm();
  if (cpu.modrm >= 0xc0) cpu.raiseFault(UD, 0);
  const off = cpu.o32 ? cpu.readMem32(cpu.eaSeg, cpu.eaOff) : cpu.readMem16(cpu.eaSeg, cpu.eaOff);
  const sel = cpu.readMem16(cpu.eaSeg, (cpu.eaOff + (cpu.o32 ? 4 : 2)) | 0);
  loadDataSegment(cpu, seg, sel);
  cpu.setRegV((cpu.modrm >> 3) & 7, off);
  if (seg === SS) cpu.interruptShadowUntil = cpu.steps + 2;
}

function softwareInterrupt(cpu: CPU, vector: number): void {
  deliverEvent(cpu, vector, 0, EventSource.Software, cpu.eip);
}

function pusha(cpu: CPU): void {
  const regs = cpu.regs;
  const sp = cpu.instrEsp;
  if (cpu.o32) {
    for (let r = 0; r < 8; r++) cpu.push32(r === ESP ? sp : regs[r]);
  } else {
    for (let r = 0; r < 8; r++) cpu.push16(r === ESP ? sp & 0xffff : cpu.getReg16(r));
  }
}

function popa(cpu: CPU): void {
  // Read all eight first (so a fault changes nothing), skipping the saved ESP.
  const size = cpu.o32 ? 4 : 2;
  const vals = POPA_SCRATCH;
  for (let i = 0; i < 8; i++) vals[7 - i] = cpu.peekStack(i * size, size);
  cpu.adjustStack(8 * size);
  for (let r = 0; r < 8; r++) if (r !== ESP) cpu.setRegV(r, vals[r]);
}
const POPA_SCRATCH = new Int32Array(8);

function bound(cpu: CPU): void {
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

function arpl(cpu: CPU): void {
  if ((cpu.cr0 & CR0_PE) === 0) cpu.raiseFault(UD, 0);
  cpu.decodeModrm();
  const dst = cpu.readE16W();
  const src = cpu.getReg16((cpu.modrm >> 3) & 7);
  if ((dst & 3) < (src & 3)) {
    cpu.writeE16((dst & ~3) | (src & 3));
    cpu.setFlag(ZF, true);
  } else {
    cpu.setFlag(ZF, false);
  }
}

function enter(cpu: CPU): void {
  const size = cpu.fetch16();
  const level = cpu.fetch8() & 31;
  const regs = cpu.regs;
  const o32 = cpu.o32;
  cpu.pushV(o32 ? regs[EBP] : cpu.getReg16(EBP));
  const frameTemp = cpu.stack32 ? regs[ESP] : cpu.getReg16(ESP);
  if (level > 0) {
    let bp = cpu.stack32 ? regs[EBP] : cpu.getReg16(EBP);
    const step = o32 ? 4 : 2;
    for (let i = 1; i < level; i++) {
      bp = cpu.stack32 ? (bp - step) | 0 : (bp - step) & 0xffff;
      cpu.pushV(o32 ? cpu.readMem32(SS, bp) : cpu.readMem16(SS, bp));
    }
    cpu.pushV(frameTemp);
  }
  cpu.adjustStack(-size);
  // The new ESP must be writable (the SDM checks the whole frame).
  cpu.prepareWrite(SS, cpu.stack32 ? regs[ESP] : cpu.getReg16(ESP), 1);
  cpu.setRegV(EBP, frameTemp);
}

/** F6/F7: TEST imm, NOT, NEG, MUL, IMUL, DIV, IDIV. */
function group3(cpu: CPU, size: number): void {
  cpu.decodeModrm();
  const op = (cpu.modrm >> 3) & 7;
  switch (op) {
    case 0: case 1: {
      const a = readESized(cpu, size);
      const imm = size === 0 ? cpu.fetch8() : size === 1 ? cpu.fetch16() : cpu.fetch32();
      cpu.setLogicFlags(a & imm, size);
      return;
    }
    case 2: {
      const a = size === 0 ? cpu.readE8W() : size === 1 ? cpu.readE16W() : cpu.readE32W();
      if (size === 0) cpu.writeE8(~a);
      else if (size === 1) cpu.writeE16(~a);
      else cpu.writeE32(~a);
      return;
    }
    case 3: {
      const a = size === 0 ? cpu.readE8W() : size === 1 ? cpu.readE16W() : cpu.readE32W();
      const r = neg(cpu, a, size);
      if (size === 0) cpu.writeE8(r);
      else if (size === 1) cpu.writeE16(r);
      else cpu.writeE32(r);
      return;
    }
    case 4: mul(cpu, readESized(cpu, size), size); return;
    case 5: imul1(cpu, readESized(cpu, size), size); return;
    case 6: div(cpu, readESized(cpu, size), size); return;
    default: idiv(cpu, readESized(cpu, size), size); return;
  }
}

function readESized(cpu: CPU, size: number): number {
  return size === 0 ? cpu.readE8() : size === 1 ? cpu.readE16() : cpu.readE32();
}

/** FF: INC, DEC, CALL, CALL far, JMP, JMP far, PUSH. */
function group5(cpu: CPU): void {
  cpu.decodeModrm();
  const op = (cpu.modrm >> 3) & 7;
  const o32 = cpu.o32;
  const sz = o32 ? 2 : 1;
  switch (op) {
    case 0: { const a = cpu.readEvW(); cpu.writeEv(inc(cpu, a, sz)); return; }
    case 1: { const a = cpu.readEvW(); cpu.writeEv(dec(cpu, a, sz)); return; }
    case 2: {
      const target = cpu.readEv();
      cpu.pushV(cpu.eip);
      setEip(cpu, target);
      return;
    }
    case 3: case 5: {
      if (cpu.modrm >= 0xc0) cpu.raiseFault(UD, 0);
      const off = o32 ? cpu.readMem32(cpu.eaSeg, cpu.eaOff) : cpu.readMem16(cpu.eaSeg, cpu.eaOff);
      const sel = cpu.readMem16(cpu.eaSeg, (cpu.eaOff + (o32 ? 4 : 2)) | 0);
      if (op === 3) farCall(cpu, sel, off);
      else farJump(cpu, sel, off);
      return;
    }
    case 4: setEip(cpu, cpu.readEv()); return;
    case 6: cpu.pushV(cpu.readEv()); return;
    default: cpu.raiseFault(UD, 0);
  }
}

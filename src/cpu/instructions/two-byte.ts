/**
 * The two-byte opcode map (0F xx), indexed by the second byte. The MMX/SSE/SSE2 opcodes are entries
 * that hand over to the vector unit's own table (sse/instruction-table.ts), which selects the form by
 * mandatory prefix.
 */
import {
  ARITH, AF, CF, Escape, OF, PF, SEGMENT_LOAD_FAULTS, SF, ZF, form, group, pop, push, unimplemented, type InstructionForm,
} from "./table.js";
import { CONDITION_FLAGS, CC_NAMES, MULTIPLY_FLAGS } from "./one-byte.js";
import * as A from "./handlers/alu.js";
import * as X from "./handlers/multiply.js";
import * as B from "./handlers/shift-bit.js";
import * as D from "./handlers/data-move.js";
import * as K from "./handlers/stack.js";
import * as J from "./handlers/control-flow.js";
import * as Y from "./handlers/system.js";
import { cpuid } from "../cpuid.js";
import { executeVector, vectorInstruction } from "../sse/instruction-table.js";
import { clts, group6, group7, larLsl, movControl, rdmsr, rdtsc, requireCpl0, sysenter, sysexit, wrmsr } from "../system.js";
import { FS, GP, GS, IF, MF, NM, NP, RF, SS, UD, VM } from "../constants.js";
import { XM } from "../sse/mxcsr.js";
import type { CPU } from "../cpu.js";

export const TWO_BYTE_MAP: InstructionForm[] = new Array(256);

function def(op: number, f: InstructionForm): void {
  if (TWO_BYTE_MAP[op] !== undefined) throw new Error(`instruction table: opcode 0f ${op.toString(16)} defined twice`);
  TWO_BYTE_MAP[op] = f;
}

const raiseUd = (cpu: CPU) => cpu.raiseFault(UD, 0);

// ---- System --------------------------------------------------------------------------------------
// Groups 6 and 7 keep their dispatch in system.ts (which checks the mode before decoding): every
// member runs it, the table describes each.
def(0x00, group("group6", [
  form("sldt", "Ew", "w", group6, { system: true, faults: [UD] }),
  form("str", "Ew", "w", group6, { system: true, faults: [UD] }),
  form("lldt", "Ew", "r", group6, { system: true, faults: [UD, GP, NP] }),
  form("ltr", "Ew", "r", group6, { system: true, faults: [UD, GP, NP] }),
  form("verr", "Ew", "r", group6, { w: ZF, faults: [UD] }),
  form("verw", "Ew", "r", group6, { w: ZF, faults: [UD] }),
  form("(bad)", "", "", group6, { system: true, faults: [UD] }),
  form("(bad)", "", "", group6, { system: true, faults: [UD] }),
]));
def(0x01, group("group7", [
  form("sgdt", "Ms", "w", group7, { system: true, faults: [UD] }),
  form("sidt", "Ms", "w", group7, { system: true, faults: [UD] }),
  form("lgdt", "Ms", "r", group7, { system: true, faults: [UD, GP] }),
  form("lidt", "Ms", "r", group7, { system: true, faults: [UD, GP] }),
  form("smsw", "Ew", "w", group7, { system: true }),
  form("(bad)", "", "", group7, { system: true, faults: [UD] }),
  form("lmsw", "Ew", "r", group7, { system: true, faults: [GP] }),
  form("invlpg", "Mb", "a", group7, { system: true, faults: [UD, GP] }),
]));
for (const m of TWO_BYTE_MAP[0x00].group!.concat(TWO_BYTE_MAP[0x01].group!)) m.modrm = true;
def(0x02, form("lar", "Gv,Ew", "w,r", (cpu) => larLsl(cpu, false), { w: ZF, faults: [UD] }));
def(0x03, form("lsl", "Gv,Ew", "w,r", (cpu) => larLsl(cpu, true), { w: ZF, faults: [UD] }));
def(0x06, form("clts", "", "", clts, { system: true, faults: [GP] }));
// INVD/WBINVD: no caches to manage.
def(0x08, form("invd", "", "", requireCpl0, { system: true, faults: [GP] }));
def(0x09, form("wbinvd", "", "", requireCpl0, { system: true, faults: [GP] }));
def(0x0b, form("ud2", "", "", raiseUd, { switchesContext: true, faults: [UD] }));
def(0xb9, form("ud1", "Gv,Ev", "-,-", raiseUd, { switchesContext: true, faults: [UD] }));
def(0xff, form("ud0", "Gv,Ev", "-,-", raiseUd, { switchesContext: true, faults: [UD] }));
// Prefetch hints and the multi-byte NOPs: the operand is decoded, nothing is accessed (the hints'
// register forms, and the reserved-NOP reg fields, are NOPs too).
const hintNop = form("nop", "Ev,Gv", "-,-", D.nopEv);
def(0x0d, form("prefetchw", "Mb", "a", D.nopEv));
def(0x18, group("prefetch", [
  form("prefetchnta", "Mb", "a", D.nopEv), form("prefetcht0", "Mb", "a", D.nopEv),
  form("prefetcht1", "Mb", "a", D.nopEv), form("prefetcht2", "Mb", "a", D.nopEv), hintNop, hintNop, hintNop, hintNop,
]));
for (let op = 0x19; op <= 0x1e; op++) def(op, hintNop);
def(0x1f, group("nop", [form("nop", "Ev", "-", D.nopEv), hintNop, hintNop, hintNop, hintNop, hintNop, hintNop, hintNop]));
// MOV to/from CRn/DRn: the ModRM's mod field is ignored, the operand is always a register. The SDM
// leaves the arithmetic flags undefined; they keep their values here, as in QEMU.
def(0x20, form("mov", "Rd,Cd", "w,r", (cpu) => movControl(cpu, 0x20), { system: true, u: ARITH, faults: [GP, UD] }));
def(0x21, form("mov", "Rd,Dd", "w,r", (cpu) => movControl(cpu, 0x21), { system: true, u: ARITH, faults: [GP] }));
def(0x22, form("mov", "Cd,Rd", "w,r", (cpu) => movControl(cpu, 0x22), { system: true, u: ARITH, faults: [GP, UD] }));
def(0x23, form("mov", "Dd,Rd", "w,r", (cpu) => movControl(cpu, 0x23), { system: true, u: ARITH, faults: [GP] }));
def(0x30, form("wrmsr", "", "", wrmsr, { system: true, reads: "eax ecx edx", faults: [GP] }));
def(0x31, form("rdtsc", "", "", rdtsc, { writes: "eax edx", faults: [GP] }));
def(0x32, form("rdmsr", "", "", rdmsr, { system: true, reads: "ecx", writes: "eax edx", faults: [GP] }));
def(0x34, form("sysenter", "", "", sysenter, { system: true, switchesContext: true, writes: "esp", w: IF | VM | RF, faults: [GP] }));
def(0x35, form("sysexit", "", "", sysexit, { system: true, switchesContext: true, reads: "ecx edx", writes: "esp", faults: [GP] }));
def(0xa2, form("cpuid", "", "", cpuid, { reads: "eax ecx", writes: "eax ebx ecx edx" }));

// ---- Conditional moves, jumps, sets --------------------------------------------------------------
for (let cc = 0; cc < 16; cc++) {
  def(0x40 + cc, form(`cmov${CC_NAMES[cc]}`, "Gv,Ev", "w,r", D.cmov(cc), { r: CONDITION_FLAGS[cc >> 1] }));
  def(0x80 + cc, form(`j${CC_NAMES[cc]}`, "Jz", "r", J.jccJz(cc), { r: CONDITION_FLAGS[cc >> 1], faults: [GP] }));
  def(0x90 + cc, form(`set${CC_NAMES[cc]}`, "Eb", "w", D.setcc(cc), { r: CONDITION_FLAGS[cc >> 1] }));
}

// ---- Segment registers FS/GS, far pointers -------------------------------------------------------
def(0xa0, form("push", "FS", "r", K.pushSreg(FS), { mem: [push()] }));
def(0xa1, form("pop", "FS", "w", K.popSreg(FS), { system: true, mem: [pop()], faults: SEGMENT_LOAD_FAULTS }));
def(0xa8, form("push", "GS", "r", K.pushSreg(GS), { mem: [push()] }));
def(0xa9, form("pop", "GS", "w", K.popSreg(GS), { system: true, mem: [pop()], faults: SEGMENT_LOAD_FAULTS }));
def(0xb2, form("lss", "Gv,Mp", "w,r", Y.loadFarPointer(SS), { system: true, faults: [UD, ...SEGMENT_LOAD_FAULTS] }));
def(0xb4, form("lfs", "Gv,Mp", "w,r", Y.loadFarPointer(FS), { system: true, faults: [UD, ...SEGMENT_LOAD_FAULTS] }));
def(0xb5, form("lgs", "Gv,Mp", "w,r", Y.loadFarPointer(GS), { system: true, faults: [UD, ...SEGMENT_LOAD_FAULTS] }));

// ---- Bits, double shifts, multiply ---------------------------------------------------------------
const bitFlags = { w: CF, u: OF | SF | AF | PF };
def(0xa3, form("bt", "Ev,Gv", "r,r", B.bitEvGv(0), bitFlags));
def(0xab, form("bts", "Ev,Gv", "rw,r", B.bitEvGv(1), { ...bitFlags, lock: true }));
def(0xb3, form("btr", "Ev,Gv", "rw,r", B.bitEvGv(2), { ...bitFlags, lock: true }));
def(0xbb, form("btc", "Ev,Gv", "rw,r", B.bitEvGv(3), { ...bitFlags, lock: true }));
def(0xba, group("group8", [
  undefined, undefined, undefined, undefined,
  form("bt", "Ev,Ib", "r,r", B.bitEvIb(0), bitFlags),
  form("bts", "Ev,Ib", "rw,r", B.bitEvIb(1), { ...bitFlags, lock: true }),
  form("btr", "Ev,Ib", "rw,r", B.bitEvIb(2), { ...bitFlags, lock: true }),
  form("btc", "Ev,Ib", "rw,r", B.bitEvIb(3), { ...bitFlags, lock: true }),
]));
def(0xbc, form("bsf", "Gv,Ev", "w,r", B.bitScan(false), { w: ZF, u: CF | OF | SF | AF | PF }));
def(0xbd, form("bsr", "Gv,Ev", "w,r", B.bitScan(true), { w: ZF, u: CF | OF | SF | AF | PF }));
// OF is defined only for a count of one, AF never; a masked count of zero changes no flag.
const doubleShiftFlags = { w: SF | ZF | PF | CF, u: AF | OF };
def(0xa4, form("shld", "Ev,Gv,Ib", "rw,r,r", B.doubleShift(false, B.Count.Imm8), doubleShiftFlags));
def(0xa5, form("shld", "Ev,Gv,CL", "rw,r,r", B.doubleShift(false, B.Count.Cl), doubleShiftFlags));
def(0xac, form("shrd", "Ev,Gv,Ib", "rw,r,r", B.doubleShift(true, B.Count.Imm8), doubleShiftFlags));
def(0xad, form("shrd", "Ev,Gv,CL", "rw,r,r", B.doubleShift(true, B.Count.Cl), doubleShiftFlags));
def(0xaf, form("imul", "Gv,Ev", "rw,r", X.imulGvEv, MULTIPLY_FLAGS));

// ---- Compare-exchange, exchange-add, moves with extension, BSWAP ---------------------------------
def(0xb0, form("cmpxchg", "Eb,Gb", "rw,r", A.cmpxchgEbGb, { reads: "eax", writes: "eax", w: ARITH, lock: true }));
def(0xb1, form("cmpxchg", "Ev,Gv", "rw,r", A.cmpxchgEvGv, { reads: "eax", writes: "eax", w: ARITH, lock: true }));
def(0xc0, form("xadd", "Eb,Gb", "rw,rw", A.xaddEbGb, { w: ARITH, lock: true }));
def(0xc1, form("xadd", "Ev,Gv", "rw,rw", A.xaddEvGv, { w: ARITH, lock: true }));
def(0xc7, group("group9", [
  undefined,
  form("cmpxchg8b", "Mq", "rw", A.cmpxchg8b, { reads: "eax ecx edx ebx", writes: "eax edx", w: ZF, lock: true, faults: [UD] }),
]));
def(0xb6, form("movzx", "Gv,Eb", "w,r", D.movExtend(false, false)));
def(0xb7, form("movzx", "Gv,Ew", "w,r", D.movExtend(true, false)));
def(0xbe, form("movsx", "Gv,Eb", "w,r", D.movExtend(false, true)));
def(0xbf, form("movsx", "Gv,Ew", "w,r", D.movExtend(true, true)));
for (let r = 0; r < 8; r++) def(0xc8 + r, form("bswap", "Zv", "rw", D.bswap(r)));

// ---- MMX, SSE, SSE2 and the save/restore group: the vector unit's table --------------------------
for (let op = 0; op < 256; op++) {
  if (TWO_BYTE_MAP[op] !== undefined) continue;
  const name = `0x0f 0x${op.toString(16)}`;
  if ([0, 1, 2, 3].some((p) => vectorInstruction(op, p) !== undefined)) {
    // #UD without the unit (CR0.EM, CR4.OSFXSR), #NM with CR0.TS, #MF for a pending x87 exception
    // (MMX), #XM for an unmasked SIMD floating-point one. (U)COMISS/(U)COMISD (0F 2E, 2F) set ZF, PF
    // and CF and clear OF, SF and AF.
    const f = form("vector", "", "", (cpu) => {
      if (!executeVector(cpu, op)) cpu.unimplemented(`opcode ${name}`);
    }, { w: op === 0x2e || op === 0x2f ? ARITH : 0, escape: Escape.Vector, faults: [UD, NM, MF, XM] });
    // EMMS is the one vector instruction without a ModRM byte.
    f.modrm = op !== 0x77;
    def(op, f);
  } else {
    def(op, unimplemented(name));
  }
}


/**
 * The one-byte opcode map (00-FF): one entry per opcode form, group opcodes by ModRM.reg. See table.ts
 * for what an entry says; the semantics are in handlers/.
 */
import {
  ARITH, Access, AF, CF, DF, Escape, FAR_TRANSFER_FAULTS, Implicit, OF, PF, SEGMENT_LOAD_FAULTS, SF, Size, ZF, destination, form, group, pop, push, source,
  unimplemented, type InstructionForm, type LazyFlags,
} from "./table.js";
import * as A from "./handlers/alu.js";
import * as X from "./handlers/multiply.js";
import * as B from "./handlers/shift-bit.js";
import * as D from "./handlers/data-move.js";
import * as K from "./handlers/stack.js";
import * as J from "./handlers/control-flow.js";
import * as S from "./handlers/string-io.js";
import * as Y from "./handlers/system.js";
import { aaa, aad, aam, aas, daa, das } from "../bcd.js";
import { executeWait, executeX87 } from "../x87/dispatch.js";
import { AC, BP, BR, CS, DB, DE, DS, ES, GP, ID, IF, IOPL, MF, NM, NT, OVERFLOW, RF, SS, TF, UD, VM } from "../constants.js";

/** The EFLAGS bits PUSHF stores (all but VM and RF) and POPF and IRET may load back. */
const STACKED_FLAGS = ARITH | TF | IF | DF | IOPL | NT | AC | ID;
/**
 * What delivering a software interrupt may change: real mode clears IF, TF and AC; protected mode
 * clears TF, NT, RF and VM, and IF through an interrupt gate (not a trap gate).
 */
const INTERRUPT_FLAGS = IF | TF | AC | NT | RF | VM;
/** Flags each condition code (Jcc/SETcc/CMOVcc low nibble >> 1) reads. */
export const CONDITION_FLAGS = [OF, CF, ZF, CF | ZF, SF, PF, SF | OF, ZF | SF | OF];
const CC_NAMES = ["o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g"];
export { CC_NAMES };

const ALU_NAMES = ["add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"];

/** Flag behaviour of ALU operation `aop`: ADC/SBB read CF; logic leaves AF undefined. */
function aluFlags(aop: number): { r?: number; w: number; u?: number; lazy?: LazyFlags } {
  if (aop === 2 || aop === 3) return { r: CF, w: ARITH };
  if (aop === 1 || aop === 4 || aop === 6) return { w: ARITH & ~AF, u: AF, lazy: "logic" };
  return { w: ARITH, lazy: aop === 0 ? "result" : "sub" };
}
const TEST_FLAGS = { w: ARITH & ~AF, u: AF, lazy: "logic" as const };
const INC_DEC_FLAGS = { w: ARITH & ~CF, lazy: "result" as const };
/** MUL and IMUL: CF and OF say whether the product overflowed its low half; the rest is undefined. */
export const MULTIPLY_FLAGS = { w: CF | OF, u: SF | ZF | AF | PF };

export const ONE_BYTE: InstructionForm[] = new Array(256);

function def(op: number, f: InstructionForm): void {
  if (ONE_BYTE[op] !== undefined) throw new Error(`instruction table: opcode ${op.toString(16)} defined twice`);
  ONE_BYTE[op] = f;
}

// ---- ALU: ADD OR ADC SBB AND SUB XOR CMP in six forms each -----------------------------------------
for (let aop = 0; aop < 8; aop++) {
  const n = ALU_NAMES[aop], base = aop << 3, fl = aluFlags(aop);
  const dst = aop === 7 ? "r" : "rw";
  const lock = aop !== 7;
  def(base + 0, form(n, "Eb,Gb", `${dst},r`, A.aluEbGb(aop), { ...fl, lock }));
  def(base + 1, form(n, "Ev,Gv", `${dst},r`, A.aluEvGv(aop), { ...fl, lock }));
  def(base + 2, form(n, "Gb,Eb", `${dst},r`, A.aluGbEb(aop), fl));
  def(base + 3, form(n, "Gv,Ev", `${dst},r`, A.aluGvEv(aop), fl));
  def(base + 4, form(n, "AL,Ib", `${dst},r`, A.aluAlIb(aop), fl));
  def(base + 5, form(n, "eAX,Iz", `${dst},r`, A.aluEaxIz(aop), fl));
}

// ---- Segment register push/pop, BCD --------------------------------------------------------------
def(0x06, form("push", "ES", "r", K.pushSreg(ES), { mem: [push()] }));
def(0x0e, form("push", "CS", "r", K.pushSreg(CS), { mem: [push()] }));
def(0x16, form("push", "SS", "r", K.pushSreg(SS), { mem: [push()] }));
def(0x1e, form("push", "DS", "r", K.pushSreg(DS), { mem: [push()] }));
def(0x07, form("pop", "ES", "w", K.popSreg(ES), { system: true, mem: [pop()], faults: SEGMENT_LOAD_FAULTS }));
def(0x17, form("pop", "SS", "w", K.popSreg(SS), { system: true, mem: [pop()], faults: SEGMENT_LOAD_FAULTS }));
def(0x1f, form("pop", "DS", "w", K.popSreg(DS), { system: true, mem: [pop()], faults: SEGMENT_LOAD_FAULTS }));
def(0x27, form("daa", "", "", daa, { reads: "eax", writes: "eax", r: CF | AF, w: ARITH & ~OF, u: OF }));
def(0x2f, form("das", "", "", das, { reads: "eax", writes: "eax", r: CF | AF, w: ARITH & ~OF, u: OF }));
def(0x37, form("aaa", "", "", aaa, { reads: "eax", writes: "eax", r: AF, w: AF | CF, u: OF | SF | ZF | PF }));
def(0x3f, form("aas", "", "", aas, { reads: "eax", writes: "eax", r: AF, w: AF | CF, u: OF | SF | ZF | PF }));
for (const p of [0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3]) {
  // Prefixes never reach the table (prefixes.ts consumes them); the slot says so.
  def(p, unimplemented(`prefix 0x${p.toString(16)}`));
}

// ---- INC/DEC/PUSH/POP register -------------------------------------------------------------------
for (let r = 0; r < 8; r++) {
  def(0x40 + r, form("inc", "Zv", "rw", A.incDecZv(r, false), INC_DEC_FLAGS));
  def(0x48 + r, form("dec", "Zv", "rw", A.incDecZv(r, true), INC_DEC_FLAGS));
  def(0x50 + r, form("push", "Zv", "r", K.pushZv(r), { mem: [push()] }));
  def(0x58 + r, form("pop", "Zv", "w", K.popZv(r), { mem: [pop()] }));
}
def(0x60, form("pusha", "", "", K.pusha, { reads: "eax ecx edx ebx esp ebp esi edi", mem: [push(Size.V, 8)] }));
def(0x61, form("popa", "", "", K.popa, { writes: "eax ecx edx ebx ebp esi edi", mem: [pop(Size.V, 8)] }));
def(0x62, form("bound", "Gv,Ma", "r,r", J.bound, { faults: [BR, UD] }));
def(0x63, form("arpl", "Ew,Gw", "rw,r", Y.arpl, { w: ZF, faults: [UD] }));
def(0x68, form("push", "Iz", "r", K.pushIz, { mem: [push()] }));
def(0x69, form("imul", "Gv,Ev,Iz", "w,r,r", X.imulGvEvI(false), MULTIPLY_FLAGS));
def(0x6a, form("push", "Ibs", "r", K.pushIbs, { mem: [push()] }));
def(0x6b, form("imul", "Gv,Ev,Ibs", "w,r,r", X.imulGvEvI(true), MULTIPLY_FLAGS));
def(0x6c, form("insb", "", "", S.stringOp(S.STRING.ins, true), { system: true, reads: "edx edi", writes: "edi", mem: [destination(Size.B)], r: DF, rep: true, faults: [GP] }));
def(0x6d, form("insd", "", "", S.stringOp(S.STRING.ins, false), { system: true, reads: "edx edi", writes: "edi", mem: [destination(Size.V)], r: DF, rep: true, faults: [GP] }));
def(0x6e, form("outsb", "", "", S.stringOp(S.STRING.outs, true), { system: true, reads: "edx esi", writes: "esi", mem: [source(Size.B)], r: DF, rep: true, faults: [GP] }));
def(0x6f, form("outsd", "", "", S.stringOp(S.STRING.outs, false), { system: true, reads: "edx esi", writes: "esi", mem: [source(Size.V)], r: DF, rep: true, faults: [GP] }));

// ---- Jcc rel8 ------------------------------------------------------------------------------------
for (let cc = 0; cc < 16; cc++) def(0x70 + cc, form(`j${CC_NAMES[cc]}`, "Jb", "r", J.jccJb(cc), { r: CONDITION_FLAGS[cc >> 1], faults: [GP] }));

// ---- Group 1: ALU r/m, imm -----------------------------------------------------------------------
const group1 = (operands: string, handler: (aop: number) => InstructionForm["handler"]) =>
  Array.from({ length: 8 }, (_, aop) => form(ALU_NAMES[aop], operands, aop === 7 ? "r,r" : "rw,r", handler(aop), { ...aluFlags(aop), lock: aop !== 7 }));
def(0x80, group("group1", group1("Eb,Ib", A.aluEbIb)));
def(0x81, group("group1", group1("Ev,Iz", (aop) => A.aluEvI(aop, false))));
// 82 is 80's alias (invalid in 64-bit mode only).
def(0x82, group("group1", group1("Eb,Ib", A.aluEbIb)));
def(0x83, group("group1", group1("Ev,Ibs", (aop) => A.aluEvI(aop, true))));

// ---- TEST, XCHG, MOV, LEA, POP r/m ---------------------------------------------------------------
def(0x84, form("test", "Eb,Gb", "r,r", A.testEbGb, TEST_FLAGS));
def(0x85, form("test", "Ev,Gv", "r,r", A.testEvGv, TEST_FLAGS));
def(0x86, form("xchg", "Eb,Gb", "rw,rw", D.xchgEbGb, { lock: true }));
def(0x87, form("xchg", "Ev,Gv", "rw,rw", D.xchgEvGv, { lock: true }));
def(0x88, form("mov", "Eb,Gb", "w,r", D.movEbGb));
def(0x89, form("mov", "Ev,Gv", "w,r", D.movEvGv));
def(0x8a, form("mov", "Gb,Eb", "w,r", D.movGbEb));
def(0x8b, form("mov", "Gv,Ev", "w,r", D.movGvEv));
def(0x8c, form("mov", "Ew,Sw", "w,r", Y.movEvSw, { faults: [UD] }));
def(0x8d, form("lea", "Gv,M", "w,a", D.lea, { faults: [UD] }));
def(0x8e, form("mov", "Sw,Ew", "w,r", Y.movSwEw, { system: true, faults: [UD, ...SEGMENT_LOAD_FAULTS] }));
def(0x8f, form("pop", "Ev", "w", K.popEv, { mem: [pop()] }));

def(0x90, form("nop", "", "", D.nop));
for (let r = 1; r < 8; r++) def(0x90 + r, form("xchg", "Zv,eAX", "rw,rw", D.xchgZvEax(r)));
def(0x98, form("cwde", "", "", D.convertToWider, { reads: "eax", writes: "eax" }));
def(0x99, form("cdq", "", "", D.convertToDouble, { reads: "eax", writes: "edx" }));
def(0x9a, form("call", "Ap", "r", J.farAp(true), { switchesContext: true, mem: [push(Size.V, 2)], faults: [UD, ...FAR_TRANSFER_FAULTS] }));
def(0x9b, form("wait", "", "", executeWait, { system: true, faults: [NM, MF] }));
def(0x9c, form("pushf", "", "", K.pushf, { r: STACKED_FLAGS, mem: [push()] }));
// POPF clears RF.
def(0x9d, form("popf", "", "", K.popf, { system: true, w: STACKED_FLAGS | RF, mem: [pop()] }));
def(0x9e, form("sahf", "", "", D.sahf, { reads: "eax", w: SF | ZF | AF | PF | CF }));
def(0x9f, form("lahf", "", "", D.lahf, { writes: "eax", r: SF | ZF | AF | PF | CF }));

// ---- MOV moffs, string instructions, TEST imm, MOV reg, imm --------------------------------------
def(0xa0, form("mov", "AL,Ob", "w,r", D.movAlOb));
def(0xa1, form("mov", "eAX,Ov", "w,r", D.movEaxOv));
def(0xa2, form("mov", "Ob,AL", "w,r", D.movObAl));
def(0xa3, form("mov", "Ov,eAX", "w,r", D.movOvEax));
const strings: [number, string, (typeof S.STRING)[keyof typeof S.STRING], string, string, "src" | "dst" | "both" | "cmp" | "dstRead", number][] = [
  [0xa4, "movs", S.STRING.movs, "esi edi", "esi edi", "both", 0],
  [0xa6, "cmps", S.STRING.cmps, "esi edi", "esi edi", "cmp", ARITH],
  [0xaa, "stos", S.STRING.stos, "eax edi", "edi", "dst", 0],
  [0xac, "lods", S.STRING.lods, "esi", "eax esi", "src", 0],
  [0xae, "scas", S.STRING.scas, "eax edi", "edi", "dstRead", ARITH],
];
for (const [op, name, fn, reads, writes, mem, flags] of strings) {
  for (const byte of [true, false]) {
    const size = byte ? Size.B : Size.V;
    const memory = mem === "src" ? [source(size)] : mem === "dst" ? [destination(size)] : mem === "dstRead" ? [destination(size, Access.Read)]
      : mem === "both" ? [destination(size), source(size)] : [source(size), destination(size, Access.Read)];
    def(byte ? op : op + 1, form(name + (byte ? "b" : "d"), "", "", S.stringOp(fn, byte), { reads, writes, mem: memory, r: DF, w: flags, rep: true }));
  }
}
def(0xa8, form("test", "AL,Ib", "r,r", A.testAlIb, TEST_FLAGS));
def(0xa9, form("test", "eAX,Iz", "r,r", A.testEaxIz, TEST_FLAGS));
for (let r = 0; r < 8; r++) {
  def(0xb0 + r, form("mov", "Zb,Ib", "w,r", D.movZbIb(r)));
  def(0xb8 + r, form("mov", "Zv,Iv", "w,r", D.movZvIv(r)));
}

// ---- Group 2 shifts ------------------------------------------------------------------------------
const SHIFT_NAMES = ["rol", "ror", "rcl", "rcr", "shl", "shr", "sal", "sar"];
/**
 * Flags of group-2 operation `sop`. OF is defined only for a count of one (the D0/D1 forms); by CL or
 * an immediate it is undefined, as the count may be anything. A masked count of zero changes no flag.
 * Rotates leave SF, ZF, AF and PF alone; shifts leave AF undefined.
 */
function shiftFlags(sop: number, countOne: boolean): { r?: number; w: number; u?: number } {
  const rotate = sop < 4;
  const defined = (rotate ? CF : SF | ZF | PF | CF) | (countOne ? OF : 0);
  const undefinedFlags = (rotate ? 0 : AF) | (countOne ? 0 : OF);
  return { r: sop === 2 || sop === 3 ? CF : 0, w: defined, u: undefinedFlags };
}
const group2 = (operands: string, handler: InstructionForm["handler"]) =>
  Array.from({ length: 8 }, (_, sop) => form(SHIFT_NAMES[sop], operands, "rw,r", handler, shiftFlags(sop, operands.endsWith(",1"))));
def(0xc0, group("group2", group2("Eb,Ib", B.shiftEb(B.Count.Imm8))));
def(0xc1, group("group2", group2("Ev,Ib", B.shiftEv(B.Count.Imm8))));
def(0xd0, group("group2", group2("Eb,1", B.shiftEb(B.Count.One))));
def(0xd1, group("group2", group2("Ev,1", B.shiftEv(B.Count.One))));
def(0xd2, group("group2", group2("Eb,CL", B.shiftEb(B.Count.Cl))));
def(0xd3, group("group2", group2("Ev,CL", B.shiftEv(B.Count.Cl))));

// ---- Returns, far pointers, MOV r/m imm, ENTER/LEAVE, INT, IRET ----------------------------------
def(0xc2, form("ret", "Iw", "r", J.retIw, { mem: [pop()] }));
def(0xc3, form("ret", "", "", J.ret, { mem: [pop()] }));
def(0xc4, form("les", "Gv,Mp", "w,r", Y.loadFarPointer(ES), { system: true, faults: [UD, ...SEGMENT_LOAD_FAULTS] }));
def(0xc5, form("lds", "Gv,Mp", "w,r", Y.loadFarPointer(DS), { system: true, faults: [UD, ...SEGMENT_LOAD_FAULTS] }));
def(0xc6, group("mov", [form("mov", "Eb,Ib", "w,r", D.movEbIb)]));
def(0xc7, group("mov", [form("mov", "Ev,Iz", "w,r", D.movEvIz)]));
// ENTER pushes EBP and, with a nesting level, the outer frame pointers and the new one.
def(0xc8, form("enter", "Iw,Ib", "r,r", K.enter, { reads: "ebp", writes: "ebp", mem: [push(Size.V, 2)] }));
def(0xc9, form("leave", "", "", K.leave, { reads: "ebp", writes: "esp ebp", mem: [{ kind: Implicit.Frame, access: Access.Read, size: Size.V, count: 1 }] }));
def(0xca, form("retf", "Iw", "r", J.retfIw, { switchesContext: true, mem: [pop(Size.V, 2)], faults: [UD, ...SEGMENT_LOAD_FAULTS] }));
def(0xcb, form("retf", "", "", J.retf, { switchesContext: true, mem: [pop(Size.V, 2)], faults: SEGMENT_LOAD_FAULTS }));
def(0xcc, form("int3", "", "", J.int3, { switchesContext: true, w: INTERRUPT_FLAGS, faults: [BP, ...FAR_TRANSFER_FAULTS] }));
def(0xcd, form("int", "Ib", "r", J.intIb, { switchesContext: true, w: INTERRUPT_FLAGS, faults: FAR_TRANSFER_FAULTS }));
def(0xce, form("into", "", "", J.into, { switchesContext: true, r: OF, w: INTERRUPT_FLAGS, faults: [OVERFLOW, ...FAR_TRANSFER_FAULTS] }));
def(0xcf, form("iret", "", "", J.iret, { switchesContext: true, w: STACKED_FLAGS | RF, mem: [pop(Size.V, 3)], faults: FAR_TRANSFER_FAULTS }));

def(0xd4, form("aam", "Ib", "r", (cpu) => aam(cpu, cpu.fetch8()), { reads: "eax", writes: "eax", w: SF | ZF | PF, u: OF | AF | CF, faults: [DE] }));
def(0xd5, form("aad", "Ib", "r", (cpu) => aad(cpu, cpu.fetch8()), { reads: "eax", writes: "eax", w: SF | ZF | PF, u: OF | AF | CF }));
def(0xd6, form("salc", "", "", D.salc, { writes: "eax", r: CF }));
def(0xd7, form("xlat", "", "", D.xlat, { reads: "eax ebx", writes: "eax", mem: [{ kind: Implicit.Xlat, access: Access.Read, size: Size.B, count: 1 }] }));
/**
 * The EFLAGS an x87 escape's instructions may use, over its whole ModRM space: FCMOVcc (DA, DB) read CF,
 * ZF and PF; FCOMI/FUCOMI (DB) and FCOMIP/FUCOMIP (DF) set ZF, PF and CF and clear OF, SF and AF.
 */
const X87_EFLAGS: Record<number, { r?: number; w?: number }> = { 0xda: { r: CF | ZF | PF }, 0xdb: { r: CF | ZF | PF, w: ARITH }, 0xdf: { w: ARITH } };
for (let op = 0xd8; op <= 0xdf; op++) {
  // The x87 escape: the FPU's own table (x87/table.ts) decodes the rest.
  def(op, form("x87", "", "", (cpu) => executeX87(cpu, op), { ...X87_EFLAGS[op], escape: Escape.X87, faults: [NM, MF, UD] }));
}

// ---- LOOP, JCXZ, IN/OUT, CALL/JMP ----------------------------------------------------------------
def(0xe0, form("loopne", "Jb", "r", J.loop(0), { reads: "ecx", writes: "ecx", r: ZF }));
def(0xe1, form("loope", "Jb", "r", J.loop(1), { reads: "ecx", writes: "ecx", r: ZF }));
def(0xe2, form("loop", "Jb", "r", J.loop(2), { reads: "ecx", writes: "ecx" }));
def(0xe3, form("jecxz", "Jb", "r", J.jcxz, { reads: "ecx" }));
def(0xe4, form("in", "AL,Ib", "w,r", S.inAl(false), { system: true, faults: [GP] }));
def(0xe5, form("in", "eAX,Ib", "w,r", S.inEax(false), { system: true, faults: [GP] }));
def(0xe6, form("out", "Ib,AL", "r,r", S.outAl(false), { system: true, faults: [GP] }));
def(0xe7, form("out", "Ib,eAX", "r,r", S.outEax(false), { system: true, faults: [GP] }));
def(0xe8, form("call", "Jz", "r", J.callJz, { mem: [push()], faults: [GP] }));
def(0xe9, form("jmp", "Jz", "r", J.jmpJz, { faults: [GP] }));
def(0xea, form("jmp", "Ap", "r", J.farAp(false), { switchesContext: true, faults: [UD, ...FAR_TRANSFER_FAULTS] }));
def(0xeb, form("jmp", "Jb", "r", J.jmpJb, { faults: [GP] }));
def(0xec, form("in", "AL,DX", "w,r", S.inAl(true), { system: true, faults: [GP] }));
def(0xed, form("in", "eAX,DX", "w,r", S.inEax(true), { system: true, faults: [GP] }));
def(0xee, form("out", "DX,AL", "r,r", S.outAl(true), { system: true, faults: [GP] }));
def(0xef, form("out", "DX,eAX", "r,r", S.outEax(true), { system: true, faults: [GP] }));

def(0xf1, form("int1", "", "", J.int1, { switchesContext: true, w: INTERRUPT_FLAGS, faults: [DB, ...FAR_TRANSFER_FAULTS] }));
def(0xf4, form("hlt", "", "", Y.hlt, { system: true, faults: [GP] }));
def(0xf5, form("cmc", "", "", Y.cmc, { r: CF, w: CF }));
const group3 = (byte: boolean) => {
  const e = byte ? "Eb" : "Ev", imm = byte ? "Ib" : "Iz";
  const lo = byte ? "eax" : "eax edx";
  return [
    form("test", `${e},${imm}`, "r,r", A.testEI(byte), TEST_FLAGS),
    form("test", `${e},${imm}`, "r,r", A.testEI(byte), TEST_FLAGS),
    form("not", e, "rw", A.notNegE(byte, false), { lock: true }),
    form("neg", e, "rw", A.notNegE(byte, true), { w: ARITH, lock: true }),
    form("mul", e, "r", X.mulDivE(byte, 0), { reads: "eax", writes: lo, ...MULTIPLY_FLAGS }),
    form("imul", e, "r", X.mulDivE(byte, 1), { reads: "eax", writes: lo, ...MULTIPLY_FLAGS }),
    form("div", e, "r", X.mulDivE(byte, 2), { reads: lo, writes: lo, u: ARITH, faults: [DE] }),
    form("idiv", e, "r", X.mulDivE(byte, 3), { reads: lo, writes: lo, u: ARITH, faults: [DE] }),
  ];
};
def(0xf6, group("group3", group3(true)));
def(0xf7, group("group3", group3(false)));
def(0xf8, form("clc", "", "", Y.clc, { w: CF }));
def(0xf9, form("stc", "", "", Y.stc, { w: CF }));
def(0xfa, form("cli", "", "", Y.cli, { system: true, w: IF, faults: [GP] }));
def(0xfb, form("sti", "", "", Y.sti, { system: true, w: IF, faults: [GP] }));
def(0xfc, form("cld", "", "", Y.cld, { w: DF }));
def(0xfd, form("std", "", "", Y.std, { w: DF }));
def(0xfe, group("group4", [
  form("inc", "Eb", "rw", A.incDecEb(false), { ...INC_DEC_FLAGS, lock: true }),
  form("dec", "Eb", "rw", A.incDecEb(true), { ...INC_DEC_FLAGS, lock: true }),
]));
def(0xff, group("group5", [
  form("inc", "Ev", "rw", A.incDecEv(false), { ...INC_DEC_FLAGS, lock: true }),
  form("dec", "Ev", "rw", A.incDecEv(true), { ...INC_DEC_FLAGS, lock: true }),
  form("call", "Ev", "r", J.callEv, { mem: [push()] }),
  form("call", "Mp", "r", J.farEp(true), { switchesContext: true, mem: [push(Size.V, 2)], faults: [UD, ...FAR_TRANSFER_FAULTS] }),
  form("jmp", "Ev", "r", J.jmpEv),
  form("jmp", "Mp", "r", J.farEp(false), { switchesContext: true, faults: [UD, ...FAR_TRANSFER_FAULTS] }),
  form("push", "Ev", "r", K.pushEv, { mem: [push()] }),
]));

// 0F escapes to the two-byte map (prefixes.ts reads the second byte); it never runs as an entry.
def(0x0f, unimplemented("0x0f"));
for (let op = 0; op < 256; op++) if (ONE_BYTE[op] === undefined) ONE_BYTE[op] = unimplemented(`0x${op.toString(16)}`);


/**
 * The MMX/SSE/SSE2 part of the two-byte opcode map as a table of entries (opcode, mandatory prefix,
 * operand form, handler), and the one dispatcher that runs them. The operand form says where the
 * operands live; the dispatcher does the availability checks, decodes the ModRM, loads the operands
 * into the scratch lanes A/B/R (vector-unit.ts), commits floating-point flags (which may raise #XM
 * before anything is written), writes the result, and switches the x87 unit to MMX mode when an MMX
 * register was named.
 */
import type { CPU } from "../cpu.js";
import { UD } from "../constants.js";
import * as I from "./packed-integer.js";
import * as S from "./shuffles.js";
import * as F from "./float-packed.js";
import * as M from "./moves.js";
import { OP_ADD, OP_DIV, OP_MUL, OP_SUB } from "./float-arith.js";
import { f32ToInt32, f64ToInt32, int32ToF32 } from "./conversions.js";
import { beginFp, commitFp } from "./mxcsr.js";
import { bits64, f64Bits } from "./float-bits.js";
import { group15, maskmov, movnti } from "./group15.js";
import {
  A, B, enterMmxMode, loadMm, loadXmm, mandatoryPrefix, PFX_66, PFX_F2, PFX_F3, PFX_NONE, R, readMemLanes,
  requireAligned16, requireMmx, requireSse, requireSseWithMmx, storeMm, storeXmm, vec, writeMemLanes,
} from "./vector-unit.js";

/** Register files an operand can name. */
const XMM = 0, MM = 1;

export const enum Form {
  /** reg = f(reg, r/m): A = reg, B = r/m, result to reg. */
  RegFromRm,
  /** r/m = f(r/m, reg): A = r/m (if a register), B = reg, result to r/m (`mem` bytes to memory). */
  RmFromReg,
  /** reg = f(reg, 32-bit general register or memory): B.u32[0] = the integer. */
  RegFromGpr,
  /** general register (reg field) = handler's return value from B = r/m. */
  GprFromRm,
  /** general register or memory (r/m) = handler's return value from B = reg (MOVD r/m32, xmm). */
  RmGprFromReg,
  /** Shift by immediate (0F 71-73): A = r/m register, result back to it. */
  ShiftImmediate,
  /** Everything in the handler (after the availability check). */
  Custom,
}

export const enum Unit {
  /** SSE/SSE2 on XMM registers: #UD without OSFXSR or with EM, #NM with TS. */
  Sse,
  /** MMX (and the SSE integer additions on MMX registers): #UD with EM, #NM with TS, #MF pending. */
  Mmx,
  /** SSE instructions with an MMX operand (CVTPI2PS, MOVQ2DQ...). */
  SseMmx,
  /** No CR0/CR4 checks of their own (fences, CLFLUSH, MOVNTI, the save/restore group). */
  None,
}

export interface VectorInstruction {
  mnemonic: string;
  unit: Unit;
  form: Form;
  /** Register file of the ModRM reg field's and r/m field's register operands. */
  reg: number;
  rm: number;
  /** Bytes a memory operand has (0: register operand only), whether it must be 16-byte aligned. */
  mem: number;
  align: boolean;
  /** Register operand only (#UD for memory) / memory only (#UD for a register). */
  regOnly: boolean;
  memOnly: boolean;
  imm: boolean;
  /** Floating point: flags are committed (and #XM raised) before the result is written. */
  fp: boolean;
  /** Dwords the lane handler works on (2 for MMX, 4 for XMM, 1 or 2 for scalars). */
  width: number;
  handler: (cpu: CPU, width: number) => number | void;
}

/** Entries by (second opcode byte << 2) | mandatory prefix. */
const TABLE: (VectorInstruction | undefined)[] = new Array(256 * 4);

interface Options {
  mem?: number;
  align?: boolean;
  regOnly?: boolean;
  memOnly?: boolean;
  imm?: boolean;
  fp?: boolean;
  width?: number;
  reg?: number;
  rm?: number;
  unit?: Unit;
}

function add(op: number, prefix: number, mnemonic: string, form: Form, handler: VectorInstruction["handler"], o: Options = {}): void {
  const reg = o.reg ?? XMM, rm = o.rm ?? reg;
  const mmx = reg === MM || rm === MM;
  const unit = o.unit ?? (mmx ? (reg === XMM || rm === XMM ? Unit.SseMmx : Unit.Mmx) : Unit.Sse);
  const mem = o.mem ?? (reg === MM || rm === MM ? 8 : 16);
  TABLE[(op << 2) | prefix] = {
    mnemonic, unit, form, reg, rm, mem,
    align: o.align ?? (mem === 16),
    regOnly: o.regOnly ?? false, memOnly: o.memOnly ?? false, imm: o.imm ?? false, fp: o.fp ?? false,
    width: o.width ?? (reg === MM ? 2 : 4),
    handler,
  };
}

/** An integer operation in its MMX (no prefix) and SSE2 (66) forms; `mmxMem`: the MMX form's memory operand size. */
function integer(op: number, mnemonic: string, handler: (n: number) => void, mmx = true, mmxMem = 8): void {
  if (mmx) add(op, PFX_NONE, mnemonic, Form.RegFromRm, (_c, n) => handler(n), { reg: MM, mem: mmxMem });
  add(op, PFX_66, mnemonic, Form.RegFromRm, (_c, n) => handler(n));
}

/** A float operation's four forms: PS, PD (66), SS (F3), SD (F2). */
function float4(op: number, base: string, ps: (lanes: number) => void, pd: (lanes: number) => void): void {
  add(op, PFX_NONE, base + "ps", Form.RegFromRm, () => ps(4), { fp: true });
  add(op, PFX_66, base + "pd", Form.RegFromRm, () => pd(2), { fp: true });
  add(op, PFX_F3, base + "ss", Form.RegFromRm, () => ps(1), { fp: true, mem: 4 });
  add(op, PFX_F2, base + "sd", Form.RegFromRm, () => pd(1), { fp: true, mem: 8 });
}

// ---- Moves ---------------------------------------------------------------------------------------
add(0x10, PFX_NONE, "movups", Form.RegFromRm, M.moveAll, { align: false });
add(0x10, PFX_66, "movupd", Form.RegFromRm, M.moveAll, { align: false });
add(0x10, PFX_F3, "movss", Form.RegFromRm, M.movss, { mem: 4 });
add(0x10, PFX_F2, "movsd", Form.RegFromRm, M.movsd, { mem: 8 });
add(0x11, PFX_NONE, "movups", Form.RmFromReg, M.moveAll, { align: false });
add(0x11, PFX_66, "movupd", Form.RmFromReg, M.moveAll, { align: false });
add(0x11, PFX_F3, "movss", Form.RmFromReg, M.storeLowDword, { mem: 4 });
add(0x11, PFX_F2, "movsd", Form.RmFromReg, M.storeLowQword, { mem: 8 });
add(0x12, PFX_NONE, "movlps", Form.RegFromRm, M.movlps, { mem: 8 });
add(0x12, PFX_66, "movlpd", Form.RegFromRm, M.movlps, { mem: 8, memOnly: true });
add(0x13, PFX_NONE, "movlps", Form.RmFromReg, M.storeLowQword, { mem: 8, memOnly: true });
add(0x13, PFX_66, "movlpd", Form.RmFromReg, M.storeLowQword, { mem: 8, memOnly: true });
add(0x16, PFX_NONE, "movhps", Form.RegFromRm, M.movhps, { mem: 8 });
add(0x16, PFX_66, "movhpd", Form.RegFromRm, M.movhps, { mem: 8, memOnly: true });
add(0x17, PFX_NONE, "movhps", Form.RmFromReg, M.storeHighQword, { mem: 8, memOnly: true });
add(0x17, PFX_66, "movhpd", Form.RmFromReg, M.storeHighQword, { mem: 8, memOnly: true });
add(0x28, PFX_NONE, "movaps", Form.RegFromRm, M.moveAll);
add(0x28, PFX_66, "movapd", Form.RegFromRm, M.moveAll);
add(0x29, PFX_NONE, "movaps", Form.RmFromReg, M.moveAll);
add(0x29, PFX_66, "movapd", Form.RmFromReg, M.moveAll);
add(0x2b, PFX_NONE, "movntps", Form.RmFromReg, M.moveAll, { memOnly: true });
add(0x2b, PFX_66, "movntpd", Form.RmFromReg, M.moveAll, { memOnly: true });
add(0x6e, PFX_NONE, "movd", Form.RegFromGpr, M.movdIn, { reg: MM });
add(0x6e, PFX_66, "movd", Form.RegFromGpr, M.movdIn);
add(0x6f, PFX_NONE, "movq", Form.RegFromRm, M.moveAll, { reg: MM });
add(0x6f, PFX_66, "movdqa", Form.RegFromRm, M.moveAll);
add(0x6f, PFX_F3, "movdqu", Form.RegFromRm, M.moveAll, { align: false });
add(0x7e, PFX_NONE, "movd", Form.RmGprFromReg, () => B.u32[0], { reg: MM });
add(0x7e, PFX_66, "movd", Form.RmGprFromReg, () => B.u32[0]);
add(0x7e, PFX_F3, "movq", Form.RegFromRm, M.movqZeroExtend, { mem: 8 });
add(0x7f, PFX_NONE, "movq", Form.RmFromReg, M.moveAll, { reg: MM });
add(0x7f, PFX_66, "movdqa", Form.RmFromReg, M.moveAll);
add(0x7f, PFX_F3, "movdqu", Form.RmFromReg, M.moveAll, { align: false });
add(0xd6, PFX_66, "movq", Form.RmFromReg, M.movqZeroExtend, { mem: 8 });
add(0xd6, PFX_F3, "movq2dq", Form.RegFromRm, M.movqZeroExtend, { rm: MM, regOnly: true });
add(0xd6, PFX_F2, "movdq2q", Form.RegFromRm, M.moveAll, { reg: MM, rm: XMM, regOnly: true });
add(0xe7, PFX_NONE, "movntq", Form.RmFromReg, M.moveAll, { reg: MM, memOnly: true });
add(0xe7, PFX_66, "movntdq", Form.RmFromReg, M.moveAll, { memOnly: true });
add(0xc3, PFX_NONE, "movnti", Form.Custom, movnti, { unit: Unit.None, memOnly: true });
add(0xf7, PFX_NONE, "maskmovq", Form.Custom, (c) => maskmov(c, 8), { reg: MM, regOnly: true });
add(0xf7, PFX_66, "maskmovdqu", Form.Custom, (c) => maskmov(c, 16), { regOnly: true });
add(0xae, PFX_NONE, "group15", Form.Custom, group15, { unit: Unit.None });
add(0xae, PFX_66, "group15", Form.Custom, group15, { unit: Unit.None });
add(0x77, PFX_NONE, "emms", Form.Custom, (c) => { c.fpu.ftw = 0xffff; }, { unit: Unit.Mmx });

// ---- Floating-point arithmetic -------------------------------------------------------------------
float4(0x58, "add", (n) => F.arithPs(OP_ADD, n), (n) => F.arithPd(OP_ADD, n));
float4(0x59, "mul", (n) => F.arithPs(OP_MUL, n), (n) => F.arithPd(OP_MUL, n));
float4(0x5c, "sub", (n) => F.arithPs(OP_SUB, n), (n) => F.arithPd(OP_SUB, n));
float4(0x5e, "div", (n) => F.arithPs(OP_DIV, n), (n) => F.arithPd(OP_DIV, n));
float4(0x5d, "min", (n) => F.minMaxPs(false, n), (n) => F.minMaxPd(false, n));
float4(0x5f, "max", (n) => F.minMaxPs(true, n), (n) => F.minMaxPd(true, n));
float4(0x51, "sqrt", F.sqrtPs, F.sqrtPd);
add(0x52, PFX_NONE, "rsqrtps", Form.RegFromRm, () => F.reciprocalPs(true, 4), { fp: true });
add(0x52, PFX_F3, "rsqrtss", Form.RegFromRm, () => F.reciprocalPs(true, 1), { fp: true, mem: 4 });
add(0x53, PFX_NONE, "rcpps", Form.RegFromRm, () => F.reciprocalPs(false, 4), { fp: true });
add(0x53, PFX_F3, "rcpss", Form.RegFromRm, () => F.reciprocalPs(false, 1), { fp: true, mem: 4 });
float4(0xc2, "cmp", F.cmpPs, F.cmpPd);
for (const p of [PFX_NONE, PFX_66, PFX_F3, PFX_F2]) TABLE[(0xc2 << 2) | p]!.imm = true;
add(0x2e, PFX_NONE, "ucomiss", Form.RegFromRm, (c) => F.comiss(c, false), { fp: true, mem: 4 });
add(0x2e, PFX_66, "ucomisd", Form.RegFromRm, (c) => F.comisd(c, false), { fp: true, mem: 8 });
add(0x2f, PFX_NONE, "comiss", Form.RegFromRm, (c) => F.comiss(c, true), { fp: true, mem: 4 });
add(0x2f, PFX_66, "comisd", Form.RegFromRm, (c) => F.comisd(c, true), { fp: true, mem: 8 });
// Logic on floats is logic on bits.
for (const [op, name, h] of [[0x54, "and", I.pand], [0x55, "andn", I.pandn], [0x56, "or", I.por], [0x57, "xor", I.pxor]] as const) {
  add(op, PFX_NONE, name + "ps", Form.RegFromRm, () => h(4));
  add(op, PFX_66, name + "pd", Form.RegFromRm, () => h(4));
}
add(0x14, PFX_NONE, "unpcklps", Form.RegFromRm, () => S.punpckldq(4));
add(0x14, PFX_66, "unpcklpd", Form.RegFromRm, () => S.punpcklqdq(4));
add(0x15, PFX_NONE, "unpckhps", Form.RegFromRm, () => S.punpckhdq(4));
add(0x15, PFX_66, "unpckhpd", Form.RegFromRm, () => S.punpckhqdq(4));
add(0xc6, PFX_NONE, "shufps", Form.RegFromRm, S.shufps, { imm: true });
add(0xc6, PFX_66, "shufpd", Form.RegFromRm, S.shufpd, { imm: true });
add(0x50, PFX_NONE, "movmskps", Form.GprFromRm, S.movmskps, { regOnly: true });
add(0x50, PFX_66, "movmskpd", Form.GprFromRm, S.movmskpd, { regOnly: true });

// ---- Conversions ---------------------------------------------------------------------------------
add(0x2a, PFX_NONE, "cvtpi2ps", Form.RegFromRm, () => F.cvtDq2Ps(2), { reg: XMM, rm: MM, fp: true });
add(0x2a, PFX_66, "cvtpi2pd", Form.RegFromRm, F.cvtDq2Pd, { reg: XMM, rm: MM, fp: true });
add(0x2a, PFX_F3, "cvtsi2ss", Form.RegFromGpr, () => { R.u32[0] = int32ToF32(B.i32[0]); }, { fp: true });
add(0x2a, PFX_F2, "cvtsi2sd", Form.RegFromGpr, () => { f64Bits(B.i32[0]); R.u32[0] = bits64.lo; R.u32[1] = bits64.hi; }, { fp: true });
for (const truncate of [true, false]) {
  const op = truncate ? 0x2c : 0x2d, t = truncate ? "t" : "";
  add(op, PFX_NONE, `cvt${t}ps2pi`, Form.RegFromRm, () => F.cvtPs2Dq(2, truncate), { reg: MM, rm: XMM, mem: 8, fp: true });
  add(op, PFX_66, `cvt${t}pd2pi`, Form.RegFromRm, () => F.cvtPd2Dq(truncate), { reg: MM, rm: XMM, mem: 16, fp: true });
  add(op, PFX_F3, `cvt${t}ss2si`, Form.GprFromRm, () => f32ToInt32(B.u32[0], truncate), { mem: 4, fp: true });
  add(op, PFX_F2, `cvt${t}sd2si`, Form.GprFromRm, () => f64ToInt32(B.u32[0], B.u32[1], truncate), { mem: 8, fp: true });
}
add(0x5a, PFX_NONE, "cvtps2pd", Form.RegFromRm, () => F.cvtPs2Pd(2), { mem: 8, fp: true });
add(0x5a, PFX_66, "cvtpd2ps", Form.RegFromRm, () => F.cvtPd2Ps(2), { fp: true });
add(0x5a, PFX_F3, "cvtss2sd", Form.RegFromRm, () => F.cvtPs2Pd(1), { mem: 4, fp: true });
add(0x5a, PFX_F2, "cvtsd2ss", Form.RegFromRm, () => F.cvtPd2Ps(1), { mem: 8, fp: true });
add(0x5b, PFX_NONE, "cvtdq2ps", Form.RegFromRm, () => F.cvtDq2Ps(4), { fp: true });
add(0x5b, PFX_66, "cvtps2dq", Form.RegFromRm, () => F.cvtPs2Dq(4, false), { fp: true });
add(0x5b, PFX_F3, "cvttps2dq", Form.RegFromRm, () => F.cvtPs2Dq(4, true), { fp: true });
add(0xe6, PFX_66, "cvttpd2dq", Form.RegFromRm, () => F.cvtPd2Dq(true), { fp: true });
add(0xe6, PFX_F2, "cvtpd2dq", Form.RegFromRm, () => F.cvtPd2Dq(false), { fp: true });
add(0xe6, PFX_F3, "cvtdq2pd", Form.RegFromRm, F.cvtDq2Pd, { mem: 8 });

// ---- Packed integers (MMX and SSE2) --------------------------------------------------------------
// The MMX low unpacks read only the low half of their source: a 32-bit memory operand.
integer(0x60, "punpcklbw", S.punpcklbw, true, 4);
integer(0x61, "punpcklwd", S.punpcklwd, true, 4);
integer(0x62, "punpckldq", S.punpckldq, true, 4);
integer(0x63, "packsswb", S.packsswb);
integer(0x64, "pcmpgtb", I.pcmpgtb);
integer(0x65, "pcmpgtw", I.pcmpgtw);
integer(0x66, "pcmpgtd", I.pcmpgtd);
integer(0x67, "packuswb", S.packuswb);
integer(0x68, "punpckhbw", S.punpckhbw);
integer(0x69, "punpckhwd", S.punpckhwd);
integer(0x6a, "punpckhdq", S.punpckhdq);
integer(0x6b, "packssdw", S.packssdw);
integer(0x6c, "punpcklqdq", S.punpcklqdq, false);
integer(0x6d, "punpckhqdq", S.punpckhqdq, false);
integer(0x74, "pcmpeqb", I.pcmpeqb);
integer(0x75, "pcmpeqw", I.pcmpeqw);
integer(0x76, "pcmpeqd", I.pcmpeqd);
integer(0xd1, "psrlw", (n) => I.shiftWords(n, I.countFromSource(), I.SHIFT_RIGHT));
integer(0xd2, "psrld", (n) => I.shiftDwords(n, I.countFromSource(), I.SHIFT_RIGHT));
integer(0xd3, "psrlq", (n) => I.shiftQwords(n, I.countFromSource(), false));
integer(0xd4, "paddq", I.paddq);
integer(0xd5, "pmullw", I.pmullw);
integer(0xd8, "psubusb", I.psubusb);
integer(0xd9, "psubusw", I.psubusw);
integer(0xda, "pminub", I.pminub);
integer(0xdb, "pand", I.pand);
integer(0xdc, "paddusb", I.paddusb);
integer(0xdd, "paddusw", I.paddusw);
integer(0xde, "pmaxub", I.pmaxub);
integer(0xdf, "pandn", I.pandn);
integer(0xe0, "pavgb", I.pavgb);
integer(0xe1, "psraw", (n) => I.shiftWords(n, I.countFromSource(), I.SHIFT_RIGHT_ARITH));
integer(0xe2, "psrad", (n) => I.shiftDwords(n, I.countFromSource(), I.SHIFT_RIGHT_ARITH));
integer(0xe3, "pavgw", I.pavgw);
integer(0xe4, "pmulhuw", I.pmulhuw);
integer(0xe5, "pmulhw", I.pmulhw);
integer(0xe8, "psubsb", I.psubsb);
integer(0xe9, "psubsw", I.psubsw);
integer(0xea, "pminsw", I.pminsw);
integer(0xeb, "por", I.por);
integer(0xec, "paddsb", I.paddsb);
integer(0xed, "paddsw", I.paddsw);
integer(0xee, "pmaxsw", I.pmaxsw);
integer(0xef, "pxor", I.pxor);
integer(0xf1, "psllw", (n) => I.shiftWords(n, I.countFromSource(), I.SHIFT_LEFT));
integer(0xf2, "pslld", (n) => I.shiftDwords(n, I.countFromSource(), I.SHIFT_LEFT));
integer(0xf3, "psllq", (n) => I.shiftQwords(n, I.countFromSource(), true));
integer(0xf4, "pmuludq", I.pmuludq);
integer(0xf5, "pmaddwd", I.pmaddwd);
integer(0xf6, "psadbw", I.psadbw);
integer(0xf8, "psubb", I.psubb);
integer(0xf9, "psubw", I.psubw);
integer(0xfa, "psubd", I.psubd);
integer(0xfb, "psubq", I.psubq);
integer(0xfc, "paddb", I.paddb);
integer(0xfd, "paddw", I.paddw);
integer(0xfe, "paddd", I.paddd);
add(0x70, PFX_NONE, "pshufw", Form.RegFromRm, S.pshuflw, { reg: MM, imm: true });
add(0x70, PFX_66, "pshufd", Form.RegFromRm, S.pshufd, { imm: true });
add(0x70, PFX_F3, "pshufhw", Form.RegFromRm, S.pshufhw, { imm: true });
add(0x70, PFX_F2, "pshuflw", Form.RegFromRm, S.pshuflw, { imm: true });
add(0xd7, PFX_NONE, "pmovmskb", Form.GprFromRm, (_c, n) => S.pmovmskb(n), { reg: MM, regOnly: true });
add(0xd7, PFX_66, "pmovmskb", Form.GprFromRm, (_c, n) => S.pmovmskb(n), { regOnly: true });
add(0xc4, PFX_NONE, "pinsrw", Form.RegFromGpr, (_c, n) => { R.u16[vec.imm & (2 * n - 1)] = B.u16[0]; }, { reg: MM, mem: 2, imm: true });
add(0xc4, PFX_66, "pinsrw", Form.RegFromGpr, (_c, n) => { R.u16[vec.imm & (2 * n - 1)] = B.u16[0]; }, { mem: 2, imm: true });
add(0xc5, PFX_NONE, "pextrw", Form.GprFromRm, (_c, n) => B.u16[vec.imm & (2 * n - 1)], { reg: MM, regOnly: true, imm: true });
add(0xc5, PFX_66, "pextrw", Form.GprFromRm, (_c, n) => B.u16[vec.imm & (2 * n - 1)], { regOnly: true, imm: true });
for (const [op, name] of [[0x71, "psrlw/psraw/psllw"], [0x72, "psrld/psrad/pslld"], [0x73, "psrlq/psllq/psrldq/pslldq"]] as const) {
  const handler = (c: CPU, n: number) => shiftImmediate(c, n, op);
  add(op, PFX_NONE, name, Form.ShiftImmediate, handler, { reg: MM, regOnly: true, imm: true });
  add(op, PFX_66, name, Form.ShiftImmediate, handler, { regOnly: true, imm: true });
}

/** 0F 71/72/73 /2 /4 /6 (and 66 0F 73 /3 /7, PSRLDQ/PSLLDQ): by the immediate; the ModRM reg field picks. */
function shiftImmediate(cpu: CPU, n: number, op: number): void {
  const sub = (cpu.modrm >> 3) & 7, count = vec.imm;
  switch (op === 0x71 ? sub : op === 0x72 ? sub + 8 : sub + 16) {
    case 2: I.shiftWords(n, count, I.SHIFT_RIGHT); return;
    case 4: I.shiftWords(n, count, I.SHIFT_RIGHT_ARITH); return;
    case 6: I.shiftWords(n, count, I.SHIFT_LEFT); return;
    case 10: I.shiftDwords(n, count, I.SHIFT_RIGHT); return;
    case 12: I.shiftDwords(n, count, I.SHIFT_RIGHT_ARITH); return;
    case 14: I.shiftDwords(n, count, I.SHIFT_LEFT); return;
    case 18: I.shiftQwords(n, count, false); return;
    case 22: I.shiftQwords(n, count, true); return;
    case 19: case 23:
      if (n !== 4) cpu.raiseFault(UD, 0);
      I.shiftBytes(count > 15 ? 16 : count, sub === 7);
      return;
    default: cpu.raiseFault(UD, 0);
  }
}

/** The entry for second opcode byte `op` with mandatory prefix `prefix` (PFX_*), if there is one. */
export function vectorInstruction(op: number, prefix: number): VectorInstruction | undefined {
  return TABLE[(op << 2) | prefix];
}

/** Executes 0F `op` if it is an MMX/SSE instruction; false when the table has no entry. */
export function executeVector(cpu: CPU, op: number): boolean {
  const e = TABLE[(op << 2) | mandatoryPrefix(cpu)];
  if (e === undefined) return false;
  switch (e.unit) {
    case Unit.Sse: requireSse(cpu); break;
    case Unit.Mmx: requireMmx(cpu); break;
    case Unit.SseMmx: requireSseWithMmx(cpu); break;
    default: break;
  }
  const mmx = e.reg === MM || e.rm === MM;
  if (e.form === Form.Custom) {
    if (op !== 0x77) {
      cpu.decodeModrm();
      if ((e.regOnly && cpu.modrm < 0xc0) || (e.memOnly && cpu.modrm >= 0xc0)) cpu.raiseFault(UD, 0);
    }
    e.handler(cpu, e.width);
    if (mmx) enterMmxMode(cpu);
    return true;
  }
  cpu.decodeModrm();
  const modrm = cpu.modrm, isReg = modrm >= 0xc0;
  if ((e.regOnly && !isReg) || (e.memOnly && isReg)) cpu.raiseFault(UD, 0);
  if (e.imm) vec.imm = cpu.fetch8();
  const reg = (modrm >> 3) & 7, rm = modrm & 7;
  switch (e.form) {
    case Form.RegFromRm:
    case Form.ShiftImmediate: {
      const dstIsRm = e.form === Form.ShiftImmediate;
      const dst = dstIsRm ? rm : reg;
      if (e.reg === MM) loadMm(cpu, A, dst); else loadXmm(cpu, A, dst);
      if (!dstIsRm) {
        if (isReg) {
          if (e.rm === MM) loadMm(cpu, B, rm); else loadXmm(cpu, B, rm);
        } else {
          if (e.align) requireAligned16(cpu);
          readMemLanes(cpu, B, e.mem);
        }
      }
      R.copyFrom(A);
      if (e.fp) beginFp(cpu.fpu.mxcsr);
      e.handler(cpu, e.width);
      if (e.fp) commitFp(cpu);
      if (e.reg === MM) storeMm(cpu, R, dst); else storeXmm(cpu, R, dst);
      break;
    }
    case Form.RmFromReg: {
      if (e.reg === MM) loadMm(cpu, B, reg); else loadXmm(cpu, B, reg);
      if (isReg) {
        if (e.rm === MM) loadMm(cpu, A, rm); else loadXmm(cpu, A, rm);
        R.copyFrom(A);
        e.handler(cpu, e.width);
        if (e.rm === MM) storeMm(cpu, R, rm); else storeXmm(cpu, R, rm);
      } else {
        if (e.align) requireAligned16(cpu);
        R.u32.fill(0);
        e.handler(cpu, e.width);
        writeMemLanes(cpu, R, e.mem);
      }
      break;
    }
    case Form.RegFromGpr: {
      if (e.reg === MM) loadMm(cpu, A, reg); else loadXmm(cpu, A, reg);
      B.u32[0] = e.mem === 2 ? cpu.readE16() : cpu.readE32();
      R.copyFrom(A);
      if (e.fp) beginFp(cpu.fpu.mxcsr);
      e.handler(cpu, e.width);
      if (e.fp) commitFp(cpu);
      if (e.reg === MM) storeMm(cpu, R, reg); else storeXmm(cpu, R, reg);
      break;
    }
    case Form.GprFromRm: {
      if (isReg) {
        if (e.rm === MM) loadMm(cpu, B, rm); else loadXmm(cpu, B, rm);
      } else {
        if (e.align) requireAligned16(cpu);
        readMemLanes(cpu, B, e.mem);
      }
      if (e.fp) beginFp(cpu.fpu.mxcsr);
      const v = e.handler(cpu, e.width) as number;
      if (e.fp) commitFp(cpu);
      cpu.regs[reg] = v;
      break;
    }
    case Form.RmGprFromReg: {
      if (e.reg === MM) loadMm(cpu, B, reg); else loadXmm(cpu, B, reg);
      cpu.writeE32(e.handler(cpu, e.width) as number);
      break;
    }
  }
  if (mmx) enterMmxMode(cpu);
  return true;
}


/**
 * The x87 instruction table: one entry per instruction form of the D8-DF escape. Memory forms are keyed
 * by (opcode - 0xD8) x 8 + ModRM.reg, register forms by (opcode - 0xD8) x 64 + (ModRM - 0xC0). An entry
 * names the instruction, its operand form, whether it is a control instruction (no check for pending
 * exceptions before it when it is a no-wait FN* form; no update of FIP/FOP/FDP) and its handler, which
 * receives the register number (ModRM.rm) for register forms.
 */
import type { CPU } from "../cpu.js";
import {
  arithMem, arithReg, compareMem, compareReg, compareToEflags, fsqrt, ftst, fxam, K_COM, K_COMP, K_DIV, K_DIVR,
  K_SUB, K_SUBR, M16INT, M32FP, M32INT, M64FP, signOp,
} from "./arith.js";
import { BCD, conditionalMove, exchange, F32, F64, F80, I16, I32, I64, loadConstant, loadMem, loadReg, storeMem, storeReg } from "./load-store.js";
import {
  ffree, ffreep, fldcw, fldenv, fnclex, fninit, fnsave, fnstcw, fnstenv, fnstswAx, fnstswMem, frstor, incdecstp,
} from "./control.js";
import { fprem, frndint, fscale, fxtract } from "./exponent-instructions.js";
import { trig } from "./transcendental.js";
import { f2xm1, fpatan, fyl2x, fyl2xp1 } from "./log-exp.js";

/** Operand forms. */
export const enum X87Form {
  /** No operand (or implicit ST0/ST1). */
  None,
  /** ST(i) from ModRM.rm. */
  Reg,
  M16, M32, M64, M80, M94or108, M14or28,
  /** AX (FNSTSW AX). */
  Ax,
}

export interface X87Entry {
  mnemonic: string;
  form: X87Form;
  /**
   * 0: an ordinary (waiting, non-control) instruction; 1: a waiting control instruction (FLDCW,
   * FLDENV, FRSTOR...: checks pending exceptions, leaves FIP/FOP alone); 2: a no-wait control
   * instruction (FNINIT, FNSTSW...: neither).
   */
  kind: 0 | 1 | 2;
  handler: (cpu: CPU, i: number) => void;
}

export const MEMORY_FORMS: (X87Entry | undefined)[] = new Array(64);
export const REGISTER_FORMS: (X87Entry | undefined)[] = new Array(512);

function mem(op: number, reg: number, mnemonic: string, form: X87Form, handler: (cpu: CPU, i: number) => void, kind: 0 | 1 | 2 = 0): void {
  MEMORY_FORMS[(op - 0xd8) * 8 + reg] = { mnemonic, form, kind, handler };
}

/** Register forms: `first` the first ModRM byte, `count` how many consecutive ones (8 for ST(i) forms). */
function reg(op: number, first: number, count: number, mnemonic: string, handler: (cpu: CPU, i: number) => void, kind: 0 | 1 | 2 = 0): void {
  for (let m = first; m < first + count; m++) {
    REGISTER_FORMS[(op - 0xd8) * 64 + (m - 0xc0)] = { mnemonic, form: count === 8 ? X87Form.Reg : X87Form.None, kind, handler };
  }
}

const ARITH_NAMES = ["fadd", "fmul", "fcom", "fcomp", "fsub", "fsubr", "fdiv", "fdivr"];
const INT_NAMES = ["fiadd", "fimul", "ficom", "ficomp", "fisub", "fisubr", "fidiv", "fidivr"];

// ---- D8 / DC / DA / DE memory arithmetic, and the register arithmetic forms ------------------------
for (let k = 0; k < 8; k++) {
  const isCompare = k === K_COM || k === K_COMP;
  const popCmp = k === K_COMP;
  const arith = (fmt: number) => isCompare ? (cpu: CPU) => compareMem(cpu, fmt, popCmp) : (cpu: CPU) => arithMem(cpu, k, fmt);
  mem(0xd8, k, `${ARITH_NAMES[k]}s`, X87Form.M32, arith(M32FP));
  mem(0xdc, k, `${ARITH_NAMES[k]}l`, X87Form.M64, arith(M64FP));
  mem(0xda, k, `${INT_NAMES[k]}l`, X87Form.M32, arith(M32INT));
  mem(0xde, k, `${INT_NAMES[k]}s`, X87Form.M16, arith(M16INT));
  // D8: ST0 = ST0 op ST(i).
  reg(0xd8, 0xc0 + 8 * k, 8, ARITH_NAMES[k], isCompare
    ? (cpu, i) => compareReg(cpu, i, false, popCmp ? 1 : 0)
    : (cpu, i) => arithReg(cpu, k, 0, 0, i, false));
  // DC and DE: ST(i) = ST(i) op ST0, where /4../7 are FSUBR, FSUB, FDIVR, FDIV (the reverse of D8's order).
  if (!isCompare) {
    const rk = k === K_SUB ? K_SUBR : k === K_SUBR ? K_SUB : k === K_DIV ? K_DIVR : k === K_DIVR ? K_DIV : k;
    const name = ARITH_NAMES[rk];
    reg(0xdc, 0xc0 + 8 * k, 8, name, (cpu, i) => arithReg(cpu, rk, i, i, 0, false));
    reg(0xde, 0xc0 + 8 * k, 8, `${name}p`, (cpu, i) => arithReg(cpu, rk, i, i, 0, true));
  }
}
// Undocumented aliases the 387 and later decode: DC D0/D8 as FCOM/FCOMP, DE D0 as FCOMP.
reg(0xdc, 0xd0, 8, "fcom", (cpu, i) => compareReg(cpu, i, false, 0));
reg(0xdc, 0xd8, 8, "fcomp", (cpu, i) => compareReg(cpu, i, false, 1));
reg(0xde, 0xd0, 8, "fcomp", (cpu, i) => compareReg(cpu, i, false, 1));
reg(0xde, 0xd9, 1, "fcompp", (cpu) => compareReg(cpu, 1, false, 2));

// ---- D9 ------------------------------------------------------------------------------------------
mem(0xd9, 0, "flds", X87Form.M32, (cpu) => loadMem(cpu, F32));
mem(0xd9, 2, "fsts", X87Form.M32, (cpu) => storeMem(cpu, F32, false, false));
mem(0xd9, 3, "fstps", X87Form.M32, (cpu) => storeMem(cpu, F32, true, false));
mem(0xd9, 4, "fldenv", X87Form.M14or28, fldenv, 1);
mem(0xd9, 5, "fldcw", X87Form.M16, fldcw, 1);
mem(0xd9, 6, "fnstenv", X87Form.M14or28, fnstenv, 2);
mem(0xd9, 7, "fnstcw", X87Form.M16, fnstcw, 2);
reg(0xd9, 0xc0, 8, "fld", loadReg);
reg(0xd9, 0xc8, 8, "fxch", exchange);
reg(0xd9, 0xd0, 1, "fnop", () => {});
reg(0xd9, 0xd8, 8, "fstp1", (cpu, i) => storeReg(cpu, i, true));
reg(0xd9, 0xe0, 1, "fchs", (cpu) => signOp(cpu, false));
reg(0xd9, 0xe1, 1, "fabs", (cpu) => signOp(cpu, true));
reg(0xd9, 0xe4, 1, "ftst", ftst);
reg(0xd9, 0xe5, 1, "fxam", fxam);
const CONSTANT_NAMES = ["fld1", "fldl2t", "fldl2e", "fldpi", "fldlg2", "fldln2", "fldz"];
for (let n = 0; n < 7; n++) reg(0xd9, 0xe8 + n, 1, CONSTANT_NAMES[n], (cpu) => loadConstant(cpu, n));
reg(0xd9, 0xf0, 1, "f2xm1", f2xm1);
reg(0xd9, 0xf1, 1, "fyl2x", fyl2x);
reg(0xd9, 0xf2, 1, "fptan", (cpu) => trig(cpu, 3));
reg(0xd9, 0xf3, 1, "fpatan", fpatan);
reg(0xd9, 0xf4, 1, "fxtract", fxtract);
reg(0xd9, 0xf5, 1, "fprem1", (cpu) => fprem(cpu, true));
reg(0xd9, 0xf6, 1, "fdecstp", (cpu) => incdecstp(cpu.fpu, -1));
reg(0xd9, 0xf7, 1, "fincstp", (cpu) => incdecstp(cpu.fpu, 1));
reg(0xd9, 0xf8, 1, "fprem", (cpu) => fprem(cpu, false));
reg(0xd9, 0xf9, 1, "fyl2xp1", fyl2xp1);
reg(0xd9, 0xfa, 1, "fsqrt", fsqrt);
reg(0xd9, 0xfb, 1, "fsincos", (cpu) => trig(cpu, 2));
reg(0xd9, 0xfc, 1, "frndint", frndint);
reg(0xd9, 0xfd, 1, "fscale", fscale);
reg(0xd9, 0xfe, 1, "fsin", (cpu) => trig(cpu, 0));
reg(0xd9, 0xff, 1, "fcos", (cpu) => trig(cpu, 1));

// ---- DA / DB: FCMOVcc (the EFLAGS conditions B, E, BE, U and their negations) ----------------------
const FCMOV = [
  ["fcmovb", 0x2], ["fcmove", 0x4], ["fcmovbe", 0x6], ["fcmovu", 0xa],
] as const;
FCMOV.forEach(([name, cc], n) => {
  reg(0xda, 0xc0 + 8 * n, 8, name, (cpu, i) => conditionalMove(cpu, i, cpu.condition(cc)));
  reg(0xdb, 0xc0 + 8 * n, 8, name.replace("fcmov", "fcmovn"), (cpu, i) => conditionalMove(cpu, i, cpu.condition(cc | 1)));
});
reg(0xda, 0xe9, 1, "fucompp", (cpu) => compareReg(cpu, 1, true, 2));

// ---- DB ------------------------------------------------------------------------------------------
mem(0xdb, 0, "fildl", X87Form.M32, (cpu) => loadMem(cpu, I32));
mem(0xdb, 1, "fisttpl", X87Form.M32, (cpu) => storeMem(cpu, I32, true, true));
mem(0xdb, 2, "fistl", X87Form.M32, (cpu) => storeMem(cpu, I32, false, false));
mem(0xdb, 3, "fistpl", X87Form.M32, (cpu) => storeMem(cpu, I32, true, false));
mem(0xdb, 5, "fldt", X87Form.M80, (cpu) => loadMem(cpu, F80));
mem(0xdb, 7, "fstpt", X87Form.M80, (cpu) => storeMem(cpu, F80, true, false));
// FENI, FDISI (8087 only) and FSETPM (287 only) are no-ops on the 387 and later.
reg(0xdb, 0xe0, 2, "fneni", () => {}, 2);
reg(0xdb, 0xe2, 1, "fnclex", (cpu) => fnclex(cpu.fpu), 2);
reg(0xdb, 0xe3, 1, "fninit", (cpu) => fninit(cpu.fpu), 2);
reg(0xdb, 0xe4, 1, "fnsetpm", () => {}, 2);
reg(0xdb, 0xe8, 8, "fucomi", (cpu, i) => compareToEflags(cpu, i, true, false));
reg(0xdb, 0xf0, 8, "fcomi", (cpu, i) => compareToEflags(cpu, i, false, false));

// ---- DD ------------------------------------------------------------------------------------------
mem(0xdd, 0, "fldl", X87Form.M64, (cpu) => loadMem(cpu, F64));
mem(0xdd, 1, "fisttpll", X87Form.M64, (cpu) => storeMem(cpu, I64, true, true));
mem(0xdd, 2, "fstl", X87Form.M64, (cpu) => storeMem(cpu, F64, false, false));
mem(0xdd, 3, "fstpl", X87Form.M64, (cpu) => storeMem(cpu, F64, true, false));
mem(0xdd, 4, "frstor", X87Form.M94or108, frstor, 1);
mem(0xdd, 6, "fnsave", X87Form.M94or108, fnsave, 2);
mem(0xdd, 7, "fnstsw", X87Form.M16, fnstswMem, 2);
reg(0xdd, 0xc0, 8, "ffree", (cpu, i) => ffree(cpu.fpu, i));
reg(0xdd, 0xc8, 8, "fxch4", exchange);
reg(0xdd, 0xd0, 8, "fst", (cpu, i) => storeReg(cpu, i, false));
reg(0xdd, 0xd8, 8, "fstp", (cpu, i) => storeReg(cpu, i, true));
reg(0xdd, 0xe0, 8, "fucom", (cpu, i) => compareReg(cpu, i, true, 0));
reg(0xdd, 0xe8, 8, "fucomp", (cpu, i) => compareReg(cpu, i, true, 1));

// ---- DF ------------------------------------------------------------------------------------------
mem(0xdf, 0, "filds", X87Form.M16, (cpu) => loadMem(cpu, I16));
mem(0xdf, 1, "fisttps", X87Form.M16, (cpu) => storeMem(cpu, I16, true, true));
mem(0xdf, 2, "fists", X87Form.M16, (cpu) => storeMem(cpu, I16, false, false));
mem(0xdf, 3, "fistps", X87Form.M16, (cpu) => storeMem(cpu, I16, true, false));
mem(0xdf, 4, "fbld", X87Form.M80, (cpu) => loadMem(cpu, BCD));
mem(0xdf, 5, "fildll", X87Form.M64, (cpu) => loadMem(cpu, I64));
mem(0xdf, 6, "fbstp", X87Form.M80, (cpu) => storeMem(cpu, BCD, true, false));
mem(0xdf, 7, "fistpll", X87Form.M64, (cpu) => storeMem(cpu, I64, true, false));
reg(0xdf, 0xc0, 8, "ffreep", (cpu, i) => ffreep(cpu.fpu, i));
reg(0xdf, 0xc8, 8, "fxch7", exchange);
reg(0xdf, 0xd0, 8, "fstp8", (cpu, i) => storeReg(cpu, i, true));
reg(0xdf, 0xd8, 8, "fstp9", (cpu, i) => storeReg(cpu, i, true));
reg(0xdf, 0xe0, 1, "fnstsw", fnstswAx, 2);
reg(0xdf, 0xe8, 8, "fucomip", (cpu, i) => compareToEflags(cpu, i, true, true));
reg(0xdf, 0xf0, 8, "fcomip", (cpu, i) => compareToEflags(cpu, i, false, true));

/** The entry for an escape opcode and ModRM byte, or undefined (reserved encodings raise #UD). */
export function lookupX87(op: number, modrm: number): X87Entry | undefined {
  return modrm >= 0xc0 ? REGISTER_FORMS[(op - 0xd8) * 64 + (modrm - 0xc0)] : MEMORY_FORMS[(op - 0xd8) * 8 + ((modrm >> 3) & 7)];
}

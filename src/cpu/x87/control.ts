/**
 * x87 control instructions: FNINIT, FNCLEX, FLDCW, FNSTCW, FNSTSW, FNSTENV/FLDENV and FNSAVE/FRSTOR
 * (14/28-byte environments in their real-mode and protected-mode layouts, SDM "Saving the x87 FPU's
 * State with FSTENV/FNSTENV and FSAVE/FNSAVE"), FFREE, FFREEP, FINCSTP, FDECSTP. Environment stores
 * check the whole area before writing; loads read it all before changing anything.
 */
import type { CPU } from "../cpu.js";
import { CR0_PE, VM, CS } from "../constants.js";
import { FCW_POWER_ON } from "../fpu-state.js";
import type { FpuState } from "../fpu-state.js";
import { FSW_B, pop, setC1, setTagEmpty, tagOfValue, TAG_EMPTY, updateSummary } from "./stack.js";

export function fninit(f: FpuState): void {
  f.fcw = FCW_POWER_ON;
  f.fsw = 0;
  f.top = 0;
  f.ftw = 0xffff;
  f.fip = f.fcs = f.fdp = f.fds = f.fop = 0;
}

/** FNCLEX: the exception flags, SF, ES and B. */
export function fnclex(f: FpuState): void {
  f.fsw &= ~(0xff | FSW_B);
}

/** The reserved FCW bits (6, 7, 13-15) read as the hardware has them: bit 6 set, the others clear. */
export function controlWordOf(v: number): number {
  return (v & 0x1f3f) | 0x40;
}

export function fldcw(cpu: CPU): void {
  const f = cpu.fpu;
  f.fcw = controlWordOf(cpu.readMem16(cpu.eaSeg, cpu.eaOff));
  // A pending exception the new word unmasks is signalled by the next waiting instruction.
  updateSummary(f);
}

export function fnstcw(cpu: CPU): void {
  cpu.writeMem16(cpu.eaSeg, cpu.eaOff, cpu.fpu.fcw);
}

export function fnstswMem(cpu: CPU): void {
  cpu.writeMem16(cpu.eaSeg, cpu.eaOff, cpu.fpu.statusWord());
}

export function fnstswAx(cpu: CPU): void {
  cpu.regs16[0] = cpu.fpu.statusWord();
}

/** The tag word with each non-empty register's tag recomputed from its contents, as FSTENV stores it. */
export function fullTagWord(f: FpuState): number {
  let t = 0;
  for (let p = 0; p < 8; p++) {
    const tag = ((f.ftw >> (2 * p)) & 3) === TAG_EMPTY ? TAG_EMPTY : tagOfValue(f.signExp[p], f.mant[2 * p + 1], f.mant[2 * p]);
    t |= tag << (2 * p);
  }
  return t;
}

function realMode(cpu: CPU): boolean {
  return (cpu.cr0 & CR0_PE) === 0 || (cpu.getEflags() & VM) !== 0;
}

/** The environment's image as 7 fields (16-bit format) or 7 dwords (32-bit), per mode. */
const envWords = new Int32Array(7);

function buildEnvironment(cpu: CPU, o32: boolean): number {
  const f = cpu.fpu;
  const real = realMode(cpu);
  envWords[0] = f.fcw;
  envWords[1] = f.statusWord();
  envWords[2] = fullTagWord(f);
  if (real) {
    // Real-address layout: 20/32-bit linear pointers (segment x 16 + offset) split around FOP.
    const ip = ((f.fcs << 4) + f.fip) | 0, dp = ((f.fds << 4) + f.fdp) | 0;
    envWords[3] = ip & 0xffff;
    envWords[4] = o32 ? ((ip >>> 4) & 0x0ffff000) | (f.fop & 0x7ff) : ((ip >>> 4) & 0xf000) | (f.fop & 0x7ff);
    envWords[5] = dp & 0xffff;
    envWords[6] = o32 ? (dp >>> 4) & 0x0ffff000 : (dp >>> 4) & 0xf000;
  } else {
    envWords[3] = f.fip;
    envWords[4] = o32 ? (f.fcs & 0xffff) | ((f.fop & 0x7ff) << 16) : f.fcs;
    envWords[5] = f.fdp;
    envWords[6] = f.fds;
  }
  return o32 ? 28 : 14;
}

function writeEnvironment(cpu: CPU, seg: number, off: number, o32: boolean): void {
  for (let i = 0; i < 7; i++) {
    if (o32) cpu.writeMem32(seg, (off + 4 * i) | 0, envWords[i]);
    else cpu.writeMem16(seg, (off + 2 * i) | 0, envWords[i] & 0xffff);
  }
}

function readEnvironment(cpu: CPU, seg: number, off: number, o32: boolean): void {
  for (let i = 0; i < 7; i++) envWords[i] = o32 ? cpu.readMem32(seg, (off + 4 * i) | 0) : cpu.readMem16(seg, (off + 2 * i) | 0);
}

function applyEnvironment(cpu: CPU, o32: boolean): void {
  const f = cpu.fpu;
  f.fcw = controlWordOf(envWords[0]);
  f.setStatusWord(envWords[1] & 0xffff);
  // Only "empty or not" is taken from the image; the other tags follow the registers' contents.
  const t = envWords[2] & 0xffff;
  let ftw = 0;
  for (let p = 0; p < 8; p++) {
    const tag = ((t >> (2 * p)) & 3) === TAG_EMPTY ? TAG_EMPTY : tagOfValue(f.signExp[p], f.mant[2 * p + 1], f.mant[2 * p]);
    ftw |= tag << (2 * p);
  }
  f.ftw = ftw;
  if (realMode(cpu)) {
    const ip = (envWords[3] & 0xffff) | (o32 ? (envWords[4] & 0x0ffff000) << 4 : (envWords[4] & 0xf000) << 4);
    const dp = (envWords[5] & 0xffff) | (o32 ? (envWords[6] & 0x0ffff000) << 4 : (envWords[6] & 0xf000) << 4);
    f.fip = ip;
    f.fcs = 0;
    f.fop = envWords[4] & 0x7ff;
    f.fdp = dp;
    f.fds = 0;
  } else {
    f.fip = o32 ? envWords[3] : envWords[3] & 0xffff;
    f.fcs = envWords[4] & 0xffff;
    f.fop = o32 ? (envWords[4] >>> 16) & 0x7ff : 0;
    f.fdp = o32 ? envWords[5] : envWords[5] & 0xffff;
    f.fds = envWords[6] & 0xffff;
  }
  updateSummary(f);
}

export function fnstenv(cpu: CPU): void {
  const size = buildEnvironment(cpu, cpu.o32);
  cpu.prepareWrite(cpu.eaSeg, cpu.eaOff, size);
  writeEnvironment(cpu, cpu.eaSeg, cpu.eaOff, cpu.o32);
  // FNSTENV then masks every exception (SDM FSTENV).
  cpu.fpu.fcw |= 0x3f;
  updateSummary(cpu.fpu);
}

export function fldenv(cpu: CPU): void {
  readEnvironment(cpu, cpu.eaSeg, cpu.eaOff, cpu.o32);
  applyEnvironment(cpu, cpu.o32);
}

const regImage = new Uint16Array(40);

export function fnsave(cpu: CPU): void {
  const f = cpu.fpu, seg = cpu.eaSeg, off = cpu.eaOff;
  const size = buildEnvironment(cpu, cpu.o32);
  cpu.prepareWrite(seg, off, size + 80);
  writeEnvironment(cpu, seg, off, cpu.o32);
  for (let i = 0; i < 8; i++) {
    const p = (f.top + i) & 7, at = (off + size + 10 * i) | 0;
    cpu.writeMem32(seg, at, f.mant[2 * p]);
    cpu.writeMem32(seg, (at + 4) | 0, f.mant[2 * p + 1]);
    cpu.writeMem16(seg, (at + 8) | 0, f.signExp[p]);
  }
  fninit(f);
}

export function frstor(cpu: CPU): void {
  const f = cpu.fpu, seg = cpu.eaSeg, off = cpu.eaOff;
  const size = cpu.o32 ? 28 : 14;
  readEnvironment(cpu, seg, off, cpu.o32);
  for (let i = 0; i < 40; i++) regImage[i] = cpu.readMem16(seg, (off + size + 2 * i) | 0);
  // Registers go in by ST order relative to the TOP being loaded.
  const top = (envWords[1] >> 11) & 7;
  for (let i = 0; i < 8; i++) {
    const p = (top + i) & 7, w = 5 * i;
    f.mant[2 * p] = (regImage[w] | (regImage[w + 1] << 16)) >>> 0;
    f.mant[2 * p + 1] = (regImage[w + 2] | (regImage[w + 3] << 16)) >>> 0;
    f.signExp[p] = regImage[w + 4];
  }
  applyEnvironment(cpu, cpu.o32);
}

export function ffree(f: FpuState, i: number): void {
  setTagEmpty(f, i);
}

export function ffreep(f: FpuState, i: number): void {
  setTagEmpty(f, i);
  pop(f);
}

export function incdecstp(f: FpuState, delta: number): void {
  f.top = (f.top + delta) & 7;
  setC1(f, false);
}

/**
 * Records the instruction (and its memory operand) as the last non-control x87 instruction. The opcode
 * is kept only when the instruction raised an unmasked exception (`faulted`): the default mode of the
 * Pentium 4 and later, with FOP code compatibility off (SDM "x87 FPU Last Instruction Opcode").
 */
export function recordLastInstruction(cpu: CPU, op: number, modrm: number, faulted: boolean): void {
  const f = cpu.fpu;
  f.fip = cpu.instrEip;
  f.fcs = cpu.segSel[CS];
  if (faulted) f.fop = ((op & 7) << 8) | modrm;
  if (modrm < 0xc0) {
    f.fdp = cpu.eaOff;
    f.fds = cpu.segSel[cpu.eaSeg];
  }
}


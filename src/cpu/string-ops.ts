/**
 * String instructions: MOVS, CMPS, STOS, LODS, SCAS, INS, OUTS, with REP/REPE/REPNE.
 * Each iteration of a repeated instruction is one step, as in QEMU's single-step log. While nothing
 * can intervene (no interrupt deliverable, step budget left) iterations run back to back inside one
 * call, counting a step each; otherwise EIP is left on the instruction so it resumes next step.
 * Memory is accessed before index registers move, so a fault leaves the registers of the last
 * completed iteration, exactly what the CPU restarts from.
 */
import type { CPU } from "./cpu.js";
import { DF, DS, ECX, EDI, EDX, ES, ESI, IF } from "./constants.js";
import { alu } from "./alu.js";
import { portIn, portOut } from "./io.js";
import type { AccessSize } from "../machine/bus.js";

const SIZE_CODE = [0, 0, 1, 0, 2] as const;

function readSized(cpu: CPU, seg: number, off: number, size: number): number {
  return size === 1 ? cpu.readMem8(seg, off) : size === 2 ? cpu.readMem16(seg, off) : cpu.readMem32(seg, off);
}

function writeSized(cpu: CPU, seg: number, off: number, size: number, v: number): void {
  if (size === 1) cpu.writeMem8(seg, off, v);
  else if (size === 2) cpu.writeMem16(seg, off, v);
  else cpu.writeMem32(seg, off, v);
}

function getIndex(cpu: CPU, reg: number): number {
  return cpu.a32 ? cpu.regs[reg] : cpu.regs16[reg << 1];
}

function addIndex(cpu: CPU, reg: number, delta: number): void {
  if (cpu.a32) cpu.regs[reg] = (cpu.regs[reg] + delta) | 0;
  else cpu.regs16[reg << 1] = cpu.regs16[reg << 1] + delta;
}

function getAcc(cpu: CPU, size: number): number {
  return size === 1 ? cpu.regs8[0] : size === 2 ? cpu.regs16[0] : cpu.regs[0];
}

function setAcc(cpu: CPU, size: number, v: number): void {
  if (size === 1) cpu.regs8[0] = v;
  else if (size === 2) cpu.regs16[0] = v;
  else cpu.regs[0] = v;
}

/**
 * After a completed iteration of a repeated instruction with `remaining` iterations left: returns true
 * if the next iteration may run now (as a new step), else parks EIP on the instruction.
 */
function continueRep(cpu: CPU, remaining: number): boolean {
  if (remaining === 0) return false;
  if (cpu.steps + 1 >= cpu.stepLimit || (cpu.irqPending && (cpu.flags & IF) !== 0)) {
    cpu.eip = cpu.instrEip;
    return false;
  }
  cpu.steps++;
  return true;
}

/** Decrements the count register; returns the new count. */
function decCount(cpu: CPU): number {
  if (cpu.a32) return (cpu.regs[ECX] = (cpu.regs[ECX] - 1) | 0);
  return (cpu.regs16[ECX << 1] = cpu.regs16[ECX << 1] - 1);
}

function srcSeg(cpu: CPU): number {
  return cpu.segOverride >= 0 ? cpu.segOverride : DS;
}

export function movs(cpu: CPU, size: number): void {
  const delta = (cpu.flags & DF) !== 0 ? -size : size;
  const seg = srcSeg(cpu);
  const rep = cpu.repPrefix !== 0;
  if (rep && getIndex(cpu, ECX) === 0) return;
  do {
    const v = readSized(cpu, seg, getIndex(cpu, ESI), size);
    writeSized(cpu, ES, getIndex(cpu, EDI), size, v);
    addIndex(cpu, ESI, delta);
    addIndex(cpu, EDI, delta);
  } while (rep && continueRep(cpu, decCount(cpu)));
}

export function stos(cpu: CPU, size: number): void {
  const delta = (cpu.flags & DF) !== 0 ? -size : size;
  const rep = cpu.repPrefix !== 0;
  if (rep && getIndex(cpu, ECX) === 0) return;
  const v = getAcc(cpu, size);
  do {
    writeSized(cpu, ES, getIndex(cpu, EDI), size, v);
    addIndex(cpu, EDI, delta);
  } while (rep && continueRep(cpu, decCount(cpu)));
}

export function lods(cpu: CPU, size: number): void {
  const delta = (cpu.flags & DF) !== 0 ? -size : size;
  const seg = srcSeg(cpu);
  const rep = cpu.repPrefix !== 0;
  if (rep && getIndex(cpu, ECX) === 0) return;
  do {
    setAcc(cpu, size, readSized(cpu, seg, getIndex(cpu, ESI), size));
    addIndex(cpu, ESI, delta);
  } while (rep && continueRep(cpu, decCount(cpu)));
}

/** REPE continues while ZF is set, REPNE while it is clear. */
function repCondition(cpu: CPU): boolean {
  const zf = cpu.getZF();
  return cpu.repPrefix === 1 ? zf : !zf;
}

export function cmps(cpu: CPU, size: number): void {
  const delta = (cpu.flags & DF) !== 0 ? -size : size;
  const seg = srcSeg(cpu);
  const rep = cpu.repPrefix !== 0;
  if (rep && getIndex(cpu, ECX) === 0) return;
  for (;;) {
    const a = readSized(cpu, seg, getIndex(cpu, ESI), size);
    const b = readSized(cpu, ES, getIndex(cpu, EDI), size);
    alu(cpu, 7, a, b, SIZE_CODE[size]);
    addIndex(cpu, ESI, delta);
    addIndex(cpu, EDI, delta);
    if (!rep) return;
    const left = decCount(cpu);
    if (!repCondition(cpu)) return;
    if (!continueRep(cpu, left)) return;
  }
}

export function scas(cpu: CPU, size: number): void {
  const delta = (cpu.flags & DF) !== 0 ? -size : size;
  const rep = cpu.repPrefix !== 0;
  if (rep && getIndex(cpu, ECX) === 0) return;
  const a = getAcc(cpu, size);
  for (;;) {
    const b = readSized(cpu, ES, getIndex(cpu, EDI), size);
    alu(cpu, 7, a, b, SIZE_CODE[size]);
    addIndex(cpu, EDI, delta);
    if (!rep) return;
    const left = decCount(cpu);
    if (!repCondition(cpu)) return;
    if (!continueRep(cpu, left)) return;
  }
}

export function ins(cpu: CPU, size: number): void {
  const delta = (cpu.flags & DF) !== 0 ? -size : size;
  const rep = cpu.repPrefix !== 0;
  if (rep && getIndex(cpu, ECX) === 0) return;
  const port = cpu.regs16[EDX << 1];
  do {
    // The destination is checked before the port is read, so a fault does not lose the input.
    cpu.prepareWrite(ES, getIndex(cpu, EDI), size);
    const v = portIn(cpu, port, size as AccessSize);
    writeSized(cpu, ES, getIndex(cpu, EDI), size, v);
    addIndex(cpu, EDI, delta);
  } while (rep && continueRep(cpu, decCount(cpu)));
}

export function outs(cpu: CPU, size: number): void {
  const delta = (cpu.flags & DF) !== 0 ? -size : size;
  const seg = srcSeg(cpu);
  const rep = cpu.repPrefix !== 0;
  if (rep && getIndex(cpu, ECX) === 0) return;
  const port = cpu.regs16[EDX << 1];
  do {
    portOut(cpu, port, size as AccessSize, readSized(cpu, seg, getIndex(cpu, ESI), size));
    addIndex(cpu, ESI, delta);
  } while (rep && continueRep(cpu, decCount(cpu)));
}


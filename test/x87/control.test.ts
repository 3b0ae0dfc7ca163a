/**
 * x87 control behaviour: Linux's decompressor FPU probe and seL4's FPU initialisation, the #NM rules
 * of CR0.EM/MP/TS, pending unmasked exceptions (#MF with CR0.NE, FERR# without), a faulting store that
 * leaves the FPU unchanged, and the FNSTENV/FLDENV and FNSAVE/FRSTOR round trips.
 */
import { describe, expect, it } from "vitest";
import { createMachine } from "../cpu/harness.js";
import { StepKind } from "../../src/cpu/observer.js";
import { CR0_EM, CR0_MP, CR0_NE, CR0_TS, DS, EBX, ESP } from "../../src/cpu/constants.js";

const CODE = 0x10000, DATA = 0x20000;

function machineWith(code: number[], cr0Extra = 0) {
  const m = createMachine(1 << 20, { compile: false });
  m.mem.u8.set(code, CODE);
  m.cpu.eip = CODE;
  m.cpu.regs[EBX] = DATA;
  m.cpu.regs[ESP] = 0x8000;
  m.cpu.cr0 |= cr0Extra;
  return m;
}

/** Steps until EIP reaches `end` (or a fault); returns the fault vector or -1. */
function runTo(m: ReturnType<typeof machineWith>, end: number): number {
  for (let n = 0; n < 100 && m.cpu.eip !== end; n++) {
    if (m.cpu.step() === StepKind.Fault) return m.cpu.pendingExceptionState()![0];
  }
  return -1;
}

const word = (m: ReturnType<typeof machineWith>, a: number) => m.mem.u8[a] | (m.mem.u8[a + 1] << 8);

describe("x87 control", () => {
  it("passes Linux's FPU probe (fninit; fnstsw; fnstcw)", () => {
    // fninit; movw $0xffff,(%ebx) ... the probe writes over known garbage.
    const code = [0xdb, 0xe3, 0xdd, 0x3b, 0xd9, 0x7b, 0x02];
    const m = machineWith(code);
    m.mem.u8.fill(0xff, DATA, DATA + 4);
    m.cpu.fpu.fcw = 0x1234;
    m.cpu.fpu.fsw = 0x00ff;
    expect(runTo(m, CODE + code.length)).toBe(-1);
    expect(word(m, DATA)).toBe(0);
    expect(word(m, DATA + 2) & 0x103f).toBe(0x003f);
    expect(word(m, DATA + 2)).toBe(0x037f);
  });

  it("runs seL4's FPU initialisation (finit, fldcw) with CR0.NE and MP", () => {
    // finit (fwait; fninit); fldcw (%ebx); fnstcw 2(%ebx); fwait
    const code = [0x9b, 0xdb, 0xe3, 0xd9, 0x2b, 0xd9, 0x7b, 0x02, 0x9b];
    const m = machineWith(code, CR0_NE | CR0_MP);
    m.mem.u8.set([0x7f, 0x03], DATA);
    expect(runTo(m, CODE + code.length)).toBe(-1);
    expect(word(m, DATA + 2)).toBe(0x037f);
  });

  it("raises #NM for every x87 instruction under CR0.EM or CR0.TS, and for WAIT only with MP and TS", () => {
    expect(runTo(machineWith([0xd9, 0xe8], CR0_EM), CODE + 2)).toBe(7);
    expect(runTo(machineWith([0xdb, 0xe3], CR0_TS), CODE + 2)).toBe(7);
    expect(runTo(machineWith([0x9b], CR0_TS), CODE + 1)).toBe(-1);
    expect(runTo(machineWith([0x9b], CR0_EM), CODE + 1)).toBe(-1);
    expect(runTo(machineWith([0x9b], CR0_TS | CR0_MP), CODE + 1)).toBe(7);
  });

  it("signals an unmasked exception at the next waiting instruction: #MF with CR0.NE, FERR# without", () => {
    // fldcw (%ebx) [ZE unmasked]; fldz; fld1; fdiv %st(1),%st; fnop (waiting) ; fnstsw 4(%ebx)
    const code = [0xd9, 0x2b, 0xd9, 0xee, 0xd9, 0xe8, 0xd8, 0xf1, 0xd9, 0xd0];
    const ne = machineWith(code, CR0_NE);
    ne.mem.u8.set([0x7b, 0x03], DATA);
    expect(runTo(ne, CODE + code.length)).toBe(16);
    expect(ne.cpu.eip).toBe(CODE + 8); // the FNOP, not the FDIV
    expect(ne.cpu.fpu.statusWord() & 0x8084).toBe(0x8084); // B, ES, ZE
    const legacy = machineWith(code);
    legacy.mem.u8.set([0x7b, 0x03], DATA);
    const lines: boolean[] = [];
    legacy.cpu.fpuError = (a) => lines.push(a);
    expect(runTo(legacy, CODE + code.length)).toBe(-1);
    expect(lines).toEqual([true]);
  });

  it("leaves the FPU unchanged when a store faults", () => {
    // fld1; fstpt (%ebx) with DS limited below DATA: #GP, ST0 still 1.0 and TOP as it was.
    const code = [0xd9, 0xe8, 0xdb, 0x3b];
    const m = machineWith(code);
    const c = m.cpu;
    c.setSegmentCache(DS, c.segSel[DS], 0, DATA + 4, c.segAttr[DS]);
    expect(runTo(m, CODE + 4)).toBe(13);
    expect(c.eip).toBe(CODE + 2);
    expect(c.fpu.top).toBe(7);
    expect(c.fpu.ftw).toBe(0x3fff);
    expect(c.fpu.signExp[7]).toBe(0x3fff);
    expect(m.mem.u8[DATA]).toBe(0);
  });

  it("round-trips FNSTENV/FLDENV and FNSAVE/FRSTOR", () => {
    // fldpi; fld1; fnsave (%ebx); frstor (%ebx); fnstenv 0x80(%ebx); fldenv 0x80(%ebx)
    const code = [0xd9, 0xeb, 0xd9, 0xe8, 0xdd, 0x33, 0xdd, 0x23, 0xd9, 0x73, 0x40, 0xd9, 0x63, 0x40];
    const m = machineWith(code);
    expect(runTo(m, CODE + 4)).toBe(-1);
    const before = m.cpu.fpu.save();
    expect(runTo(m, CODE + 6)).toBe(-1);
    expect(m.cpu.fpu.top).toBe(0); // FNSAVE reinitialised the unit
    expect(runTo(m, CODE + code.length)).toBe(-1);
    const after = m.cpu.fpu.save();
    expect(after.st).toEqual(before.st);
    expect(after.top).toBe(6);
    expect(after.ftw).toBe(before.ftw);
    expect(after.fcw).toBe(0x037f);
    // The saved registers in ST order: ST0 = 1.0, ST1 = pi.
    expect(word(m, DATA + 28 + 8)).toBe(0x3fff);
    expect(word(m, DATA + 38 + 8)).toBe(0x4000);
  });
});

/**
 * Interrupt and exception delivery in protected mode: interrupt and trap gates from ring 3 (TSS stack
 * switch) and from ring 0 (same stack), external interrupts and the STI/HLT interplay, every IRET path
 * (same privilege, to ring 3, 16-bit, and each check with its error code, including the seL4 idle-thread
 * #GP(0x200)), exception error codes, fault vs trap return addresses, double and triple faults.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { CpuStop } from "../../src/cpu/cpu.js";
import { StepKind } from "../../src/cpu/observer.js";
import type { InterruptSource } from "../../src/machine/bus.js";
import {
  ACC_CODE3, CODE, CS, DATA, DS, ES, F, FLAGS_4K_32, FS, GS, KSTACK_TOP, SS, TSS, USTACK_TOP, RecordingObserver, attachObserver, expectException,
  flatMachine, gateDesc, handlerAddr, loadCode, rd32, reg, segDesc, setGdt, setIdt, setRegs, stackWord, wr32, wr16, poke,
  type TestMachine,
} from "./harness.js";

/** An interrupt controller with a queue of vectors. */
class FakePic implements InterruptSource {
  queue: number[] = [];
  hasInterrupt(): boolean {
    return this.queue.length > 0;
  }
  acknowledge(): number {
    return this.queue.shift()!;
  }
}

let m: TestMachine;
beforeEach(() => {
  m = flatMachine();
  setRegs(m, { esp: KSTACK_TOP });
});

function raise(pic: FakePic, vector: number): void {
  pic.queue.push(vector);
  m.cpu.irqPending = true;
}

describe("software interrupts and gates", () => {
  it("int 0x80 from ring 3 through an interrupt gate: TSS stack switch, 5-word frame, IF cleared", () => {
    m = flatMachine({ ring3: true });
    m.cpu.setEflags(0x2 | F.IF | F.CF);
    loadCode(m, [0xcd, 0x80]); // int 0x80
    expect(m.cpu.step()).toBe(StepKind.Instruction); // INT n retires with its delivery
    expect(m.cpu.cpl).toBe(0);
    expect([m.cpu.segSel[CS], m.cpu.segSel[SS], m.cpu.eip >>> 0]).toEqual([0x08, 0x10, handlerAddr(0x80)]);
    expect(reg(m, "esp")).toBe(KSTACK_TOP - 20);
    // EIP (after the INT), CS, EFLAGS, ESP, SS
    expect([0, 1, 2, 3, 4].map((i) => stackWord(m, i))).toEqual([CODE + 2, 0x1b, 0x2 | F.IF | F.CF, USTACK_TOP, 0x23]);
    expect(m.cpu.getEflags() & F.IF).toBe(0);
    // Data segment registers are not touched by the entry.
    expect([m.cpu.segSel[DS], m.cpu.segSel[ES]]).toEqual([0x23, 0x23]);
  });
  it("a trap gate keeps IF; TF and NT are cleared", () => {
    m = flatMachine({ ring3: true, gateType: 0xf });
    m.cpu.setEflags(0x2 | F.IF | 0x4000);
    loadCode(m, [0xcd, 0x30]);
    m.cpu.step();
    expect(m.cpu.getEflags() & (F.IF | 0x4000 | F.TF)).toBe(F.IF);
    expect(stackWord(m, 2)).toBe(0x2 | F.IF | 0x4000);
  });
  it("ring 0 to ring 0: no stack switch, 3-word frame on the current stack", () => {
    m.cpu.setEflags(0x2 | F.IF);
    setRegs(m, { esp: 0x9000 });
    loadCode(m, [0xcd, 0x40]);
    m.cpu.step();
    expect(reg(m, "esp")).toBe(0x9000 - 12);
    expect([stackWord(m, 0), stackWord(m, 1), stackWord(m, 2)]).toEqual([CODE + 2, 0x08, 0x2 | F.IF]);
    expect(m.cpu.segSel[SS]).toBe(0x10);
  });
  it("int n to a gate with DPL < CPL: #GP(vector*8 + 2)", () => {
    m = flatMachine({ ring3: true, gateDpl: 0 });
    loadCode(m, [0xcd, 0x80]);
    expect(expectException(m)).toEqual({ vector: 13, error: 0x80 * 8 + 2 });
    expect(stackWord(m, 1)).toBe(CODE); // #GP is a fault: the INT itself
  });
  it("a not-present gate: #NP(vector*8 + 2)", () => {
    setIdt(m, 0x41, gateDesc(0x08, handlerAddr(0x41), 0xe, 3, false));
    loadCode(m, [0xcd, 0x41]);
    expect(expectException(m)).toEqual({ vector: 11, error: 0x41 * 8 + 2 });
  });
  it("a vector beyond the IDT limit: #GP(vector*8 + 2)", () => {
    m.cpu.idtLimit = 0x50 * 8 - 1;
    loadCode(m, [0xcd, 0x60]);
    expect(expectException(m)).toEqual({ vector: 13, error: 0x60 * 8 + 2 });
  });
  it("a gate of an invalid type: #GP(vector*8 + 2)", () => {
    setIdt(m, 0x42, gateDesc(0x08, handlerAddr(0x42), 0xc, 3)); // a call gate type in the IDT
    loadCode(m, [0xcd, 0x42]);
    expect(expectException(m)).toEqual({ vector: 13, error: 0x42 * 8 + 2 });
  });
  it("a 16-bit interrupt gate pushes words", () => {
    setIdt(m, 0x43, gateDesc(0x08, handlerAddr(0x43), 0x6, 3));
    m.cpu.setEflags(0x2 | F.CF);
    loadCode(m, [0xcd, 0x43]);
    m.cpu.step();
    expect(reg(m, "esp")).toBe(KSTACK_TOP - 6);
    expect(rd32(m, KSTACK_TOP - 6) >>> 0).toBe((((0x08 << 16) | ((CODE + 2) & 0xffff)) >>> 0));
    expect(m.mem.read(KSTACK_TOP - 2, 2)).toBe(0x2 | F.CF);
  });
  it("a bad SS0 in the TSS: #TS(SS0 selector) with EXT clear for INT n", () => {
    m = flatMachine({ ring3: true });
    wr32(m, TSS + 8, 0x1b); // a code segment as SS0
    loadCode(m, [0xcd, 0x80]);
    // The #TS is delivered through the same broken TSS, so it escalates; look at the first fault only.
    expect(m.cpu.step()).toBe(StepKind.Fault);
    expect([m.cpu.faultVector, m.cpu.faultError]).toEqual([10, 0x18]);
  });
  it("the gate's target code segment must not be less privileged: #GP(selector)", () => {
    setIdt(m, 0x44, gateDesc(0x1b, handlerAddr(0x44), 0xe, 3));
    loadCode(m, [0xcd, 0x44]);
    expect(expectException(m)).toEqual({ vector: 13, error: 0x18 });
  });
  it("the observer sees a software interrupt with its CPLs", () => {
    m = flatMachine({ ring3: true });
    const obs = new RecordingObserver();
    attachObserver(m, obs);
    loadCode(m, [0xcd, 0x80]);
    m.cpu.step();
    expect(obs.events).toEqual([{ kind: StepKind.SoftwareInterrupt, step: obs.events[0].step, vector: 0x80, errorCode: -1, eip: CODE + 2, cplBefore: 3, cplAfter: 0 }]);
    // The frame writes are the CPU's own (WriteCause.InterruptFrame), SS first; the accessed bits of the
    // new SS and CS descriptors (clear in this GDT) are set as descriptor writes.
    expect(obs.writes.filter((w) => w.cause === 1).map((w) => [w.linear, w.value >>> 0])).toEqual([
      [KSTACK_TOP - 4, 0x23], [KSTACK_TOP - 8, USTACK_TOP], [KSTACK_TOP - 12, 0x2], [KSTACK_TOP - 16, 0x1b], [KSTACK_TOP - 20, CODE + 2],
    ]);
    expect(obs.writes.filter((w) => w.cause === 3).map((w) => w.linear).sort()).toEqual([0x1000 + 0x08 + 4, 0x1000 + 0x10 + 4]);
    expect(obs.writes.length).toBe(7);
  });
});

describe("external interrupts", () => {
  it("delivered at an instruction boundary when IF=1, with the next EIP pushed", () => {
    const pic = new FakePic();
    m.cpu.interrupts = pic;
    m.cpu.setEflags(0x2 | F.IF);
    loadCode(m, [0x90, 0x90]);
    m.cpu.step();
    raise(pic, 0x9d);
    expect(m.cpu.step()).toBe(StepKind.Interrupt);
    expect(m.cpu.eip >>> 0).toBe(handlerAddr(0x9d));
    expect([stackWord(m, 0), stackWord(m, 1), stackWord(m, 2)]).toEqual([CODE + 1, 0x08, 0x2 | F.IF]);
    expect(m.cpu.irqPending).toBe(false);
  });
  it("held while IF=0", () => {
    const pic = new FakePic();
    m.cpu.interrupts = pic;
    m.cpu.setEflags(0x2);
    loadCode(m, [0x90, 0x90]);
    raise(pic, 0x20);
    expect(m.cpu.step()).toBe(StepKind.Instruction);
    expect(m.cpu.eip >>> 0).toBe(CODE + 1);
  });
  it("STI delays delivery until after the next instruction", () => {
    const pic = new FakePic();
    m.cpu.interrupts = pic;
    m.cpu.setEflags(0x2);
    loadCode(m, [0xfb, 0x90, 0x90]); // sti; nop; nop
    raise(pic, 0x20);
    expect(m.cpu.step()).toBe(StepKind.Instruction); // sti
    expect(m.cpu.step()).toBe(StepKind.Instruction); // nop in the shadow
    expect(m.cpu.step()).toBe(StepKind.Interrupt);
    expect(stackWord(m, 0)).toBe(CODE + 2);
  });
  it("HLT waits; an interrupt wakes it and returns after the HLT", () => {
    const pic = new FakePic();
    m.cpu.interrupts = pic;
    m.cpu.setEflags(0x2 | F.IF);
    loadCode(m, [0xf4, 0x90]); // hlt; nop
    m.cpu.step();
    expect(m.cpu.halted).toBe(true);
    const steps = m.cpu.steps;
    m.cpu.step();
    expect([m.cpu.halted, m.cpu.steps, m.cpu.eip >>> 0]).toEqual([true, steps, CODE + 1]);
    raise(pic, 0x30);
    expect(m.cpu.step()).toBe(StepKind.Interrupt);
    expect(m.cpu.halted).toBe(false);
    expect(stackWord(m, 0)).toBe(CODE + 1);
  });
  it("run() stops at HLT with halted set and EIP after the HLT", () => {
    loadCode(m, [0x90, 0xf4, 0x90]);
    m.cpu.run(m.cpu.steps + 100);
    expect(m.cpu.halted).toBe(true);
    expect(m.cpu.eip >>> 0).toBe(CODE + 2);
  });
  it("an external interrupt from ring 3 switches stacks", () => {
    m = flatMachine({ ring3: true });
    const pic = new FakePic();
    m.cpu.interrupts = pic;
    m.cpu.setEflags(0x2 | F.IF);
    loadCode(m, [0x90, 0x90]);
    raise(pic, 0x21);
    expect(m.cpu.step()).toBe(StepKind.Interrupt);
    expect([m.cpu.cpl, reg(m, "esp")]).toEqual([0, KSTACK_TOP - 20]);
    expect(stackWord(m, 0)).toBe(CODE);
  });
  it("an external interrupt through a DPL-0 gate from ring 3 is allowed (no DPL check for hardware)", () => {
    m = flatMachine({ ring3: true, gateDpl: 0 });
    const pic = new FakePic();
    m.cpu.interrupts = pic;
    m.cpu.setEflags(0x2 | F.IF);
    loadCode(m, [0x90]);
    raise(pic, 0x22);
    expect(m.cpu.step()).toBe(StepKind.Interrupt);
    expect(m.cpu.eip >>> 0).toBe(handlerAddr(0x22));
  });
});

describe("exceptions: error codes and return addresses", () => {
  it("#UD (ud2): no error code, EIP of the instruction", () => {
    loadCode(m, [0x0f, 0x0b]);
    expect(expectException(m).vector).toBe(6);
    expect(reg(m, "esp")).toBe(KSTACK_TOP - 12);
    expect(stackWord(m, 0)).toBe(CODE);
  });
  it("#BP (int3) is a trap: EIP after the instruction", () => {
    loadCode(m, [0x90, 0xcc, 0x90]);
    m.cpu.step();
    m.cpu.step();
    expect(m.cpu.eip >>> 0).toBe(handlerAddr(3));
    expect(stackWord(m, 0)).toBe(CODE + 2);
  });
  it("#OF (into with OF=1) is a trap; into with OF=0 does nothing", () => {
    m.cpu.setEflags(0x2);
    loadCode(m, [0xce, 0xce]);
    m.cpu.step();
    expect(m.cpu.eip >>> 0).toBe(CODE + 1);
    m.cpu.setEflags(0x2 | F.OF);
    m.cpu.step();
    expect(m.cpu.eip >>> 0).toBe(handlerAddr(4));
    expect(stackWord(m, 0)).toBe(CODE + 2);
  });
  it("#BR (bound) is a fault", () => {
    wr32(m, DATA, 10);
    wr32(m, DATA + 4, 20);
    setRegs(m, { eax: 21, esi: DATA });
    loadCode(m, [0x62, 0x06]); // bound eax, [esi]
    expect(expectException(m).vector).toBe(5);
    expect(stackWord(m, 0)).toBe(CODE);
    setRegs(m, { eax: 20, esp: KSTACK_TOP });
    loadCode(m, [0x62, 0x06, 0x90]);
    m.cpu.step();
    expect(m.cpu.eip >>> 0).toBe(CODE + 2);
  });
  it("#DB from ICEBP (f1) is a trap", () => {
    loadCode(m, [0xf1]);
    m.cpu.step();
    expect(m.cpu.eip >>> 0).toBe(handlerAddr(1));
    expect(stackWord(m, 0)).toBe(CODE + 1);
  });
  it("#GP(0) from HLT in ring 3 carries an error code and the faulting EIP; the frame is on the ring-0 stack", () => {
    m = flatMachine({ ring3: true });
    loadCode(m, [0xf4]);
    expect(expectException(m)).toEqual({ vector: 13, error: 0 });
    expect([0, 1, 2, 3, 4, 5].map((i) => stackWord(m, i))).toEqual([0, CODE, 0x1b, 0x2, USTACK_TOP, 0x23]);
    expect(reg(m, "esp")).toBe(KSTACK_TOP - 24);
  });
  it("the observer sees the fault step and then the exception with its error code", () => {
    const obs = new RecordingObserver();
    m.cpu.observer = obs;
    setRegs(m, { eax: 0x103 });
    loadCode(m, [0x8e, 0xd8]);
    expectException(m);
    expect(obs.events.map((e) => [e.kind, e.vector, e.errorCode, e.eip])).toEqual([
      [StepKind.Fault, 13, 0x100, CODE],
      [StepKind.Exception, 13, 0x100, CODE],
    ]);
    expect(obs.events[1].step).toBe(obs.events[0].step + 1);
  });
});

describe("double and triple faults", () => {
  it("#GP whose gate is not present raises #NP during delivery: contributory pair gives #DF(0)", () => {
    setIdt(m, 13, gateDesc(0x08, handlerAddr(13), 0xe, 0, false));
    setRegs(m, { eax: 0x103 });
    loadCode(m, [0x8e, 0xd8]); // mov ds, ax -> #GP(0x100)
    expect(m.cpu.step()).toBe(StepKind.Fault);
    expect(m.cpu.step()).toBe(StepKind.Exception);
    expect(m.cpu.eip >>> 0).toBe(handlerAddr(8));
    expect(stackWord(m, 0)).toBe(0); // #DF's error code is zero
    expect(stackWord(m, 2)).toBe(0x08);
  });
  it("a benign exception followed by a contributory one is delivered serially (#UD then #NP)", () => {
    setIdt(m, 6, gateDesc(0x08, handlerAddr(6), 0xe, 0, false));
    loadCode(m, [0x0f, 0x0b]);
    m.cpu.step();
    m.cpu.step();
    expect(m.cpu.eip >>> 0).toBe(handlerAddr(11));
    expect(stackWord(m, 0)).toBe(6 * 8 + 2 + 1); // EXT set: the CPU raised it while delivering an exception
  });
  it("#PF while reading the #PF gate gives #DF (CR2 names the second fault's address)", () => {
    m = flatMachine({ paging: true });
    setRegs(m, { esp: KSTACK_TOP });
    // An IDT placed so that gate 8 lies in a mapped page and gate 14 in the next, unmapped one.
    const base = 0x50000 - 0x50;
    m.cpu.idtBase = base;
    wr32(m, base + 8 * 8, gateDesc(0x08, handlerAddr(8), 0xe, 0)[0]);
    wr32(m, base + 8 * 8 + 4, gateDesc(0x08, handlerAddr(8), 0xe, 0)[1]);
    unmap(0x50000);
    unmap(0x3ff000);
    setRegs(m, { eax: 0x3ff000 });
    loadCode(m, [0x8b, 0x00]); // mov eax, [eax] -> #PF(0) at 0x3ff000
    expect(m.cpu.step()).toBe(StepKind.Fault);
    expect([m.cpu.faultVector, m.cpu.faultError, m.cpu.cr2 >>> 0]).toEqual([14, 0, 0x3ff000]);
    expect(m.cpu.step()).toBe(StepKind.Exception);
    expect(m.cpu.eip >>> 0).toBe(handlerAddr(8));
    expect(stackWord(m, 0)).toBe(0);
    expect(m.cpu.cr2 >>> 0).toBe(base + 14 * 8);
  });
  it("a kernel stack that is not mapped: #PF, #PF pushing its frame (#DF), #PF pushing that: triple fault", () => {
    m = flatMachine({ paging: true });
    setRegs(m, { esp: KSTACK_TOP, eax: 0x3ff000 });
    unmap(KSTACK_TOP - 4);
    unmap(0x3ff000);
    loadCode(m, [0x8b, 0x00]); // mov eax, [eax]
    expect(m.cpu.step()).toBe(StepKind.Fault);
    m.cpu.step();
    expect(m.cpu.stopReason).toBe(CpuStop.TripleFault);
  });
  it("triple fault from step(): #GP, gate 13 not present (#NP -> #DF), gate 8 not present", () => {
    setIdt(m, 13, gateDesc(0x08, handlerAddr(13), 0xe, 0, false));
    setIdt(m, 8, gateDesc(0x08, handlerAddr(8), 0xe, 0, false));
    setRegs(m, { eax: 0x103 });
    loadCode(m, [0x8e, 0xd8]);
    expect(m.cpu.step()).toBe(StepKind.Fault);
    m.cpu.step();
    expect(m.cpu.stopReason).toBe(CpuStop.TripleFault);
    expect(m.cpu.tripleFaultReason).toMatch(/double fault/);
  });
  it("triple fault from run(): the CPU stops cleanly with stopReason TripleFault", () => {
    setIdt(m, 13, gateDesc(0x08, handlerAddr(13), 0xe, 0, false));
    setIdt(m, 8, gateDesc(0x08, handlerAddr(8), 0xe, 0, false));
    setRegs(m, { eax: 0x103 });
    loadCode(m, [0x90, 0x8e, 0xd8]);
    expect(() => m.cpu.run(m.cpu.steps + 100)).not.toThrow();
    expect(m.cpu.stopReason).toBe(CpuStop.TripleFault);
  });

  /** Clears the identity PTE of `lin` and flushes the TLB. */
  function unmap(lin: number): void {
    wr32(m, 0x6000 + (lin >>> 12) * 4, 0);
    m.cpu.mmu.flush(false);
  }
});

describe("IRET", () => {
  function frame(values: number[], at = KSTACK_TOP - values.length * 4): void {
    values.forEach((v, i) => wr32(m, at + i * 4, v));
    setRegs(m, { esp: at });
  }
  it("same privilege: pops EIP, CS, EFLAGS", () => {
    frame([CODE + 0x40, 0x08, 0x2 | F.CF | F.IF]);
    loadCode(m, [0xcf]);
    m.cpu.step();
    expect([m.cpu.eip >>> 0, m.cpu.segSel[CS], reg(m, "esp")]).toEqual([CODE + 0x40, 0x08, KSTACK_TOP]);
    expect(m.cpu.getEflags()).toBe(0x2 | F.CF | F.IF);
  });
  it("o16 iret pops words", () => {
    wr16(m, KSTACK_TOP - 6, 0x1234);
    wr16(m, KSTACK_TOP - 4, 0x08);
    wr16(m, KSTACK_TOP - 2, 0x2 | F.ZF);
    setRegs(m, { esp: KSTACK_TOP - 6 });
    loadCode(m, [0x66, 0xcf]);
    m.cpu.step();
    expect([m.cpu.eip >>> 0, reg(m, "esp")]).toEqual([0x1234, KSTACK_TOP]);
    expect(m.cpu.getEflags() & F.ZF).toBe(F.ZF);
  });
  it("to ring 3: pops ESP and SS too, CPL 3, ring-0 data segments nulled, IOPL settable from ring 0", () => {
    frame([CODE + 0x50, 0x1b, 0x2 | F.IF | 0x3000, 0x30000, 0x23]);
    loadCode(m, [0xcf]);
    m.cpu.step();
    expect(m.cpu.cpl).toBe(3);
    expect([m.cpu.eip >>> 0, m.cpu.segSel[CS], reg(m, "esp"), m.cpu.segSel[SS]]).toEqual([CODE + 0x50, 0x1b, 0x30000, 0x23]);
    expect(m.cpu.getEflags()).toBe(0x2 | F.IF | 0x3000);
    expect([m.cpu.segSel[DS], m.cpu.segSel[ES], m.cpu.segSel[FS], m.cpu.segSel[GS]]).toEqual([0, 0, 0, 0]);
  });
  it("at CPL 3 with IOPL 0, IRET cannot change IF or IOPL", () => {
    m = flatMachine({ ring3: true });
    m.cpu.setEflags(0x2);
    frame([CODE + 0x10, 0x1b, 0x2 | F.IF | 0x3000 | F.CF], 0x30000 - 12);
    loadCode(m, [0xcf]);
    m.cpu.step();
    expect(m.cpu.getEflags()).toBe(0x2 | F.CF);
  });
  it("the seL4 idle-thread bug: IRET popping CS = 0x202 with a GDT limit of 63 raises #GP(0x200)", () => {
    m = flatMachine({ gdtLimit: 63 });
    // The misplaced frame: EIP = 0x8 (the saved CS), CS = 0x202 (the saved EFLAGS), EFLAGS = 0 (EBP).
    const regsArea = 0x9000;
    frame([0x8, 0x202, 0x0, 0x0, 0x10, 0x0, 0x0, 0x7], regsArea);
    loadCode(m, [0xcf]); // iret
    const { vector, error } = expectException(m);
    expect([vector, error]).toEqual([13, 0x200]);
    expect(m.cpu.eip >>> 0).toBe(handlerAddr(13));
    // The #GP is raised in ring 0 with ESP still at the frame: the handler's stack holds the #GP frame
    // (error, EIP of the iret, CS, EFLAGS) and then the words the dump showed: 0x8, 0x202, 0x0, ...
    expect([0, 1, 2].map((i) => stackWord(m, i))).toEqual([0x200, CODE, 0x08]);
    expect([4, 5, 6, 7, 8, 9, 10, 11].map((i) => stackWord(m, i))).toEqual([0x8, 0x202, 0x0, 0x0, 0x10, 0x0, 0x0, 0x7]);
    expect(reg(m, "esp")).toBe(regsArea - 16);
  });
  it("null CS: #GP(0)", () => {
    frame([CODE, 0x0, 0x2]);
    loadCode(m, [0xcf]);
    expect(expectException(m)).toEqual({ vector: 13, error: 0 });
  });
  it("CS is a data segment: #GP(selector)", () => {
    frame([CODE, 0x10, 0x2]);
    loadCode(m, [0xcf]);
    expect(expectException(m)).toEqual({ vector: 13, error: 0x10 });
  });
  it("CS RPL < CPL: #GP(selector)", () => {
    m = flatMachine({ ring3: true });
    frame([CODE, 0x08, 0x2], 0x30000 - 12);
    loadCode(m, [0xcf]);
    expect(expectException(m)).toEqual({ vector: 13, error: 0x08 });
  });
  it("non-conforming CS with DPL != RPL: #GP(selector)", () => {
    setGdt(m, 6, segDesc(0, 0xfffff, ACC_CODE3, FLAGS_4K_32));
    frame([CODE, 0x30, 0x2]); // RPL 0, DPL 3
    loadCode(m, [0xcf]);
    expect(expectException(m)).toEqual({ vector: 13, error: 0x30 });
  });
  it("CS not present: #NP(selector)", () => {
    setGdt(m, 6, segDesc(0, 0xfffff, 0x1a, FLAGS_4K_32)); // code, DPL 0, not present
    frame([CODE, 0x30, 0x2]);
    loadCode(m, [0xcf]);
    expect(expectException(m)).toEqual({ vector: 11, error: 0x30 });
  });
  it("EIP beyond the CS limit: #GP(0)", () => {
    setGdt(m, 6, segDesc(0, 0xfff, 0x9a, 0x4));
    frame([0x1000, 0x30, 0x2]);
    loadCode(m, [0xcf]);
    expect(expectException(m)).toEqual({ vector: 13, error: 0 });
  });
  it("to ring 3 with SS RPL != CS RPL: #GP(SS selector); with a ring-0 SS: #GP(SS selector); null SS: #GP(0)", () => {
    frame([CODE, 0x1b, 0x2, 0x30000, 0x20]);
    loadCode(m, [0xcf]);
    expect(expectException(m)).toEqual({ vector: 13, error: 0x20 });
    frame([CODE, 0x1b, 0x2, 0x30000, 0x13]);
    loadCode(m, [0xcf]);
    expect(expectException(m)).toEqual({ vector: 13, error: 0x10 });
    frame([CODE, 0x1b, 0x2, 0x30000, 0x3]);
    loadCode(m, [0xcf]);
    expect(expectException(m)).toEqual({ vector: 13, error: 0 });
  });
  it("to ring 3 with a not-present SS: #SS(selector)", () => {
    setGdt(m, 6, segDesc(0, 0xfffff, 0x72, FLAGS_4K_32)); // data, DPL 3, not present
    frame([CODE, 0x1b, 0x2, 0x30000, 0x33]);
    loadCode(m, [0xcf]);
    expect(expectException(m)).toEqual({ vector: 12, error: 0x30 });
  });
  it("a full round trip: int 0x80 from ring 3, iret back", () => {
    m = flatMachine({ ring3: true });
    poke(m, handlerAddr(0x80), [0xcf]); // the handler is just iret
    m.cpu.setEflags(0x2 | F.IF | F.SF);
    setRegs(m, { eax: 7 });
    loadCode(m, [0xcd, 0x80, 0x90]);
    m.cpu.step();
    m.cpu.step();
    expect([m.cpu.cpl, m.cpu.eip >>> 0, reg(m, "esp"), m.cpu.segSel[SS], m.cpu.segSel[CS]]).toEqual([3, CODE + 2, USTACK_TOP, 0x23, 0x1b]);
    expect(m.cpu.getEflags()).toBe(0x2 | F.IF | F.SF);
    // DS/ES still hold the ring-3 selectors: they are DPL 3 so IRET leaves them.
    expect([m.cpu.segSel[DS], m.cpu.segSel[ES]]).toEqual([0x23, 0x23]);
  });
});

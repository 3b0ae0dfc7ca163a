// EFLAGS.TF: after each instruction that began with TF set, a #DB trap (vector 1, DR6.BS) is delivered
// as a step of its own, returning to the next instruction; the trap gate's delivery clears TF, so the
// handler runs unstepped. INT n takes no single-step trap. Compiled and interpreted runs agree.
import { describe, expect, it } from "vitest";
import { CODE, KDATA, KSTACK_TOP, MiB, createMachine, flatMachine, handlerAddr, loadCode, setupProtected, stackWord } from "./harness.js";
import { StepKind } from "../../src/cpu/observer.js";

const TF = 1 << 8;

describe("single-step trap (EFLAGS.TF)", () => {
  it("traps after the instruction, with the next EIP pushed and TF cleared in the handler", () => {
    const m = flatMachine();
    loadCode(m, [0x40, 0x40]); // inc eax; inc eax
    m.cpu.setEflags(0x2 | TF);
    expect(m.cpu.step()).toBe(StepKind.Instruction);
    expect(m.cpu.regs[0]).toBe(1);
    expect(m.cpu.step()).toBe(StepKind.Exception); // the #DB delivery is its own step
    expect(m.cpu.eip >>> 0).toBe(handlerAddr(1));
    expect(stackWord(m, 0)).toBe(CODE + 1); // return address: the next instruction (a trap)
    expect(stackWord(m, 2) & TF).toBe(TF); // the pushed EFLAGS keep TF for iret to resume stepping
    expect(m.cpu.getEflags() & TF).toBe(0);
    expect((m.cpu.dr[6] >>> 14) & 1).toBe(1); // DR6.BS
    expect(m.cpu.regs[4] >>> 0).toBe(KSTACK_TOP - 12);
  });

  it("takes no trap after INT n (the delivery clears TF)", () => {
    const m = flatMachine();
    loadCode(m, [0xcd, 0x30]); // int 0x30
    m.cpu.setEflags(0x2 | TF);
    m.cpu.step();
    expect(m.cpu.eip >>> 0).toBe(handlerAddr(0x30));
    expect(m.cpu.exceptionPending).toBe(false);
  });

  it.each([
    ["mov %cx, %ss", [0x8e, 0xd1]],
    ["pop %ss", [0x17]],
  ])("after %s the trap waits for the next instruction, then comes once, after it", (_name, load) => {
    const m = flatMachine();
    m.cpu.regs[1] = KDATA; // ecx: the selector to load
    if (load[0] === 0x17) m.cpu.pushV(KDATA);
    const esp = m.cpu.regs[4] >>> 0;
    loadCode(m, [...load, 0x40, 0x40]); // ... ; inc eax; inc eax
    m.cpu.setEflags(0x2 | TF);
    expect(m.cpu.step()).toBe(StepKind.Instruction); // the SS load: no trap after it
    expect(m.cpu.exceptionPending).toBe(false);
    expect(m.cpu.step()).toBe(StepKind.Instruction); // inc eax
    expect(m.cpu.step()).toBe(StepKind.Exception); // one #DB, after inc eax
    expect(m.cpu.eip >>> 0).toBe(handlerAddr(1));
    expect(stackWord(m, 0)).toBe(CODE + load.length + 1);
    expect(m.cpu.regs[0]).toBe(1);
    expect(m.cpu.regs[4] >>> 0).toBe((load[0] === 0x17 ? esp + 4 : esp) - 12);
  });

  it("gives the same steps and state from run() as from step(), compiled or not", () => {
    const code = [0x40, 0x43, 0x01, 0xd8, 0x40]; // inc eax; inc ebx; add eax, ebx; inc eax
    const results = [false, true].map((compile) => {
      const m = createMachine(4 * MiB, { compile });
      setupProtected(m);
      loadCode(m, code);
      m.cpu.setEflags(0x2 | TF);
      m.cpu.run(4); // inc eax, #DB, and the handler's first instruction... bounded by the limit
      return { steps: m.cpu.steps, eip: m.cpu.eip >>> 0, eax: m.cpu.regs[0] };
    });
    const stepped = flatMachine();
    loadCode(stepped, code);
    stepped.cpu.setEflags(0x2 | TF);
    while (stepped.cpu.steps < 4 && !stepped.cpu.halted) stepped.cpu.step();
    expect(results[0]).toEqual({ steps: stepped.cpu.steps, eip: stepped.cpu.eip >>> 0, eax: stepped.cpu.regs[0] });
    expect(results[1]).toEqual(results[0]);
  });
});

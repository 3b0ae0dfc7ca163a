/**
 * Compiled blocks must be indistinguishable from the interpreter: the same random code, from the same
 * state, run through run() on a CPU that compiles blocks and on one that interprets every instruction,
 * must retire the same number of steps, end in the same architectural state, report the same events
 * and make the same memory writes in the same order with the same causes.
 */
import { describe, expect, it } from "vitest";
import { StepKind, type CpuObserver, WriteCause } from "../../src/cpu/observer.js";
import { CODE, CS, Rng, createMachine, loadCode, reg, setRegs, setupProtected, wr32, type TestMachine } from "./harness.js";
import { CODE_BYTES, SYSTEM_END, describeError, hex, prepareMachine, randomCode, resetState, type FuzzEnv } from "./fuzz-setup.js";

// DIFF_SEQUENCES changes the count for local experiments.
const SEQUENCES = Number(process.env.DIFF_SEQUENCES ?? 25_000);
// Every random sequence compiles fresh blocks (about 0.2-0.5 ms each): on a loaded 2-core machine
// the ring-0 set takes minutes, which says nothing about correctness.
const RANDOM_CODE_TIMEOUT_MS = 360_000;
const MAX_STEPS = 24;

class Recorder implements CpuObserver {
  log: string[] = [];
  systemDirty = false;
  onMemoryWrite(linear: number, physical: number, size: 1 | 2 | 4, value: number, cause: WriteCause): void {
    this.log.push(`w ${(linear >>> 0).toString(16)} ${(physical >>> 0).toString(16)} ${size} ${(value >>> 0).toString(16)} ${cause}`);
    if ((physical >>> 0) < SYSTEM_END && cause !== WriteCause.PageTable && cause !== WriteCause.Descriptor) this.systemDirty = true;
  }
  onEvent(kind: StepKind, step: number, vector: number, errorCode: number, eip: number, cplBefore: number, cplAfter: number): void {
    this.log.push(`e ${kind} ${step} ${vector} ${errorCode} ${(eip >>> 0).toString(16)} ${cplBefore} ${cplAfter}`);
  }
  onPortIo(port: number, size: 1 | 2 | 4, value: number, isWrite: boolean): void {
    this.log.push(`p ${port} ${size} ${value >>> 0} ${isWrite}`);
  }
}

function state(m: TestMachine): Record<string, unknown> {
  const c = m.cpu;
  return {
    regs: Array.from(c.regs, (v) => (v >>> 0).toString(16)),
    eip: (c.eip >>> 0).toString(16),
    eflags: c.getEflags().toString(16),
    cpl: c.cpl,
    sel: Array.from(c.segSel),
    steps: c.steps,
    halted: c.halted,
    stop: c.stopReason,
    cr2: (c.cr2 >>> 0).toString(16),
    pending: c.exceptionPending,
  };
}

function differential(env: FuzzEnv, seed: number, count: number): string[] {
  const a = createMachine(4 << 20, { compile: false });
  const b = createMachine(4 << 20, { compile: true });
  const snapA = prepareMachine(a, env);
  prepareMachine(b, env);
  const ra = new Recorder(), rb = new Recorder();
  for (const [m, r] of [[a, ra], [b, rb]] as const) {
    m.cpu.observer = r;
    m.cpu.mmu.observer = r;
  }
  const rng = new Rng(seed);
  const code = new Uint8Array(CODE_BYTES);
  const diffs: string[] = [];
  for (let seq = 0; seq < count && diffs.length < 5; seq++) {
    if (ra.systemDirty || rb.systemDirty) {
      for (const m of [a, b]) {
        m.mem.u8.set(snapA, 0);
        m.cpu.blocks?.clear();
      }
      ra.systemDirty = rb.systemDirty = false;
    }
    randomCode(rng, code);
    const stateSeed = rng.next();
    const results: Record<string, unknown>[] = [];
    for (const [m, r] of [[a, ra], [b, rb]] as const) {
      m.mem.u8.set(code, CODE);
      m.cpu.blocks?.onWrite(CODE, CODE_BYTES);
      resetState(m, env, new Rng(stateSeed));
      m.cpu.steps = 0;
      r.log = [];
      let thrown = "";
      try {
        m.cpu.run(MAX_STEPS);
      } catch (e) {
        thrown = describeError(e).split("\n")[0];
        r.systemDirty = true; // start the next sequence from restored structures
      }
      results.push({ ...state(m), thrown, log: r.log });
    }
    const [sa, sb] = results;
    if (JSON.stringify(sa) !== JSON.stringify(sb)) {
      const keys = Object.keys(sa).filter((k) => JSON.stringify(sa[k]) !== JSON.stringify(sb[k]));
      diffs.push(`seq ${seq} code ${hex(code)} cs ${a.cpu.segSel[CS]}: ` + keys.map((k) => `${k}: interpreted ${JSON.stringify(sa[k])} compiled ${JSON.stringify(sb[k])}`).join("; "));
      // Memory may now differ between the two machines: resynchronise the data areas.
      b.mem.u8.set(a.mem.u8);
      b.cpu.blocks?.clear();
    }
  }
  return diffs;
}

describe("compiled blocks agree with the interpreter on random code", () => {
  it.each([
    ["ring 0, paging off", { ring3: false, paging: false }, 0x1111],
    ["ring 3, paging on", { ring3: true, paging: true }, 0x2222],
  ] as const)("%s", (_name, env, seed) => {
    expect(differential(env, seed, SEQUENCES)).toEqual([]);
  }, RANDOM_CODE_TIMEOUT_MS);
});

describe("directed cases", () => {
  /** Runs `code` at CODE on a compiling and an interpreting CPU until HLT; returns both machines. */
  function both(code: number[], regs: Parameters<typeof setRegs>[1], prepare?: (m: TestMachine) => void): [TestMachine, TestMachine] {
    return [false, true].map((compile) => {
      const m = createMachine(4 << 20, { compile });
      setupProtected(m);
      prepare?.(m);
      setRegs(m, regs);
      loadCode(m, code);
      m.cpu.run(100);
      expect(m.cpu.halted).toBe(true);
      return m;
    }) as [TestMachine, TestMachine];
  }

  it("self-modifying code: a store to a later instruction of the same block takes effect", () => {
    // mov byte [CODE+9], 0x41 (turns the INC EAX below into INC ECX); nop; nop; inc eax; hlt
    const t = CODE + 9;
    const [i, c] = both([0xc6, 0x05, t & 0xff, (t >> 8) & 0xff, (t >> 16) & 0xff, t >>> 24, 0x41, 0x90, 0x90, 0x40, 0xf4], { eax: 0, ecx: 0 });
    expect([reg(i, "eax"), reg(i, "ecx")], "interpreted").toEqual([0, 1]);
    expect([reg(c, "eax"), reg(c, "ecx")], "compiled").toEqual([0, 1]);
  });

  it("o16 leave in a compiled block pops BP and moves SP by 2", () => {
    // nop; o16 leave; hlt
    const prep = (m: TestMachine) => wr32(m, 0x9000, 0x11112222);
    // With a 32-bit stack the frame is [EBP]; a 16-bit pop changes only BP.
    const [i, c] = both([0x90, 0x66, 0xc9, 0xf4], { ebp: 0x9000, esp: 0x8000 }, prep);
    expect([reg(i, "esp"), reg(i, "ebp")], "interpreted").toEqual([0x9002, 0x2222]);
    expect([reg(c, "esp"), reg(c, "ebp")], "compiled").toEqual([0x9002, 0x2222]);
  });

  it("LOCK on a register destination is #UD in compiled code too", () => {
    // nop; lock add eax, ebx; hlt  -> #UD, whose handler is a HLT
    const [i, c] = both([0x90, 0xf0, 0x01, 0xd8, 0xf4], { eax: 1, ebx: 2, esp: 0x8000 });
    for (const m of [i, c]) {
      expect(m.cpu.eip >>> 0, m === i ? "interpreted" : "compiled").toBe(0x4000 + 6 * 16 + 1);
      expect(reg(m, "eax")).toBe(1);
    }
  });
});

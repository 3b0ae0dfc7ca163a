import { describe, expect, test } from "vitest";
import { StepKind } from "../../src/cpu/observer.js";
import { chooseCheckpoints, profileCode, runToLogged } from "../../src/bench/checkpoints.js";
import { CodeRanges } from "../../src/bench/code-ranges.js";
import type { LockstepMachine } from "../../src/bench/lockstep-core.js";

describe("code ranges (QEMU's -dfilter)", () => {
  test("membership at the edges, merged ranges and QEMU's notation both ways", () => {
    const r = new CodeRanges([[0x1000, 0x1010], [0x100c, 0x1020], [0x2003, 0x2004], [0x3000, 0x3000]]);
    expect(r.ranges).toEqual([[0x1000, 0x1020], [0x2003, 0x2004]]);
    expect([0xfff, 0x1000, 0x101f, 0x1020, 0x2002, 0x2003, 0x2004, 0x3000].map((a) => r.has(a))).toEqual([false, true, true, false, false, true, false, false]);
    expect(r.toDfilter()).toBe("0x1000+0x20,0x2003+0x1");
    expect(CodeRanges.parse(r.toDfilter()).ranges).toEqual(r.ranges);
    // QEMU's "a-b" and "a..b" include b.
    expect(CodeRanges.parse("0x10-0x1f, 0x30..0x3f").ranges).toEqual([[0x10, 0x20], [0x30, 0x40]]);
    expect(() => CodeRanges.parse("0x10+")).toThrow(/not an address range/);
  });

  test("a span too wide for the bitmap is searched instead, with the same answers", () => {
    const r = new CodeRanges([[0x100000, 0x100010], [0xf0000000, 0xf0000001]]);
    expect([0x100000, 0x10000f, 0x100010, 0xf0000000, 0xf0000001, 0xffffffff].map((a) => r.has(a))).toEqual([true, true, false, true, false, false]);
    // EIP is kept signed in some places: the address is taken unsigned.
    expect(r.has(0xf0000000 | 0)).toBe(true);
  });

  test("a bitmap range that starts and ends mid-byte sets exactly its bits", () => {
    const r = new CodeRanges([[0x1003, 0x1035]]);
    for (let a = 0x1000; a < 0x1040; a++) expect(r.has(a)).toBe(a >= 0x1003 && a < 0x1035);
  });
});

/** A machine running a fixed loop: `prologue` addresses once, then `body` over and over. */
class LoopMachine implements LockstepMachine {
  readonly cpu = { regs: new Int32Array(8), eip: 0, steps: 0, getEflags: () => 2 };
  private i = 0;
  constructor(private readonly prologue: number[], private readonly body: number[]) {
    this.cpu.eip = prologue[0];
  }
  step(): number {
    this.cpu.steps++;
    this.i++;
    const p = this.prologue.length;
    this.cpu.eip = this.i < p ? this.prologue[this.i] : this.body[(this.i - p) % this.body.length];
    return StepKind.Instruction;
  }
}

describe("checkpoints", () => {
  test("a profile counts each address; the least executed are logged within the budget", () => {
    const m = new LoopMachine([0x100, 0x102, 0x105], [0x200, 0x202, 0x204, 0x300, 0x302]);
    const seen: number[] = [];
    const p = profileCode(m, 1003, (a) => seen.push(a));
    expect(p.instructions).toBe(1003);
    expect(seen).toEqual([0x100, 0x102, 0x105, 0x200, 0x202, 0x204, 0x300, 0x302]);
    expect(p.counts.get(0x100)).toBe(1);
    expect(p.counts.get(0x200)).toBe(200);
    // Budget for the prologue and one loop address: the others are left out, in their own gap.
    const plan = chooseCheckpoints(p, 203, [0x100]);
    expect(plan.records).toBe(203);
    expect(plan.loggedAddresses).toBe(4);
    expect(plan.executedAddresses).toBe(8);
    expect(plan.hottestLogged).toBe(200);
    expect(plan.logged.ranges).toEqual([[0x100, 0x201]]);
    expect([0x105, 0x200, 0x202, 0x300].map((a) => plan.logged.has(a))).toEqual([true, true, false, false]);
    // The entry is logged even past the budget; nothing else then.
    const tight = chooseCheckpoints(p, 0, [0x100]);
    expect(tight.logged.ranges).toEqual([[0x100, 0x101]]);
    expect(tight.records).toBe(1);
    // The profiled machine goes on to the next logged address.
    expect(m.cpu.eip).toBe(0x200);
    expect(runToLogged(m, plan.logged, 100)).toBe(0);
    m.step();
    expect(runToLogged(m, plan.logged, 100)).toBe(4);
    expect(m.cpu.eip).toBe(0x200);
    expect(runToLogged(m, tight.logged, 100)).toBe(-1);
  });
});

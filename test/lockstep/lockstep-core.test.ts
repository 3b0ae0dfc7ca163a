import * as fs from "node:fs";
import { describe, expect, test } from "vitest";
import { StepKind } from "../../src/cpu/observer.js";
import { Elf32 } from "../../src/elf/elf32.js";
import { ImageCode } from "../../src/bench/disasm.js";
import { CodeRanges } from "../../src/bench/code-ranges.js";
import { formatDivergence, Lockstep, runLockstep, type LockstepMachine } from "../../src/bench/lockstep-core.js";
import type { QemuTrace } from "../../src/bench/qemu-log.js";
import { workload } from "../guests.js";


/** A synthetic QEMU trace of `n` records with every register changing. */
function makeTrace(n: number, entry = 0x10000c): QemuTrace {
  const eip = new Uint32Array(n);
  const regs = new Int32Array(n * 8);
  const eflags = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    eip[i] = entry + ((i * 5) % 0x200);
    for (let r = 0; r < 8; r++) regs[i * 8 + r] = (i * 0x01010101 + r * 0x1000) | 0;
    eflags[i] = 0x2 | (i & 0x40);
  }
  return { entry, count: n, eip, regs, eflags, complete: true, droppedRepeats: 0 };
}

/**
 * A machine that replays the trace: each step() moves to the next record. Hooks let a test make it
 * wrong in the ways a real CPU can be.
 */
class ReplayMachine implements LockstepMachine {
  readonly cpu: { regs: Int32Array; eip: number; steps: number; eflags: number; getEflags(): number };
  private j = 0;
  /** Record index -> extra event steps delivered before that record's instruction. */
  eventsBefore = new Map<number, number>();
  /** Called after loading record j's state: may corrupt it. */
  corrupt: (j: number, regs: Int32Array) => void = () => {};
  throwAt = -1;
  doubleStepAt = -1;
  private pendingEvents = 0;

  constructor(private readonly t: QemuTrace) {
    const cpu = {
      regs: new Int32Array(8), eip: 0, steps: 0, eflags: 0,
      getEflags(): number { return this.eflags; },
    };
    this.cpu = cpu;
    this.load(0);
  }

  private load(j: number): void {
    this.j = j;
    if (j >= this.t.count) return;
    this.cpu.eip = this.t.eip[j];
    this.cpu.regs.set(this.t.regs.subarray(j * 8, j * 8 + 8));
    this.cpu.eflags = this.t.eflags[j];
    this.corrupt(j, this.cpu.regs);
    this.pendingEvents = this.eventsBefore.get(j) ?? 0;
    if (this.pendingEvents > 0) {
      // Before the delivery the CPU is somewhere QEMU never logs (the interrupted code's next EIP).
      this.cpu.eip = 0xdead;
    }
  }

  step(): number {
    if (this.j === this.throwAt) throw new TypeError("cannot read properties of undefined");
    this.cpu.steps += this.j === this.doubleStepAt ? 2 : 1;
    if (this.pendingEvents > 0) {
      this.pendingEvents--;
      if (this.pendingEvents === 0) {
        this.cpu.eip = this.t.eip[this.j];
        this.corrupt(this.j, this.cpu.regs);
      }
      return StepKind.Interrupt;
    }
    this.load(this.j + 1);
    return StepKind.Instruction;
  }
}

describe("lockstep comparison", () => {
  test("a faithful machine matches every record", () => {
    const t = makeTrace(5000);
    const m = new ReplayMachine(t);
    const progress: number[] = [];
    const r = runLockstep(m, t, { progressInterval: 1000, onProgress: (n) => progress.push(n) });
    expect(r.divergence).toBeNull();
    expect(r.compared).toBe(5000);
    expect(r.events).toBe(0);
    expect(progress).toEqual([1000, 2000, 3000, 4000, 5000]);
  });

  test("interrupt deliveries are stepped over without consuming a QEMU record", () => {
    const t = makeTrace(300);
    const m = new ReplayMachine(t);
    m.eventsBefore.set(100, 1);
    m.eventsBefore.set(200, 2); // e.g. a fault's delivery followed by a double fault's
    const r = runLockstep(m, t);
    expect(r.divergence).toBeNull();
    expect(r.compared).toBe(300);
    expect(r.events).toBe(3);
  });

  test("reports the first differing register with both values and where it happened", () => {
    const t = makeTrace(1000);
    const m = new ReplayMachine(t);
    m.corrupt = (j, regs) => { if (j >= 600) regs[1] ^= 0x10; };
    const r = runLockstep(m, t);
    expect(r.compared).toBe(600);
    const d = r.divergence!;
    expect(d.kind).toBe("state");
    expect(d.record).toBe(600);
    expect(d.step).toBe(600);
    expect(d.differences).toEqual([{ name: "ecx", ttd: (t.regs[600 * 8 + 1] ^ 0x10) >>> 0, qemu: t.regs[600 * 8 + 1] >>> 0 }]);
    const text = formatDivergence(d, null, 4);
    expect(text).toContain("before instruction #600 after the kernel entry (ttd step 600)");
    expect(text).toContain(`ecx: ttd 0x${((t.regs[600 * 8 + 1] ^ 0x10) >>> 0).toString(16).padStart(8, "0")}`);
    for (const j of [596, 597, 598, 599, 600]) expect(text).toContain(`#${j} `);
    expect(text).not.toContain("#595 ");
  });

  test("an EIP difference after an unexpected interrupt is a divergence", () => {
    const t = makeTrace(50);
    const m = new ReplayMachine(t);
    m.eventsBefore.set(20, 1);
    m.corrupt = (j) => { if (j === 20) m.cpu.eip = 0x100400; }; // the handler, not where QEMU went
    const r = runLockstep(m, t);
    expect(r.divergence?.record).toBe(20);
    expect(r.divergence?.differences.map((x) => x.name)).toEqual(["eip"]);
    expect(r.events).toBe(1);
  });

  test("eflags are compared only when asked, under the given mask", () => {
    const t = makeTrace(100);
    const m1 = new ReplayMachine(t);
    m1.cpu.getEflags = () => 0x2 | 0x10; // AF differs everywhere
    expect(runLockstep(m1, t).divergence).toBeNull();
    const m2 = new ReplayMachine(t);
    m2.cpu.getEflags = () => t.eflags[Math.min(m2.cpu.steps, 99)] ^ 0x10;
    expect(runLockstep(m2, t, { eflagsMask: 0x8c1 }).divergence).toBeNull();
    const m3 = new ReplayMachine(t);
    m3.cpu.getEflags = () => t.eflags[Math.min(m3.cpu.steps, 99)] ^ (m3.cpu.steps === 37 ? 0x10 : 0);
    const d = runLockstep(m3, t, { eflagsMask: 0x10 }).divergence;
    expect(d?.record).toBe(37);
    expect(d?.differences.map((x) => x.name)).toEqual(["eflags"]);
  });

  test("the loader's status flags and DF are adopted at the entry when the machine can set them", () => {
    const t = makeTrace(20);
    t.eflags[0] = 0x2 | 0x4 | 0x400; // PF and DF left set by QEMU's loader
    const m = new ReplayMachine(t);
    let flags = 0x2 | 0x200; // ttd: IF would be a real difference, not a loader choice
    m.cpu.getEflags = () => (m.cpu.steps === 0 ? flags : t.eflags[Math.min(m.cpu.steps, 19)]);
    const set: number[] = [];
    (m.cpu as { setEflags?: (v: number) => void }).setEflags = (v) => { set.push(v); flags = v; };
    const r = runLockstep(m, t, { eflagsMask: 0x8d5 });
    expect(set).toEqual([0x2 | 0x200 | 0x4 | 0x400]);
    expect(r.adopted).toEqual([{ name: "eflags", ttd: 0x202, qemu: 0x406 }]);
    expect(r.divergence).toBeNull();
  });

  test("loader-defined registers at the entry are adopted from QEMU and listed", () => {
    const t = makeTrace(10);
    const m = new ReplayMachine(t);
    m.cpu.regs[3] = 0x9500; // ebx: the loader's multiboot info pointer
    m.cpu.regs[4] = 0x7000; // esp
    const r = runLockstep(m, t);
    expect(r.divergence).toBeNull();
    expect(r.adopted.map((a) => a.name)).toEqual(["ebx", "esp"]);
    expect(r.adopted[0]).toEqual({ name: "ebx", ttd: 0x9500, qemu: t.regs[3] >>> 0 });
  });

  test("a machine that does not start at the entry diverges at record 0", () => {
    const t = makeTrace(10);
    const m = new ReplayMachine(t);
    m.cpu.eip = 0xfff0;
    const r = runLockstep(m, t);
    expect(r.divergence?.record).toBe(0);
    expect(r.divergence?.message).toMatch(/does not start at the kernel entry/);
  });

  test("a host exception, a double step and a stall are reported as such", () => {
    const t = makeTrace(100);
    const a = new ReplayMachine(t);
    a.throwAt = 42;
    const ra = runLockstep(a, t);
    expect(ra.divergence?.kind).toBe("host-error");
    expect(ra.divergence?.record).toBe(42);
    expect(ra.divergence?.message).toContain("cannot read properties of undefined");

    const b = new ReplayMachine(t);
    b.doubleStepAt = 7;
    expect(runLockstep(b, t).divergence?.kind).toBe("step-count");

    const c = new ReplayMachine(t);
    c.eventsBefore.set(30, 1000);
    const rc = runLockstep(c, t);
    expect(rc.divergence?.kind).toBe("stall");
    expect(rc.compared).toBe(30);
  });

  describe("with only some instructions logged", () => {
    // The machine runs every record of `t`; QEMU's log has those at addresses in `logged` only.
    const t = makeTrace(5000);
    const logged = new CodeRanges([[t.entry, t.entry + 0x80]]);
    const keep = Array.from({ length: t.count }, (_, i) => i).filter((i) => logged.has(t.eip[i]));
    const sparse: QemuTrace = {
      ...t,
      count: keep.length,
      eip: Uint32Array.from(keep, (i) => t.eip[i]),
      regs: Int32Array.from(keep.flatMap((i) => Array.from(t.regs.subarray(i * 8, i * 8 + 8)))),
      eflags: Uint32Array.from(keep, (i) => t.eflags[i]),
    };

    test("compares at the logged ones and runs the others, fed in batches", () => {
      const m = new ReplayMachine(t);
      const l = new Lockstep(m, { logged });
      for (let k = 0; k < sparse.count; k += 97) {
        const n = Math.min(97, sparse.count - k);
        l.feed({ ...sparse, count: n, eip: sparse.eip.subarray(k, k + n), regs: sparse.regs.subarray(k * 8, (k + n) * 8), eflags: sparse.eflags.subarray(k, k + n) });
      }
      expect(l.result.divergence).toBeNull();
      expect(l.result.compared).toBe(keep.length);
      expect(keep.length).toBeLessThan(t.count / 3);
      expect(l.result.instructions).toBe(keep[keep.length - 1] + 1);
    });

    test("a register gone wrong between logged instructions is caught at the next one, with ttd's path to it", () => {
      const m = new ReplayMachine(t);
      const wrongFrom = Array.from({ length: t.count }, (_, i) => i).find((i) => i > 2000 && !logged.has(t.eip[i]) && logged.has(t.eip[i - 1]))!;
      m.corrupt = (j, regs) => { if (j >= wrongFrom) regs[6] ^= 0x100; };
      const r = runLockstep(m, sparse, { logged });
      const d = r.divergence!;
      const next = keep.findIndex((i) => i > wrongFrom);
      expect(d.kind).toBe("state");
      expect(d.record).toBe(next);
      expect(d.step).toBe(keep[next]);
      expect(d.differences.map((x) => x.name)).toEqual(["esi"]);
      expect(d.unlogged?.count).toBe(keep[next] - keep[next - 1] - 1);
      expect(d.unlogged?.eips.at(-1)).toBe(t.eip[keep[next] - 1]);
      const text = formatDivergence(d, null);
      expect(text).toContain(`before logged instruction #${next} after the kernel entry (ttd step ${keep[next]})`);
      expect(text).toContain(`then ${d.unlogged!.count} instructions QEMU does not log`);
    });

    test("never reaching a logged instruction again is a stall, not an endless run", () => {
      const m = new ReplayMachine(t);
      // The machine is back at the entry only every 512 steps.
      const r = runLockstep(m, sparse, { logged: new CodeRanges([[t.entry, t.entry + 1]]), maxUnlogged: 300 });
      expect(r.divergence?.kind).toBe("stall");
      expect(r.divergence?.message).toMatch(/300 instructions without reaching one QEMU logs/);
    });
  });

  describe("with QEMU's address of every instruction", () => {
    const t = makeTrace(3000);
    const logged = new CodeRanges([[t.entry, t.entry + 0x40]]);
    const keep = Array.from({ length: t.count }, (_, i) => i).filter((i) => logged.has(t.eip[i]));
    const pick = (idx: number[]): QemuTrace => ({
      ...t,
      count: idx.length,
      eip: Uint32Array.from(idx, (i) => t.eip[i]),
      regs: Int32Array.from(idx.flatMap((i) => Array.from(t.regs.subarray(i * 8, i * 8 + 8)))),
      eflags: Uint32Array.from(idx, (i) => t.eflags[i]),
    });
    const slice = (x: QemuTrace, k: number, n: number): QemuTrace =>
      ({ ...x, count: n, eip: x.eip.subarray(k, k + n), regs: x.regs.subarray(k * 8, (k + n) * 8), eflags: x.eflags.subarray(k, k + n) });
    const noRep = { isRepStringAt: () => false };

    /** Feeds records and addresses in alternating chunks of different sizes, as two FIFOs deliver them. */
    function interleave(l: Lockstep, records: QemuTrace, addresses: Uint32Array): void {
      let r = 0;
      let a = 0;
      while ((r < records.count || a < addresses.length) && !l.done) {
        if (a < addresses.length) {
          const n = Math.min(777, addresses.length - a);
          l.feedAddresses(addresses.slice(a, a + n));
          a += n;
        }
        if (r < records.count) {
          const n = Math.min(31, records.count - r);
          l.feed(slice(records, r, n));
          r += n;
        }
      }
    }

    test("every instruction's address is compared, records waiting for their addresses and the other way round", () => {
      const l = new Lockstep(new ReplayMachine(t), { logged, addresses: noRep });
      interleave(l, pick(keep), t.eip.slice(0, keep[keep.length - 1] + 1));
      expect(l.result.divergence).toBeNull();
      expect(l.result.compared).toBe(keep.length);
      expect(l.result.addresses).toBe(keep[keep.length - 1] + 1);
    });

    test("an instruction QEMU did not execute, between logged ones, is a divergence at its address", () => {
      const addresses = t.eip.slice(0, keep[keep.length - 1] + 1);
      const at = addresses.findIndex((a, i) => i > keep[5] && !logged.has(a));
      addresses[at] = 0x777;
      const l = new Lockstep(new ReplayMachine(t), { logged, addresses: noRep });
      interleave(l, pick(keep), addresses);
      const d = l.result.divergence!;
      expect(d.differences).toEqual([{ name: "eip", ttd: t.eip[at], qemu: 0x777 }]);
      expect(d.message).toBe(`QEMU executed the instruction at 0x777 where ttd executed 0x${t.eip[at].toString(16)}`);
      expect(d.step).toBe(at);
      expect(l.result.addresses).toBe(at);
    });

    test("an interrupt delivery has no address; the handler's first instruction has", () => {
      const m = new ReplayMachine(t);
      m.eventsBefore.set(keep[3] + 1, 1);
      const l = new Lockstep(m, { logged, addresses: noRep });
      interleave(l, pick(keep), t.eip.slice(0, keep[keep.length - 1] + 1));
      expect(l.result.divergence).toBeNull();
      expect(l.result.events).toBe(1);
    });

    test("QEMU's -icount re-entry of a finished rep string instruction is passed over", () => {
      // Records 10-12: a rep at one address with ECX 3, 2, 1; record 13 follows with ECX 0.
      const r = makeTrace(40);
      const X = r.eip[10];
      for (const [i, ecx] of [[10, 3], [11, 2], [12, 1], [13, 0]]) {
        if (i < 13) r.eip[i] = X;
        r.regs[i * 8 + 1] = ecx;
      }
      const addresses = [...r.eip.subarray(0, 13), X, ...r.eip.subarray(13)];
      const run = (isRep: (a: number) => boolean) => {
        const l = new Lockstep(new ReplayMachine(r), { addresses: { isRepStringAt: isRep } });
        l.feedAddresses(Uint32Array.from(addresses));
        l.feed(r);
        return l.result;
      };
      const ok = run((a) => a === X);
      expect(ok.divergence).toBeNull();
      expect(ok.addresses).toBe(40);
      // Not a rep string instruction there: the repeat is an instruction ttd did not execute.
      expect(run(() => false).divergence?.message).toMatch(/QEMU executed the instruction at/);
    });
  });

  test("the report disassembles the instructions before the divergence from the ELF", () => {
    const elf = new Elf32(new Uint8Array(fs.readFileSync(workload("workload-r1.elf"))));
    const sym = (name: string): number => elf.symbols().find((s) => s.name === name)!.value;
    const hex = (v: number): string => `0x${v.toString(16)}`;
    const code = new ImageCode(elf);
    // entry.S: eight xors (two bytes each), then `mov $stack_end, %esp`, `push $2`, `popf`, `call`.
    const start = sym("_start");
    expect(start).toBe(0x10000c);
    expect(code.disassemble(start)).toBe("xor %eax, %eax");
    expect(code.symbolize(start + 2)).toBe("_start+0x2");
    expect(code.disassemble(start + 16)).toBe(`mov $${hex(sym("stack_end"))}, %esp`);
    expect(code.disassemble(start + 21)).toBe("push $2");
    expect(code.disassemble(0x900000)).toBe("(not in the image)");

    // A trace along the real entry code, wrong from the `mov $stack_end, %esp` on.
    const eips = [0, 2, 4, 6, 8, 10, 12, 14, 16, 21].map((o) => start + o);
    const t = makeTrace(eips.length);
    t.eip.set(eips);
    const m = new ReplayMachine(t);
    m.corrupt = (j, regs) => { if (j === 9) regs[4] = 0x104000; };
    const d = runLockstep(m, t).divergence!;
    expect(d.record).toBe(9);
    const text = formatDivergence(d, code, 3);
    expect(text).toMatch(new RegExp(`#8 +0x0010001c  <_start\\+0x10> +mov \\$${hex(sym("stack_end"))}, %esp +<- executed last`));
    expect(text).toMatch(/#9 +0x00100021  <_start\+0x15> +push \$2 +<- state differs before this one/);
    expect(text).toMatch(/esp +0x[0-9a-f]{8} +0x[0-9a-f]{8} +0x00104000 +<- differs/);
  });
});

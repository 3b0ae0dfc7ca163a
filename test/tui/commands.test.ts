/**
 * The view model's long commands on the demo trace: jobs that yield and cancel, watches, step over
 * forward and back, source-line steps, stack-word why-write and the bookmark list. Each answer is
 * checked against the trace walked step by step here (a plain cursor), not against the view model.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { openRecordingArg, type Recording } from "../../src/bundle/open.js";
import { disassemble } from "../../src/disasm/disassembler.js";
import type { StepRecord } from "../../src/trace/trace.js";
import { DebuggerViewModel } from "../../src/tui/view-model.js";
import { ROOT, recordDemo, removeDemo } from "./helpers.js";

let tracePath: string;
let rec: Recording;
let faultStep: number;
/** Every step record of the trace, for oracles (the demo is ~85k steps). */
let all: StepRecord[];

const ERROR_SLOT = "ksIdleThread->tcbArch.tcbContext.registers[Error]";
const ERROR_ADDR = 0xe010f624;

beforeAll(() => {
  tracePath = recordDemo();
  rec = openRecordingArg(tracePath, { cwd: ROOT });
  faultStep = rec.trace.events().find((e) => e.kind === "fault")!.step;
  all = [];
  const c = rec.trace.cursor(rec.trace.startStep);
  for (let r = c.next(); r !== null; r = c.next()) all.push(r);
});
afterAll(() => {
  rec?.close();
  removeDemo(tracePath);
});

const type = (vm: DebuggerViewModel, text: string) => {
  for (const c of text) vm.key(c);
  vm.key("", { return: true });
};
const text = (r: StepRecord) => disassemble(r.bytes, r.regs.eip).text;
const lineOf = (eip: number) => {
  const l = rec.symbols!.sourceAt(eip);
  return l === undefined ? null : { key: `${l.file}:${l.line}`, stmt: l.isStmt };
};
const tick = () => new Promise((r) => setImmediate(r));

describe("long searches run in slices and Esc cancels them", () => {
  test("reverse-continue to a breakpoint never hit: progress, other keys ignored, Esc restores", async () => {
    const vm = new DebuggerViewModel(rec, rec.trace.steps, { unitsPerSlice: 1, breakpointSliceSteps: 2000 });
    let changes = 0;
    vm.onChange(() => changes++);
    vm.key("b");
    type(vm, "0x1");
    vm.key("r");
    expect(vm.busy).toBe(true);
    const first = vm.view.busy!.progress;
    expect(first).toMatch(/^reverse-continue: searching, step [0-9,]+ \(\d+%\); Esc cancels$/);
    await tick();
    await tick();
    expect(vm.view.busy!.progress).not.toBe(first);
    expect(changes).toBeGreaterThan(0);
    vm.key("n");
    expect(vm.view.step).toBe(rec.trace.steps);
    vm.key("", { escape: true });
    expect(vm.busy).toBe(false);
    expect(vm.view.busy).toBeNull();
    expect(vm.view.step).toBe(rec.trace.steps);
    expect(vm.view.message).toBe(`reverse-continue cancelled; still at step ${rec.trace.steps.toLocaleString("en-US")}`);
    // Nothing runs on after the cancel.
    const seen = changes;
    await tick();
    await tick();
    expect(changes).toBe(seen);
    await vm.idle();
  });

  test("left alone, the same search finishes over many ticks at the start", async () => {
    const vm = new DebuggerViewModel(rec, rec.trace.steps, { unitsPerSlice: 1, breakpointSliceSteps: 2000 });
    vm.key("b");
    type(vm, "0x1");
    vm.key("r");
    let ticks = 0;
    while (vm.busy) {
      await tick();
      ticks++;
    }
    expect(ticks).toBeGreaterThan(10);
    expect(vm.view.step).toBe(rec.trace.startStep);
    expect(vm.view.message).toMatch(/no breakpoint or watched write behind/);
  });

  test("why-write is a job too: q while it runs quits", () => {
    const vm = new DebuggerViewModel(rec, 97, { unitsPerSlice: 1 });
    vm.key("w");
    type(vm, ERROR_SLOT);
    // At step 97 the TCB is not mapped: the first query fails and the fallback waits for the next tick.
    expect(vm.view.busy!.progress).toMatch(/asking at step/);
    expect(vm.key("q")).toBe("quit");
    expect(vm.busy).toBe(false);
  });
});

describe("watch", () => {
  test("r stops at the last write before the step, c at the next write after it", async () => {
    const writes = rec.trace.writesIn({ address: ERROR_ADDR, size: 4 }, rec.trace.startStep, faultStep);
    expect(writes.length).toBeGreaterThan(1);
    const vm = new DebuggerViewModel(rec, faultStep);
    vm.key("W");
    expect(vm.view.mode).toBe("watch");
    type(vm, ERROR_SLOT);
    expect(vm.view.watches).toEqual([expect.objectContaining({ expression: ERROR_SLOT, address: ERROR_ADDR, size: 4 })]);
    vm.key("r");
    await vm.idle();
    const last = writes[writes.length - 1].step;
    expect(vm.view.step).toBe(last);
    expect(vm.view.message).toMatch(/^watch .*registers\[Error\]: last written by step/);
    vm.key("r");
    await vm.idle();
    const previous = writes.filter((w) => w.step < last).at(-1)!.step;
    expect(vm.view.step).toBe(previous);
    vm.key("c");
    await vm.idle();
    expect(vm.view.step).toBe(last);
  });

  test("alongside a breakpoint the nearer stop wins; W again removes; registers and junk are refused", async () => {
    const entry = rec.symbols!.functionNamed("idle_thread")!.entry;
    const lastWrite = rec.trace.lastWrite({ address: ERROR_ADDR, size: 4 }, faultStep)!.step;
    const lastEntry = all.filter((r) => r.step < faultStep && r.kind === "instruction" && r.regs.eip === entry).at(-1)!.step;
    const vm = new DebuggerViewModel(rec, faultStep);
    vm.key("W");
    type(vm, ERROR_SLOT);
    vm.key("b");
    type(vm, "idle_thread");
    vm.key("r");
    await vm.idle();
    expect(vm.view.step).toBe(Math.max(lastWrite, lastEntry));
    vm.key("W");
    type(vm, ERROR_SLOT);
    expect(vm.view.watches).toEqual([]);
    vm.key("W");
    type(vm, "$eax");
    expect(vm.view.message).toMatch(/is a register/);
    vm.key("W");
    type(vm, "no_such_thing");
    expect(vm.view.message).toMatch(/^watch: .*no_such_thing/);
    expect(vm.view.watches).toEqual([]);
  });
});

describe("step over and source lines", () => {
  /** Calls after boot whose callee returns (the first one, init_kernel, never does). */
  const returningCalls = () => {
    const out: { call: number; back: number }[] = [];
    for (const r of all) {
      if (r.kind !== "instruction" || !text(r).startsWith("call") || r.step >= faultStep) continue;
      const ret = (r.regs.eip + disassemble(r.bytes, r.regs.eip).length) >>> 0;
      const back = all.find((x) => x.step > r.step && x.regs.eip >>> 0 === ret && x.regs.esp >>> 0 >= r.regs.esp >>> 0);
      if (back !== undefined && back.step > r.step + 2) out.push({ call: r.step, back: back.step });
      if (out.length >= 6) break;
    }
    return out;
  };

  test("o runs a call to the instruction after it; O from there goes back to the call", async () => {
    const calls = returningCalls();
    expect(calls.length).toBe(6);
    for (const { call, back } of calls) {
      const vm = new DebuggerViewModel(rec, call);
      vm.key("o");
      await vm.idle();
      expect(vm.view.step, `o from ${call}`).toBe(back);
      expect(text(all[back - 1])).toMatch(/^ret/);
      vm.key("O");
      await vm.idle();
      expect(vm.view.step, `O from ${back}`).toBe(call);
      expect(vm.view.disasm.find((l) => l.current)!.text).toMatch(/^call/);
    }
  });

  test("o on anything but a call is n; O after anything but a ret is p; a call that never returns ends at the end", async () => {
    const plain = all.find((r) => r.step > 1000 && r.kind === "instruction" && !/^(call|ret)/.test(text(r)) && !/^ret/.test(text(all[r.step - 1])))!.step;
    const vm = new DebuggerViewModel(rec, plain);
    vm.key("o");
    await vm.idle();
    expect(vm.view.step).toBe(plain + 1);
    vm.goTo(plain);
    vm.key("O");
    await vm.idle();
    expect(vm.view.step).toBe(plain - 1);
    const initKernel = all.find((r) => r.kind === "instruction" && /<init_kernel>/.test(disassemble(r.bytes, r.regs.eip, (a) => rec.symbols!.symbolize(a)).text))!;
    vm.goTo(initKernel.step);
    vm.key("o");
    await vm.idle();
    expect(vm.view.step).toBe(rec.trace.steps);
    expect(vm.view.message).toMatch(/does not return before the end of the trace/);
  });

  test("l goes to the first later step on another is_stmt line; L to where the previous line was entered", async () => {
    const start = returningCalls()[2].call;
    const vm = new DebuggerViewModel(rec, start);
    let here = start;
    for (let i = 0; i < 5; i++) {
      const cur = lineOf(all[here].regs.eip)?.key ?? null;
      const want = all.find((r) => r.step > here && r.kind === "instruction" && lineOf(r.regs.eip)?.stmt === true && lineOf(r.regs.eip)!.key !== cur)!.step;
      vm.key("l");
      await vm.idle();
      expect(vm.view.step).toBe(want);
      here = want;
    }
    for (let i = 0; i < 4; i++) {
      const cur = lineOf(all[here].regs.eip)?.key ?? null;
      vm.key("L");
      await vm.idle();
      const s = vm.view.step;
      expect(s).toBeLessThan(here);
      const line = lineOf(all[s].regs.eip)!;
      expect(line.stmt).toBe(true);
      expect(line.key).not.toBe(cur);
      // Entered there: the step before was on another line.
      expect(lineOf(all[s - 1].regs.eip)?.key).not.toBe(line.key);
      // And no later step before `here` entered another line.
      for (let t = s + 1; t < here; t++) {
        const l = lineOf(all[t].regs.eip);
        if (l !== null && l.stmt && l.key !== cur && l.key !== line.key) throw new Error(`step ${t} (${l.key}) is a nearer line than ${s}`);
      }
      here = s;
    }
  });
});

describe("stack selection and bookmark list", () => {
  test("Down selects the word at ESP, w asks who wrote it, Esc clears the selection", async () => {
    const vm = new DebuggerViewModel(rec, faultStep);
    vm.key("", { downArrow: true });
    vm.key("", { downArrow: true });
    expect(vm.view.stackSelection).toBe(1);
    vm.key("", { upArrow: true });
    expect(vm.view.stackSelection).toBe(0);
    const word = vm.view.stack[0];
    expect(vm.view.message).toMatch(/registers\[10\]\) selected/);
    vm.key("w");
    await vm.idle();
    expect(vm.view.mode).toBe("answer");
    expect(vm.view.answer!.jumpTo).toBe(rec.trace.lastWrite({ address: word.address, size: 4 }, faultStep)!.step);
    vm.key("", { escape: true });
    vm.key("", { escape: true });
    expect(vm.view.stackSelection).toBeNull();
    vm.key("w");
    expect(vm.view.mode).toBe("why");
  });

  test("M lists the recording's bookmarks; arrows move, Enter jumps, Esc closes", () => {
    const vm = new DebuggerViewModel(rec, 500);
    vm.key("m");
    type(vm, "list-a");
    vm.goTo(faultStep);
    vm.key("m");
    type(vm, "list-b");
    vm.goTo(1000);
    vm.key("M");
    const v = vm.view;
    expect(v.mode).toBe("bookmarks");
    expect(v.bookmarkList!.items).toEqual(rec.bookmarks().map((b) => ({ name: b.name, step: b.step })));
    const names = v.bookmarkList!.items.map((b) => b.name);
    expect(v.bookmarkList!.selected).toBe(names.indexOf("list-a"));
    vm.key("", { downArrow: true });
    expect(vm.view.bookmarkList!.items[vm.view.bookmarkList!.selected].name).toBe("list-b");
    vm.key("", { return: true });
    expect(vm.view.mode).toBe("normal");
    expect(vm.view.step).toBe(faultStep);
    vm.key("M");
    vm.key("", { escape: true });
    expect(vm.view.mode).toBe("normal");
    expect(vm.view.step).toBe(faultStep);
  });
});

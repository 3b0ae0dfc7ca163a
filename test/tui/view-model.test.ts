/**
 * The view model on the demo trace (the seL4 idle-thread bug): positions, register changes, panels
 * and every command, each checked against the trace library asked directly.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { openRecordingArg, type Recording } from "../../src/bundle/open.js";
import { DebuggerViewModel } from "../../src/tui/view-model.js";
import { ROOT, recordDemo, removeDemo } from "./helpers.js";

let tracePath: string;
let rec: Recording;
let faultStep: number;

beforeAll(() => {
  tracePath = recordDemo();
  rec = openRecordingArg(tracePath, { cwd: ROOT });
  faultStep = rec.trace.events().find((e) => e.kind === "fault")!.step;
});
afterAll(() => {
  rec?.close();
  removeDemo(tracePath);
});

const vmAt = (step?: number) => new DebuggerViewModel(rec, step);
const type = (vm: DebuggerViewModel, text: string) => {
  for (const c of text) vm.key(c);
  vm.key("", { return: true });
};
/** Types into a prompt and waits for the command it starts (why-write runs as a job). */
const typeAndWait = async (vm: DebuggerViewModel, text: string) => {
  type(vm, text);
  await vm.idle();
};

describe("locals", () => {
  test("in restore_user_context: r where it has a location, <optimised out> where it has none", () => {
    const di = rec.symbols!;
    const r = di.allLocals().find((l) => l.name === "r" && l.functionName === "restore_user_context")!;
    const list = (r.location as { list: { entries: { low: number }[] } }).list;
    const t = rec.trace;
    const inRange = t.findInstruction([list.entries[0].low], t.startStep, t.steps, "last")!;
    const v = vmAt(inRange).view;
    const shown = v.locals.find((l) => l.name === "r")!;
    // r = &ksCurThread->tcbArch.tcbContext.registers[0], from the registers and memory of that step.
    const st = t.stateAt(inRange);
    const cur = new DataView(st.readLinear(di.variable("ksCurThread")!.address!, 4)!.buffer).getUint32(0, true);
    expect(shown.text).toContain(`0x${(cur + 512).toString(16)}`);
    const entry = t.findInstruction([di.functionNamed("restore_user_context")!.entry], t.startStep, t.steps, "last")!;
    expect(vmAt(entry).view.locals).toEqual([{ name: "r", parameter: false, text: "<optimised out>" }]);
  });

  test("none in the idle thread", () => {
    const t = rec.trace;
    const idle = t.findInstruction([rec.symbols!.functionNamed("idle_thread")!.entry], t.startStep, t.steps, "last")!;
    expect(vmAt(idle).view.locals).toEqual([]);
  });
});

describe("position and panels", () => {
  test("opens at --at with the registers of that step", () => {
    const vm = vmAt(100);
    const v = vm.view;
    expect(v.step).toBe(100);
    expect(v.last).toBe(rec.trace.steps);
    const regs = rec.trace.stateAt(100).regs;
    for (const r of v.registers) expect(r.value).toBe((regs as unknown as Record<string, number>)[r.name]);
    expect(v.registers.map((r) => r.name)).toEqual(["eax", "ebx", "ecx", "edx", "esi", "edi", "ebp", "esp", "eip", "eflags"]);
  });

  test("flags exactly the registers the last step changed", () => {
    for (const step of [1, 100, 5000, faultStep, faultStep + 1]) {
      const v = vmAt(step).view;
      const before = rec.trace.describeStep(step - 1)!.regs as unknown as Record<string, number>;
      const after = rec.trace.stateAt(step).regs as unknown as Record<string, number>;
      for (const r of [...v.registers, ...v.system]) expect(r.changed, `${r.name} at ${step}`).toBe(before[r.name] !== after[r.name]);
      // Every instruction moves EIP or (rep stos) ECX; a fault's abort may change nothing.
      if (step < faultStep) expect(v.registers.some((r) => r.changed)).toBe(true);
    }
    expect(vmAt(0).view.registers.some((r) => r.changed)).toBe(false);
  });

  test("disassembly has EIP current, with instructions before it, and the source line", () => {
    const v = vmAt(faultStep).view;
    const eip = rec.trace.stateAt(faultStep).regs.eip;
    const cur = v.disasm.find((l) => l.current)!;
    expect(cur.address).toBe(eip);
    expect(cur.text).toBe("iret");
    expect(v.disasm.indexOf(cur)).toBeGreaterThan(0);
    expect(v.location.symbol).toMatch(/^restore_user_context\+0x/);
    expect(v.source.file).toBe("src/kernel/thread.c");
    const line = v.source.lines.find((l) => l.current)!;
    expect(line.number).toBe(v.location.line);
    expect(v.source.missing).toBeNull();
    expect(v.stepKind).toMatch(/^fault 13/);
  });

  test("the stack view reads words at ESP and names them", () => {
    const v = vmAt(faultStep).view;
    const st = rec.trace.stateAt(faultStep);
    const esp = st.regs.esp;
    v.stack.forEach((w, i) => {
      expect(w.address).toBe(esp + 4 * i);
      const b = st.readLinear(w.address, 4)!;
      expect(w.value).toBe((b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0);
    });
    // At the fault ESP points into the idle TCB's register array.
    expect(v.stack[0].name).toMatch(/ksIdleThread->tcbArch\.tcbContext\.registers\[10\]/);
  });

  test("the timeline marks the trace's interrupt and exceptions and the position", () => {
    const v = vmAt(0).view;
    expect(v.timeline.count).toBe(rec.trace.events().length);
    expect(v.timeline.cells).toMatch(/[ie]/);
    expect(v.timeline.cursor).toBe(0);
    expect(vmAt(rec.trace.steps).view.timeline.cursor).toBe(v.timeline.cells.length - 1);
  });
});

describe("keys", () => {
  test("n, p, <, >, Home, End move and clamp", () => {
    const vm = vmAt(100);
    vm.key("n");
    expect(vm.view.step).toBe(101);
    for (let i = 0; i < 4; i++) vm.key("p");
    expect(vm.view.step).toBe(97);
    expect(vm.view.message).toBe("reverse-stepped to 97");
    vm.key(">");
    expect(vm.view.step).toBe(rec.trace.steps);
    vm.key("n");
    expect(vm.view.step).toBe(rec.trace.steps);
    expect(vm.view.message).toBe("at the end of the trace");
    vm.key("", { home: true });
    expect(vm.view.step).toBe(0);
    vm.key("p");
    expect(vm.view.message).toBe("at the start of the trace");
    vm.key("", { end: true });
    expect(vm.view.step).toBe(rec.trace.steps);
    vm.key("<");
    expect(vm.view.step).toBe(0);
  });

  test("p lands on the same state as opening at N-1", () => {
    const vm = vmAt(faultStep + 2);
    vm.key("p");
    vm.key("p");
    expect(vm.view.registers).toEqual(vmAt(faultStep).view.registers);
  });

  test("g goes to a typed step, refuses junk, Esc cancels", () => {
    const vm = vmAt(0);
    vm.key("g");
    expect(vm.view.mode).toBe("goto");
    type(vm, "12,345");
    expect(vm.view.step).toBe(12345);
    vm.key("g");
    type(vm, "abc");
    expect(vm.view.step).toBe(12345);
    expect(vm.view.message).toMatch(/'abc' is not a step number/);
    vm.key("g");
    vm.key("9");
    vm.key("", { backspace: true });
    vm.key("7");
    expect(vm.view.input).toBe("7");
    vm.key("", { escape: true });
    expect(vm.view.mode).toBe("normal");
    expect(vm.view.step).toBe(12345);
    vm.key("g");
    type(vm, "fault");
    expect(vm.view.step).toBe(faultStep);
  });

  test("keys that arrive in one chunk are taken one by one", () => {
    const vm = vmAt(0);
    vm.key("g42\r");
    expect(vm.view.step).toBe(42);
    expect(vm.key("nnq")).toBe("quit");
    expect(vm.view.step).toBe(44);
  });

  test("i and I go to the next and previous interrupt or exception", () => {
    const events = rec.trace.events();
    const vm = vmAt(0);
    vm.key("i");
    expect(vm.view.step).toBe(events[0].step);
    expect(vm.view.stepKind).not.toBeNull();
    vm.key(">");
    vm.key("I");
    expect(vm.view.step).toBe(events[events.length - 1].step);
    vm.key("<");
    vm.key("I");
    expect(vm.view.message).toBe("no earlier interrupt or exception");
  });

  test("? opens help and Esc closes it; q quits", () => {
    const vm = vmAt(0);
    vm.key("?");
    expect(vm.view.mode).toBe("help");
    vm.key("n");
    expect(vm.view.step).toBe(0);
    vm.key("", { escape: true });
    expect(vm.view.mode).toBe("normal");
    expect(vm.key("q")).toBe("quit");
  });
});

describe("why-write", () => {
  test("at the fault: the timer interrupt frame push, chained back to idle_thread's push %ebp; j jumps there", async () => {
    const vm = vmAt(faultStep);
    vm.key("w");
    await typeAndWait(vm, "ksIdleThread->tcbArch.tcbContext.registers[Error]");
    const v = vm.view;
    expect(v.mode).toBe("answer");
    const text = v.answer!.lines.join("\n");
    expect(text).toMatch(/vector 157/);
    expect(text).toMatch(/interrupted code: idle_thread\+0x/);
    expect(text).toMatch(/`push %ebp` in idle_thread/);
    const write = rec.trace.lastWrite({ address: 0xe010f624, size: 4 }, faultStep)!;
    expect(v.answer!.jumpTo).toBe(write.step);
    vm.key("", { downArrow: true });
    expect(vm.view.answer!.scroll).toBe(1);
    vm.key("j");
    expect(vm.view.mode).toBe("normal");
    expect(vm.view.step).toBe(write.step);
    expect(vm.view.stepKind).toMatch(/^interrupt 157/);
  });

  test("early in the trace, where the TCB is not mapped yet, it asks at the first fault and says so", async () => {
    const vm = vmAt(97);
    vm.key("w");
    await typeAndWait(vm, "ksIdleThread->tcbArch.tcbContext.registers[Error]");
    const lines = vm.view.answer!.lines;
    expect(lines[0]).toMatch(/not resolvable at step 97.*asked at the first fault, step/);
    expect(lines.join("\n")).toMatch(/`push %ebp` in idle_thread/);
  });

  test("@ STEP asks at that step; bad input is one message, not an exception", async () => {
    const vm = vmAt(0);
    vm.key("w");
    await typeAndWait(vm, `0xe010f624 @ ${faultStep}`);
    expect(vm.view.answer!.jumpTo).toBe(rec.trace.lastWrite({ address: 0xe010f624, size: 4 }, faultStep)!.step);
    vm.key("", { escape: true });
    vm.key("w");
    await typeAndWait(vm, "no_such_symbol + 1 @ end");
    expect(vm.view.mode).toBe("normal");
    expect(vm.view.message).toMatch(/^why-write: .*no_such_symbol/);
    vm.key("w");
    await typeAndWait(vm, "0x10 @ soon");
    expect(vm.view.message).toMatch(/'soon' is not a step number/);
  });

  test("a register: its last change", async () => {
    const vm = vmAt(faultStep);
    vm.key("w");
    await typeAndWait(vm, "$esp");
    const change = rec.trace.lastRegisterChange("esp", faultStep)!;
    expect(vm.view.answer!.jumpTo).toBe(change.step);
  });
});

describe("breakpoints and bookmarks", () => {
  test("b on a function; r and c stop where EIP is its entry", async () => {
    const entry = rec.symbols!.functionNamed("idle_thread")!.entry;
    const vm = vmAt(faultStep);
    vm.key("b");
    type(vm, "idle_thread");
    expect(vm.view.breakpoints).toEqual([{ address: entry, name: "idle_thread" }]);
    vm.key("r");
    await vm.idle();
    const back = vm.view.step;
    expect(back).toBeLessThan(faultStep);
    expect(rec.trace.stateAt(back).regs.eip).toBe(entry);
    expect(vm.view.disasm.find((l) => l.current)!.text).toBe("push %ebp");
    // Nothing between it and the fault runs idle_thread's entry again.
    const cursor = rec.trace.cursor(back + 1);
    for (let s = back + 1; s < faultStep; s++) expect(cursor.next()!.regs.eip).not.toBe(entry);
    vm.key("<");
    vm.key("c");
    await vm.idle();
    const first = vm.view.step;
    expect(first).toBeLessThanOrEqual(back);
    expect(rec.trace.stateAt(first).regs.eip).toBe(entry);
    vm.key("b");
    type(vm, "idle_thread");
    expect(vm.view.breakpoints).toEqual([]);
    vm.key("b");
    type(vm, "nowhere_at_all");
    expect(vm.view.message).toMatch(/cannot find 'nowhere_at_all'/);
  });

  test("m sets a bookmark in the trace; ' jumps to it", () => {
    const vm = vmAt(faultStep);
    vm.key("m");
    type(vm, "the-fault");
    expect(rec.bookmarks().find((b) => b.name === "the-fault")?.step).toBe(faultStep);
    vm.key("<");
    vm.key("'");
    expect(vm.view.step).toBe(faultStep);
    expect(vm.view.message).toMatch(/bookmark 'the-fault'/);
  });
});

describe("explain", () => {
  test("e from anywhere explains the recording's crash in the answer panel; j jumps to the root, push %ebp", async () => {
    const vm = vmAt(100);
    vm.key("e");
    await vm.idle();
    const v = vm.view;
    expect(v.mode).toBe("answer");
    const text = v.answer!.lines.join("\n");
    expect(text).toMatch(/^Crash: #GP\(0x200\)/);
    expect(text).toContain("<- root");
    const root = rec.trace.findInstruction([rec.symbols!.functionNamed("idle_thread")!.entry], rec.trace.startStep, faultStep, "last")!;
    expect(v.answer!.jumpTo).toBe(root);
    vm.key("j");
    expect(vm.view.step).toBe(root);
    expect(vm.view.message).toBe(`jumped to the root, step ${root.toLocaleString("en-US")}`);
  });

  test("e on a step that is not a fault, in a trace with a crash, still explains the crash; the help lists e", async () => {
    const vm = vmAt(faultStep);
    vm.key("e");
    await vm.idle();
    expect(vm.view.answer!.lines[0]).toContain(`at step ${faultStep.toLocaleString("en-US")}`);
    vm.key("", { escape: true });
    vm.key("?");
    expect(vm.view.mode).toBe("help");
  });
});

describe("commands", () => {
  test("each help line names exactly the keys its command acts on (one table for keys and help)", () => {
    const named = (keys: string) => keys.split(/ \/ | /).filter((k) => k !== "");
    const seen = new Set<string>();
    for (const c of DebuggerViewModel.COMMANDS) {
      const actions = Object.keys(c.actions);
      for (const k of actions) {
        expect(seen.has(k), `key ${k} bound twice`).toBe(false);
        seen.add(k);
      }
      // A help-only line documents a key of another mode (j in an answer).
      if (actions.length > 0) expect(actions.sort()).toEqual(named(c.keys).sort());
    }
    // A key with no command does nothing; q quits.
    const vm = vmAt(100);
    expect(vm.key("Z")).toBeUndefined();
    expect(vm.view.step).toBe(100);
    expect(vm.key("q")).toBe("quit");
  });
});

/**
 * The call path of a write (src/query/call-path.ts), on guests built for it (test/trace/guests/calls.S,
 * jumps.S for tail calls and return-based jumps, syscalls.S for int 0x80 and sysenter from ring 3):
 * nested calls through a retpoline-style thunk, an interrupt handler that moves to a stack of its own,
 * and a switch to another "task" whose stack leaves the first task's frames dormant. The answers are
 * the guest's own labels; nothing but the trace's calls and returns is used to find them.
 */
import * as path from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import { Trace } from "../../src/trace/trace.js";
import { QueryContext } from "../../src/query/context.js";
import { callPath, type CallPath } from "../../src/query/call-path.js";
import { buildGuest, canBuildGuests, recordInline, requireBuiltCli, tmpDir, ttd } from "../trace/helpers.js";

/** A guest recorded for the call path, and the step that wrote each of its targets (written once each). */
interface Recorded {
  trace: Trace;
  ctx: QueryContext;
  tracePath: string;
  writer: Map<string, number>;
}

async function recordTargets(guest: string, targets: string[]): Promise<Recorded> {
  const tracePath = path.join(tmpDir(), `${guest}.trace`);
  // Small keyframes and chunks: the windows the path is searched in then cross keyframes.
  const rec = await recordInline(buildGuest(guest), tracePath, { keyframeSteps: 16, chunkSteps: 8 });
  expect(rec.result.reason).toBe("halt");
  const trace = Trace.open(tracePath);
  const ctx = new QueryContext(trace);
  const writer = new Map<string, number>();
  for (const name of targets) {
    const w = trace.lastWrite({ address: ctx.symbols!.variable(name)!.address!, size: 4 }, trace.steps);
    expect(w, name).not.toBeNull();
    writer.set(name, w!.step);
  }
  return { trace, ctx, tracePath, writer };
}

const strip = (s: string | null) => (s ?? "?").replace(/\+0x[0-9a-f]+$/, "");

describe.skipIf(!canBuildGuests)("the call path of a write", () => {
  let ctx: QueryContext;
  let tracePath: string;
  let writer: Map<string, number>;

  beforeAll(async () => {
    ({ ctx, tracePath, writer } = await recordTargets("calls", ["target1", "target2", "target3"]));
  });

  const sites = (p: CallPath) => p.frames.map((f) => `${f.kind} ${strip(f.site.symbol)}`);

  test("nested calls through a thunk that returns into its target: the thunk's own call is not a caller", () => {
    const p = callPath(ctx, writer.get("target1")!);
    expect(p.code.symbol).toBe("inner");
    expect(sites(p)).toEqual(["call middle", "call outer", "call _start"]);
    // middle called the thunk, which went on into inner.
    expect(ctx.symbols!.symbolize(p.frames[0].entry)).toBe("thunk_eax");
    expect(p.end).toBe("trace-start");
    expect(p.frames.map((f) => f.step)).toEqual([...p.frames.map((f) => f.step)].sort((a, b) => b - a));
  });

  test("a handler on a stack of its own: the path ends at the delivery, which names the int instruction", () => {
    const p = callPath(ctx, writer.get("target2")!);
    expect(p.code.symbol).toBe("work");
    expect(sites(p)).toEqual(["call handler", "delivery _start"]);
    const d = p.frames[1];
    expect(d).toMatchObject({ kind: "delivery", vector: 0x40, external: false });
    expect(d.site.disasm).toMatch(/^int \$0x40/);
    expect(p.end).toBe("delivery");
    // Asked to go on, the path continues into the interrupted code's callers (none: _start).
    expect(callPath(ctx, writer.get("target2")!, { throughDeliveries: true }).end).toBe("trace-start");
  });

  test("after a switch to another stack, the first task's dormant frames are not callers", () => {
    const p = callPath(ctx, writer.get("target3")!);
    expect(p.code.symbol).toBe("b_work");
    expect(sites(p)).toEqual(["call b_entry"]);
  });

  test("limits: frames and steps searched", () => {
    expect(callPath(ctx, writer.get("target1")!, { maxFrames: 2 })).toMatchObject({ end: "depth" });
    expect(sites(callPath(ctx, writer.get("target1")!, { maxFrames: 2 }))).toEqual(["call middle", "call outer"]);
    const near = callPath(ctx, writer.get("target1")!, { maxSteps: 1 });
    expect(near.end).toBe("searched");
    expect(near.searchedFrom).toBeLessThan(writer.get("target1")!);
  });

  test("why-write prints and returns the path", () => {
    requireBuiltCli();
    const text = ttd(["why-write", "target2", "--trace", tracePath]);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^ {4}called from \(innermost first; the step each call or delivery happened at\):\n {6}step +\d+ {2}handler\+0x[0-9a-f]+\n {6}step +\d+ {2}an exception or int n, vector 64 \(0x40\), at _start\+0x[0-9a-f]+$/m);
    const json = JSON.parse(ttd(["why-write", "target1", "--trace", tracePath, "--json"]).stdout) as { location: { size: number }; callPath: { end: string; frames: { kind: string; symbol: string; entry: string }[] } };
    // A typeless label (an assembler label, as a System.map's symbols) watches a word.
    expect(json.location.size).toBe(4);
    expect(json.callPath.end).toBe("trace-start");
    expect(json.callPath.frames.map((f) => strip(f.symbol))).toEqual(["middle", "outer", "_start"]);
  });
});

describe.skipIf(!canBuildGuests)("the call path through jumps that stand in for calls and returns", () => {
  let trace: Trace;
  let ctx: QueryContext;
  let tracePath: string;
  let writer: Map<string, number>;

  beforeAll(async () => {
    ({ trace, ctx, tracePath, writer } = await recordTargets("jumps", ["target1", "target2", "target3", "target4", "target5"]));
  });

  const name = (eip: number) => ctx.symbols!.symbolize(eip);
  /** Each frame as `caller -> callee`, and its tail calls as `from => to`. */
  const shape = (p: CallPath) =>
    p.frames.map((f) => {
      const tails = f.kind === "call" ? f.tailCalls.map((t) => ` ${strip(t.site.symbol)} => ${t.name}`).join("") : "";
      return `${strip(f.site.symbol)} -> ${name(f.entry)}${tails}`;
    });

  test("a tail call by jmp: the frame is the tail-called function's, entered from the function that jumped", () => {
    const p = callPath(ctx, writer.get("target1")!);
    expect(strip(p.code.symbol)).toBe("foo");
    // foo's own loop jump, made with its return address on top of the stack, is not a call.
    expect(shape(p)).toEqual(["caller1 -> bar bar => foo", "_start -> caller1"]);
    expect(p.end).toBe("trace-start");
    const f = p.frames[0];
    if (f.kind !== "call") throw new Error("not a call");
    expect(f.tailCalls[0].site.disasm).toMatch(/^jmp /);
    expect(f.tailCalls[0].step).toBeGreaterThan(f.step);
  });

  test("tail calls in a row, the first through a register: the last one's function runs in the frame", () => {
    const p = callPath(ctx, writer.get("target2")!);
    expect(strip(p.code.symbol)).toBe("baz");
    expect(shape(p)).toEqual(["caller2 -> bar2 bar2 => foo2 foo2 => baz", "_start -> caller2"]);
  });

  test("a `push; ret` jump inside a function matches no call and ends no frame", () => {
    const p = callPath(ctx, writer.get("target3")!);
    expect(strip(p.code.symbol)).toBe("leaf");
    expect(shape(p)).toEqual(["deep -> leaf", "caller3 -> deep", "_start -> caller3"]);
    // Re-executed from the return itself (deep+6, after `push %ebx; push $1f`) (the push before it is looked back at), it is still a jump.
    const ret = trace.findInstruction([ctx.symbols!.functionNamed("deep")!.entry + 6], 0, trace.steps)!;
    expect(trace.controlTransfers(ret, ret + 1)).toMatchObject([{ kind: "pushed-return", step: ret }]);
  });

  test("a retpoline-style `push $f; ret` at a function's end is a tail call", () => {
    const p = callPath(ctx, writer.get("target4")!);
    expect(shape(p)).toEqual(["caller4 -> rp rp => foo4", "_start -> caller4"]);
  });

  test("a return address popped and pushed back is still returned to: the frame ends", () => {
    expect(shape(callPath(ctx, writer.get("target5")!))).toEqual(["caller5 -> leaf5", "_start -> caller5"]);
  });

  test("at every step, the calls on the path are the return addresses on the stack", () => {
    // The truth, found another way: this guest keeps one stack and pushes no code address a call did
    // not, so the words between ESP and the stack's top that follow a `call rel32` are the open calls.
    const stackTop = ctx.symbols!.variable("stack_top")!.address!;
    let checked = 0;
    for (let step = 0; step <= trace.steps; step++) {
      const state = trace.stateAt(step);
      const esp = state.regs.esp >>> 0;
      if (esp > stackTop || esp < stackTop - 4096) continue;
      const mem = state.machine.mem.u8;
      const truth: number[] = [];
      for (let at = esp; at < stackTop; at += 4) {
        const word = (mem[at] | (mem[at + 1] << 8) | (mem[at + 2] << 16) | (mem[at + 3] << 24)) >>> 0;
        if (word >= 5 && word < mem.length && mem[word - 5] === 0xe8) truth.push(word - 5);
      }
      expect(callPath(ctx, step).frames.map((f) => f.site.eip), `step ${step}`).toEqual(truth);
      checked++;
    }
    expect(checked).toBeGreaterThan(50);
  });

  test("why-write names the tail-called function and the jump", () => {
    requireBuiltCli();
    const text = ttd(["why-write", "target2", "--trace", tracePath]);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^ {6}step +\d+ {2}baz \(tail-called from foo2\+0x[0-9a-f]+\)\n {6}step +\d+ {2}foo2 \(tail-called from bar2\+0x[0-9a-f]+\)\n {6}step +\d+ {2}caller2(\+0x[0-9a-f]+)?\n {6}step +\d+ {2}_start\+0x[0-9a-f]+$/m);
    const json = JSON.parse(ttd(["why-write", "target2", "--trace", tracePath, "--json"]).stdout) as { callPath: { frames: { kind: string; tailCalls: { function: string }[] }[] } };
    expect(json.callPath.frames.map((f) => f.tailCalls.map((t) => t.function))).toEqual([["foo2", "baz"], []]);
  });
});

describe.skipIf(!canBuildGuests)("the call path across system calls from user mode", () => {
  let ctx: QueryContext;
  let tracePath: string;
  let writer: Map<string, number>;

  beforeAll(async () => {
    ({ ctx, tracePath, writer } = await recordTargets("syscalls", ["target1", "target2", "target3", "target4"]));
  });

  const shape = (p: CallPath) =>
    p.frames.map((f) => {
      const callee = ctx.symbols!.symbolize(f.entry);
      if (f.kind === "syscall") return `${f.via}${f.vector === null ? "" : ` ${f.vector}`} from ${strip(f.site.symbol)} -> ${callee}`;
      return `${f.kind} ${strip(f.site.symbol)} -> ${callee}`;
    });

  test("int 0x80 from ring 3: the path ends at the system call, naming the user instruction", () => {
    const p = callPath(ctx, writer.get("target1")!);
    expect(strip(p.code.symbol)).toBe("sys_one");
    expect(shape(p)).toEqual(["call sys_dispatch -> sys_one", "call int80_entry -> sys_dispatch", "int 128 from u_int -> int80_entry"]);
    expect(p.end).toBe("syscall");
    expect(p.frames[2].site.disasm).toMatch(/^int \$0x80/);
    // Through it: the user code's callers (user_main was entered by an iret, not a call).
    const through = callPath(ctx, writer.get("target1")!, { throughDeliveries: true });
    expect(shape(through).slice(3)).toEqual(["call user_main -> u_int"]);
    expect(through.end).toBe("trace-start");
  });

  test("sysenter: the kernel's entry is a system call frame, which sysexit ends", () => {
    const p = callPath(ctx, writer.get("target2")!);
    expect(strip(p.code.symbol)).toBe("sys_two");
    expect(shape(p)).toEqual(["call sysenter_entry -> sys_two", "sysenter from u_sysenter -> sysenter_entry"]);
    expect(p.end).toBe("syscall");
    expect(shape(callPath(ctx, writer.get("target2")!, { throughDeliveries: true })).slice(2)).toEqual(["call user_main -> u_sysenter"]);
    // Back in user mode after both system calls, no kernel frame is open.
    expect(shape(callPath(ctx, writer.get("target3")!))).toEqual(["call user_main -> u_after"]);
  });

  test("a sysenter that goes back with an iret: the iret ends the system call, not the user code's frames", () => {
    expect(shape(callPath(ctx, writer.get("target4")!))).toEqual(["call user_main -> u_wrap"]);
  });

  test("why-write names the entry and the user EIP", () => {
    requireBuiltCli();
    const text = ttd(["why-write", "target2", "--trace", tracePath]);
    expect(text.status, text.stderr).toBe(0);
    // The sysenter follows `mov $1f, %edx` (5 bytes) and `mov %esp, %ecx` (2).
    const eip = (ctx.symbols!.functionNamed("u_sysenter")!.entry + 7).toString(16);
    expect(text.stdout).toContain(`syscall via sysenter from user EIP 0x${eip} (u_sysenter+0x7)\n`);
    const json = JSON.parse(ttd(["why-write", "target1", "--trace", tracePath, "--json"]).stdout) as { callPath: { end: string; frames: { kind: string; via: string | null; vector: number | null }[] } };
    expect(json.callPath.end).toBe("syscall");
    expect(json.callPath.frames[2]).toMatchObject({ kind: "syscall", via: "int", vector: 0x80 });
  });
});

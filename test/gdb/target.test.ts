/**
 * ReplayTarget against brute force on the demo trace: every state's EIP from one linear walk, memory
 * values step by step. The target's searches (windows, the write index) must find the same stops.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import { Trace } from "../../src/trace/trace.js";
import { ReplayTarget } from "../../src/gdb/replay-target.js";
import { disassemble } from "../../src/disasm/disassembler.js";
import { demoSymbols, recordDemo, tmpDir } from "./helpers.js";

let dir: string;
let trace: Trace;
/** EIP of every state 0..steps. */
let eips: Uint32Array;
const sym = demoSymbols();

beforeAll(async () => {
  dir = tmpDir();
  trace = Trace.open(await recordDemo(dir));
  eips = new Uint32Array(trace.steps + 1);
  const c = trace.cursor(trace.startStep);
  for (let rec = c.next(); rec !== null; rec = c.next()) eips[rec.step] = rec.regs.eip;
  eips[trace.steps] = trace.stateAt(trace.steps).regs.eip;
});

afterAll(() => {
  trace?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const hitsOf = (addr: number) => [...eips.keys()].filter((s) => eips[s] === addr);
const word = (step: number, addr: number) => Buffer.from(trace.stateAt(step).readLinear(addr, 4)!).readUInt32LE(0);

describe("breakpoints", () => {
  it("forward continue stops at each execution of the address, in order, then at the end", async () => {
    const hits = hitsOf(sym.restoreUserContext);
    expect(hits.length).toBeGreaterThan(2);
    const t = new ReplayTarget(trace);
    t.insertBreakpoint("sw", sym.restoreUserContext);
    for (const h of hits) {
      const stop = await t.continue("forward");
      expect(stop).toEqual({ step: h, reason: { kind: "breakpoint", type: "sw", address: sym.restoreUserContext } });
      expect(t.registers().eip).toBe(sym.restoreUserContext);
    }
    expect(await t.continue("forward")).toEqual({ step: trace.steps, reason: { kind: "history", end: "end" } });
  });

  it("reverse continue finds them newest first, then the beginning", async () => {
    const hits = hitsOf(sym.restoreUserContext).reverse();
    const t = new ReplayTarget(trace, trace.steps);
    t.insertBreakpoint("hw", sym.restoreUserContext);
    for (const h of hits) {
      expect(await t.continue("backward")).toEqual({ step: h, reason: { kind: "breakpoint", type: "hw", address: sym.restoreUserContext } });
    }
    expect(await t.continue("backward")).toEqual({ step: trace.startStep, reason: { kind: "history", end: "begin" } });
  });

  it("the state continued from does not count, in either direction", async () => {
    const [h] = hitsOf(sym.idleThread);
    const t = new ReplayTarget(trace, h);
    t.insertBreakpoint("sw", sym.idleThread);
    const back = await t.continue("backward");
    expect(back.step).toBeLessThan(h);
    t.seek(h);
    const fwd = await t.continue("forward");
    expect(fwd.step === trace.steps || fwd.step > h).toBe(true);
  });

  it("a backward search costs about the distance to the hit, not the trace", async () => {
    const hits = hitsOf(sym.restoreUserContext);
    const last = hits[hits.length - 1];
    const t = new ReplayTarget(trace, last + 50);
    t.insertBreakpoint("sw", sym.restoreUserContext);
    expect((await t.continue("backward")).step).toBe(last);
    // One first window (2048 steps) at most, far less than the trace, and nothing one step at a time.
    expect(t.stepsSearched).toBeGreaterThan(0);
    expect(t.stepsSearched).toBeLessThanOrEqual(2048);
    expect(t.stepsScanned).toBe(0);
    expect(trace.steps).toBeGreaterThan(20 * 2048);
  });

  it("an interrupt ends a long search early, at a step it has checked up to", async () => {
    // Slices far shorter than the trace, so the search yields (and sees the interrupt) long before its end.
    const t = new ReplayTarget(trace, undefined, { breakpointSliceSteps: 1000 });
    t.insertBreakpoint("sw", 0x12345678); // never executed
    const p = t.continue("forward");
    t.interrupt(); // seen at the first slice boundary
    const stop = await p;
    expect(stop.reason).toEqual({ kind: "interrupted" });
    expect(stop.step).toBeGreaterThan(0);
    expect(stop.step).toBeLessThan(trace.steps);
    expect(t.position).toBe(stop.step);
  });
});

describe("single steps", () => {
  it("move one step and stop at the ends without moving", async () => {
    const t = new ReplayTarget(trace);
    expect(await t.step("backward")).toEqual({ step: 0, reason: { kind: "history", end: "begin" } });
    expect(await t.step("forward")).toEqual({ step: 1, reason: { kind: "step" } });
    expect(t.registers().eip).toBe(eips[1]);
    expect(await t.step("backward")).toEqual({ step: 0, reason: { kind: "step" } });
    t.seek(trace.steps);
    expect(await t.step("forward")).toEqual({ step: trace.steps, reason: { kind: "history", end: "end" } });
    expect(await t.step("backward")).toEqual({ step: trace.steps - 1, reason: { kind: "step" } });
    expect(t.registers().eip).toBe(eips[trace.steps - 1]);
  });
});

describe("write watchpoints", () => {
  it("reverse continue from the end finds the last writes of registers[Error] through the index", async () => {
    const t = new ReplayTarget(trace, trace.steps);
    t.insertWatchpoint({ type: "write", address: sym.errorSlot, length: 4 });
    const first = await t.continue("backward");
    expect(first.reason).toEqual({ kind: "watch", type: "write", address: sym.errorSlot });
    // Nothing changes the word between the stop and the end; the step at the stop writes it.
    const final = word(trace.steps, sym.errorSlot);
    for (let s = first.step + 1; s <= trace.steps; s++) expect(word(s, sym.errorSlot)).toBe(final);
    expect(word(first.step, sym.errorSlot)).not.toBe(final);
    // That write is the #GP frame pushed at the failed iret in restore_user_context.
    expect(eips[first.step]).toBeGreaterThanOrEqual(sym.restoreUserContext);

    // Next one back: the timer interrupt taken in idle_thread pushes the idle EIP into the Error slot.
    const second = await t.continue("backward");
    expect(second.reason.kind).toBe("watch");
    expect(eips[second.step]).toBeGreaterThanOrEqual(sym.idleThread);
    expect(eips[second.step]).toBeLessThan(sym.idleThread + 0x20);
    expect(word(second.step + 1, sym.errorSlot)).toBe(eips[second.step]);
    // No step was re-executed one by one: the write index answered both.
    expect(t.stepsScanned).toBe(0);
  });

  it("forward continue from before paging stops just after the first write through the address", async () => {
    // At step 0 paging is off and 0xe01xxxxx means nothing; the watch still finds the frame it maps
    // to later, and (like a hardware watchpoint on a linear address) ignores the boot code clearing
    // BSS through the frame's physical address.
    const t = new ReplayTarget(trace);
    t.insertWatchpoint({ type: "write", address: sym.errorSlot, length: 4 });
    const stop = await t.continue("forward");
    expect(stop.reason).toEqual({ kind: "watch", type: "write", address: sym.errorSlot });
    const through = (ws: { linear: number; size: number }[]) => ws.filter((w) => w.linear < sym.errorSlot + 4 && w.linear + w.size > sym.errorSlot);
    const range = { address: sym.errorSlot, size: 4 };
    expect(through(trace.writesIn(range, stop.step - 1, stop.step)).length).toBeGreaterThan(0);
    const before = trace.writesIn(range, 0, stop.step - 1);
    expect(through(before)).toEqual([]);
    expect(before.length).toBeGreaterThan(0);
    expect(before.every((w) => w.linear === w.physical)).toBe(true);
  });

  it("a single step that writes the range reports the watchpoint", async () => {
    const t = new ReplayTarget(trace, trace.steps);
    t.insertWatchpoint({ type: "write", address: sym.errorSlot, length: 4 });
    const stop = await t.continue("backward");
    // Stepping forward over the writing step reports it; stepping back over it again too.
    expect((await t.step("forward")).reason).toMatchObject({ kind: "watch", type: "write" });
    expect(await t.step("backward")).toEqual({ step: stop.step, reason: stop.reason });
    expect((await t.step("backward")).reason).toEqual({ kind: "step" });
  });

  it("removing a watchpoint forgets it", async () => {
    const t = new ReplayTarget(trace, trace.steps);
    const w = { type: "write" as const, address: sym.errorSlot, length: 4 };
    t.insertWatchpoint(w);
    t.removeWatchpoint(w);
    expect(await t.continue("backward")).toEqual({ step: 0, reason: { kind: "history", end: "begin" } });
  });
});

describe("read watchpoints", () => {
  it("reverse continue stops before the last instruction that read the variable", async () => {
    const t = new ReplayTarget(trace, trace.steps);
    t.insertWatchpoint({ type: "read", address: sym.ksCurThread, length: 4 });
    const stop = await t.continue("backward");
    expect(stop.reason).toMatchObject({ kind: "watch", type: "read", address: sym.ksCurThread });
    const rec = trace.cursor(stop.step).next()!;
    const text = disassemble(rec.bytes, rec.regs.eip).text;
    // The instruction names the variable's address as its memory operand.
    expect(text).toContain(`0x${sym.ksCurThread.toString(16)}`);
    expect(t.stepsScanned).toBeGreaterThan(0);
  });

  it("forward continue stops after the reading instruction", async () => {
    const t = new ReplayTarget(trace);
    t.insertWatchpoint({ type: "access", address: sym.ksCurThread, length: 4 });
    const stop = await t.continue("forward");
    expect(stop.reason).toMatchObject({ kind: "watch", type: "access" });
    // Either the write index or the read scan found it; the step before the stop touched it.
    const rec = trace.cursor(stop.step - 1).next()!;
    const wrote = trace.writesIn({ address: sym.ksCurThread, size: 4 }, stop.step - 1, stop.step).length > 0;
    const named = disassemble(rec.bytes, rec.regs.eip).text.includes(`0x${sym.ksCurThread.toString(16)}`);
    expect(wrote || named).toBe(true);
  });
});

describe("state", () => {
  it("registers and memory are those of the position; unmapped memory reads as null", () => {
    const t = new ReplayTarget(trace, 1000);
    const st = trace.stateAt(1000);
    expect(t.registers()).toEqual(st.regs);
    const regs = t.registers();
    const stack = t.readMemory(regs.esp, 16);
    expect(stack).toEqual(trace.stateAt(1000).readLinear(regs.esp, 16));
    t.seek(trace.steps);
    expect(t.readMemory(0x00001000, 4)).toBeNull(); // the low identity mapping is gone by the end
    // A read running off the kernel's one 4 MiB page returns the readable prefix.
    const edge = (sym.idleTcb & ~0x3fffff) + 0x400000 - 8;
    expect(trace.stateAt(trace.steps).readLinear(edge + 8, 1)).toBeNull();
    const part = t.readMemory(edge, 16);
    expect(part).toEqual(trace.stateAt(trace.steps).readLinear(edge, 8));
  });
});

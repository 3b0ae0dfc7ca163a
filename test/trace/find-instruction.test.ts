/**
 * Trace.findInstruction (the breakpoint search, run at compiled speed) against stepping the trace one
 * record at a time: for sets of EIPs chosen to hit its edge cases (the instruction interrupts land on,
 * repeated string instructions, a faulting iret, EIPs in the middle of compiled blocks and loops),
 * every hit found by repeated forward searches, and the last hit in random windows, must be exactly
 * the steps whose record is that instruction executing.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { Trace, type StepRecord } from "../../src/trace/trace.js";
import { kernel, lcg, recordInline, tmpDir } from "./helpers.js";

interface Walk {
  trace: Trace;
  /** Steps at which an instruction (or a faulting one) starts, by EIP. */
  byEip: Map<number, number[]>;
  records: StepRecord[];
}

async function walk(elf: string): Promise<Walk> {
  const out = `${tmpDir()}/t.trace`;
  // Small keyframe and chunk intervals: searches start and end between keyframes and cross many.
  await recordInline(kernel(elf), out, { memoryMiB: 32, keyframeSteps: 8192, chunkSteps: 4096 });
  const trace = Trace.open(out);
  const byEip = new Map<number, number[]>();
  const records: StepRecord[] = [];
  const cursor = trace.cursor(trace.startStep);
  for (let rec = cursor.next(); rec !== null; rec = cursor.next()) {
    records.push(rec);
    if (rec.kind !== "instruction" && rec.kind !== "fault") continue;
    const eip = rec.regs.eip >>> 0;
    let list = byEip.get(eip);
    if (list === undefined) byEip.set(eip, (list = []));
    list.push(rec.step);
  }
  return { trace, byEip, records };
}

function expected(w: Walk, eips: number[]): number[] {
  const steps = eips.flatMap((e) => w.byEip.get(e) ?? []);
  return [...new Set(steps)].sort((a, b) => a - b);
}

/** Every hit, by searching forward from just past the previous one. */
function allHits(trace: Trace, eips: number[]): number[] {
  const hits: number[] = [];
  let from = trace.startStep;
  for (;;) {
    const s = trace.findInstruction(eips, from, trace.steps);
    if (s === null) return hits;
    hits.push(s);
    from = s + 1;
  }
}

/** EIP sets that exercise the edge cases, each named. */
function edgeSets(w: Walk): [string, number[]][] {
  const sets: [string, number[]][] = [];
  const recs = w.records;
  // The instruction most often interrupted: its state is seen before each delivery, which is no hit.
  const interrupted = new Map<number, number>();
  for (let i = 1; i < recs.length; i++) {
    if (recs[i].kind === "interrupt") interrupted.set(recs[i].regs.eip >>> 0, (interrupted.get(recs[i].regs.eip >>> 0) ?? 0) + 1);
  }
  const mostInterrupted = [...interrupted].sort((a, b) => b[1] - a[1])[0];
  if (mostInterrupted !== undefined) sets.push(["the instruction interrupts land on", [mostInterrupted[0]]]);
  // Repeated string instructions: one hit per iteration.
  const rep = recs.find((r) => r.kind === "instruction" && (r.bytes[0] === 0xf3 || r.bytes[0] === 0xf2));
  if (rep !== undefined) sets.push(["a rep-prefixed instruction", [rep.regs.eip >>> 0]]);
  const fault = recs.find((r) => r.kind === "fault");
  if (fault !== undefined) sets.push(["a faulting instruction", [fault.regs.eip >>> 0]]);
  // The most executed instructions sit inside compiled loops.
  const hot = [...w.byEip].sort((a, b) => b[1].length - a[1].length).map(([e]) => e);
  sets.push(["the most executed instruction", [hot[0]]]);
  sets.push(["three hot instructions and one never executed", [hot[1], hot[5], hot[20], 0x12345678]]);
  // An instruction executed exactly once.
  const once = [...w.byEip].find(([, s]) => s.length === 1);
  if (once !== undefined) sets.push(["an instruction executed once", [once[0]]]);
  return sets;
}

describe.each(["idle-fixed.elf", "idle-bug.elf"])("%s", (elf) => {
  let w: Walk;
  beforeAll(async () => {
    w = await walk(elf);
  }, 120_000);
  afterAll(() => w?.trace.close());

  test("every hit, searching forward from each one", () => {
    const sets = edgeSets(w);
    const names = sets.map(([name]) => name);
    expect(names).toContain("a rep-prefixed instruction");
    if (elf === "idle-bug.elf") expect(names).toContain("a faulting instruction");
    for (const [name, eips] of sets) {
      expect(allHits(w.trace, eips), name).toEqual(expected(w, eips));
    }
  });

  test("the last hit in random windows, and the first", () => {
    const rand = lcg(11);
    const n = w.trace.steps;
    for (const [name, eips] of edgeSets(w)) {
      const want = expected(w, eips);
      for (let i = 0; i < 12; i++) {
        const a = Math.floor(rand() * n);
        const b = Math.min(n, a + 1 + Math.floor(rand() * 30_000));
        const inWindow = want.filter((s) => s >= a && s < b);
        expect(w.trace.findInstruction(eips, a, b, "last"), `${name} last in [${a}, ${b})`).toBe(inWindow.at(-1) ?? null);
        expect(w.trace.findInstruction(eips, a, b, "first"), `${name} first in [${a}, ${b})`).toBe(inWindow[0] ?? null);
      }
    }
  });

  test("the state at a hit is that instruction, and other queries still see the recorded machine", () => {
    const eips = edgeSets(w).find(([name]) => name === "the most executed instruction")![1];
    const s = w.trace.findInstruction(eips, w.trace.startStep, w.trace.steps, "last");
    expect(s).not.toBeNull();
    const before = w.records[s! - 1].regs;
    expect(w.trace.stateAt(s!).regs.eip >>> 0).toBe(eips[0]);
    // The search left no stops behind: running on reaches the recorded state.
    expect(w.trace.stateAt(s! - 1).regs).toEqual(before);
    expect(w.trace.stateAt(w.trace.steps).step).toBe(w.trace.steps);
  });
});

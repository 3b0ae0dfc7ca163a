/**
 * The timeline (src/query/timeline.ts) on the shipped demo bundle: breakpoint searches against a
 * step-by-step walk, write stops against the write index in both conventions, the ends of history,
 * single steps with watches, progress between slices, and a search abandoned half-way.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { openRecordingArg, type Recording } from "../../src/bundle/open.js";
import { ReplayTimeline, type Search, type StopConditions, type TimelineWatch } from "../../src/query/timeline.js";
import { ROOT } from "../tui/helpers.js";

let rec: Recording;
beforeAll(() => {
  rec = openRecordingArg(join(ROOT, "traces", "idle-bug.ttdb"), { cwd: ROOT });
});
afterAll(() => rec?.close());

/** Runs a search to its end, counting its progress reports. */
function finish<T>(search: Search<T>): { value: T; reports: number } {
  let reports = 0;
  for (;;) {
    const r = search.next();
    if (r.done) return { value: r.value, reports };
    reports++;
  }
}

const none: StopConditions = { breakpoints: [], watches: [], writeStop: "at-write" };

describe("ReplayTimeline", () => {
  it("continue stops before the first later step at a breakpoint, as a step-by-step walk finds it", () => {
    const trace = rec.trace;
    const eip = trace.stateAt(5000).regs.eip >>> 0;
    const hits: number[] = [];
    const cursor = trace.cursor(0);
    for (let s = 0; s < 20_000; s++) {
      const r = cursor.next()!;
      if (r.kind === "instruction" && r.regs.eip >>> 0 === eip) hits.push(s);
    }
    const tl = new ReplayTimeline(trace);
    const cond: StopConditions = { ...none, breakpoints: [eip] };
    const first = finish(tl.continue(0, "forward", cond)).value;
    expect(first).toEqual({ step: hits[0], kind: "breakpoint", address: eip });
    // From a hit, the next one (the position itself never counts).
    expect(finish(tl.continue(hits[0], "forward", cond)).value.step).toBe(hits[1]);
    // Backward from past the second: the second; then the first.
    expect(finish(tl.continue(hits[1] + 1, "backward", cond)).value.step).toBe(hits[1]);
    expect(finish(tl.continue(hits[1], "backward", cond)).value.step).toBe(hits[0]);
  });

  it("a watched write stops at the writing step (at-write) or around it (around-write)", () => {
    const trace = rec.trace;
    const at = trace.steps;
    const esp = trace.stateAt(at).regs.esp >>> 0;
    const phys = trace.stateAt(at).translate(esp)!;
    const last = trace.lastWrite({ address: phys, size: 4, space: "physical" }, at)!;
    const physical: TimelineWatch = { type: "write", address: phys, length: 4, space: "physical" };
    const linear: TimelineWatch = { type: "write", address: esp, length: 4, space: "linear" };
    const tl = new ReplayTimeline(trace);
    const back = finish(tl.continue(at, "backward", { ...none, watches: [physical] })).value;
    expect(back).toMatchObject({ step: last.step, kind: "watch", access: "write" });
    const backLinear = finish(tl.continue(at, "backward", { breakpoints: [], watches: [linear], writeStop: "around-write" })).value;
    expect(backLinear).toMatchObject({ step: last.step, kind: "watch", address: esp });
    // Forward from just before it: at-write stops on the write, around-write just after it.
    expect(finish(tl.continue(last.step - 1, "forward", { ...none, watches: [physical] })).value.step).toBe(last.step);
    expect(finish(tl.continue(last.step, "forward", { breakpoints: [], watches: [linear], writeStop: "around-write" })).value.step).toBe(last.step + 1);
    // At-write, continuing from the write itself looks beyond it.
    const after = finish(tl.continue(last.step, "forward", { ...none, watches: [physical] })).value;
    expect(after.step).toBeGreaterThan(last.step);
  });

  it("ends of history, and single steps that report the watch they crossed", () => {
    const trace = rec.trace;
    const tl = new ReplayTimeline(trace);
    expect(finish(tl.continue(trace.steps, "forward", none)).value).toEqual({ step: trace.steps, kind: "history", end: "end" });
    expect(finish(tl.continue(trace.startStep, "backward", none)).value).toEqual({ step: trace.startStep, kind: "history", end: "begin" });
    expect(finish(tl.continue(10, "forward", none)).value).toEqual({ step: trace.steps, kind: "history", end: "end" });
    expect(finish(tl.step(10, "forward", none)).value).toEqual({ step: 11, kind: "none" });
    expect(finish(tl.step(10, "backward", none)).value).toEqual({ step: 9, kind: "none" });
    const w = trace.writesIn({ address: 0, size: 0x8000000, space: "physical" }, 100, trace.steps, { limit: 1 })[0];
    const watch: TimelineWatch = { type: "write", address: w.physical, length: w.size, space: "physical" };
    const cond: StopConditions = { breakpoints: [], watches: [watch], writeStop: "around-write" };
    expect(finish(tl.step(w.step, "forward", cond)).value).toMatchObject({ step: w.step + 1, kind: "watch" });
    expect(finish(tl.step(w.step + 1, "backward", cond)).value).toMatchObject({ step: w.step, kind: "watch" });
  });

  it("reports progress between slices, and a search given up half-way leaves the trace usable", () => {
    const trace = rec.trace;
    const tl = new ReplayTimeline(trace, { breakpointSliceSteps: 1000 });
    const cond: StopConditions = { ...none, breakpoints: [0x1] };
    const { value, reports } = finish(tl.continue(trace.steps, "backward", cond));
    expect(value.kind).toBe("history");
    expect(reports).toBeGreaterThan(5);
    const search = tl.continue(0, "forward", cond);
    const p = search.next();
    expect(p.done).toBe(false);
    search.return(undefined as never);
    expect(trace.stateAt(1234).regs.eip).toBe(rec.trace.stateAt(1234).regs.eip);
    expect(tl.stepsSearched).toBeGreaterThan(trace.steps);
  });
});

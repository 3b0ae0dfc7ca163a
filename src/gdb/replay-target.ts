/**
 * The debugging model behind `ttd gdbserver`: a position on the trace's time axis, the breakpoints
 * and watchpoints gdb has set, and execution forward and backward. Nothing here knows the wire
 * protocol; the session turns its stops into stop replies. Finding a stop is the timeline's work
 * (src/query/timeline.ts, shared with the TUI): this class keeps gdb's state and conventions.
 *
 * Positions are steps: at position N the machine is in the state after N steps (before step N runs),
 * as Trace.stateAt(N) gives it. Time runs from trace.startStep to trace.steps.
 *
 * Watchpoint addresses are linear, as hardware's are; a write stops just after it going forward and
 * just before it going backward, as a hardware watchpoint's trap shows it (the timeline's
 * "around-write"). Searches yield to the event loop between slices of a few milliseconds, so an
 * interrupt from gdb (Ctrl-C) or a dropped connection ends them promptly.
 */
import type { FpuStateData } from "../cpu/fpu-state.js";
import type { Trace } from "../trace/trace.js";
import type { Registers } from "../trace/trace.js";
import { ReplayTimeline, type Direction, type Search, type StopConditions, type TimelineStop, type WatchType } from "../query/timeline.js";

export type { Direction, WatchType };
export type BreakpointType = "sw" | "hw";

export interface Watchpoint {
  type: WatchType;
  address: number;
  length: number;
}

/** Why execution stopped. */
export type StopReason =
  /** A single step finished with nothing else to report. */
  | { kind: "step" }
  | { kind: "breakpoint"; type: BreakpointType; address: number }
  /** A watched range was accessed; `address` lies inside the watchpoint (gdb matches it to one). */
  | { kind: "watch"; type: WatchType; address: number }
  /** Execution ran into an end of the recording. */
  | { kind: "history"; end: "begin" | "end" }
  /** gdb asked to stop (Ctrl-C), or the client went away. */
  | { kind: "interrupted" };

export interface Stop {
  step: number;
  reason: StopReason;
}

/** Watch ranges longer than this are refused (gdb splits large watches into small pieces anyway). */
export const MAX_WATCH_LENGTH = 1 << 20;

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export class ReplayTarget {
  private pos: number;
  private readonly swBreakpoints = new Set<number>();
  private readonly hwBreakpoints = new Set<number>();
  private readonly watchpoints: Watchpoint[] = [];
  private readonly timeline: ReplayTimeline;
  private regsCache: { step: number; regs: Registers; fpu: FpuStateData } | null = null;
  private interruptRequested = false;

  constructor(
    readonly trace: Trace,
    start?: number,
    options: { breakpointSliceSteps?: number } = {},
  ) {
    this.pos = start ?? trace.startStep;
    this.timeline = new ReplayTimeline(trace, { breakpointSliceSteps: options.breakpointSliceSteps });
    if (!Number.isInteger(this.pos) || this.pos < trace.startStep || this.pos > trace.steps) {
      throw new RangeError(`step ${start} is outside the trace (steps ${trace.startStep} to ${trace.steps})`);
    }
  }

  /** The current position (a step number). */
  get position(): number {
    return this.pos;
  }

  get firstStep(): number {
    return this.trace.startStep;
  }

  get lastStep(): number {
    return this.trace.steps;
  }

  /**
   * Steps re-executed one at a time by read-watchpoint searches since this target was made: what the
   * index-based paths avoid (tests and `monitor stats` read it).
   */
  get stepsScanned(): number {
    return this.timeline.stepsScanned;
  }

  /** Steps searched for breakpoints at compiled speed (Trace.findInstruction) since this target was made. */
  get stepsSearched(): number {
    return this.timeline.stepsSearched;
  }

  /** Messages about watchpoints that could not be searched (unmapped pages), for the server log. */
  get warnings(): string[] {
    return this.timeline.warnings;
  }

  // ---- State at the position ---------------------------------------------------------------------

  registers(): Registers {
    return this.stateCache().regs;
  }

  /** The x87/MMX/SSE registers at the position. */
  fpuState(): FpuStateData {
    return this.stateCache().fpu;
  }

  private stateCache(): { regs: Registers; fpu: FpuStateData } {
    if (this.regsCache === null || this.regsCache.step !== this.pos) {
      const state = this.trace.stateAt(this.pos);
      this.regsCache = { step: this.pos, regs: state.regs, fpu: state.machine.cpu.fpu.save() };
    }
    return this.regsCache;
  }

  /**
   * Up to `length` bytes at linear `address` as memory was at the position: the readable prefix
   * (it stops at the first unmapped page or byte outside RAM), or null when not even the first byte
   * can be read.
   */
  readMemory(address: number, length: number): Uint8Array | null {
    const state = this.trace.stateAt(this.pos);
    const out = new Uint8Array(length);
    let done = 0;
    let a = address >>> 0;
    while (done < length) {
      const n = Math.min(length - done, 0x1000 - (a & 0xfff));
      const bytes = state.readLinear(a, n);
      if (bytes === null) break;
      out.set(bytes, done);
      done += n;
      a = (a + n) >>> 0;
      if (a === 0) break; // wrapped past 4 GiB
    }
    return done === 0 && length > 0 ? null : out.subarray(0, done);
  }

  // ---- Breakpoints and watchpoints ---------------------------------------------------------------

  insertBreakpoint(type: BreakpointType, address: number): void {
    (type === "sw" ? this.swBreakpoints : this.hwBreakpoints).add(address >>> 0);
  }

  removeBreakpoint(type: BreakpointType, address: number): void {
    (type === "sw" ? this.swBreakpoints : this.hwBreakpoints).delete(address >>> 0);
  }

  /** gdb may insert the same watch twice (two watchpoints on one location); each insert needs a remove. */
  insertWatchpoint(w: Watchpoint): void {
    if (!(w.length >= 1 && w.length <= MAX_WATCH_LENGTH)) throw new RangeError(`watch length ${w.length} is out of range (1 to ${MAX_WATCH_LENGTH})`);
    this.watchpoints.push({ type: w.type, address: w.address >>> 0, length: w.length });
  }

  removeWatchpoint(w: Watchpoint): void {
    const i = this.watchpoints.findIndex((x) => x.type === w.type && x.address === w.address >>> 0 && x.length === w.length);
    if (i >= 0) this.watchpoints.splice(i, 1);
  }

  get hasBreakpoints(): boolean {
    return this.swBreakpoints.size + this.hwBreakpoints.size > 0;
  }

  // ---- Execution ---------------------------------------------------------------------------------

  /** Asks a running resume() to stop at the next slice boundary. */
  interrupt(): void {
    this.interruptRequested = true;
  }

  /** Moves to `step` directly (monitor commands); breakpoints are not looked at. */
  seek(step: number): void {
    if (!Number.isInteger(step) || step < this.firstStep || step > this.lastStep) {
      throw new RangeError(`step ${step} is outside the trace (steps ${this.firstStep} to ${this.lastStep})`);
    }
    this.pos = step;
  }

  /** One step in `direction`, or a stop at the end of history without moving. */
  async step(direction: Direction): Promise<Stop> {
    this.interruptRequested = false;
    // One step's search is one bounded piece of work: run it through without yielding.
    const search = this.timeline.step(this.pos, direction, this.conditions());
    let r = search.next();
    while (!r.done) r = search.next();
    const stop = this.toStop(r.value);
    this.pos = stop.step;
    return stop;
  }

  /** Runs in `direction` until a breakpoint, a watchpoint, an end of the trace or an interrupt. */
  async continue(direction: Direction): Promise<Stop> {
    this.interruptRequested = false;
    const stop = await this.drive(this.timeline.continue(this.pos, direction, this.conditions()));
    this.pos = stop.step;
    return stop;
  }

  private conditions(): StopConditions {
    return {
      breakpoints: [...this.swBreakpoints, ...this.hwBreakpoints],
      watches: this.watchpoints.map((w) => ({ type: w.type, address: w.address, length: w.length, space: "linear" as const })),
      writeStop: "around-write",
    };
  }

  /** Runs a search, yielding to the event loop between its slices; an interrupt stops where it got to. */
  private async drive(search: Search<TimelineStop>): Promise<Stop> {
    for (;;) {
      const r = search.next();
      if (r.done) return this.toStop(r.value);
      await yieldToEventLoop();
      if (this.interruptRequested) {
        search.return(undefined as never);
        return { step: r.value.at, reason: { kind: "interrupted" } };
      }
    }
  }

  private toStop(t: TimelineStop): Stop {
    switch (t.kind) {
      case "breakpoint":
        return { step: t.step, reason: { kind: "breakpoint", type: this.hwBreakpoints.has(t.address) && !this.swBreakpoints.has(t.address) ? "hw" : "sw", address: t.address } };
      case "watch":
        return { step: t.step, reason: { kind: "watch", type: t.watch.type === "access" ? "access" : t.access, address: t.address } };
      case "history":
        return { step: t.step, reason: { kind: "history", end: t.end } };
      case "none":
        return { step: t.step, reason: { kind: "step" } };
    }
  }
}

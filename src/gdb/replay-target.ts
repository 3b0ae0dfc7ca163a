/**
 * The debugging model behind `ttd gdbserver`: a position on the trace's time axis, the breakpoints
 * and watchpoints gdb has set, and execution forward and backward. Nothing here knows the wire
 * protocol; the session turns its stops into stop replies.
 *
 * Positions are steps: at position N the machine is in the state after N steps (before step N runs),
 * as Trace.stateAt(N) gives it. Time runs from trace.startStep to trace.steps.
 *
 * How each stop is found (and what it costs):
 * - write watchpoints (Z2, and the write half of Z4) use the trace's write index: the first write at or
 *   after the position going forward (Trace.writesIn), the last one before it going backward
 *   (Trace.lastWrite). Only the one chunk holding the answer is re-executed, however far away it is.
 * - breakpoints (Z0, Z1) are not indexed: the steps are re-executed at compiled speed with the CPU
 *   told to stop before those EIPs (Trace.findInstruction, well over 50M steps/s).
 * - read watchpoints (Z3, the read half of Z4) are not indexed either, and need each instruction's
 *   operands: those steps are re-executed and looked at one by one (a few million steps/s).
 * - Forward a search starts at the position; backward it works in windows ending at the position and
 *   doubling in length, so the cost follows the distance to the stop, not the length of the trace.
 *   Both are bounded by the nearest write-watchpoint stop when there is one, since nothing past it
 *   matters.
 * - Scans yield to the event loop every few thousand steps, so an interrupt from gdb (Ctrl-C) or a
 *   dropped connection ends them promptly.
 *
 * Watchpoint addresses are linear, as hardware's are; see writeWatchHit for how they meet the
 * physical write index. A watched page mapped neither where a search starts nor at its far end
 * cannot be searched there and is skipped (reported through `warnings`).
 */
import type { FpuStateData } from "../cpu/fpu-state.js";
import type { Trace } from "../trace/trace.js";
import type { Registers, StepRecord } from "../trace/trace.js";
import { AccessAnalyzer } from "./accesses.js";

export type BreakpointType = "sw" | "hw";
export type WatchType = "write" | "read" | "access";

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

export type Direction = "forward" | "backward";

/** Steps re-executed one at a time (read watchpoints) between yields to the event loop (a few milliseconds). */
const SLICE_STEPS = 4096;
/** Steps searched for breakpoints at compiled speed between yields (about 10-20 ms). */
const BREAKPOINT_SLICE_STEPS = 2_000_000;
/** First backward window, and the most it grows to. */
const FIRST_WINDOW = 2048;
const MAX_WINDOW = 1 << 20;
/** The largest backward window when only breakpoints are searched (at compiled speed). */
const MAX_BREAKPOINT_WINDOW = 1 << 24;
/** Watch ranges longer than this are refused (gdb splits large watches into small pieces anyway). */
export const MAX_WATCH_LENGTH = 1 << 20;

interface PhysicalPiece {
  linear: number;
  physical: number;
  size: number;
}

/** A hit found by a scan: stop at `step` for `reason`. */
interface Hit {
  step: number;
  reason: StopReason;
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export class ReplayTarget {
  private pos: number;
  private readonly swBreakpoints = new Set<number>();
  private readonly hwBreakpoints = new Set<number>();
  private readonly watchpoints: Watchpoint[] = [];
  private readonly analyzer = new AccessAnalyzer();
  private regsCache: { step: number; regs: Registers; fpu: FpuStateData } | null = null;
  private interruptRequested = false;
  private readonly ramBytes: number;
  private readonly translations = new Map<string, number | null>();
  /**
   * Steps re-executed one at a time by breakpoint and read-watchpoint searches since this target was
   * made: what the index-based paths avoid (tests and `monitor stats` read it).
   */
  stepsScanned = 0;
  /** Steps searched for breakpoints at compiled speed (Trace.findInstruction) since this target was made. */
  stepsSearched = 0;
  /** Messages about watchpoints that could not be searched (unmapped pages), for the server log. */
  readonly warnings: string[] = [];

  /** Steps searched for breakpoints between yields to the event loop. */
  private readonly breakpointSlice: number;

  constructor(
    readonly trace: Trace,
    start?: number,
    options: { breakpointSliceSteps?: number } = {},
  ) {
    this.pos = start ?? trace.startStep;
    this.breakpointSlice = options.breakpointSliceSteps ?? BREAKPOINT_SLICE_STEPS;
    this.ramBytes = trace.info().memoryBytes;
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
    const forward = direction === "forward";
    if (forward ? this.pos >= this.lastStep : this.pos <= this.firstStep) {
      return { step: this.pos, reason: { kind: "history", end: forward ? "end" : "begin" } };
    }
    // The step crossed is `pos` going forward and `pos - 1` going backward.
    const crossed = forward ? this.pos : this.pos - 1;
    const at = this.pos;
    let reason: StopReason = { kind: "step" };
    const writeHit = this.writeWatchHit(at, crossed, crossed + 1);
    if (writeHit !== null) {
      reason = writeHit.reason;
    } else if (this.readWatches().length > 0) {
      const hit = await this.scan(crossed, crossed + 1, { breakpoints: false, reads: true, last: false });
      if (hit !== null && hit !== "interrupted") reason = hit.reason;
    }
    this.pos = forward ? crossed + 1 : crossed;
    return { step: this.pos, reason };
  }

  /** Runs in `direction` until a breakpoint, a watchpoint, an end of the trace or an interrupt. */
  async continue(direction: Direction): Promise<Stop> {
    this.interruptRequested = false;
    const stop = direction === "forward" ? await this.continueForward() : await this.continueBackward();
    this.pos = stop.step;
    return stop;
  }

  private async continueForward(): Promise<Stop> {
    const from = this.pos;
    const last = this.lastStep;
    if (from >= last) return { step: from, reason: { kind: "history", end: "end" } };
    // The first write to a watched range at or after `from`: the step that made it is `w.step`, and
    // the stop comes after it, at w.step + 1.
    const write = this.writeWatchHit(from, from, last);
    const bound = write !== null ? write.step : last;
    if (this.hasBreakpoints || this.readWatches().length > 0) {
      const hit = await this.scan(from, bound, { breakpoints: true, reads: true, last: false });
      if (hit === "interrupted") return { step: this.scanPosition, reason: { kind: "interrupted" } };
      if (hit !== null) return hit;
    }
    if (write !== null) return { step: write.step + 1, reason: write.reason };
    return { step: last, reason: { kind: "history", end: "end" } };
  }

  private async continueBackward(): Promise<Stop> {
    const to = this.pos;
    const first = this.firstStep;
    if (to <= first) return { step: to, reason: { kind: "history", end: "begin" } };
    // The last write to a watched range before `to`: stop before the step that made it.
    const write = this.writeWatchHit(to, first, to, true);
    const lower = write !== null ? write.step + 1 : first;
    if (this.hasBreakpoints || this.readWatches().length > 0) {
      let b = to;
      let window = FIRST_WINDOW;
      while (b > lower) {
        const a = Math.max(lower, b - window);
        const hit = await this.scan(a, b, { breakpoints: true, reads: true, last: true, exclusiveEnd: true });
        if (hit === "interrupted") return { step: b, reason: { kind: "interrupted" } };
        if (hit !== null) return hit;
        b = a;
        window = Math.min(window * 2, this.readWatches().length > 0 ? MAX_WINDOW : MAX_BREAKPOINT_WINDOW);
        if (this.interruptRequested) return { step: b, reason: { kind: "interrupted" } };
      }
    }
    if (write !== null) return { step: write.step, reason: write.reason };
    return { step: first, reason: { kind: "history", end: "begin" } };
  }

  // ---- Write watchpoints through the write index ---------------------------------------------------

  private writeWatches(): Watchpoint[] {
    return this.watchpoints.filter((w) => w.type === "write" || w.type === "access");
  }

  private readWatches(): Watchpoint[] {
    return this.watchpoints.filter((w) => w.type === "read" || w.type === "access");
  }

  /**
   * Page-sized pieces of a watch range with the physical frames they map to at each of `steps`
   * (duplicates dropped). Pieces unmapped at all of them are left out, with a warning.
   */
  private physicalPieces(w: Watchpoint, steps: number[]): PhysicalPiece[] {
    const out: PhysicalPiece[] = [];
    const unmapped = new Set<number>();
    for (const at of steps) {
      let a = w.address;
      let left = w.length;
      while (left > 0) {
        const n = Math.min(left, 0x1000 - (a & 0xfff));
        const p = this.translate(a, at);
        if (p !== null && p + n <= this.ramBytes) {
          if (!out.some((x) => x.linear === a && x.physical === p)) out.push({ linear: a, physical: p, size: n });
        } else {
          unmapped.add(a);
        }
        a = (a + n) >>> 0;
        left -= n;
      }
    }
    for (const a of unmapped) {
      if (out.some((x) => x.linear === a)) continue;
      const msg = `watchpoint at 0x${w.address.toString(16)}: linear 0x${a.toString(16)} is not mapped to RAM at step ${steps.join(" or ")}; writes to it cannot be searched`;
      if (!this.warnings.includes(msg)) this.warnings.push(msg);
    }
    return out;
  }

  /**
   * Linear to physical at a step, remembered: every resume with a watchpoint translates at the far
   * end of the trace too, and reaching that state costs a keyframe restore.
   */
  private translate(linear: number, at: number): number | null {
    const key = `${at}:${linear}`;
    let p = this.translations.get(key);
    if (p === undefined) {
      p = this.trace.stateAt(at).translate(linear);
      if (this.translations.size >= 4096) this.translations.clear();
      this.translations.set(key, p);
    }
    return p;
  }

  /**
   * The write to a watched range nearest the position within steps [from, to): the first one
   * (forward), or the last one when `backward`.
   *
   * Watchpoints are on linear addresses, as hardware's are, and the index is physical: each watched
   * page is looked up in the frames it maps to at the position and at the far end of the search
   * (so a kernel variable watched before paging is on is still found once it is), and a write found
   * there counts only if it went through the watched linear address (not a write to the same frame
   * through another mapping, such as the boot code clearing BSS at its physical address).
   */
  private writeWatchHit(at: number, from: number, to: number, backward = false): Hit | null {
    let best: Hit | null = null;
    const farEnd = backward ? this.firstStep : this.lastStep;
    for (const w of this.writeWatches()) {
      for (const piece of this.physicalPieces(w, at === farEnd ? [at] : [at, farEnd])) {
        const range = { address: piece.physical, size: piece.size, space: "physical" as const };
        // Walk from the position towards the far end until a write through the watched address.
        let lo = from, hi = to;
        while (lo < hi) {
          const write = backward ? this.trace.lastWrite(range, hi) : this.trace.writesIn(range, lo, hi, { limit: 1 })[0] ?? null;
          if (write === null || write.step < lo || write.step >= hi) break;
          if (best !== null && (backward ? write.step <= best.step : write.step >= best.step)) break;
          const wLo = write.linear >>> 0, wHi = wLo + write.size;
          const oLo = Math.max(wLo, piece.linear), oHi = Math.min(wHi, piece.linear + piece.size);
          if (oLo < oHi) {
            best = { step: write.step, reason: { kind: "watch", type: w.type, address: oLo >>> 0 } };
            break;
          }
          if (backward) hi = write.step;
          else lo = write.step + 1;
        }
      }
    }
    return best;
  }

  // ---- Step-by-step scans (breakpoints, reads) ---------------------------------------------------

  /** Where the last scan got to (the state it was about to look at) when it was interrupted. */
  private scanPosition = 0;

  private breakpointAt(eip: number): BreakpointType | null {
    if (this.swBreakpoints.has(eip)) return "sw";
    if (this.hwBreakpoints.has(eip)) return "hw";
    return null;
  }

  /** The read watchpoint an instruction's reads overlap, with the first overlapping address. */
  private readHit(rec: StepRecord, segBase: ArrayLike<number>, watches: Watchpoint[]): { w: Watchpoint; address: number } | null {
    if (rec.kind !== "instruction" && rec.kind !== "fault") return null;
    for (const acc of this.analyzer.accesses(rec.bytes, rec.regs, segBase)) {
      if (!acc.read) continue;
      for (const w of watches) {
        const lo = Math.max(acc.linear, w.address);
        const hi = Math.min(acc.linear + acc.size, w.address + w.length);
        if (lo < hi) return { w, address: lo >>> 0 };
      }
    }
    return null;
  }

  /**
   * Looks for stops in steps [from, to):
   *  - a breakpoint: the instruction at state s is about to execute at a breakpoint's EIP, for
   *    from < s <= to (forward: the state we start in does not count, gdb steps off it itself) or
   *    from <= s < to with `exclusiveEnd` (backward windows: the state at `to` is the one we start
   *    from). An interrupt or exception delivered at s is no hit (hardware takes it before a code
   *    breakpoint); the state at the very end of the trace, which executes nothing, is none either;
   *  - a read of a watched range by step s, which stops at s + 1 forward or at s backward.
   * Forward scans return the first hit; with `last` the scan runs the whole range and returns the
   * last one (a read wins a tie, as it is the later event at that position). Returns "interrupted"
   * when asked to stop (scanPosition says where it got to).
   */
  private async scan(
    from: number,
    to: number,
    opts: { breakpoints: boolean; reads: boolean; last: boolean; exclusiveEnd?: boolean },
  ): Promise<Hit | null | "interrupted"> {
    const reads = opts.reads ? this.readWatches() : [];
    let breakpoint: Hit | null = null;
    if (opts.breakpoints && this.hasBreakpoints) {
      const r = opts.exclusiveEnd ? await this.scanBreakpoints(from, to, opts.last) : await this.scanBreakpoints(from + 1, to + 1, opts.last);
      if (r === "interrupted") return r;
      breakpoint = r;
    }
    if (reads.length === 0) return breakpoint;
    // Forward, reads only matter before the breakpoint stop (a read at s stops at s + 1).
    const readTo = !opts.last && breakpoint !== null ? Math.min(to, breakpoint.step) : to;
    const read = await this.scanReads(from, readTo, reads, opts.last);
    if (read === "interrupted") return read;
    if (read === null) return breakpoint;
    if (breakpoint === null) return read;
    return (opts.last ? read.step >= breakpoint.step : read.step <= breakpoint.step) ? read : breakpoint;
  }

  /**
   * The first (or last) breakpoint hit at states lo <= s < hi, through the trace's compiled-speed
   * search, a slice at a time with a yield to the event loop between slices.
   */
  private async scanBreakpoints(lo: number, hi: number, last: boolean): Promise<Hit | null | "interrupted"> {
    const eips = [...this.swBreakpoints, ...this.hwBreakpoints];
    let found: Hit | null = null;
    for (let a = lo; a < hi; ) {
      const b = Math.min(hi, a + this.breakpointSlice);
      const s = this.trace.findInstruction(eips, a, b, last ? "last" : "first");
      this.stepsSearched += Math.min(b, this.lastStep) - a;
      if (s !== null) {
        const eip = this.trace.stateAt(s).regs.eip >>> 0;
        found = { step: s, reason: { kind: "breakpoint", type: this.breakpointAt(eip) ?? "sw", address: eip } };
        if (!last) return found;
      }
      a = b;
      if (a < hi) {
        await yieldToEventLoop();
        if (this.interruptRequested) {
          this.scanPosition = a;
          return "interrupted";
        }
      }
    }
    return found;
  }

  /** Re-executes steps [from, to) one at a time for reads of `watches`: the first (or last) one. */
  private async scanReads(from: number, to: number, watches: Watchpoint[], last: boolean): Promise<Hit | null | "interrupted"> {
    if (from >= to) return null;
    const cpu = this.trace.stateAt(from).machine.cpu;
    const cursor = this.trace.cursor(from);
    const bases = new Int32Array(6);
    let found: Hit | null = null;
    let sliceEnd = from + SLICE_STEPS;
    for (let s = from; s < to; s++) {
      if (s >= sliceEnd) {
        sliceEnd = s + SLICE_STEPS;
        await yieldToEventLoop();
        if (this.interruptRequested) {
          this.scanPosition = s;
          return "interrupted";
        }
      }
      // After a yield something else may have moved the replay machine; stateAt puts it back (the
      // cursor then continues without re-positioning).
      if (cpu.steps !== s) this.trace.stateAt(s);
      bases.set(cpu.segBase);
      this.stepsScanned++;
      const rec = cursor.next();
      if (rec === null) break;
      const r = this.readHit(rec, bases, watches);
      if (r !== null) {
        const hit: Hit = { step: last ? s : s + 1, reason: { kind: "watch", type: r.w.type === "access" ? "access" : "read", address: r.address } };
        if (!last) return hit;
        found = hit;
      }
    }
    return found;
  }
}

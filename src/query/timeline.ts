/**
 * Time navigation over a recording, the one implementation the TUI and the gdb stub both drive: given
 * a position, a direction and stop conditions (code breakpoints, watched memory), find where execution
 * stops. Nothing here knows keys or the wire protocol; each front end turns a stop into its own answer.
 *
 * Positions are steps: at position N the machine is in the state after N steps (before step N runs).
 * A search is a generator: it yields a Progress between bounded pieces of work (a few milliseconds
 * each), so the caller can redraw, read keys or packets and abandon the search (stop iterating; the
 * last Progress says how far it got). Its return value is the stop.
 *
 * How each stop is found (and what it costs):
 * - written memory uses the trace's write index: the first write after the position going forward
 *   (Trace.writesIn), the last one before it going backward (Trace.lastWrite); only the chunk holding
 *   the answer is re-executed, however far away it is;
 * - breakpoints are not indexed: steps are re-executed at compiled speed with the CPU told to stop
 *   before those EIPs (Trace.findInstruction, well over 50M steps/s);
 * - read memory needs each instruction's operands: those steps are re-executed one by one;
 * - forward a search starts at the position; backward it works in windows ending at the position and
 *   doubling in length, so the cost follows the distance to the stop, not the length of the trace.
 *   Both are bounded by the nearest write stop, since nothing past it matters.
 *
 * Where a write stops depends on the front end's idea of "the moment of the write", given by
 * `writeStop`: "at-write" stops at the step that made it (the TUI: as why-write's jump does, so the
 * screen shows the instruction doing it); "around-write" stops just after it going forward and just
 * before it going backward (gdb: the old and new values straddle the stop, as a hardware watchpoint's
 * trap reports them). A read is reported the same way.
 */
import type { MemoryWrite, Registers, StepRecord, Trace } from "../trace/trace.js";
import { AccessAnalyzer } from "../gdb/accesses.js";

export type Direction = "forward" | "backward";
export type WatchType = "write" | "read" | "access";

/** Watched memory: linear addresses (as hardware's watchpoints) or a physical range. */
export interface TimelineWatch {
  type: WatchType;
  address: number;
  length: number;
  space: "linear" | "physical";
}

export interface StopConditions {
  /** Code breakpoints: the EIPs before which execution stops. */
  breakpoints: readonly number[];
  watches: readonly TimelineWatch[];
  /** See the module comment. */
  writeStop: "at-write" | "around-write";
}

/** Why a search stopped, and where. */
export type TimelineStop =
  | { step: number; kind: "breakpoint"; address: number }
  /** `address` lies inside the watch; `write` is the write found (write and access watches only). */
  | { step: number; kind: "watch"; watch: TimelineWatch; access: "write" | "read"; address: number; write?: MemoryWrite }
  | { step: number; kind: "history"; end: "begin" | "end" }
  | { step: number; kind: "none" };

/** How far a running search got: it has looked at everything between `from` and `at`, towards `to`. */
export interface Progress {
  at: number;
  from: number;
  to: number;
}

export type Search<T> = Generator<Progress, T, void>;

/** Steps re-executed one at a time (read watches) between progress reports (a few milliseconds). */
const READ_SLICE_STEPS = 4096;
/** Steps searched for breakpoints at compiled speed between progress reports (about 10-20 ms). */
const BREAKPOINT_SLICE_STEPS = 2_000_000;
/** First backward window, and the most it grows to (by doubling). */
const FIRST_WINDOW = 2048;
const MAX_READ_WINDOW = 1 << 20;
const MAX_BREAKPOINT_WINDOW = 1 << 24;

interface PhysicalPiece {
  linear: number;
  physical: number;
  size: number;
}

/** Runs `search`, reporting `progress` in place of its own progress. */
function* atProgress<T>(search: Search<T>, progress: Progress): Search<T> {
  for (;;) {
    const r = search.next();
    if (r.done) return r.value;
    yield progress;
  }
}

export class ReplayTimeline {
  /** Steps re-executed one at a time by read-watch searches (what the index-based paths avoid). */
  stepsScanned = 0;
  /** Steps searched for breakpoints at compiled speed. */
  stepsSearched = 0;
  /** Messages about watches that could not be searched (unmapped pages), for the front end to show. */
  readonly warnings: string[] = [];
  private readonly analyzer = new AccessAnalyzer();
  private readonly translations = new Map<string, number | null>();
  private readonly breakpointSlice: number;
  private readonly ramBytes: number;

  constructor(
    readonly trace: Trace,
    options: { breakpointSliceSteps?: number } = {},
  ) {
    this.breakpointSlice = options.breakpointSliceSteps ?? BREAKPOINT_SLICE_STEPS;
    this.ramBytes = trace.info().memoryBytes;
  }

  get firstStep(): number {
    return this.trace.startStep;
  }

  get lastStep(): number {
    return this.trace.steps;
  }

  /** Runs from `pos` in `direction` to the nearest stop: a breakpoint, a watch or an end of the trace. */
  *continue(pos: number, direction: Direction, cond: StopConditions): Search<TimelineStop> {
    return direction === "forward" ? yield* this.continueForward(pos, cond) : yield* this.continueBackward(pos, cond);
  }

  /**
   * One step from `pos` in `direction`, reporting a watch the crossed step triggered ("none"
   * otherwise), or an end of history without moving.
   */
  *step(pos: number, direction: Direction, cond: StopConditions): Search<TimelineStop> {
    const forward = direction === "forward";
    if (forward ? pos >= this.lastStep : pos <= this.firstStep) return { step: pos, kind: "history", end: forward ? "end" : "begin" };
    // The step crossed is `pos` going forward and `pos - 1` going backward.
    const crossed = forward ? pos : pos - 1;
    const next = forward ? crossed + 1 : crossed;
    // One step: first and last write are the same; translations are taken towards the trace's end.
    const write = this.firstWrite(cond, pos, crossed, crossed + 1, false);
    if (write !== null) return { ...write, step: next };
    if (this.readWatches(cond).length > 0) {
      const read = yield* this.scanReads(crossed, crossed + 1, this.readWatches(cond), false);
      if (read !== null) return { ...read, step: next };
    }
    return { step: next, kind: "none" };
  }

  private *continueForward(pos: number, cond: StopConditions): Search<TimelineStop> {
    const last = this.lastStep;
    if (pos >= last) return { step: pos, kind: "history", end: "end" };
    // The first write after the position; at-write stops exclude the step at the position, where the
    // last stop showed a write already.
    const atWrite = cond.writeStop === "at-write";
    const write = this.firstWrite(cond, pos, atWrite ? pos + 1 : pos, last, false);
    const writeStop = write === null ? null : { ...write, step: atWrite ? write.write!.step : write.write!.step + 1 };
    // Breakpoints and reads matter only strictly before the write's stop.
    const bound = writeStop !== null ? writeStop.step - 1 : last;
    if (cond.breakpoints.length > 0 || this.readWatches(cond).length > 0) {
      const hit = yield* this.scan(cond, pos, bound, false, false);
      if (hit !== null) return hit;
    }
    return writeStop ?? { step: last, kind: "history", end: "end" };
  }

  private *continueBackward(pos: number, cond: StopConditions): Search<TimelineStop> {
    const first = this.firstStep;
    if (pos <= first) return { step: pos, kind: "history", end: "begin" };
    // The last write before the position: stop at (or, around-write, just before) the step that made it.
    const write = this.firstWrite(cond, pos, first, pos, true);
    const writeStop = write === null ? null : { ...write, step: write.write!.step };
    const lower = writeStop !== null ? writeStop.step + 1 : first;
    const reads = this.readWatches(cond).length > 0;
    if (cond.breakpoints.length > 0 || reads) {
      let b = pos;
      let window = FIRST_WINDOW;
      while (b > lower) {
        const a = Math.max(lower, b - window);
        // Progress inside a window reports the window's top: everything above it is searched.
        const hit = yield* atProgress(this.scan(cond, a, b, true, true), { at: b, from: pos, to: lower });
        if (hit !== null) return hit;
        b = a;
        window = Math.min(window * 2, reads ? MAX_READ_WINDOW : MAX_BREAKPOINT_WINDOW);
        if (b > lower) yield { at: b, from: pos, to: lower };
      }
    }
    return writeStop ?? { step: first, kind: "history", end: "begin" };
  }

  /**
   * The first (forward) or last (backward) step in [lo, hi) about to execute an instruction at one of
   * `eips` and passing `accept` (given the registers at that step), at compiled speed a slice at a
   * time. Backward it searches windows ending at `hi`, growing, so a near hit is found without
   * searching far.
   */
  *findInstruction(eips: readonly number[], lo: number, hi: number, direction: Direction, accept: (regs: Registers) => boolean = () => true): Search<number | null> {
    const ok = (s: number) => accept(this.trace.stateAt(s).regs);
    if (direction === "forward") {
      for (let a = lo; a < hi; ) {
        const b = Math.min(hi, a + this.breakpointSlice);
        const s = this.trace.findInstruction(eips, a, b, "first");
        this.stepsSearched += Math.min(b, this.lastStep) - a;
        if (s !== null && ok(s)) return s;
        a = s !== null ? s + 1 : b;
        if (a < hi) yield { at: a, from: lo, to: hi };
      }
      return null;
    }
    let window = Math.min(FIRST_WINDOW, this.breakpointSlice);
    for (let b = hi; b > lo; ) {
      const a = Math.max(lo, b - window);
      // The last hit in [a, top) that passes; a rejected hit narrows the window to before it.
      for (let top = b; ; ) {
        const s = this.trace.findInstruction(eips, a, top, "last");
        this.stepsSearched += top - a;
        if (s === null) break;
        if (ok(s)) return s;
        top = s;
        yield { at: s, from: hi, to: lo };
      }
      b = a;
      window = Math.min(window * 2, this.breakpointSlice);
      if (b > lo) yield { at: b, from: hi, to: lo };
    }
    return null;
  }

  // ---- Watches ---------------------------------------------------------------------------------

  private writeWatches(cond: StopConditions): readonly TimelineWatch[] {
    return cond.watches.filter((w) => w.type === "write" || w.type === "access");
  }

  private readWatches(cond: StopConditions): readonly TimelineWatch[] {
    return cond.watches.filter((w) => w.type === "read" || w.type === "access");
  }

  /**
   * The write to a watched range nearest the position within steps [from, to): the first one
   * (forward), or the last one when `backward`; its stop step is left to the caller.
   *
   * A physical watch is looked up in the write index directly. A linear watch is looked up in the
   * frames it maps to at the position and at the far end of the search (so a kernel variable watched
   * before paging is on is still found once it is), and a write found there counts only if it went
   * through the watched linear address (not a write to the same frame through another mapping, such
   * as the boot code clearing BSS at its physical address).
   */
  private firstWrite(cond: StopConditions, at: number, from: number, to: number, backward: boolean): Extract<TimelineStop, { kind: "watch" }> | null {
    let best: Extract<TimelineStop, { kind: "watch" }> | null = null;
    const farEnd = backward ? this.firstStep : this.lastStep;
    for (const w of this.writeWatches(cond)) {
      const pieces: PhysicalPiece[] = w.space === "physical"
        ? [{ linear: -1, physical: w.address >>> 0, size: w.length }]
        : this.physicalPieces(w, at === farEnd ? [at] : [at, farEnd]);
      for (const piece of pieces) {
        const range = { address: piece.physical, size: piece.size, space: "physical" as const };
        // Walk from the position towards the far end until a write through the watched address.
        let lo = from, hi = to;
        while (lo < hi) {
          const write = backward ? this.trace.lastWrite(range, hi) : this.trace.writesIn(range, lo, hi, { limit: 1 })[0] ?? null;
          if (write === null || write.step < lo || write.step >= hi) break;
          if (best !== null && (backward ? write.step <= best.write!.step : write.step >= best.write!.step)) break;
          if (piece.linear < 0) {
            // A physical watch: the index found a write overlapping it.
            best = { step: write.step, kind: "watch", watch: w, access: "write", address: write.linear >>> 0, write };
            break;
          }
          const wLo = write.linear >>> 0, wHi = wLo + write.size;
          const oLo = Math.max(wLo, piece.linear), oHi = Math.min(wHi, piece.linear + piece.size);
          if (oLo < oHi) {
            best = { step: write.step, kind: "watch", watch: w, access: "write", address: oLo >>> 0, write };
            break;
          }
          if (backward) hi = write.step;
          else lo = write.step + 1;
        }
      }
    }
    return best;
  }

  /**
   * Page-sized pieces of a linear watch with the physical frames they map to at each of `steps`
   * (duplicates dropped). Pieces unmapped at all of them are left out, with a warning.
   */
  private physicalPieces(w: TimelineWatch, steps: number[]): PhysicalPiece[] {
    const out: PhysicalPiece[] = [];
    const unmapped = new Set<number>();
    for (const at of steps) {
      let a = w.address >>> 0;
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
      const msg = `watchpoint at 0x${(w.address >>> 0).toString(16)}: linear 0x${a.toString(16)} is not mapped to RAM at step ${steps.join(" or ")}; writes to it cannot be searched`;
      if (!this.warnings.includes(msg)) this.warnings.push(msg);
    }
    return out;
  }

  /**
   * Linear to physical at a step, remembered: every search with a linear watch translates at the far
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

  // ---- Step-by-step scans (breakpoints, reads) ---------------------------------------------------

  /**
   * Looks for stops between positions `from` and `to`:
   *  - a breakpoint: the instruction at state s is about to execute at a breakpoint, for from < s <= to
   *    (forward: the state the search starts in does not count) or from <= s < to with
   *    `exclusiveEnd` (backward windows: the state at `to` is the one the search starts from). An
   *    interrupt or exception delivered at s is no hit (hardware takes it before a code breakpoint);
   *    the state at the very end of the trace, which executes nothing, is none either;
   *  - a read of a watched range by step s, which stops at s + 1 forward (around-write) or at s.
   * Forward scans return the first hit; with `last` the scan runs the whole range and returns the
   * last one (a read wins a tie, as it is the later event at that position).
   */
  private *scan(cond: StopConditions, from: number, to: number, last: boolean, exclusiveEnd: boolean): Search<TimelineStop | null> {
    const reads = this.readWatches(cond);
    let breakpoint: TimelineStop | null = null;
    if (cond.breakpoints.length > 0) {
      breakpoint = exclusiveEnd ? yield* this.scanBreakpoints(cond, from, to, last) : yield* this.scanBreakpoints(cond, from + 1, to + 1, last);
    }
    if (reads.length === 0) return breakpoint;
    // Forward, reads only matter before the breakpoint stop (a read at s stops at s + 1).
    const readTo = !last && breakpoint !== null ? Math.min(to, breakpoint.step) : to;
    const around = cond.writeStop === "around-write";
    const read = yield* this.scanReads(from, readTo, reads, last);
    if (read === null) return breakpoint;
    const readStop = { ...read, step: last || !around ? read.step : read.step + 1 };
    if (breakpoint === null) return readStop;
    return (last ? readStop.step >= breakpoint.step : readStop.step <= breakpoint.step) ? readStop : breakpoint;
  }

  /** The first (or last) breakpoint hit at states lo <= s < hi. */
  private *scanBreakpoints(cond: StopConditions, lo: number, hi: number, last: boolean): Search<TimelineStop | null> {
    let found: TimelineStop | null = null;
    for (let a = lo; a < hi; ) {
      const b = Math.min(hi, a + this.breakpointSlice);
      const s = this.trace.findInstruction(cond.breakpoints as number[], a, b, last ? "last" : "first");
      this.stepsSearched += Math.min(b, this.lastStep) - a;
      if (s !== null) {
        found = { step: s, kind: "breakpoint", address: this.trace.stateAt(s).regs.eip >>> 0 };
        if (!last) return found;
      }
      a = b;
      if (a < hi) yield { at: a, from: lo, to: hi };
    }
    return found;
  }

  /** Re-executes steps [from, to) one at a time for reads of `watches`: the step of the first (or last) one. */
  private *scanReads(from: number, to: number, watches: readonly TimelineWatch[], last: boolean): Search<Extract<TimelineStop, { kind: "watch" }> | null> {
    if (from >= to) return null;
    const cpu = this.trace.stateAt(from).machine.cpu;
    const cursor = this.trace.cursor(from);
    const bases = new Int32Array(6);
    let found: Extract<TimelineStop, { kind: "watch" }> | null = null;
    let sliceEnd = from + READ_SLICE_STEPS;
    for (let s = from; s < to; s++) {
      if (s >= sliceEnd) {
        sliceEnd = s + READ_SLICE_STEPS;
        yield { at: s, from, to };
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
        found = { step: s, kind: "watch", watch: r.w, access: "read", address: r.address };
        if (!last) return found;
      }
    }
    return found;
  }

  /** The read watch an instruction's reads overlap, with the first overlapping address. */
  private readHit(rec: StepRecord, segBase: ArrayLike<number>, watches: readonly TimelineWatch[]): { w: TimelineWatch; address: number } | null {
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
}

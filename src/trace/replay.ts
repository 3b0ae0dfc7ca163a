/**
 * Deterministic re-execution over a trace: one Machine that can be put at any step. It restores the
 * nearest keyframe at or before the step (only the RAM pages that differ from what the machine holds
 * are rewritten) and runs forward from there; when the wanted step lies just ahead of where the
 * machine already is, it simply runs on.
 *
 * An observer is always attached: it notes which pages re-execution dirtied (so the next restore
 * knows what to rewrite) and forwards writes and events to whichever query is listening.
 *
 * While it re-executes, the replay keeps checkpoints in memory (checkpoints.ts), and a seek restores
 * the nearest keyframe or checkpoint: going back a few steps re-executes a few thousand steps at
 * most, not a keyframe interval.
 */
import { Machine, type MachineState } from "../machine/machine.js";
import type { CpuObserver, StepKind, WriteCause } from "../cpu/observer.js";
import { PAGE_BYTES, PAGE_SHIFT } from "./format.js";
import { TraceError } from "./errors.js";
import type { TraceStore } from "./store.js";
import { DiskImage } from "../machine/disk-image.js";
import { RecordedInputs } from "./recorded-inputs.js";
import { CHECKPOINT_REPLAY_MS, CHECKPOINT_STEPS, CheckpointSet, type Checkpoint } from "./checkpoints.js";

/** Receives the writes made while it is attached (memory still holds the old value). */
export interface WriteListener {
  onWrite(step: number, linear: number, physical: number, size: 1 | 2 | 4, value: number, cause: WriteCause): void;
}

export interface PortListener {
  onPortIo(step: number, port: number, size: 1 | 2 | 4, value: number, isWrite: boolean): void;
}

export interface EventListener {
  onEvent(kind: StepKind, step: number, vector: number, errorCode: number, eip: number, cplBefore: number, cplAfter: number): void;
}

class ReplayObserver implements CpuObserver {
  writes: WriteListener | null = null;
  events: EventListener | null = null;
  ports: PortListener | null = null;
  /**
   * Per page: 0 while it holds the contents of the keyframe RAM was restored from, else the epoch in
   * which it last changed (by re-execution, or by restoring a checkpoint's copy). Each checkpoint
   * begins a new epoch, so the pages written since the previous one are those of the current epoch.
   */
  readonly marks: Uint32Array;
  /** The pages whose mark is not 0. */
  dirtyList: number[] = [];
  epoch = 1;

  constructor(private readonly machine: Machine, pages: number) {
    this.marks = new Uint32Array(pages);
  }

  onMemoryWrite(linear: number, physical: number, size: 1 | 2 | 4, value: number, cause: WriteCause): void {
    const page = (physical >>> 0) >>> PAGE_SHIFT;
    if (page >= this.marks.length) return;
    const mark = this.marks[page];
    if (mark !== this.epoch) {
      if (mark === 0) this.dirtyList.push(page);
      this.marks[page] = this.epoch;
    }
    if (this.writes !== null) this.writes.onWrite(this.machine.cpu.steps, linear, physical >>> 0, size, value, cause);
  }

  onEvent(kind: StepKind, step: number, vector: number, errorCode: number, eip: number, cplBefore: number, cplAfter: number): void {
    if (this.events !== null) this.events.onEvent(kind, step, vector, errorCode, eip, cplBefore, cplAfter);
  }

  onPortIo(port: number, size: 1 | 2 | 4, value: number, isWrite: boolean): void {
    if (this.ports !== null) this.ports.onPortIo(this.machine.cpu.steps, port, size, value, isWrite);
  }
}

/**
 * Re-execution compiles code only once it has been entered this often: a query replays thousands to
 * millions of steps from a keyframe, where compiling every block on first use costs more than it
 * saves. Five seeks on the demo trace took 480 ms of CPU compiling on first use, 275 ms at 8 and 295 ms
 * at 32 when a block cost about 0.15 ms to compile; blocks that keep guest state in locals cost 0.2-0.3
 * ms, and why-write --chain on the demo then spends about 50 ms in its replays at 8 against 30 ms at
 * 32. Compiled and interpreted execution are step-for-step identical, so this changes only speed.
 */
const REPLAY_COMPILE_THRESHOLD = 32;

/** Keyframe states (JSON text) kept for re-use (each is a few KiB). */
const STATE_CACHE = 64;
/** Decoded pages kept for re-use (16 MiB): a restore after re-execution rewrites the same versions. */
const PAGE_CACHE = 4096;

/** How a replay got where it has been: for tests and benchmarks. */
export interface ReplayStats {
  /** Keyframes restored from the trace. */
  keyframeRestores: number;
  /** Checkpoints restored. */
  checkpointRestores: number;
  /** Checkpoints held now. */
  checkpoints: number;
}

export class Replayer {
  readonly machine: Machine;
  private keyframeRestores = 0;
  private checkpointRestores = 0;
  private readonly observer: ReplayObserver;
  /** Step of the keyframe whose RAM image the machine holds (apart from pages it dirtied since), or -1. */
  private ramKeyframe = -1;
  /** Checkpoints taken while re-executing (see checkpoints.ts). */
  private readonly checkpoints = new CheckpointSet();
  /**
   * The checkpoint restored or taken last since the last keyframe restore: pages not written since
   * hold its copies, which the next checkpoint shares.
   */
  private lineage: Checkpoint | null = null;
  /** Milliseconds of compiled re-execution since the last keyframe or checkpoint restored or taken. */
  private replayMs = 0;
  private readonly states = new Map<number, string>();
  /** Decoded page versions ("page:keyframe"), least recently used first. */
  private readonly pages = new Map<string, Uint8Array>();
  /** The recording's inputs (null when it took none): fed back at their steps on every re-execution. */
  private readonly inputs: RecordedInputs | null;

  constructor(private readonly store: TraceStore) {
    const bytes = store.memoryBytes;
    // The disks as the run started, from the trace itself (the image files are not needed).
    const disks: (DiskImage | null)[] = [null, null, null, null];
    for (const d of store.disks) {
      if (!Number.isInteger(d.drive) || d.drive < 0 || d.drive > 3 || d.size % 512 !== 0) {
        throw new TraceError(`${store.path}: corrupt trace (disk ${d.name} has drive ${d.drive} and size ${d.size})`);
      }
      disks[d.drive] = new DiskImage(d.name, store.diskImage(d));
    }
    // RAM comes from the trace alone: no firmware tables (see MachineOptions.firmwareTables).
    this.machine = new Machine({ memoryMiB: bytes / (1024 * 1024), compile: true, compileThreshold: REPLAY_COMPILE_THRESHOLD, disks, firmwareTables: false });
    this.observer = new ReplayObserver(this.machine, bytes >>> PAGE_SHIFT);
    this.machine.cpu.observer = this.observer;
    this.machine.cpu.mmu.observer = this.observer;
    const inputs = store.inputs();
    this.inputs = inputs.length > 0 ? new RecordedInputs(inputs) : null;
    this.machine.inputFeed = this.inputs;
  }

  /** The step the machine is at (meaningless before the first seek). */
  get step(): number {
    return this.machine.cpu.steps;
  }

  get positioned(): boolean {
    return this.ramKeyframe >= 0;
  }

  stats(): ReplayStats {
    return { keyframeRestores: this.keyframeRestores, checkpointRestores: this.checkpointRestores, checkpoints: this.checkpoints.size };
  }

  /** Puts the machine exactly at `step` (after `step` steps have retired). */
  seek(step: number): void {
    const limit = this.store.steps;
    if (!Number.isInteger(step) || step < this.store.startStep || step > limit) {
      throw new TraceError(`${this.store.path}: step ${step} is out of range (the trace covers steps ${this.store.startStep} to ${limit})`);
    }
    const kf = this.store.keyframeAtOrBefore(step);
    const cp = this.checkpoints.atOrBefore(step);
    const from = cp !== null && cp.step > kf ? cp.step : kf;
    const cur = this.machine.cpu.steps;
    // Running on is cheaper than a restore when the target is ahead and the machine is past the
    // nearest restore point, or near enough (a keyframe's restore reads and decodes pages; a
    // checkpoint's only copies them).
    const reach = from === kf ? this.store.keyframeSteps : CHECKPOINT_STEPS;
    const runOn = this.positioned && cur <= step && (cur >= from || step - cur <= reach);
    if (!runOn) {
      if (from === kf) this.restore(kf);
      else this.restoreCheckpoint(cp!);
    }
    this.advance(step);
  }

  /** Runs from the current step to `target` (>= current), exactly. */
  advance(target: number): void {
    const m = this.machine;
    const cpu = m.cpu;
    // Fast (compiled) run to just short of the target: a fault's abort and delivery are taken
    // together there, which may overshoot a limit by one step; single steps take the rest.
    if (target - cpu.steps > 2) this.runTo(target - 2);
    while (cpu.steps < target) {
      const before = cpu.steps;
      m.step();
      if (cpu.steps === before) {
        throw new TraceError(`${this.store.path}: re-execution stalled at step ${before} before reaching step ${target} (halted for good?)`);
      }
    }
    if (cpu.steps !== target) {
      throw new TraceError(`${this.store.path}: re-execution overshot step ${target} (at ${cpu.steps})`);
    }
  }

  /** Runs to `end` (or a little past it: compiled runs may overshoot by one step) with listeners attached. */
  runWith(end: number, writes: WriteListener | null, events: EventListener | null = null, ports: PortListener | null = null): void {
    this.observer.writes = writes;
    this.observer.events = events;
    this.observer.ports = ports;
    try {
      if (end > this.machine.cpu.steps) this.runTo(end);
    } finally {
      this.observer.writes = null;
      this.observer.events = null;
      this.observer.ports = null;
    }
  }

  /**
   * Runs (compiled) to `limit`, in runs that end at multiples of CHECKPOINT_STEPS, taking a checkpoint
   * at such a boundary once re-execution since the last restore point has taken CHECKPOINT_REPLAY_MS
   * (see checkpoints.ts). Like the recorder's keyframes, each is taken where a run ends at its limit.
   */
  private runTo(limit: number): void {
    const m = this.machine;
    const cpu = m.cpu;
    while (cpu.steps < limit) {
      const next = (Math.floor(cpu.steps / CHECKPOINT_STEPS) + 1) * CHECKPOINT_STEPS;
      const t0 = performance.now();
      const r = m.run({ maxSteps: Math.min(limit, next) });
      this.replayMs += performance.now() - t0;
      if (r.reason !== "max-steps" || cpu.steps >= limit) return;
      if (this.replayMs >= CHECKPOINT_REPLAY_MS && !this.checkpoints.has(cpu.steps) && this.store.keyframeAtOrBefore(cpu.steps) !== cpu.steps) {
        this.checkpoints.add(this.takeCheckpoint());
      }
    }
  }

  /** The latest step at or before `step` a seek can restore without re-executing: a keyframe or a checkpoint. */
  restorePointAtOrBefore(step: number): number {
    return Math.max(this.store.keyframeAtOrBefore(step), this.checkpoints.atOrBefore(step)?.step ?? -1);
  }

  /** Executes one step with listeners attached; returns the machine's StepKind. */
  stepWith(writes: WriteListener | null, events: EventListener | null): StepKind {
    this.observer.writes = writes;
    this.observer.events = events;
    try {
      return this.machine.step();
    } finally {
      this.observer.writes = null;
      this.observer.events = null;
    }
  }

  /** Loads keyframe `kf`: RAM first (only pages that may differ), then CPU and device state. */
  private restore(kf: number): void {
    this.keyframeRestores++;
    this.rewriteRam(kf, null);
    for (const d of this.store.disks) {
      try {
        this.machine.disks[d.drive]!.restoreOverlay(this.store.diskOverlayAt(d.drive, kf));
      } catch (e) {
        if (e instanceof TraceError) throw e;
        throw new TraceError(`${this.store.path}: corrupt trace (${(e as Error).message} at keyframe ${kf})`);
      }
    }
    try {
      this.machine.loadState(this.stateOf(kf));
    } catch (e) {
      this.ramKeyframe = -1; // RAM no longer matches any keyframe: the next restore rewrites it all
      if (e instanceof TraceError) throw e;
      // A state of the wrong shape (fields missing or of another type) is damage in the file.
      throw new TraceError(`${this.store.path}: corrupt trace (keyframe at step ${kf} does not restore: ${(e as Error).message.split("\n")[0]})`);
    }
    // Every re-execution starts here, so this is where the inputs are lined up with the machine.
    this.inputs?.seek(kf);
    this.lineage = null;
    this.replayMs = 0;
  }

  /** Puts the machine back at checkpoint `cp` (taken by this replay, so it restores as it was saved). */
  private restoreCheckpoint(cp: Checkpoint): void {
    this.checkpointRestores++;
    this.rewriteRam(cp.keyframe, cp.pages);
    if (cp.disks !== null) for (const d of this.store.disks) this.machine.disks[d.drive]!.restoreOverlay(cp.disks[d.drive]);
    this.machine.loadState(JSON.parse(cp.state) as MachineState);
    this.inputs?.seek(cp.step);
    this.lineage = cp;
    this.replayMs = 0;
  }

  /**
   * Makes RAM keyframe `kf`'s image with `overlay`'s pages on top. Only pages that may differ are
   * rewritten: those re-execution dirtied, those of the overlay, and those stored between the
   * keyframe RAM holds and `kf`.
   */
  private rewriteRam(kf: number, overlay: ReadonlyMap<number, Uint8Array> | null): void {
    const mem = this.machine.mem.u8;
    const obs = this.observer;
    const pages = new Set<number>(obs.dirtyList);
    for (const p of obs.dirtyList) obs.marks[p] = 0;
    obs.dirtyList = [];
    obs.epoch++;
    // With no keyframe's image in RAM yet (-1), every page stored up to `kf`.
    const lo = Math.min(this.ramKeyframe, kf), hi = Math.max(this.ramKeyframe, kf);
    for (const p of this.store.pagesChangedBetween(lo, hi)) pages.add(p);
    if (overlay !== null) for (const p of overlay.keys()) pages.add(p);
    const pageCount = mem.length / PAGE_BYTES;
    for (const p of pages) {
      // A page number is read from the file: one outside RAM is damage, not an address to write.
      if (!Number.isInteger(p) || p < 0 || p >= pageCount) throw new TraceError(`${this.store.path}: corrupt trace (a stored page number, ${p}, is outside the guest's RAM)`);
      const base = p * PAGE_BYTES;
      const copy = overlay?.get(p);
      if (copy !== undefined) {
        mem.set(copy, base);
        // Differs from the keyframe's image, unchanged since the checkpoint (its copy can be shared).
        obs.marks[p] = obs.epoch - 1;
        obs.dirtyList.push(p);
        continue;
      }
      const bytes = this.pageContents(p, this.store.pageVersion(p, kf));
      if (bytes === null) mem.fill(0, base, base + PAGE_BYTES);
      else mem.set(bytes, base);
    }
    this.ramKeyframe = kf;
  }

  /** The machine as it is now, as a checkpoint; pages unchanged since the previous one share its copies. */
  private takeCheckpoint(): Checkpoint {
    const obs = this.observer;
    const mem = this.machine.mem.u8;
    const prev = this.lineage;
    const pages = new Map<number, Uint8Array>();
    let ownBytes = 0;
    for (const p of obs.dirtyList) {
      const shared = obs.marks[p] !== obs.epoch ? prev?.pages.get(p) : undefined;
      if (shared !== undefined) {
        pages.set(p, shared);
      } else {
        pages.set(p, mem.slice(p * PAGE_BYTES, (p + 1) * PAGE_BYTES));
        ownBytes += PAGE_BYTES;
      }
    }
    let disks: Map<number, Uint8Array>[] | null = null;
    if (this.store.disks.length > 0) {
      disks = [];
      for (const d of this.store.disks) {
        const disk = this.machine.disks[d.drive]!;
        const sectors = new Map<number, Uint8Array>();
        for (const s of disk.overlaySectors()) sectors.set(s, disk.overlaySector(s)!.slice());
        disks[d.drive] = sectors;
        ownBytes += sectors.size * 512;
      }
    }
    const cp: Checkpoint = { step: this.machine.cpu.steps, keyframe: this.ramKeyframe, state: JSON.stringify(this.machine.saveState()), pages, disks, ownBytes };
    obs.epoch++;
    this.lineage = cp;
    this.replayMs = 0;
    return cp;
  }

  /** Decoded contents of `page` as stored at keyframe `version` (null: zeros), through a small cache. */
  private pageContents(page: number, version: number): Uint8Array | null {
    if (version < 0) return null;
    const key = `${page}:${version}`;
    const hit = this.pages.get(key);
    if (hit !== undefined) {
      // Most recently used last.
      this.pages.delete(key);
      this.pages.set(key, hit);
      return hit;
    }
    let bytes: Uint8Array | null;
    try {
      bytes = this.store.pageBytes(page, version);
    } catch (e) {
      if (e instanceof TraceError) throw e;
      throw new TraceError(`${this.store.path}: corrupt trace (page ${page} of keyframe ${version} does not decompress)`);
    }
    if (bytes === null) return null;
    if (bytes.length !== PAGE_BYTES) throw new TraceError(`${this.store.path}: corrupt trace (page ${page} of keyframe ${version} has ${bytes.length} bytes)`);
    if (this.pages.size >= PAGE_CACHE) this.pages.delete(this.pages.keys().next().value!);
    this.pages.set(key, bytes);
    return bytes;
  }

  /** A fresh state object each time: devices may keep (and later mutate) arrays of the state they load. */
  private stateOf(kf: number): MachineState {
    let s = this.states.get(kf);
    if (s === undefined) {
      s = this.store.keyframeStateText(kf);
      if (this.states.size >= STATE_CACHE) this.states.delete(this.states.keys().next().value!);
      this.states.set(kf, s);
    }
    try {
      return JSON.parse(s) as MachineState;
    } catch {
      throw new TraceError(`${this.store.path}: corrupt trace (keyframe at step ${kf} holds no valid machine state)`);
    }
  }
}

/**
 * The query API over a recorded trace, used by `ttd info`, `ttd log`, why-write, the TUI and the gdb
 * stub. Everything not stored (the exact step of a write, old and new values, registers at a step,
 * instruction bytes) is recovered by re-executing from the nearest keyframe (see replay.ts); the
 * write index narrows memory questions to one chunk of steps first (see index-codec.ts).
 *
 * Steps: "state at step N" is the machine after N steps have retired, before step N runs. A write
 * "before N" is one made by a step < N, so it is visible in the state at N.
 *
 * All methods are synchronous. A StepState's memory readers see the shared replay machine and are
 * valid only until the next query on the same Trace (they throw when stale).
 */
import type { FpuStateData } from "../cpu/fpu-state.js";
import type { Machine } from "../machine/machine.js";
import { StepKind } from "../cpu/observer.js";
import { CS, SS } from "../cpu/constants.js";
import { INPUT_DEVICE_NAMES } from "../machine/input-feed.js";
import { TraceStore, type StoredOutput } from "./store.js";
import { Replayer, type EventListener, type PortListener, type ReplayStats, type WriteListener } from "./replay.js";
import { TraceError } from "./errors.js";
import { liveRecorder, RECORDER_META } from "./liveness.js";
import type { RecordedModule } from "./recorder.js";
import { LINE_SHIFT, OutputStream } from "./format.js";
import { decodeEntries } from "./index-codec.js";
import { linearPieces, translateLinear } from "./paging.js";
import { containingGpr, registerReader, snapshotRegisters, type Registers } from "./registers.js";
import { RegisterChangeWatch } from "./register-search.js";
import type { CPU } from "../cpu/cpu.js";
import { InstructionClassifier, OpcodeClass, type ControlTransfer } from "./control-transfer.js";

export type { Registers } from "./registers.js";
export { REGISTER_NAMES } from "./registers.js";

/** The first window lastRegisterChange re-executes backward from its question. */
const FIRST_REGISTER_WINDOW = 64;
/** Steps re-executed before a control-transfer range to see the pushes its first returns read. */
const PUSH_LOOKBEHIND = 64;
/** Windows up to this many steps are stepped even for general registers. */
const STEPPED_REGISTER_WINDOW = 4096;
/** The largest window for general registers (searched at compiled speed). */
const MAX_COMPILED_REGISTER_WINDOW = 1 << 24;

export type WriteCauseName = "instruction" | "interrupt-frame" | "task-state" | "descriptor" | "page-table";
const CAUSE_NAMES: WriteCauseName[] = ["instruction", "interrupt-frame", "task-state", "descriptor", "page-table"];

export type EventKindName = "instruction" | "interrupt" | "exception" | "software-interrupt" | "fault";
const EVENT_NAMES: EventKindName[] = ["instruction", "interrupt", "exception", "software-interrupt", "fault"];

/** An address range: linear (through the page tables at the query's step; the default) or physical. */
export interface MemoryRange {
  address: number;
  size: number;
  space?: "linear" | "physical";
}

export interface MemoryWrite {
  /** The step that made the write. */
  step: number;
  linear: number;
  physical: number;
  size: 1 | 2 | 4;
  oldValue: number;
  newValue: number;
  cause: WriteCauseName;
  /** EIP of the instruction being executed (for CPU-made writes: the instruction or event in progress). */
  eip: number;
  cs: number;
  cpl: number;
}

export interface TraceEvent {
  step: number;
  kind: EventKindName;
  vector: number;
  /** The error code pushed, or null when the vector has none. */
  errorCode: number | null;
  /** The EIP that was interrupted (the faulting instruction for faults). */
  eip: number;
  cplBefore: number;
  cplAfter: number;
  /** Where execution continued (the handler), or the faulting EIP for a fault's abort. */
  handlerEip: number;
}

export type StepKindName = "instruction" | "interrupt" | "exception" | "fault";

export interface PortAccess {
  step: number;
  port: number;
  size: 1 | 2 | 4;
  value: number;
  direction: "in" | "out";
  /** EIP of the in/out instruction. */
  eip: number;
}

/** One step as `ttd log` shows it: the state before it, and what kind of step it turned out to be. */
export interface StepRecord {
  step: number;
  kind: StepKindName;
  /** Registers before the step. */
  regs: Registers;
  /** Up to 15 bytes at CS:EIP (fewer when code runs off a mapped page). */
  bytes: Uint8Array;
  /** For interrupts, exceptions, faults and `int n`: the vector. */
  vector?: number;
  errorCode?: number | null;
  /** The x87/MMX/SSE registers before the step, when the cursor was asked for them. */
  fpu?: FpuStateData;
  /** The memory writes the step made, in order, when the cursor was asked for them. */
  writes?: StepWrite[];
}

/** A write a step made: where (linear and physical), how many bytes and the value written. */
export interface StepWrite {
  linear: number;
  physical: number;
  size: 1 | 2 | 4;
  value: number;
  cause: WriteCauseName;
}

/** The machine at one step. Memory readers are valid until the next query on the same Trace. */
export interface StepState {
  step: number;
  regs: Registers;
  /** Bytes at physical `address` (throws outside RAM). */
  readPhysical(address: number, size: number): Uint8Array;
  /** Bytes at linear `address` through the page tables of this step, or null if any page is unmapped. */
  readLinear(address: number, size: number): Uint8Array | null;
  /** Physical address of linear `address` at this step, or null when unmapped. */
  translate(address: number): number | null;
  /** The replay machine itself, positioned at `step` (do not run it; use the Trace's methods). */
  readonly machine: Machine;
}

export interface RegisterChange {
  /** The step whose execution changed the register. */
  step: number;
  register: string;
  before: number;
  after: number;
}

export interface TraceInfo {
  path: string;
  formatVersion: number;
  toolVersion: string;
  image: { name: string; sha256: string };
  /** The run's IDE disks (drive index 0-3), stored in the trace. */
  disks: { drive: number; name: string; sha256: string; size: number; writeBack: boolean }[];
  /**
   * Where input from outside came from (null: the run took none): `source` file, pipe or terminal,
   * `device` com1 or keyboard, and how many input events the trace holds.
   */
  input: { source: string; device: string; events: number } | null;
  /** Where the virtual CMOS clock started (ISO time), when `--rtc` chose it. */
  rtcStart: string | null;
  memoryBytes: number;
  guestCmdline: string;
  /** The boot modules (string, size, SHA-256) the kernel was given; empty for traces from before they existed. */
  modules: RecordedModule[];
  commandLine: string[];
  created: string | null;
  /** False for a recording still being made, or killed before finalizing: it covers steps up to its last commit. */
  complete: boolean;
  /** For a trace not finalized: the process id of its recorder when it is still running on this host, else null. */
  recorderPid: number | null;
  steps: number;
  startStep: number;
  end: { reason: string; detail: string; exitStatus: number | null } | null;
  chunkSteps: number;
  keyframeSteps: number;
  memoryWrites: number;
}

/** A physical interval [lo, hi) with the dword mask wanted in each of its lines. */
interface PhysRange {
  lo: number;
  hi: number;
}

function lineMask(r: PhysRange, line: number): number {
  const base = line << LINE_SHIFT;
  const a = Math.max(r.lo, base), b = Math.min(r.hi, base + 64) - 1;
  if (b < a) return 0;
  const d0 = (a >>> 2) & 15, d1 = (b >>> 2) & 15;
  return (2 << d1) - (1 << d0);
}

/** The `modules` metadata (JSON written by the recorder); anything malformed reads as no modules. */
function parseModules(text: string | undefined): RecordedModule[] {
  if (text === undefined) return [];
  try {
    const v = JSON.parse(text) as unknown;
    if (!Array.isArray(v)) return [];
    return v
      .filter((x): x is RecordedModule => typeof x === "object" && x !== null && typeof x.string === "string" && typeof x.bytes === "number" && typeof x.sha256 === "string")
      .map((x) => ({ string: x.string, bytes: x.bytes, sha256: x.sha256 }));
  } catch {
    return [];
  }
}

export class Trace {
  readonly path: string;
  private readonly store: TraceStore;
  private replayer: Replayer | null = null;
  private cachedInputs: { step: number; device: number; deviceName: string; data: Uint8Array }[] | null = null;
  /** Bumped by every query that moves the replay machine (StepState readers check it). */
  private generation = 0;

  private constructor(store: TraceStore) {
    this.store = store;
    this.path = store.path;
  }

  /** The replay machine, created on first use (metadata queries never need guest RAM). */
  private get replay(): Replayer {
    this.replayer ??= new Replayer(this.store);
    return this.replayer;
  }

  /**
   * Opens a trace; a file that is not a trace, too new, truncated or corrupt gives a TraceError.
   * Every open checks the metadata, the kernel image's checksum and the table checksums (all of them
   * up to FULL_CHECK_MAX_BYTES, the small tables beyond). `verify: "quick"` adds SQLite's quick_check
   * (every page of the file readable); `"full"` SQLite's integrity check, every table checksum and
   * every stored blob decoded (`ttd info --verify`). `true` means "quick". `"copy"`: a copy whose bytes
   * were checked against a checksum (see VerifyLevel), checked no further.
   */
  static open(path: string, options: { verify?: boolean | "quick" | "full" | "copy" } = {}): Trace {
    const store = TraceStore.open(path, options.verify === "full" ? "full" : options.verify === "copy" ? "copy" : "open");
    try {
      if (options.verify === "quick" || options.verify === true) store.verify();
      if (options.verify === "full") store.verifyAll();
      return new Trace(store);
    } catch (e) {
      store.close();
      throw e;
    }
  }

  close(): void {
    this.store.close();
  }

  /** Steps covered (the whole run, or up to the last commit of a recording that was killed). */
  get steps(): number {
    return this.store.steps;
  }

  get startStep(): number {
    return this.store.startStep;
  }

  get complete(): boolean {
    return this.store.complete;
  }

  info(): TraceInfo {
    const m = this.store.meta;
    let commandLine: string[] = [];
    try {
      const v = JSON.parse(m.get("command_line") ?? "[]") as unknown;
      if (Array.isArray(v)) commandLine = v.map(String);
    } catch {
      // leave empty: metadata only
    }
    const exit = m.get("exit_status");
    return {
      path: this.path,
      formatVersion: this.store.formatVersion,
      toolVersion: m.get("tool_version") ?? "unknown",
      image: { name: m.get("image_name") ?? "", sha256: this.store.imageInfo().sha256 },
      disks: this.store.disks.map((d) => ({ ...d })),
      input: m.has("input_source") ? { source: m.get("input_source")!, device: m.get("input_device") ?? "com1", events: this.inputs().length } : null,
      rtcStart: m.get("rtc_start") ?? null,
      memoryBytes: this.store.memoryBytes,
      guestCmdline: m.get("guest_cmdline") ?? "",
      modules: parseModules(m.get("modules")),
      commandLine,
      created: m.get("created") ?? null,
      complete: this.store.complete,
      recorderPid: this.store.complete ? null : liveRecorder(m.get(RECORDER_META)),
      steps: this.store.steps,
      startStep: this.store.startStep,
      end: this.store.complete ? { reason: m.get("end_reason")!, detail: m.get("end_detail") ?? "", exitStatus: exit === undefined ? null : Number(exit) } : null,
      chunkSteps: this.store.chunkSteps,
      keyframeSteps: this.store.keyframeSteps,
      memoryWrites: this.store.writes,
    };
  }

  /** What was checked when the trace was opened, in words (for `ttd info`). */
  get checked(): readonly string[] {
    return this.store.checked;
  }

  /** Counts for `ttd info`. */
  summary(): ReturnType<TraceStore["summary"]> {
    return this.store.summary();
  }

  /** The kernel image the trace was recorded from. */
  image(): { name: string; sha256: string; data: Uint8Array } {
    const img = this.store.image();
    return { name: img.name, sha256: img.sha256, data: new Uint8Array(img.data) };
  }

  /** Restores and checkpoints of this trace's replay so far (tests and benchmarks). */
  replayStats(): ReplayStats {
    return this.replayer?.stats() ?? { keyframeRestores: 0, checkpointRestores: 0, checkpoints: 0 };
  }

  // ---- States -------------------------------------------------------------------------------------

  private seek(step: number): void {
    this.generation++;
    this.replay.seek(step);
  }

  /** The machine at `step` (after `step` steps). */
  stateAt(step: number): StepState {
    this.seek(step);
    const machine = this.replay.machine;
    const gen = this.generation;
    const check = () => {
      if (gen !== this.generation) throw new Error(`state at step ${step} is stale: the trace was queried since`);
    };
    const mem = machine.mem.u8;
    const cpu = machine.cpu;
    return {
      step,
      regs: snapshotRegisters(cpu),
      machine,
      readPhysical(address: number, size: number): Uint8Array {
        check();
        const a = address >>> 0;
        if (a + size > mem.length) throw new TraceError(`physical 0x${a.toString(16)}+${size} is outside RAM (${mem.length} bytes)`);
        return mem.slice(a, a + size);
      },
      readLinear(address: number, size: number): Uint8Array | null {
        check();
        const out = new Uint8Array(size);
        let o = 0;
        for (const piece of linearPieces(mem, cpu, address, size)) {
          if (piece.physical === null || piece.physical + piece.size > mem.length) return null;
          out.set(mem.subarray(piece.physical, piece.physical + piece.size), o);
          o += piece.size;
        }
        return out;
      },
      translate(address: number): number | null {
        check();
        return translateLinear(mem, cpu, address);
      },
    };
  }

  // ---- Memory writes --------------------------------------------------------------------------------

  /** Physical intervals of `range` (linear ranges through the page tables at `atStep`). */
  private physicalRanges(range: MemoryRange, atStep: number): PhysRange[] {
    if (!(range.size >= 1) || !Number.isInteger(range.size)) throw new TraceError(`memory range size must be a positive integer, got ${range.size}`);
    const memBytes = this.store.memoryBytes;
    const out: PhysRange[] = [];
    if (range.space === "physical") {
      const lo = range.address >>> 0;
      const hi = Math.min(lo + range.size, memBytes);
      if (lo >= memBytes) throw new TraceError(`physical 0x${lo.toString(16)} is outside RAM (${memBytes} bytes)`);
      out.push({ lo, hi });
      return out;
    }
    this.seek(atStep);
    const machine = this.replay.machine;
    let mapped = false;
    for (const piece of linearPieces(machine.mem.u8, machine.cpu, range.address, range.size)) {
      if (piece.physical === null || piece.physical >= memBytes) continue;
      mapped = true;
      const lo = piece.physical, hi = Math.min(piece.physical + piece.size, memBytes);
      const prev = out[out.length - 1];
      if (prev !== undefined && prev.hi === lo) prev.hi = hi;
      else out.push({ lo, hi });
    }
    if (!mapped) throw new TraceError(`linear 0x${(range.address >>> 0).toString(16)} is not mapped to RAM at step ${atStep}`);
    return out;
  }

  private chunkOf(step: number): number {
    return Math.floor(step / this.store.chunkSteps);
  }

  /** A listener collecting writes that overlap `ranges` with from <= step < to. */
  private collector(ranges: PhysRange[], from: number, to: number, keepAll: boolean): WriteListener & { found: MemoryWrite[] } {
    const machine = this.replay.machine;
    const mem = machine.mem.u8;
    const cpu = machine.cpu;
    const found: MemoryWrite[] = [];
    return {
      found,
      onWrite(step, linear, physical, size, value, cause) {
        if (step < from || step >= to) return;
        const end = physical + size;
        let hit = false;
        for (const r of ranges) if (physical < r.hi && end > r.lo) hit = true;
        if (!hit) return;
        let old = 0;
        for (let i = size - 1; i >= 0; i--) old = old * 256 + mem[physical + i];
        const w: MemoryWrite = {
          step,
          linear: linear >>> 0,
          physical,
          size,
          oldValue: old,
          newValue: size === 4 ? value >>> 0 : value & (size === 2 ? 0xffff : 0xff),
          cause: CAUSE_NAMES[cause] ?? "instruction",
          eip: cpu.instrEip >>> 0,
          cs: cpu.segSel[CS],
          cpl: cpu.cpl,
        };
        if (keepAll || found.length === 0) found.push(w);
        else found[0] = w;
      },
    };
  }

  /** Re-executes chunks [c0, c1] restricted to steps [from, to) with `listener` attached. */
  private replayChunks(c0: number, c1: number, from: number, to: number, listener: WriteListener): void {
    const C = this.store.chunkSteps;
    const start = Math.max(from, c0 * C, this.store.startStep);
    const end = Math.min(to, (c1 + 1) * C, this.store.steps);
    if (end <= start) return;
    this.seek(start);
    this.replay.runWith(end, listener);
  }

  /**
   * The last write to any byte of `range` made before step `before` (by a step < before), or null
   * when nothing wrote there since the recording started (the value then comes from the loaded image).
   * A linear range is translated with the page tables at step `before`.
   */
  lastWrite(range: MemoryRange, before: number): MemoryWrite | null {
    this.checkStep(before);
    const ranges = this.physicalRanges(range, before);
    if (before <= this.store.startStep) return null;
    // Per line: the dword mask wanted and the latest candidate chunk not yet ruled out.
    const lines: { line: number; mask: number }[] = [];
    for (const r of ranges) {
      for (let line = r.lo >>> LINE_SHIFT; line <= (r.hi - 1) >>> LINE_SHIFT; line++) lines.push({ line, mask: lineMask(r, line) });
    }
    let bound = this.chunkOf(before - 1);
    const candidate = new Map<number, number>();
    for (;;) {
      let best = -1;
      for (const { line, mask } of lines) {
        let c = candidate.get(line);
        if (c === undefined || c > bound) {
          c = this.latestChunk(line, mask, bound);
          candidate.set(line, c);
        }
        if (c > best) best = c;
      }
      if (best < 0) return null;
      const found = this.lastWriteInChunk(ranges, best, before);
      if (found !== null) return found;
      // Same lines, other bytes (or only at steps >= before): look further back.
      bound = best - 1;
    }
  }

  /**
   * The last write to `ranges` in chunk `chunk` by a step before `before`, or null. The write is
   * usually recent: the steps from the last keyframe or checkpoint before `before` are re-executed
   * first (restoring it costs no re-execution); only when the write is not there, the rest of the
   * chunk, in one run.
   */
  private lastWriteInChunk(ranges: PhysRange[], chunk: number, before: number): MemoryWrite | null {
    const C = this.store.chunkSteps;
    const first = Math.max(chunk * C, this.store.startStep);
    let end = Math.min(before, (chunk + 1) * C, this.store.steps);
    if (end <= first) return null;
    const near = this.replay.restorePointAtOrBefore(end - 1);
    const windows = near > first ? [near, first] : [first];
    for (const start of windows) {
      const listener = this.collector(ranges, start, end, false);
      this.seek(start);
      this.replay.runWith(end, listener);
      if (listener.found.length > 0) return listener.found[0];
      end = start;
    }
    return null;
  }

  /** The latest chunk <= bound in which `line` was written in a dword of `mask`, or -1. */
  private latestChunk(line: number, mask: number, bound: number): number {
    if (bound < 0) return -1;
    const chunks: number[] = [];
    const masks: number[] = [];
    for (const row of this.store.indexRowsBackward(line, bound)) {
      chunks.length = 0;
      masks.length = 0;
      decodeEntries(row.firstChunk, row.entries, chunks, masks);
      for (let i = chunks.length - 1; i >= 0; i--) {
        if (chunks[i] <= bound && (masks[i] & mask) !== 0) return chunks[i];
      }
    }
    return -1;
  }

  /**
   * Every write to any byte of `range` made by steps from <= step < to, in order (at most `limit`).
   * A linear range is translated with the page tables at step `to`.
   */
  writesIn(range: MemoryRange, from: number, to: number, options: { limit?: number } = {}): MemoryWrite[] {
    this.checkStep(from);
    this.checkStep(to);
    if (to <= from) return [];
    const ranges = this.physicalRanges(range, to);
    const c0 = this.chunkOf(from), c1 = this.chunkOf(to - 1);
    const chunks = new Set<number>();
    const cs: number[] = [];
    const ms: number[] = [];
    for (const r of ranges) {
      const l0 = r.lo >>> LINE_SHIFT, l1 = (r.hi - 1) >>> LINE_SHIFT;
      for (const row of this.store.indexRowsInRange(l0, l1, c0, c1)) {
        const want = lineMask(r, row.line);
        cs.length = 0;
        ms.length = 0;
        decodeEntries(row.firstChunk, row.entries, cs, ms);
        for (let i = 0; i < cs.length; i++) if (cs[i] >= c0 && cs[i] <= c1 && (ms[i] & want) !== 0) chunks.add(cs[i]);
      }
    }
    const sorted = [...chunks].sort((a, b) => a - b);
    const limit = options.limit ?? Infinity;
    const listener = this.collector(ranges, from, to, true);
    // Consecutive chunks are re-executed in one run.
    for (let i = 0; i < sorted.length && listener.found.length < limit; ) {
      let j = i;
      while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
      this.replayChunks(sorted[i], sorted[j], from, to, listener);
      i = j + 1;
    }
    return listener.found.slice(0, limit);
  }

  // ---- Events, output -------------------------------------------------------------------------------

  /** Interrupts, exceptions, faults and software interrupts with from <= step < to. */
  events(from = this.store.startStep, to = this.store.steps, options: { limit?: number } = {}): TraceEvent[] {
    const limit = options.limit ?? Number.MAX_SAFE_INTEGER;
    return this.store.events(from, Math.min(to, this.store.steps), limit).map((e) => ({
      step: e.step,
      kind: EVENT_NAMES[e.kind] ?? "instruction",
      vector: e.vector,
      errorCode: e.errorCode,
      eip: e.eip,
      cplBefore: e.cplBefore,
      cplAfter: e.cplAfter,
      handlerEip: e.handlerEip,
    }));
  }

  /**
   * Every input from outside (bytes on COM1, key events' scan codes), in the order they entered, each
   * with the step it entered at: delivered after that many steps, before the step executes. Empty
   * for a run that took none.
   */
  inputs(): { step: number; device: number; deviceName: string; data: Uint8Array }[] {
    this.cachedInputs ??= this.store.inputs().map((i) => ({ ...i, deviceName: INPUT_DEVICE_NAMES[i.device] ?? String(i.device) }));
    return this.cachedInputs;
  }

  /** Guest output bytes (COM1 and the 0xe9 console) with the step that produced each. */
  output(from = this.store.startStep, to = this.store.steps + 1): (StoredOutput & { streamName: "serial" | "debug-console" })[] {
    return this.store.output(from, to).map((o) => ({ ...o, streamName: o.stream === OutputStream.DebugConsole ? "debug-console" : "serial" }));
  }

  /**
   * Port accesses (in/out, their size and value) of steps from <= step < to, to `port` or to any port
   * when it is null; at most `limit`. The port index names the chunks to re-execute.
   */
  portIo(port: number | null, from = this.store.startStep, to = this.store.steps, options: { limit?: number } = {}): PortAccess[] {
    this.checkStep(from);
    this.checkStep(to);
    const limit = options.limit ?? Infinity;
    const found: PortAccess[] = [];
    if (to <= from) return found;
    const cpu = this.replay.machine.cpu;
    const listener: PortListener = {
      onPortIo(step, p, size, value, isWrite) {
        if (step < from || step >= to || (port !== null && p !== port)) return;
        found.push({ step, port: p, size, value: size === 4 ? value >>> 0 : value, direction: isWrite ? "out" : "in", eip: cpu.instrEip >>> 0 });
      },
    };
    const chunks = this.store.portChunks(port, this.chunkOf(from), this.chunkOf(to - 1));
    const C = this.store.chunkSteps;
    for (let i = 0; i < chunks.length && found.length < limit; ) {
      let j = i;
      while (j + 1 < chunks.length && chunks[j + 1] === chunks[j] + 1) j++;
      const start = Math.max(from, chunks[i] * C), end = Math.min(to, (chunks[j] + 1) * C);
      this.seek(start);
      this.replay.runWith(end, null, null, listener);
      i = j + 1;
    }
    return found.slice(0, limit);
  }

  // ---- Registers -----------------------------------------------------------------------------------

  /**
   * The last step before `before` whose execution changed `register` (eax..edi, their 16/8-bit parts,
   * eip, eflags, segment selectors, cr0-cr4), or null if it never changed since the recording started.
   * Registers are not indexed: this re-executes windows that end at `before` and grow backward (64
   * steps, then 8 times more each time), so a recent change, the usual case, costs a fraction of a
   * millisecond. General registers are searched at compiled speed (see register-search.ts), the
   * others a step at a time.
   */
  lastRegisterChange(register: string, before: number): RegisterChange | null {
    const read = registerReader(register);
    if (read === null) throw new TraceError(`unknown register '${register}'`);
    this.checkStep(before);
    const gpr = containingGpr(register);
    const name = register.toLowerCase();
    let end = before;
    let window = FIRST_REGISTER_WINDOW;
    while (end > this.store.startStep) {
      const start = Math.max(this.store.startStep, end - window);
      // Small windows step faster than a watched run and its second pass over the span it finds.
      const compiled = gpr >= 0 && end - start > STEPPED_REGISTER_WINDOW;
      const found = compiled ? this.registerChangeCompiled(read, gpr, start, end) : this.registerChangeStepping(read, start, end);
      if (found !== null) return { step: found.step, register: name, before: found.before, after: found.after };
      end = start;
      window = Math.min(window * 8, gpr >= 0 ? MAX_COMPILED_REGISTER_WINDOW : this.store.keyframeSteps);
    }
    return null;
  }

  /** The last change of the register `read` reads among steps [start, end), stepping each one. */
  private registerChangeStepping(read: (cpu: CPU) => number, start: number, end: number): { step: number; before: number; after: number } | null {
    this.seek(start);
    const machine = this.replay.machine;
    const cpu = machine.cpu;
    let last: { step: number; before: number; after: number } | null = null;
    let value = read(cpu);
    while (cpu.steps < end) {
      const s = cpu.steps;
      machine.step();
      if (cpu.steps === s) break;
      const v = read(cpu);
      if (v !== value) last = { step: s, before: value, after: v };
      value = v;
    }
    return last;
  }

  /**
   * The same for a general register, at compiled speed: a watched run finds the last span of steps
   * in which the value changed, and only that span is stepped.
   */
  private registerChangeCompiled(read: (cpu: CPU) => number, gpr: number, start: number, end: number): { step: number; before: number; after: number } | null {
    this.seek(start);
    const machine = this.replay.machine;
    const cpu = machine.cpu;
    const watch = new RegisterChangeWatch(read, gpr, machine.mem.u8, cpu);
    // A compiled run may take a fault's abort and delivery together, one step past its limit: stop
    // short of `end` and step the rest.
    cpu.control.registerWatch = watch;
    try {
      if (end - cpu.steps > 2) machine.run({ maxSteps: end - 2 });
    } finally {
      cpu.control.registerWatch = null;
      this.generation++;
    }
    while (cpu.steps < end) {
      watch.observe(cpu);
      const s = cpu.steps;
      machine.step();
      if (cpu.steps === s) break;
    }
    watch.observe(cpu);
    if (watch.changeFrom < 0) return null;
    return this.registerChangeStepping(read, watch.changeFrom, Math.min(watch.changeTo, end));
  }

  // ---- Searching for code ------------------------------------------------------------------------

  /**
   * The first step in [from, to) (or with `which: "last"`, the last one) that executes an instruction
   * whose EIP is one of `eips`, as a breakpoint there would stop before it; null when there is none.
   * A step that delivers an interrupt or exception never counts (hardware delivers an interrupt due
   * at a boundary before a code breakpoint there), and each iteration of a repeated string
   * instruction counts. The range is re-executed at full speed, compiled code included (only
   * blocks holding one of the EIPs are interpreted): about as fast as `ttd run`, so callers search
   * millions of steps per call.
   */
  findInstruction(eips: Iterable<number>, from: number, to: number, which: "first" | "last" = "first"): number | null {
    this.checkStep(from);
    const end = Math.min(to, this.store.steps);
    const stops = Int32Array.from(eips, (e) => e | 0);
    if (from >= end || stops.length === 0) return null;
    this.seek(from);
    const machine = this.replay.machine;
    const cpu = machine.cpu;
    let found: number | null = null;
    cpu.control.setCodeStops(stops);
    try {
      while (cpu.steps < end) {
        const r = machine.run({ maxSteps: end });
        if (r.reason !== "code-stop") break;
        found = cpu.steps;
        if (which === "first") break;
        cpu.control.skipCodeStopAt(cpu.steps);
      }
    } finally {
      cpu.control.clearCodeStops();
      this.generation++;
    }
    return found;
  }

  /**
   * The calls, returns, interrupt deliveries, irets, unconditional jumps and fast system calls of steps
   * [from, to), in order (see control-transfer.ts). Every step is re-executed one at a time, several
   * times slower than findInstruction's compiled run: callers keep the range to what they need (a few
   * keyframes).
   */
  controlTransfers(from: number, to: number): ControlTransfer[] {
    this.checkStep(from);
    const end = Math.min(to, this.store.steps);
    const out: ControlTransfer[] = [];
    if (from >= end) return out;
    // A few steps before `from` are re-executed unrecorded, so a `push X; ret` split by `from` is still
    // seen as a jump.
    this.seek(Math.max(this.store.startStep, from - PUSH_LOOKBEHIND));
    const machine = this.replay.machine;
    const cpu = machine.cpu;
    const mem = machine.mem.u8;
    const classifier = new InstructionClassifier(mem, cpu);
    // The delivery a step made, if any (set by the listener, read after the step).
    let delivered = false, external = false, vector = 0, errorCode = -1, interrupted = 0;
    const events: EventListener = {
      onEvent(kind, _step, v, err, eip) {
        if (kind === StepKind.Fault) return;
        delivered = true;
        external = kind === StepKind.Interrupt;
        vector = v;
        errorCode = err;
        interrupted = eip >>> 0;
      },
    };
    const stackWord = (lin: number): number => {
      const p = translateLinear(mem, cpu, lin);
      if (p === null || p + 4 > mem.length) return 0;
      return (mem[p] | (mem[p + 1] << 8) | (mem[p + 2] << 16) | (mem[p + 3] << 24)) >>> 0;
    };
    // The slot the latest push (an instruction other than a call moving ESP down by 4) wrote, until a
    // call or delivery writes there: a return reading it returns to a pushed address, not a caller.
    let pushedSlot = -1;
    try {
      while (cpu.steps < end) {
        const step = cpu.steps;
        const eip = cpu.eip >>> 0;
        const op = classifier.classify((cpu.segBase[CS] + eip) >>> 0);
        const espBefore = (cpu.segBase[SS] + cpu.regs[4]) >>> 0;
        const fromUser = cpu.cpl === 3;
        delivered = false;
        const kind = this.replay.stepWith(null, events);
        if (cpu.steps === step) break;
        const to = cpu.eip >>> 0;
        const espAfter = (cpu.segBase[SS] + cpu.regs[4]) >>> 0;
        const recorded = step >= from;
        if (delivered) {
          // The pushed EIP sits just above the error code, when the vector has one.
          const slot = (espAfter + (errorCode >= 0 ? 4 : 0)) >>> 0;
          if (slot === pushedSlot) pushedSlot = -1;
          // `from` is the instruction the CPU was at: the interrupted one, the faulting one, or `int n`
          // itself (whose frame holds the address after it).
          const software = !external && op === OpcodeClass.SoftwareInterrupt && interrupted !== eip;
          if (recorded) out.push({ step, kind: "delivery", slot, returnTo: interrupted, from: eip, to, vector, external, fromUser, software });
        } else if (kind !== StepKind.Instruction) {
          continue;
        } else if (op === OpcodeClass.Other) {
          if (((espBefore - espAfter) | 0) === 4) pushedSlot = espAfter;
        } else if (op === OpcodeClass.Call) {
          // A near call pushes 4 bytes, a far call 8 (CS above EIP). A call to the next instruction
          // (a get-EIP idiom, popped rather than returned from) is not a frame.
          const pushed = (espBefore - espAfter) >>> 0;
          const returnTo = stackWord(espAfter);
          if (espAfter === pushedSlot) pushedSlot = -1;
          if (recorded && (pushed === 4 || pushed === 8) && returnTo !== to) out.push({ step, kind: "call", slot: espAfter, returnTo, from: eip, to, vector: null, external: false, fromUser, software: false });
        } else if (op === OpcodeClass.Return) {
          const jump = espBefore === pushedSlot;
          if (jump) pushedSlot = -1;
          if (recorded) out.push({ step, kind: jump ? "pushed-return" : "return", slot: espBefore, returnTo: to, from: eip, to, vector: null, external: false, fromUser, software: false });
        } else if (!recorded) {
          continue;
        } else if (op === OpcodeClass.Jump) {
          out.push({ step, kind: "jump", slot: espAfter, returnTo: to, from: eip, to, vector: null, external: false, fromUser, software: false });
        } else if (op === OpcodeClass.Iret) {
          out.push({ step, kind: "iret", slot: espBefore, returnTo: to, from: eip, to, vector: null, external: false, fromUser, software: false });
        } else if (op === OpcodeClass.Sysenter) {
          out.push({ step, kind: "sysenter", slot: NaN, returnTo: to, from: eip, to, vector: null, external: false, fromUser, software: false });
        } else if (op === OpcodeClass.Sysexit) {
          out.push({ step, kind: "sysexit", slot: NaN, returnTo: to, from: eip, to, vector: null, external: false, fromUser, software: false });
        }
      }
    } finally {
      this.generation++;
    }
    return out;
  }

  // ---- Stepping -------------------------------------------------------------------------------------

  /** Steps one at a time from `from` (for `ttd log`, the TUI, diff); `writes` adds each step's memory writes. */
  cursor(from = this.store.startStep, options: { fpu?: boolean; writes?: boolean } = {}): TraceCursor {
    this.checkStep(from);
    return new TraceCursor(this, from, options.fpu === true, options.writes === true);
  }

  /** @internal Executes step `step` (positioning first if needed) and describes it. */
  describeStep(step: number, withFpu = false, withWrites = false): StepRecord | null {
    if (step >= this.store.steps) return null;
    if (!this.replay.positioned || this.replay.step !== step) this.seek(step);
    else this.generation++;
    const machine = this.replay.machine;
    const cpu = machine.cpu;
    const regs = snapshotRegisters(cpu);
    const fpu = withFpu ? cpu.fpu.save() : undefined;
    const bytes = this.codeBytes(machine);
    let vector: number | undefined;
    let errorCode: number | null | undefined;
    let eventKind = -1;
    const events: EventListener = {
      onEvent(kind, s, v, err) {
        if (s !== step) return;
        eventKind = kind;
        vector = v;
        errorCode = err < 0 ? null : err;
      },
    };
    let writes: StepWrite[] | undefined;
    let listener: WriteListener | null = null;
    if (withWrites) {
      const list: StepWrite[] = (writes = []);
      listener = {
        onWrite(_s, linear, physical, size, value, cause) {
          list.push({ linear: linear >>> 0, physical, size, value: size === 4 ? value >>> 0 : value & (size === 2 ? 0xffff : 0xff), cause: CAUSE_NAMES[cause] ?? "instruction" });
        },
      };
    }
    const kind = this.replay.stepWith(listener, events);
    if (cpu.steps === step) return null;
    let name: StepKindName;
    switch (kind) {
      case StepKind.Interrupt: name = "interrupt"; break;
      case StepKind.Exception: name = "exception"; break;
      case StepKind.Fault: name = "fault"; break;
      default: name = "instruction";
    }
    const rec: StepRecord = { step, kind: name, regs, bytes };
    if (fpu !== undefined) rec.fpu = fpu;
    if (writes !== undefined) rec.writes = writes;
    if (eventKind >= 0) {
      rec.vector = vector;
      rec.errorCode = errorCode;
    }
    return rec;
  }

  private codeBytes(machine: Machine): Uint8Array {
    const cpu = machine.cpu;
    const mem = machine.mem.u8;
    const lin = (cpu.segBase[CS] + cpu.eip) >>> 0;
    const out: number[] = [];
    for (const piece of linearPieces(mem, cpu, lin, 15)) {
      if (piece.physical === null || piece.physical + piece.size > mem.length) break;
      for (let i = 0; i < piece.size; i++) out.push(mem[piece.physical + i]);
    }
    return Uint8Array.from(out);
  }

  private checkStep(step: number): void {
    if (!Number.isInteger(step) || step < this.store.startStep || step > this.store.steps) {
      throw new TraceError(`${this.path}: step ${step} is out of range (the trace covers steps ${this.store.startStep} to ${this.store.steps})`);
    }
  }
}

/** Walks steps in order; other queries on the same Trace in between are fine (it re-positions). */
export class TraceCursor {
  constructor(
    private readonly trace: Trace,
    private nextStep: number,
    private readonly withFpu = false,
    private readonly withWrites = false,
  ) {}

  /** The step the next call to next() describes. */
  get step(): number {
    return this.nextStep;
  }

  /** Describes the next step and moves past it; null at the end of the trace. */
  next(): StepRecord | null {
    const rec = this.trace.describeStep(this.nextStep, this.withFpu, this.withWrites);
    if (rec !== null) this.nextStep++;
    return rec;
  }
}

/**
 * The recorder: runs a machine with an observer attached and turns what it sees into batches for the
 * trace writer. Per memory write it does a handful of typed-array operations (which 64-byte line,
 * which dwords); everything else (keyframes, index rows, events, output) is per chunk, per keyframe
 * or per event. Nothing is allocated per instruction.
 *
 * Time is cut three ways:
 *  - chunks of `chunkSteps` steps, by step number: the write index says which lines each chunk wrote;
 *  - keyframes about every `keyframeSteps` steps (where a run slice ends): state plus dirtied pages;
 *  - commits every COMMIT_STEPS steps, or sooner once COMMIT_INDEX_ENTRIES index entries are
 *    uncommitted (at the first chunk boundary after a keyframe past either): the end of one writer
 *    transaction, the unit of crash safety. Cut by steps and by what the guest wrote, never by wall
 *    time, so one recording made twice gives the same trace bytes however loaded the host is.
 * What the run produced goes to the writer every SEND_STEPS steps (a batch), so neither thread holds
 * more than that much of the pages and index before the writer stores them.
 */
import { createHash } from "node:crypto";
import type { Machine, RunResult } from "../machine/machine.js";
import type { CpuObserver, StepKind, WriteCause, WriteFilter } from "../cpu/observer.js";
import {
  DEFAULT_CHUNK_STEPS, DEFAULT_KEYFRAME_STEPS, FORMAT_VERSION, LINE_BYTES, LINE_SHIFT, OutputStream, PAGE_BYTES, PAGE_SHIFT, TRACE_FORMAT, toolVersion,
} from "./format.js";
import { GrowFloat64, GrowInt32 } from "./grow.js";
import type { Batch, KeyframeData, KeyframeDiskSectors, TraceDisk, TraceEnd } from "./batch.js";
import { SECTOR_BYTES, type DiskImage } from "../machine/disk-image.js";
import { openSink } from "./writer-sink.js";
import { RECORDER_META, recorderMeta } from "./liveness.js";
import { StateText } from "./state-text.js";

export interface RecordOptions {
  /** The trace file to create (must not exist). */
  path: string;
  /** The kernel image the machine was loaded from (stored in the trace). */
  image: Uint8Array;
  imageName: string;
  /** The guest command line the machine was loaded with (metadata). */
  cmdline?: string;
  /** The boot modules the machine was loaded with (metadata: their bytes are in RAM at step 0). */
  modules?: RecordedModule[];
  /** How ttd was invoked (metadata). */
  commandLine?: string[];
  /** Stop once this many steps have retired. */
  maxSteps?: number;
  chunkSteps?: number;
  keyframeSteps?: number;
  /** Use a worker thread for compression and SQLite when available (default true). */
  threaded?: boolean;
  /** Guest output as it happens (COM1 and the 0xe9 console). */
  onSerial?: (byte: number) => void;
  onDebugConsole?: (byte: number) => void;
  /** Called about every `progressIntervalMs` (default 500) while recording. */
  onProgress?: (p: RecordProgress) => void;
  progressIntervalMs?: number;
  /** Called once the trace file exists and holds its first commit (the machine has not run yet). */
  onCreated?: () => void;
  /**
   * Set when the machine has an input feed: the trace is then written as version 3 and every input
   * (`Machine.onInput`) is stored with its step. `waitForInput` is awaited when the feed asks the run
   * to wait ("input-wait").
   */
  inputs?: { waitForInput: () => Promise<void> };
  /** More meta rows (how input was given, the RTC start...). */
  extraMeta?: Record<string, string>;
}

/** A boot module as the trace's metadata names it. */
export interface RecordedModule {
  /** The module string the kernel saw (file name and arguments). */
  string: string;
  bytes: number;
  sha256: string;
}

export interface RecordProgress {
  steps: number;
  seconds: number;
  /** Trace size on disk after the last committed batch. */
  fileBytes: number;
}

export interface RecordResult {
  reason: RunResult["reason"];
  detail: string;
  exitStatus: number | null;
  steps: number;
  seconds: number;
  fileBytes: number;
  writes: number;
  keyframes: number;
  threaded: boolean;
}

/**
 * Steps between commits: about the most a crash can lose (a quarter to one second of recording at
 * 70-250 million steps/s). Each transaction rewrites the B-tree page at the tail of every line it adds
 * index rows to, wherever the line's history sits in the file, so the writer's I/O goes as the number
 * of commits times the lines written between them: committing every 2^23 steps, a recording of 1 G
 * steps wrote 1.3 GiB through the WAL for a 41 MiB trace.
 */
const COMMIT_STEPS = 1 << 26;
/**
 * Uncommitted index entries (a line written in a chunk) that bring the commit forward: the writer
 * holds a transaction's open index rows in memory (a few bytes per entry), so this bounds it on
 * guests that write all over RAM.
 */
const COMMIT_INDEX_ENTRIES = 1 << 20;
/**
 * Steps between batches sent to the writer (at the first keyframe past them): small enough that
 * neither thread holds much, few enough that handing them over (a wake-up of the writer's thread
 * each) costs nothing next to the run.
 */
const SEND_STEPS = 1 << 21;
/** Wall time between yields to the event loop (writer acknowledgements, Ctrl-C, progress). */
const YIELD_MS = 100;
/**
 * Batch data the writer has not stored yet allowed before the machine waits for it. When the writer
 * lags (a host busy with other work) the queue stays full, so this adds to the recorder's peak memory:
 * probe-r1000 peaked at 157-159 MiB with 8 MiB, 153-154 MiB with 4 MiB, in about the same time.
 */
const MAX_PENDING_BYTES = 4 << 20;

/**
 * The observer. Kept as one small monomorphic class: the CPU calls onMemoryWrite from its hottest
 * paths (compiled blocks included).
 */
class RecordingObserver implements CpuObserver {
  /** Writes reported to onMemoryWrite (see `writes` for all of them). */
  private reported = 0;
  /** Current chunk and the first step after it. */
  chunk = 0;
  chunkEnd: number;
  /** Segment stamp: a line is listed once per segment (a chunk, cut again at keyframes and batches). */
  private stamp = 1;
  private readonly lineStamp: Int32Array;
  private readonly lineMask: Uint16Array;
  private lines: Int32Array = new Int32Array(4096);
  private nLines = 0;
  private readonly portStamp = new Int32Array(65536);
  private readonly portReads = new Int32Array(65536);
  private readonly portWrites = new Int32Array(65536);
  private readonly portList: number[] = [];
  /** Pages dirtied since the last keyframe. */
  private pageEpoch = 1;
  private readonly pageStamp: Int32Array;
  private readonly cpu: Machine["cpu"];
  readonly dirtyPages = new GrowInt32(1024);
  readonly index = new GrowInt32(1 << 16);
  readonly ports = new GrowInt32(256);
  readonly events = new GrowFloat64(1024);
  readonly serial = new GrowFloat64(1024);
  readonly inputs = new GrowFloat64(64);
  /** Lets compiled code note writes to lines already listed in the current segment without a call (observer.ts). */
  readonly writeFilter: WriteFilter;

  /** Memory writes the CPU made to RAM, those compiled code noted itself included. */
  get writes(): number {
    return this.reported + this.writeFilter.state[2];
  }

  constructor(
    machine: Machine,
    private readonly memSize: number,
    private readonly chunkSteps: number,
  ) {
    this.cpu = machine.cpu;
    this.lineStamp = new Int32Array(memSize >>> LINE_SHIFT);
    this.lineMask = new Uint16Array(memSize >>> LINE_SHIFT);
    this.pageStamp = new Int32Array(memSize >>> PAGE_SHIFT);
    const steps = machine.cpu.steps;
    this.chunk = Math.floor(steps / chunkSteps);
    this.chunkEnd = (this.chunk + 1) * chunkSteps;
    this.writeFilter = { lineStamp: this.lineStamp, lineMask: this.lineMask, state: new Float64Array([this.stamp, this.chunkEnd, 0]) };
  }

  onMemoryWrite(_linear: number, physical: number, size: 1 | 2 | 4, _value: number, _cause: WriteCause): void {
    const p = physical >>> 0;
    if (p >= this.memSize) return;
    this.reported++;
    if (this.cpu.steps >= this.chunkEnd) this.rollChunk(this.cpu.steps);
    const last = p + size - 1;
    const line = p >>> LINE_SHIFT;
    const d0 = (p >>> 2) & 15;
    const d1 = (last >>> 2) & 15;
    if (last >>> LINE_SHIFT === line) {
      this.mark(line, (2 << d1) - (1 << d0));
    } else {
      this.mark(line, 0x10000 - (1 << d0));
      if (last < this.memSize) this.mark(line + 1, (2 << d1) - 1);
    }
  }

  private mark(line: number, bits: number): void {
    if (this.lineStamp[line] !== this.stamp) {
      this.lineStamp[line] = this.stamp;
      this.lineMask[line] = bits;
      if (this.nLines === this.lines.length) {
        const next = new Int32Array(this.lines.length * 2);
        next.set(this.lines);
        this.lines = next;
      }
      this.lines[this.nLines++] = line;
    } else {
      this.lineMask[line] |= bits;
    }
  }

  onEvent(kind: StepKind, step: number, vector: number, errorCode: number, eip: number, cplBefore: number, cplAfter: number): void {
    const e = this.events;
    e.push(step);
    e.push(kind);
    e.push(vector);
    e.push(errorCode);
    e.push(eip >>> 0);
    e.push(cplBefore);
    e.push(cplAfter);
    e.push(this.cpu.eip >>> 0);
  }

  onPortIo(port: number, _size: 1 | 2 | 4, _value: number, isWrite: boolean): void {
    if (this.cpu.steps >= this.chunkEnd) this.rollChunk(this.cpu.steps);
    const p = port & 0xffff;
    if (this.portStamp[p] !== this.stamp) {
      this.portStamp[p] = this.stamp;
      this.portReads[p] = 0;
      this.portWrites[p] = 0;
      this.portList.push(p);
    }
    if (isWrite) this.portWrites[p]++;
    else this.portReads[p]++;
  }

  output(stream: OutputStream, byte: number): void {
    this.serial.push(this.cpu.steps);
    this.serial.push(stream);
    this.serial.push(byte);
  }

  input(step: number, device: number, bytes: Uint8Array): void {
    const a = this.inputs;
    a.push(step);
    a.push(device);
    a.push(bytes.length);
    for (const b of bytes) a.push(b);
  }

  /** Moves to the chunk holding `step`, emitting the finished one. */
  private rollChunk(step: number): void {
    this.endSegment();
    this.chunk = Math.floor(step / this.chunkSteps);
    this.chunkEnd = (this.chunk + 1) * this.chunkSteps;
    this.writeFilter.state[1] = this.chunkEnd;
  }

  /**
   * Emits the lines and ports listed in the current segment as index rows of the current chunk, notes
   * their pages as dirty, and starts a new segment (the same chunk may get more rows later; the writer
   * merges them).
   */
  endSegment(): void {
    const n = this.nLines;
    if (n > 0) {
      const idx = this.index;
      idx.reserve(2 + 2 * n);
      idx.push(this.chunk);
      idx.push(n);
      const lines = this.lines;
      for (let i = 0; i < n; i++) {
        const line = lines[i];
        idx.push(line);
        idx.push(this.lineMask[line]);
        const page = line >>> (PAGE_SHIFT - LINE_SHIFT);
        if (this.pageStamp[page] !== this.pageEpoch) {
          this.pageStamp[page] = this.pageEpoch;
          this.dirtyPages.push(page);
        }
      }
      this.nLines = 0;
    }
    for (const p of this.portList) {
      this.ports.push(p);
      this.ports.push(this.chunk);
      this.ports.push(this.portReads[p]);
      this.ports.push(this.portWrites[p]);
    }
    this.portList.length = 0;
    this.stamp++;
    this.writeFilter.state[0] = this.stamp;
  }

  /** Pages dirtied since the last call (after endSegment()); starts a new keyframe interval. */
  takeDirtyPages(): Int32Array {
    const pages = this.dirtyPages.take();
    this.pageEpoch++;
    return pages;
  }
}

/** Copies `pages` (page numbers) out of RAM. */
function copyPages(mem: Uint8Array, pages: Int32Array): Uint8Array {
  const out = new Uint8Array(pages.length * PAGE_BYTES);
  for (let i = 0; i < pages.length; i++) {
    const base = pages[i] * PAGE_BYTES;
    out.set(mem.subarray(base, base + PAGE_BYTES), i * PAGE_BYTES);
  }
  return out;
}

/**
 * The overlay sectors of each disk to store with a keyframe: every sector of the overlay at the first
 * keyframe, then those written since the previous keyframe (their contents now).
 */
function diskSectors(disks: (DiskImage | null)[], first: boolean): KeyframeDiskSectors[] {
  const out: KeyframeDiskSectors[] = [];
  disks.forEach((disk, drive) => {
    if (disk === null) return;
    const written = disk.takeWritten();
    const list = first ? disk.overlaySectors() : written;
    if (list.length === 0) return;
    const data = new Uint8Array(list.length * SECTOR_BYTES);
    list.forEach((s, i) => data.set(disk.overlaySector(s)!, i * SECTOR_BYTES));
    out.push({ drive, sectors: Float64Array.from(list), data });
  });
  return out;
}

/** Every page of RAM that is not all zeros (the first keyframe's memory). */
function nonZeroPages(mem: Uint8Array): Int32Array {
  const pages = new GrowInt32(256);
  // Native comparisons against zeros, 64 KiB at a time, then page by page where something is set.
  const BLOCK = 16 * PAGE_BYTES;
  const zeros = Buffer.alloc(BLOCK);
  const buf = Buffer.from(mem.buffer, mem.byteOffset, mem.byteLength);
  for (let base = 0; base < buf.length; base += BLOCK) {
    const end = Math.min(base + BLOCK, buf.length);
    if (buf.compare(zeros, 0, end - base, base, end) === 0) continue;
    for (let p = base; p < end; p += PAGE_BYTES) {
      if (buf.compare(zeros, 0, PAGE_BYTES, p, p + PAGE_BYTES) !== 0) pages.push(p / PAGE_BYTES);
    }
  }
  return pages.take();
}

export class Recorder {
  private readonly machine: Machine;
  private readonly opts: RecordOptions;
  private readonly chunkSteps: number;
  private readonly keyframeSteps: number;
  private stopRequested = false;

  constructor(machine: Machine, opts: RecordOptions) {
    this.machine = machine;
    this.opts = opts;
    this.chunkSteps = opts.chunkSteps ?? DEFAULT_CHUNK_STEPS;
    const k = opts.keyframeSteps ?? DEFAULT_KEYFRAME_STEPS;
    if (!(this.chunkSteps >= 1 && Number.isInteger(this.chunkSteps))) throw new Error(`chunkSteps must be a positive integer`);
    if (!(k >= 1 && Number.isInteger(k))) throw new Error(`keyframeSteps must be a positive integer`);
    // Keyframe slices end on chunk boundaries, where batches may be cut (see run()).
    this.keyframeSteps = Math.ceil(k / this.chunkSteps) * this.chunkSteps;
  }

  private stopDetail = "interrupted by Ctrl-C";

  /** Stops the recording at the next slice boundary (Ctrl-C); run() then finalizes the trace. */
  requestStop(detail = "interrupted by Ctrl-C"): void {
    if (!this.stopRequested) this.stopDetail = detail;
    this.stopRequested = true;
  }

  async run(): Promise<RecordResult> {
    const { machine, opts } = this;
    const mem = machine.mem;
    const started = performance.now();
    const init = {
      path: opts.path,
      meta: this.meta(),
      image: { name: opts.imageName, sha256: createHash("sha256").update(opts.image).digest("hex"), data: opts.image },
      disks: machine.disks.flatMap((d, drive): TraceDisk[] =>
        d === null ? [] : [{ drive, name: d.name, sha256: createHash("sha256").update(d.base).digest("hex"), writeBack: d.onWriteBack !== null, data: d.base }],
      ),
      inputs: opts.inputs !== undefined,
    };
    const opening = openSink(init, opts.threaded ?? true);
    const obs = new RecordingObserver(machine, mem.size, this.chunkSteps);
    let seq = 0;
    let keyframes = 0;
    const pendingKeyframes: KeyframeData[] = [];
    const stateText = new StateText();
    const takeKeyframe = (pages: Int32Array) => {
      const disks = diskSectors(machine.disks, keyframes === 0);
      pendingKeyframes.push({ step: machine.cpu.steps, state: stateText.text(machine.saveState()), pages, data: copyPages(mem.u8, pages), disks });
      keyframes++;
    };
    // The first keyframe (every page of RAM that is not all zeros) is taken while the writer starts on
    // its thread: each took 30-100 ms, a tenth of recording a one-second run.
    try {
      takeKeyframe(nonZeroPages(mem.u8));
    } catch (e) {
      await opening.then((s) => s.abort(), () => {});
      throw e;
    }
    const sink = await opening;
    /** Index entries sent since the last commit (a line and its mask each; segment headers count too). */
    let uncommittedEntries = 0;
    const flush = (commit: boolean) => {
      obs.endSegment();
      uncommittedEntries = commit ? 0 : uncommittedEntries + obs.index.length / 2;
      const b: Batch = {
        seq: seq++,
        commit,
        upTo: machine.cpu.steps,
        writes: obs.writes,
        index: obs.index.take(),
        ports: obs.ports.take(),
        events: obs.events.take(),
        serial: obs.serial.take(),
        inputs: obs.inputs.take(),
        keyframes: pendingKeyframes.splice(0),
      };
      sink.send(b);
    };

    const prevSerial = machine.onSerial, prevDebug = machine.onDebugConsole, prevInput = machine.onInput;
    machine.onInput = (step, device, bytes) => obs.input(step, device, bytes);
    machine.onSerial = (b) => {
      obs.output(OutputStream.Serial, b);
      opts.onSerial?.(b);
    };
    machine.onDebugConsole = (b) => {
      obs.output(OutputStream.DebugConsole, b);
      opts.onDebugConsole?.(b);
    };
    const cpu = machine.cpu;
    const prevObserver = cpu.observer, prevMmuObserver = cpu.mmu.observer;
    let result: RunResult;
    try {
      flush(true);
      await sink.drain(0);
      opts.onCreated?.();
      cpu.observer = obs;
      cpu.mmu.observer = obs;

      const limit = opts.maxSteps ?? Infinity;
      const progressMs = opts.progressIntervalMs ?? 500;
      let lastYield = performance.now();
      let lastProgress = lastYield;
      let nextCommit = (Math.floor(cpu.steps / COMMIT_STEPS) + 1) * COMMIT_STEPS;
      let nextSend = (Math.floor(cpu.steps / SEND_STEPS) + 1) * SEND_STEPS;
      const K = this.keyframeSteps;
      let nextKeyframe = (Math.floor(cpu.steps / K) + 1) * K;
      for (;;) {
        const r = machine.run({ maxSteps: Math.min(limit, nextKeyframe) });
        if (r.reason === "input-wait" && opts.inputs !== undefined) {
          // The guest waits for input the source has not given yet: wait for it (the run goes on from
          // this very step, so when the bytes come does not change where they enter).
          await opts.inputs.waitForInput();
          if (this.stopRequested) {
            result = { reason: "interrupted", steps: cpu.steps, detail: this.stopDetail };
            break;
          }
          continue;
        }
        if (r.reason !== "max-steps" || r.steps >= limit) {
          result = r;
          break;
        }
        obs.endSegment();
        takeKeyframe(obs.takeDirtyPages());
        nextKeyframe = (Math.floor(cpu.steps / K) + 1) * K;
        // A commit ends only on a chunk boundary, so no chunk's index entries are split across
        // transactions (a slice overshoots its limit by one step when a fault's delivery follows its
        // abort); otherwise it waits for the next keyframe.
        const due = cpu.steps >= nextCommit || uncommittedEntries + obs.index.length / 2 >= COMMIT_INDEX_ENTRIES;
        const commit = due && cpu.steps % this.chunkSteps === 0;
        if (commit || cpu.steps >= nextSend) {
          flush(commit);
          nextSend = (Math.floor(cpu.steps / SEND_STEPS) + 1) * SEND_STEPS;
        }
        if (commit) nextCommit = (Math.floor(cpu.steps / COMMIT_STEPS) + 1) * COMMIT_STEPS;
        const now = performance.now();
        if (now - lastYield >= YIELD_MS) {
          lastYield = now;
          // Let the writer's acknowledgements, Ctrl-C and output reach us; wait if the writer lags.
          await new Promise<void>((resolve) => setImmediate(resolve));
          await sink.drain(MAX_PENDING_BYTES);
          if (opts.onProgress && now - lastProgress >= progressMs) {
            lastProgress = now;
            opts.onProgress({ steps: cpu.steps, seconds: (now - started) / 1000, fileBytes: sink.fileBytes });
          }
        }
        if (this.stopRequested) {
          result = { reason: "interrupted", steps: cpu.steps, detail: this.stopDetail };
          break;
        }
      }
      flush(true);
    } catch (e) {
      cpu.observer = prevObserver;
      cpu.mmu.observer = prevMmuObserver;
      machine.onSerial = prevSerial;
      machine.onDebugConsole = prevDebug;
      machine.onInput = prevInput;
      await sink.abort().catch(() => {});
      throw e;
    }
    cpu.observer = prevObserver;
    cpu.mmu.observer = prevMmuObserver;
    machine.onSerial = prevSerial;
    machine.onDebugConsole = prevDebug;
    machine.onInput = prevInput;
    const end: TraceEnd = { reason: result.reason, detail: result.detail, exitStatus: result.exitStatus ?? null, steps: result.steps };
    const fileBytes = await sink.finish(end);
    return {
      reason: result.reason,
      detail: result.detail,
      exitStatus: result.exitStatus ?? null,
      steps: result.steps,
      seconds: (performance.now() - started) / 1000,
      fileBytes,
      writes: obs.writes,
      keyframes,
      threaded: sink.threaded,
    };
  }

  private meta(): Record<string, string> {
    const { machine, opts } = this;
    return {
      format: TRACE_FORMAT,
      format_version: String(FORMAT_VERSION),
      tool_version: toolVersion(),
      image_name: opts.imageName,
      memory_bytes: String(machine.mem.size),
      guest_cmdline: opts.cmdline ?? "",
      modules: JSON.stringify(opts.modules ?? []),
      command_line: JSON.stringify(opts.commandLine ?? []),
      chunk_steps: String(this.chunkSteps),
      keyframe_steps: String(this.keyframeSteps),
      line_bytes: String(LINE_BYTES),
      page_bytes: String(PAGE_BYTES),
      start_step: String(machine.cpu.steps),
      created: new Date().toISOString(),
      host: `node ${process.version} ${process.platform}-${process.arch}`,
      [RECORDER_META]: recorderMeta(),
      ...opts.extraMeta,
    };
  }
}

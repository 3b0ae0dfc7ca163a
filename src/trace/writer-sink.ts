/**
 * Where the recorder's batches go: a TraceWriter in a worker thread (the default when running the
 * compiled code, so the second core compresses and writes), or the same writer called inline (when
 * the worker's compiled file is not available, e.g. under a TypeScript test runner, or on request).
 */
import { Worker } from "node:worker_threads";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { TraceWriter } from "./writer.js";
import { batchBytes, batchTransferList, type Batch, type TraceEnd, type TraceInit } from "./batch.js";
import type { FromWriter, ToWriter } from "./writer-worker.js";

export interface WriterSink {
  /** Queues a batch; it is committed in order. */
  send(b: Batch): void;
  /** Resolves once at most `maxBytes` of queued batches remain uncommitted. */
  drain(maxBytes: number): Promise<void>;
  /** Size of the trace on disk after the last committed batch. */
  readonly fileBytes: number;
  /** Commits everything queued, records the end and closes the file. Resolves to the final size. */
  finish(end: TraceEnd): Promise<number>;
  /** Closes without finalizing (after an error). */
  abort(): Promise<void>;
  readonly threaded: boolean;
}

/** True when the worker can be started (its compiled file sits next to this module). */
export function workerAvailable(): boolean {
  if (!import.meta.url.endsWith(".js")) return false;
  return existsSync(fileURLToPath(new URL("./writer-worker.js", import.meta.url)));
}

export async function openSink(init: TraceInit, threaded: boolean): Promise<WriterSink> {
  if (threaded && workerAvailable()) return ThreadSink.start(init);
  return new InlineSink(init);
}

class InlineSink implements WriterSink {
  readonly threaded = false;
  private readonly writer: TraceWriter;
  fileBytes = 0;
  constructor(init: TraceInit) {
    this.writer = new TraceWriter(init);
    this.fileBytes = this.writer.fileBytes();
  }
  send(b: Batch): void {
    this.writer.apply(b);
    this.fileBytes = this.writer.fileBytes();
  }
  async drain(): Promise<void> {}
  async finish(end: TraceEnd): Promise<number> {
    return this.writer.finish(end);
  }
  async abort(): Promise<void> {
    this.writer.close();
  }
}

/**
 * The writer allocates a batch's rows and compressed pages and drops them at once; with V8's default
 * young generation (which grows to tens of MiB) its heap grew by about 20 MiB over a long recording
 * before collecting. A small one keeps the recorder's memory flat in the length of the run.
 */
const WRITER_LIMITS = { maxYoungGenerationSizeMb: 4 };

class ThreadSink implements WriterSink {
  readonly threaded = true;
  fileBytes = 0;
  private pendingBytes = 0;
  private readonly sizes = new Map<number, number>();
  private error: Error | null = null;
  private waiters: (() => void)[] = [];
  private finished: ((bytes: number) => void) | null = null;
  private exited = false;
  /** Set once the writer reported a finalized trace (its thread then exits normally). */
  private done = false;

  private constructor(private readonly worker: Worker) {}

  static start(init: TraceInit): Promise<ThreadSink> {
    const worker = new Worker(new URL("./writer-worker.js", import.meta.url), { resourceLimits: WRITER_LIMITS });
    const sink = new ThreadSink(worker);
    return new Promise((resolve, reject) => {
      let ready = false;
      worker.on("message", (m: FromWriter) => {
        if (m.type === "ready") {
          ready = true;
          resolve(sink);
        } else if (m.type === "error" && !ready) {
          void worker.terminate();
          reject(new Error(m.message));
        } else {
          sink.onMessage(m);
        }
      });
      worker.on("error", (e) => {
        if (!ready) reject(e);
        else sink.fail(e);
      });
      worker.on("exit", () => {
        sink.exited = true;
        if (!ready) reject(new Error("the trace writer thread exited before starting"));
        else if (!sink.done) sink.fail(new Error("the trace writer thread stopped before the trace was finalized"));
      });
      worker.postMessage({ type: "init", init } satisfies ToWriter);
    });
  }

  private onMessage(m: FromWriter): void {
    switch (m.type) {
      case "ack":
        this.pendingBytes -= this.sizes.get(m.seq) ?? 0;
        this.sizes.delete(m.seq);
        this.fileBytes = m.fileBytes;
        this.wake();
        break;
      case "finished":
        this.done = true;
        this.fileBytes = m.fileBytes;
        this.finished?.(m.fileBytes);
        this.finished = null;
        break;
      case "error":
        this.fail(new Error(m.message));
        break;
      case "ready":
        break;
    }
  }

  private fail(e: Error): void {
    if (this.error === null) this.error = e;
    this.wake();
    if (this.finished !== null) {
      // finish() is waiting: wake it through its rejection path.
      const f = this.finished;
      this.finished = null;
      f(-1);
    }
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  send(b: Batch): void {
    if (this.error) throw this.error;
    const n = batchBytes(b);
    this.sizes.set(b.seq, n);
    this.pendingBytes += n;
    this.worker.postMessage({ type: "batch", batch: b } satisfies ToWriter, batchTransferList(b));
  }

  async drain(maxBytes: number): Promise<void> {
    while (this.pendingBytes > maxBytes) {
      if (this.error) throw this.error;
      await new Promise<void>((r) => this.waiters.push(r));
    }
    if (this.error) throw this.error;
  }

  async finish(end: TraceEnd): Promise<number> {
    if (this.error) throw this.error;
    const bytes = await new Promise<number>((resolve) => {
      this.finished = resolve;
      this.worker.postMessage({ type: "finish", end } satisfies ToWriter);
    });
    if (this.error) throw this.error;
    return bytes;
  }

  async abort(): Promise<void> {
    if (this.exited) return;
    const done = new Promise<void>((r) => this.worker.once("exit", () => r()));
    this.worker.postMessage({ type: "close" } satisfies ToWriter);
    await done;
  }
}

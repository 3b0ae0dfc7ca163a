/**
 * The worker thread behind `ttd record`: owns the TraceWriter, so page compression and SQLite inserts
 * run on the second core while the main thread runs the machine. Messages in: init, batch, finish,
 * close. Messages out: ready, ack (after each committed batch), finished, error.
 */
import { parentPort } from "node:worker_threads";
import { TraceWriter } from "./writer.js";
import type { Batch, TraceEnd, TraceInit } from "./batch.js";

export type ToWriter =
  | { type: "init"; init: TraceInit }
  | { type: "batch"; batch: Batch }
  | { type: "finish"; end: TraceEnd }
  | { type: "close" };

export type FromWriter =
  | { type: "ready" }
  | { type: "ack"; seq: number; fileBytes: number }
  | { type: "finished"; fileBytes: number }
  | { type: "error"; message: string };

const port = parentPort;
if (port !== null) {
  let writer: TraceWriter | null = null;
  const send = (m: FromWriter) => port.postMessage(m);
  port.on("message", (m: ToWriter) => {
    try {
      switch (m.type) {
        case "init":
          writer = new TraceWriter(m.init);
          send({ type: "ready" });
          break;
        case "batch":
          writer!.apply(m.batch);
          send({ type: "ack", seq: m.batch.seq, fileBytes: writer!.fileBytes() });
          break;
        case "finish": {
          const bytes = writer!.finish(m.end);
          writer = null;
          send({ type: "finished", fileBytes: bytes });
          port.close();
          break;
        }
        case "close":
          writer?.close();
          writer = null;
          port.close();
          break;
      }
    } catch (e) {
      send({ type: "error", message: e instanceof Error ? e.message : String(e) });
    }
  });
}

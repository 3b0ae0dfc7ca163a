/**
 * Guest output tied to steps: the lines the guest printed (each with the steps of its first and last
 * byte), and "at which step did the guest print this text?" — the step that wrote the text's last
 * byte, i.e. the first state in which a user could have seen all of it. Each stream (COM1, the 0xe9
 * console) is searched on its own, so bytes of one never split a match in the other.
 */
import type { Trace } from "../trace/trace.js";

export type OutputStreamName = "serial" | "debug-console";

export interface OutputLine {
  stream: OutputStreamName;
  /** Step of the line's first byte and of its last (the newline, or the last byte printed). */
  firstStep: number;
  lastStep: number;
  /** The line's bytes as Latin-1 text, without its newline. */
  text: string;
}

export interface OutputMatch {
  stream: OutputStreamName;
  /** The step that printed the text's last byte. */
  step: number;
  /** The step that printed its first byte. */
  firstStep: number;
  /** Byte offset of the match in its stream's output. */
  offset: number;
  /** The output line the match ends in (as far as it goes). */
  line: string;
}

interface StreamBytes {
  name: OutputStreamName;
  bytes: Uint8Array;
  steps: Float64Array;
}

function streams(trace: Trace): StreamBytes[] {
  const all = trace.output();
  const out: StreamBytes[] = [];
  for (const name of ["serial", "debug-console"] as const) {
    const mine = all.filter((o) => o.streamName === name);
    if (mine.length === 0) continue;
    out.push({ name, bytes: Uint8Array.from(mine, (o) => o.byte), steps: Float64Array.from(mine, (o) => o.step) });
  }
  return out;
}

const latin1 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("latin1");

/** Every line of output, stream by stream, in the order printed (a last line without newline included). */
export function outputLines(trace: Trace, stream?: OutputStreamName): OutputLine[] {
  const lines: OutputLine[] = [];
  for (const s of streams(trace)) {
    if (stream !== undefined && s.name !== stream) continue;
    let start = 0;
    for (let i = 0; i < s.bytes.length; i++) {
      if (s.bytes[i] !== 10 && i !== s.bytes.length - 1) continue;
      const end = s.bytes[i] === 10 ? i : i + 1;
      lines.push({ stream: s.name, firstStep: s.steps[start], lastStep: s.steps[i], text: latin1(s.bytes.subarray(start, end)).replace(/\r$/, "") });
      start = i + 1;
    }
  }
  return lines.sort((a, b) => a.lastStep - b.lastStep || a.firstStep - b.firstStep);
}

/**
 * Where `text` (UTF-8) was printed: matches ordered by the step of their last byte, only those whose
 * last byte came at `fromStep` or later; at most `limit`.
 */
export function findOutput(trace: Trace, text: string, options: { fromStep?: number; stream?: OutputStreamName; limit?: number } = {}): OutputMatch[] {
  const needle = Buffer.from(text, "utf8");
  if (needle.length === 0) return [];
  const matches: OutputMatch[] = [];
  for (const s of streams(trace)) {
    if (options.stream !== undefined && s.name !== options.stream) continue;
    const hay = Buffer.from(s.bytes.buffer, s.bytes.byteOffset, s.bytes.byteLength);
    for (let at = hay.indexOf(needle); at >= 0; at = hay.indexOf(needle, at + 1)) {
      const last = at + needle.length - 1;
      if (options.fromStep !== undefined && s.steps[last] < options.fromStep) continue;
      let lineStart = hay.lastIndexOf(10, at) + 1;
      if (lineStart > at) lineStart = at;
      let lineEnd = hay.indexOf(10, last);
      if (lineEnd < 0) lineEnd = hay.length;
      matches.push({ stream: s.name, step: s.steps[last], firstStep: s.steps[at], offset: at, line: latin1(s.bytes.subarray(lineStart, lineEnd)).replace(/\r$/, "") });
    }
  }
  matches.sort((a, b) => a.step - b.step || a.offset - b.offset);
  return options.limit !== undefined ? matches.slice(0, options.limit) : matches;
}

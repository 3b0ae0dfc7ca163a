/**
 * The write index's row encoding. A row of `write_index` says in which chunks (from `first_chunk` to
 * `last_chunk`) one 64-byte line was written, and which of its 16 dwords each time:
 *
 *   entries = repeat { varint delta ; mask: u16 little-endian }
 *
 * where the first delta is chunk - first_chunk and each later one is chunk - previous chunk (LEB128
 * varint, 7 bits per byte, high bit = more). Chunks are strictly increasing within a row.
 */
import { MAX_ENTRIES_PER_ROW } from "./format.js";

export interface IndexRow {
  line: number;
  firstChunk: number;
  lastChunk: number;
  entries: Uint8Array;
}

/** Bytes of one encoded entry at most: a varint of a chunk delta below 2^35, then the mask. */
const MAX_ENTRY_BYTES = 7;

/** Encodes `n` entries (chunks strictly increasing) from parallel arrays starting at `from`. */
export function encodeEntries(chunks: ArrayLike<number>, masks: ArrayLike<number>, from: number, n: number): Uint8Array {
  const out = new Uint8Array(n * MAX_ENTRY_BYTES);
  let o = 0;
  let prev = chunks[from];
  for (let i = from; i < from + n; i++) {
    o = putEntry(out, o, chunks[i] - prev, masks[i]);
    prev = chunks[i];
  }
  return out.slice(0, o);
}

/** Writes one entry (chunk delta `d`, then `mask`) at `o`; returns the offset after it. */
function putEntry(out: Uint8Array, o: number, d: number, mask: number): number {
  while (d >= 0x80) {
    out[o++] = (d & 0x7f) | 0x80;
    d = Math.floor(d / 128);
  }
  out[o++] = d;
  out[o++] = mask & 0xff;
  out[o++] = (mask >>> 8) & 0xff;
  return o;
}

/** Appends a row's entries to `chunks` and `masks`. */
export function decodeEntries(firstChunk: number, entries: Uint8Array, chunks: number[], masks: number[]): void {
  let chunk = firstChunk;
  let i = 0;
  while (i < entries.length) {
    let d = 0, scale = 1, b: number;
    do {
      b = entries[i++];
      d += (b & 0x7f) * scale;
      scale *= 128;
    } while (b & 0x80);
    chunk += d;
    chunks.push(chunk);
    masks.push(entries[i] | (entries[i + 1] << 8));
    i += 2;
  }
}

/** Receives a finished row: `entries` is only valid during the call (the builder reuses it). */
export type RowSink = (line: number, firstChunk: number, lastChunk: number, entries: Uint8Array) => void;

/**
 * Builds write_index rows from the recorder's segments (chunk, n, then n pairs line/mask; see
 * Batch.index) as they arrive, over the whole of a transaction: each line being written has a slot
 * holding its open row, already encoded. A row is handed to the sink once it holds
 * MAX_ENTRIES_PER_ROW entries and the line is written in a later chunk (so its chunks are final),
 * and every open row at finish(). A line listed again in the chunk it was last listed in (a segment
 * cut inside a chunk) has its masks ORed into that entry.
 *
 * Memory goes as the lines written since the last finish(), not as the steps: a loop rewriting the
 * same lines keeps one open row each, however long the transaction.
 */
export class IndexRowBuilder {
  /** Line -> slot + 1 (0: no open row). Grows with the highest line seen. */
  private slotOfLine = new Int32Array(1024);
  private slots = 0;
  private slotLine = new Int32Array(64);
  private firstChunk = new Float64Array(64);
  private lastChunk = new Float64Array(64);
  private count = new Int32Array(64);
  private length = new Int32Array(64);
  private bufs: Uint8Array[] = [];

  constructor(private readonly sink: RowSink) {}

  /** Adds one piece of segments; full rows go to the sink now. */
  add(index: Int32Array): void {
    for (let i = 0; i < index.length; ) {
      const chunk = index[i], n = index[i + 1];
      i += 2;
      for (let j = 0; j < n; j++, i += 2) this.addEntry(index[i], chunk, index[i + 1]);
    }
  }

  /** Hands every open row to the sink, in line order, and forgets them. */
  finish(): void {
    const order = Array.from({ length: this.slots }, (_, s) => s).sort((a, b) => this.slotLine[a] - this.slotLine[b]);
    for (const s of order) {
      this.emit(s);
      this.slotOfLine[this.slotLine[s]] = 0;
    }
    this.slots = 0;
  }

  private addEntry(line: number, chunk: number, mask: number): void {
    if (line >= this.slotOfLine.length) this.growLines(line);
    let s = this.slotOfLine[line] - 1;
    if (s < 0) {
      s = this.open(line, chunk);
    } else if (this.lastChunk[s] === chunk) {
      const buf = this.bufs[s], end = this.length[s];
      buf[end - 2] |= mask & 0xff;
      buf[end - 1] |= (mask >>> 8) & 0xff;
      return;
    } else if (this.count[s] === MAX_ENTRIES_PER_ROW) {
      this.emit(s);
      this.count[s] = 0;
      this.length[s] = 0;
      this.firstChunk[s] = chunk;
      this.lastChunk[s] = chunk;
    }
    let buf = this.bufs[s];
    let o = this.length[s];
    if (o + MAX_ENTRY_BYTES > buf.length) {
      const next = new Uint8Array(Math.min(buf.length * 2, MAX_ENTRIES_PER_ROW * MAX_ENTRY_BYTES));
      next.set(buf.subarray(0, o));
      this.bufs[s] = buf = next;
    }
    o = putEntry(buf, o, chunk - this.lastChunk[s], mask);
    this.lastChunk[s] = chunk;
    this.length[s] = o;
    this.count[s]++;
  }

  /** A slot for `line`'s new row starting at `chunk` (slots and their buffers are reused). */
  private open(line: number, chunk: number): number {
    const s = this.slots++;
    if (s === this.slotLine.length) this.growSlots();
    if (s === this.bufs.length) this.bufs.push(new Uint8Array(8 * MAX_ENTRY_BYTES));
    this.slotOfLine[line] = s + 1;
    this.slotLine[s] = line;
    this.firstChunk[s] = chunk;
    this.lastChunk[s] = chunk;
    this.count[s] = 0;
    this.length[s] = 0;
    return s;
  }

  private emit(s: number): void {
    if (this.count[s] > 0) this.sink(this.slotLine[s], this.firstChunk[s], this.lastChunk[s], this.bufs[s].subarray(0, this.length[s]));
  }

  private growLines(line: number): void {
    let n = this.slotOfLine.length * 2;
    while (n <= line) n *= 2;
    const next = new Int32Array(n);
    next.set(this.slotOfLine);
    this.slotOfLine = next;
  }

  private growSlots(): void {
    const n = this.slotLine.length * 2;
    const grow = <T extends Int32Array | Float64Array>(a: T, make: (n: number) => T): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.slotLine = grow(this.slotLine, (k) => new Int32Array(k));
    this.firstChunk = grow(this.firstChunk, (k) => new Float64Array(k));
    this.lastChunk = grow(this.lastChunk, (k) => new Float64Array(k));
    this.count = grow(this.count, (k) => new Int32Array(k));
    this.length = grow(this.length, (k) => new Int32Array(k));
  }
}

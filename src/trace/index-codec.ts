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

/** Encodes `n` entries (chunks strictly increasing) from parallel arrays starting at `from`. */
export function encodeEntries(chunks: ArrayLike<number>, masks: ArrayLike<number>, from: number, n: number): Uint8Array {
  const out = new Uint8Array(n * 7);
  let o = 0;
  let prev = chunks[from];
  for (let i = from; i < from + n; i++) {
    let d = chunks[i] - prev;
    prev = chunks[i];
    while (d >= 0x80) {
      out[o++] = (d & 0x7f) | 0x80;
      d = Math.floor(d / 128);
    }
    out[o++] = d;
    out[o++] = masks[i] & 0xff;
    out[o++] = (masks[i] >>> 8) & 0xff;
  }
  return out.slice(0, o);
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

/**
 * Regroups one batch's per-chunk segments (chunk, n, then n pairs line/mask; see Batch.index) into
 * rows per line: entries in chunk order, repeated (line, chunk) pairs merged, at most
 * MAX_ENTRIES_PER_ROW entries per row.
 */
export function rowsFromSegments(index: Int32Array): IndexRow[] {
  // Pass 1: count entries per line (lines get dense slot numbers).
  const slotOf = new Map<number, number>();
  const counts: number[] = [];
  const lines: number[] = [];
  for (let i = 0; i < index.length; ) {
    const n = index[i + 1];
    i += 2;
    for (let j = 0; j < n; j++, i += 2) {
      const line = index[i];
      let s = slotOf.get(line);
      if (s === undefined) {
        s = counts.length;
        slotOf.set(line, s);
        counts.push(0);
        lines.push(line);
      }
      counts[s]++;
    }
  }
  // Pass 2: scatter into per-line runs (segments arrive in chunk order, so each run is sorted).
  const offsets = new Int32Array(counts.length + 1);
  for (let s = 0; s < counts.length; s++) offsets[s + 1] = offsets[s] + counts[s];
  const fill = offsets.slice(0, counts.length);
  const chunkOf = new Float64Array(offsets[counts.length]);
  const maskOf = new Int32Array(offsets[counts.length]);
  for (let i = 0; i < index.length; ) {
    const chunk = index[i], n = index[i + 1];
    i += 2;
    for (let j = 0; j < n; j++, i += 2) {
      const s = slotOf.get(index[i])!;
      const at = fill[s];
      // A line listed again in the same chunk (a segment cut inside a chunk): merge the masks.
      if (at > offsets[s] && chunkOf[at - 1] === chunk) {
        maskOf[at - 1] |= index[i + 1];
      } else {
        chunkOf[at] = chunk;
        maskOf[at] = index[i + 1];
        fill[s] = at + 1;
      }
    }
  }
  const rows: IndexRow[] = [];
  const order = Array.from(lines.keys()).sort((a, b) => lines[a] - lines[b]);
  for (const s of order) {
    const start = offsets[s], end = fill[s];
    for (let from = start; from < end; from += MAX_ENTRIES_PER_ROW) {
      const n = Math.min(MAX_ENTRIES_PER_ROW, end - from);
      rows.push({ line: lines[s], firstChunk: chunkOf[from], lastChunk: chunkOf[from + n - 1], entries: encodeEntries(chunkOf, maskOf, from, n) });
    }
  }
  return rows;
}

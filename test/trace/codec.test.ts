/** The two binary encodings of the format: write-index entries and stored pages. */
import { describe, expect, test } from "vitest";
import { decodeEntries, encodeEntries, rowsFromSegments } from "../../src/trace/index-codec.js";
import { decodePage, PageCompressor } from "../../src/trace/page-codec.js";
import { MAX_ENTRIES_PER_ROW } from "../../src/trace/format.js";
import { lcg } from "./helpers.js";

describe("write-index entries", () => {
  test("round-trip chunks with small and large gaps (multi-byte varints) and all masks", () => {
    const chunks = [5, 6, 7, 135, 136, 20_000, 2 ** 31 - 1, 2 ** 40];
    const masks = [1, 0xffff, 0x8000, 0x0f0f, 2, 4, 0x1234, 0xfffe];
    const blob = encodeEntries(chunks, masks, 0, chunks.length);
    // First delta 0: one byte; 128-step gap: two bytes; each mask two bytes.
    expect(Array.from(blob.subarray(0, 3))).toEqual([0, 1, 0]);
    const c: number[] = [], m: number[] = [];
    decodeEntries(5, blob, c, m);
    expect(c).toEqual(chunks);
    expect(m).toEqual(masks);
  });

  test("segments regroup into per-line rows: merged repeats, chunk order, rows capped", () => {
    // Chunk 3 lists line 10 twice (a segment cut inside the chunk): one entry, masks ORed.
    const seg = (chunk: number, pairs: [number, number][]) => [chunk, pairs.length, ...pairs.flat()];
    const many = Array.from({ length: MAX_ENTRIES_PER_ROW + 3 }, (_, i) => seg(100 + i, [[7, 1]])).flat();
    const index = Int32Array.from([...seg(3, [[10, 1], [11, 2]]), ...seg(3, [[10, 4]]), ...seg(4, [[10, 8]]), ...many]);
    const rows = rowsFromSegments(index);
    const decoded = rows.map((r) => {
      const c: number[] = [], m: number[] = [];
      decodeEntries(r.firstChunk, r.entries, c, m);
      return { line: r.line, first: r.firstChunk, last: r.lastChunk, c, m };
    });
    expect(decoded.map((d) => d.line)).toEqual([7, 7, 10, 11]);
    expect(decoded[0].c).toHaveLength(MAX_ENTRIES_PER_ROW);
    expect(decoded[1].c).toEqual([100 + MAX_ENTRIES_PER_ROW, 101 + MAX_ENTRIES_PER_ROW, 102 + MAX_ENTRIES_PER_ROW]);
    expect(decoded[1].first).toBe(100 + MAX_ENTRIES_PER_ROW);
    expect(decoded[2]).toEqual({ line: 10, first: 3, last: 4, c: [3, 4], m: [5, 8] });
    expect(decoded[3]).toEqual({ line: 11, first: 3, last: 3, c: [3], m: [2] });
  });
});

describe("stored pages", () => {
  const page = (fill: (i: number) => number) => Uint8Array.from({ length: 4096 }, (_, i) => fill(i));

  test("zero pages are empty, compressible pages deflate, and every blob decodes to the page", () => {
    const pc = new PageCompressor();
    expect(pc.compress(1, page(() => 0)).length).toBe(0);
    expect(decodePage(pc.compress(1, page(() => 0)))).toBeNull();
    const text = page((i) => 97 + (i % 7));
    const z = pc.compress(2, text);
    expect(z.length).toBeLessThan(200);
    expect(Buffer.compare(Buffer.from(decodePage(z)!), Buffer.from(text))).toBe(0);
  });

  test("a page deflate cannot shrink is stored as is for a while, then tried again", () => {
    const pc = new PageCompressor();
    const rand = lcg(3);
    const noise = () => page(() => Math.floor(rand() * 256));
    const sizes: number[] = [];
    for (let v = 0; v < 20; v++) {
      const p = noise();
      const blob = pc.compress(9, p);
      sizes.push(blob.length);
      expect(Buffer.compare(Buffer.from(decodePage(blob)!), Buffer.from(p))).toBe(0);
    }
    expect(sizes.every((n) => n === 4096)).toBe(true);
    // Once the page compresses again, it is stored compressed after its raw spell.
    const text = page((i) => i & 3);
    const later = Array.from({ length: 20 }, () => pc.compress(9, text).length);
    expect(later.some((n) => n < 100)).toBe(true);
    // Block type 3 does not exist in deflate: a damaged blob is an error, not a page.
    expect(() => decodePage(Buffer.from([0xff, 0xff, 0xff]))).toThrow();
  });
});

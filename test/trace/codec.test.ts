/** The two binary encodings of the format: write-index entries and stored pages. */
import { describe, expect, test } from "vitest";
import { decodeEntries, encodeEntries, IndexRowBuilder } from "../../src/trace/index-codec.js";
import { compressState, decodeTaggedPage, decodeUntaggedPage, decompressState, PageCompressor, PageTag, pageBaseOf } from "../../src/trace/page-codec.js";
import { deflateRawSync } from "node:zlib";
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
    // Chunk 3 lists line 10 twice (a segment cut inside the chunk, here across two pieces): one
    // entry, masks ORed. Line 7 fills a row, which goes out as soon as line 7 is written in a later chunk.
    const seg = (chunk: number, pairs: [number, number][]) => [chunk, pairs.length, ...pairs.flat()];
    const many = Array.from({ length: MAX_ENTRIES_PER_ROW + 3 }, (_, i) => seg(100 + i, [[7, 1]])).flat();
    const rows: { line: number; first: number; last: number; c: number[]; m: number[] }[] = [];
    const builder = new IndexRowBuilder((line, first, last, entries) => {
      const c: number[] = [], m: number[] = [];
      decodeEntries(first, entries, c, m);
      rows.push({ line, first, last, c, m });
    });
    builder.add(Int32Array.from([...seg(3, [[10, 1], [11, 2]])]));
    builder.add(Int32Array.from([...seg(3, [[10, 4]]), ...seg(4, [[10, 8]]), ...many]));
    expect(rows.map((r) => r.line)).toEqual([7]);
    builder.finish();
    expect(rows.map((r) => r.line)).toEqual([7, 7, 10, 11]);
    expect(rows[0].c).toHaveLength(MAX_ENTRIES_PER_ROW);
    expect(rows[0].last).toBe(100 + MAX_ENTRIES_PER_ROW - 1);
    expect(rows[1].c).toEqual([100 + MAX_ENTRIES_PER_ROW, 101 + MAX_ENTRIES_PER_ROW, 102 + MAX_ENTRIES_PER_ROW]);
    expect(rows[1].first).toBe(100 + MAX_ENTRIES_PER_ROW);
    expect(rows[2]).toEqual({ line: 10, first: 3, last: 4, c: [3, 4], m: [5, 8] });
    expect(rows[3]).toEqual({ line: 11, first: 3, last: 3, c: [3], m: [2] });
    // After finish() every line starts a new row.
    rows.length = 0;
    builder.add(Int32Array.from(seg(5, [[10, 16]])));
    builder.finish();
    expect(rows).toEqual([{ line: 10, first: 5, last: 5, c: [5], m: [16] }]);
  });

  test("a row's bytes are encodeEntries' bytes", () => {
    const chunks = [0, 1, 300, 70_000, 2 ** 31 - 1];
    const masks = [0xffff, 1, 0x8001, 0x00f0, 0x1234];
    const got: Uint8Array[] = [];
    const builder = new IndexRowBuilder((_line, _first, _last, entries) => got.push(entries.slice()));
    builder.add(Int32Array.from(chunks.flatMap((c, i) => [c, 1, 5, masks[i]])));
    builder.finish();
    expect(got).toEqual([encodeEntries(chunks, masks, 0, chunks.length)]);
  });
});

describe("stored pages", () => {
  const page = (fill: (i: number) => number) => Uint8Array.from({ length: 4096 }, (_, i) => fill(i));
  const same = (a: Uint8Array | null, b: Uint8Array) => a !== null && Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;
  /** Decodes like the reader: a Delta blob through the version stored at its base step. */
  const decoder = () => {
    const stored = new Map<number, Buffer>();
    return (step: number, blob: Buffer): Uint8Array | null => {
      stored.set(step, blob);
      const b = pageBaseOf(blob);
      if (b < 0) return decodeTaggedPage(blob, null);
      expect(pageBaseOf(stored.get(b)!)).toBe(-1);
      return decodeTaggedPage(blob, decodeTaggedPage(stored.get(b)!, null));
    };
  };

  test("zero pages are empty, compressible pages deflate, and every blob decodes to the page", () => {
    const pc = new PageCompressor();
    expect(pc.compress(1, 0, page(() => 0)).length).toBe(0);
    expect(decodeTaggedPage(pc.compress(1, 1, page(() => 0)), null)).toBeNull();
    const text = page((i) => 97 + (i % 7));
    const z = pc.compress(2, 2, text);
    expect(z[0]).toBe(PageTag.Deflate);
    expect(z.length).toBeLessThan(200);
    expect(same(decodeTaggedPage(z, null), text)).toBe(true);
  });

  test("a page rewritten a little is stored as a small delta against its base, and bases rotate", () => {
    const pc = new PageCompressor();
    const decode = decoder();
    const rand = lcg(5);
    const p = page(() => Math.floor(rand() * 256));
    const tags: number[] = [], sizes: number[] = [];
    for (let v = 0; v < 40; v++) {
      p[(v * 97) % 4096] ^= 0x5a;
      const blob = pc.compress(7, 1000 + v * 300, p);
      tags.push(blob[0]);
      sizes.push(blob.length);
      expect(same(decode(1000 + v * 300, blob), p)).toBe(true);
    }
    // Random bytes: the first version is raw; the next ones are deltas of a few dozen bytes (the changes since the base)...
    expect(tags[0]).toBe(PageTag.Raw);
    expect(tags.slice(1, 16).every((t) => t === PageTag.Delta)).toBe(true);
    expect(Math.max(...sizes.slice(1, 16))).toBeLessThan(200);
    // ...until the base has served its share and a version is stored on its own again.
    expect(tags[16]).not.toBe(PageTag.Delta);
    expect(tags[17]).toBe(PageTag.Delta);
  });

  test("a page deflate cannot shrink is stored as is for a while, then tried again", () => {
    const pc = new PageCompressor();
    const decode = decoder();
    const rand = lcg(3);
    const noise = () => page(() => Math.floor(rand() * 256));
    const sizes: number[] = [];
    for (let v = 0; v < 20; v++) {
      const p = noise();
      const blob = pc.compress(9, v, p);
      sizes.push(blob.length);
      expect(same(decode(v, blob), p)).toBe(true);
    }
    expect(sizes.every((n) => n === 4097)).toBe(true);
    // Once the page compresses again, it is stored compressed after its raw spell.
    const text = page((i) => i & 3);
    const later = Array.from({ length: 20 }, (_, i) => pc.compress(9, 100 + i, text).length);
    expect(later.some((n) => n < 100)).toBe(true);
    // Block type 3 does not exist in deflate: a damaged blob is an error, not a page; so is a delta
    // without its base, and an unknown tag.
    expect(() => decodeTaggedPage(Buffer.from([PageTag.Deflate, 0xff, 0xff, 0xff]), null)).toThrow();
    expect(() => decodeTaggedPage(Buffer.from([PageTag.Delta, 5, 0x03, 0x00]), null)).toThrow();
    expect(() => decodeTaggedPage(Buffer.from([9, 1, 2]), null)).toThrow();
  });

  test("format 1-3 blobs are told apart by their length", () => {
    const text = page((i) => 97 + (i % 7));
    expect(decodeUntaggedPage(Buffer.alloc(0))).toBeNull();
    expect(same(decodeUntaggedPage(Buffer.from(text)), text)).toBe(true);
    expect(same(decodeUntaggedPage(deflateRawSync(text)), text)).toBe(true);
    expect(() => decodeUntaggedPage(Buffer.from([0xff, 0xff, 0xff]))).toThrow();
  });

  test("keyframe states compress against the first one and decode with it", () => {
    const first = JSON.stringify({ cpu: { eip: 1, regs: [1, 2, 3] }, devices: { pic: { irr: 0, imr: 251 }, cmos: Array.from({ length: 128 }, (_, i) => i) } });
    const later = first.replace('"eip":1', '"eip":4096');
    const dict = Buffer.from(first, "utf8");
    const alone = compressState(later, null), withDict = compressState(later, dict);
    expect(withDict.length).toBeLessThan(alone.length / 2);
    expect(decompressState(withDict, dict)).toBe(later);
    expect(decompressState(compressState(first, null), null)).toBe(first);
  });
});

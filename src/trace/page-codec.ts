/** The encoding of stored RAM pages (the `page` table's `data`) and of keyframe states. */
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { PAGE_BYTES } from "./format.js";

/** Fast compression: the writer must keep up with the machine. */
const PAGE_LEVEL = 1;
const EMPTY = Buffer.alloc(0);

/**
 * Page blobs in traces of format 4 and later start with one of these tags (an empty blob is an all-zero
 * page). A page a guest keeps rewriting usually changes little between keyframes, so most versions are
 * stored as deflate with the page's *base* version as the preset dictionary: on the workload guests
 * that halves the stored pages. A base is a version stored on its own (raw or plain deflate), so any
 * version decodes with at most two blobs read, whatever the length of its history.
 */
export const enum PageTag {
  /** The 4096 bytes as they are. */
  Raw = 0,
  /** Raw deflate of the 4096 bytes. */
  Deflate = 1,
  /** The base's keyframe step (unsigned LEB128), then raw deflate with the base's bytes as dictionary. */
  Delta = 2,
}

/** Compressed to more than this fraction of a page: not worth deflate's time. */
const POOR_RATIO = 0.75;
/** Versions of a poorly compressing page stored raw before deflate is tried again. */
const RAW_VERSIONS = 15;
/**
 * Versions stored against one base before the next version becomes the new base: a page drifts away
 * from an old base, and deltas against it grow.
 */
const DELTAS_PER_BASE = 15;
/**
 * Pages whose base the writer holds (least recently stored dropped first). Bounds the writer's memory
 * (about 36 MiB: each base, the last version stored against it and its blob) on guests that write all
 * over RAM; a page without a held base is stored on its own and becomes a base again.
 */
const MAX_BASES = 4096;


interface Base {
  step: number;
  bytes: Buffer;
  deltas: number;
  /**
   * The last version stored as a delta against this base, and its blob (the first `lastBlobLength`
   * bytes of `lastBlob`). A guest often leaves a page as it was at the previous keyframe (on
   * probe-r300, 16% of the versions stored): the same bytes against the same base deflate to the same
   * blob, so it is copied instead of compressed again. Both are copied into buffers the base keeps:
   * holding the blobs themselves until the page's next version made each survive into the collector's
   * old generation, and the writer's peak memory grew by 5 MiB.
   */
  last: Buffer | null;
  lastBlob: Buffer | null;
  lastBlobLength: number;
}

/**
 * The writer's side: each version of a page becomes a tagged blob (see PageTag).
 *
 * Compression is the writer's main cost on guests that keep rewriting memory with data deflate cannot
 * shrink, so a page that compressed poorly is stored raw for its next few versions before deflate is
 * tried on it again. The choices depend only on the pages' contents and the order they come in, so the
 * same recording gives the same bytes.
 */
export class PageCompressor {
  /** Physical page -> versions left to store raw. */
  private readonly skip = new Map<number, number>();
  /** Physical page -> its current base (Map order: least recently stored first). */
  private readonly bases = new Map<number, Base>();

  /** The blob for `bytes`, the contents of `page` at the keyframe at `step`. */
  compress(page: number, step: number, bytes: Uint8Array): Buffer {
    if (isZero(bytes)) {
      this.bases.delete(page);
      return EMPTY;
    }
    const base = this.bases.get(page);
    if (base !== undefined) this.bases.delete(page);
    // A delta is always tried: even a page rewritten whole with random data usually keeps runs of its
    // base's bytes, moved (an array sorted again), which deflate finds through the dictionary.
    if (base !== undefined && base.deltas < DELTAS_PER_BASE) {
      if (base.last !== null && base.last.equals(bytes)) {
        base.deltas++;
        this.bases.set(page, base);
        return Buffer.from(base.lastBlob!.subarray(0, base.lastBlobLength));
      }
      const z = deflateRawSync(bytes, { level: PAGE_LEVEL, dictionary: base.bytes });
      if (z.length < POOR_RATIO * PAGE_BYTES) {
        base.deltas++;
        this.bases.set(page, base);
        const blob = deltaBlob(base.step, z);
        rememberDelta(base, bytes, blob);
        return blob;
      }
    }
    const left = this.skip.get(page);
    if (left !== undefined && left > 0) {
      this.skip.set(page, left - 1);
      return this.standalone(page, step, bytes, PageTag.Raw, null);
    }
    const z = deflateRawSync(bytes, { level: PAGE_LEVEL });
    if (z.length >= POOR_RATIO * PAGE_BYTES) {
      this.skip.set(page, RAW_VERSIONS);
      if (z.length >= PAGE_BYTES) return this.standalone(page, step, bytes, PageTag.Raw, null);
    } else {
      this.skip.delete(page);
    }
    return this.standalone(page, step, bytes, PageTag.Deflate, z);
  }

  /** A version stored on its own; it becomes the page's base. */
  private standalone(page: number, step: number, bytes: Uint8Array, tag: PageTag, z: Buffer | null): Buffer {
    if (this.bases.size >= MAX_BASES) this.bases.delete(this.bases.keys().next().value!);
    this.bases.set(page, { step, bytes: Buffer.from(bytes), deltas: 0, last: null, lastBlob: null, lastBlobLength: 0 });
    const payload = z ?? bytes;
    const out = Buffer.allocUnsafe(1 + payload.length);
    out[0] = tag;
    out.set(payload, 1);
    return out;
  }
}

/** Keeps a copy of the version just stored against `base` and of its blob (see Base.last). */
function rememberDelta(base: Base, bytes: Uint8Array, blob: Buffer): void {
  base.last ??= Buffer.allocUnsafeSlow(PAGE_BYTES);
  base.last.set(bytes);
  if (base.lastBlob === null || base.lastBlob.length < blob.length) base.lastBlob = Buffer.allocUnsafeSlow(Math.max(blob.length, PAGE_BYTES / 4));
  blob.copy(base.lastBlob);
  base.lastBlobLength = blob.length;
}

/** A Delta blob: the tag, the base's step (unsigned LEB128), the deflated bytes. */
function deltaBlob(baseStep: number, payload: Buffer): Buffer {
  let n = 1;
  for (let v = baseStep; v >= 128; v = Math.floor(v / 128)) n++;
  const out = Buffer.allocUnsafe(1 + n + payload.length);
  out[0] = PageTag.Delta;
  let v = baseStep, i = 1;
  while (v >= 128) {
    out[i++] = (v % 128) | 128;
    v = Math.floor(v / 128);
  }
  out[i++] = v;
  out.set(payload, i);
  return out;
}

function isZero(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i += 4) {
    if ((bytes[i] | bytes[i + 1] | bytes[i + 2] | bytes[i + 3]) !== 0) return false;
  }
  return true;
}

/**
 * The 4096 bytes of a page blob of a format 1-3 trace, or null for an all-zero page: empty for zeros,
 * exactly the 4096 bytes, or raw deflate (never exactly 4096 bytes long), told apart by length.
 * Throws on a blob that does not decode.
 */
export function decodeUntaggedPage(blob: Uint8Array | null): Uint8Array | null {
  if (blob === null || blob.length === 0) return null;
  if (blob.length === PAGE_BYTES) return blob;
  return inflateRawSync(blob);
}

/** A tagged blob's base: the keyframe step whose version of the same page it needs, or -1. */
export function pageBaseOf(blob: Uint8Array): number {
  if (blob.length === 0 || blob[0] !== PageTag.Delta) return -1;
  let v = 0, scale = 1;
  for (let i = 1; i < blob.length && i < 9; i++) {
    v += (blob[i] & 127) * scale;
    if ((blob[i] & 128) === 0) return v;
    scale *= 128;
  }
  throw new Error("page blob: truncated base step");
}

/**
 * The 4096 bytes of a tagged page blob (format 4), or null for an all-zero page. `base` is the page's
 * decoded base version for a Delta blob (pageBaseOf names it), else ignored. Throws on a blob that does
 * not decode.
 */
export function decodeTaggedPage(blob: Uint8Array, base: Uint8Array | null): Uint8Array | null {
  if (blob.length === 0) return null;
  const body = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  switch (blob[0]) {
    case PageTag.Raw:
      if (blob.length !== 1 + PAGE_BYTES) throw new Error("page blob: raw page of the wrong size");
      return body.subarray(1);
    case PageTag.Deflate:
      return inflateRawSync(body.subarray(1));
    case PageTag.Delta: {
      if (base === null) throw new Error("page blob: delta without its base");
      let i = 1;
      while (blob[i] & 128) i++;
      return inflateRawSync(body.subarray(i + 1), { dictionary: base });
    }
    default:
      throw new Error(`page blob: unknown tag ${blob[0]}`);
  }
}

/**
 * Keyframe states (JSON of Machine.saveState()) are raw deflate; in format 4 and later every keyframe
 * but the first is compressed with the first one's text as the preset dictionary: most of a machine's
 * state (device registers, tables) stays as it was, and a state shrinks from about 2 KiB to 200 bytes.
 */
export function compressState(text: string, dictionary: Buffer | null): Buffer {
  const opts = dictionary === null ? { level: PAGE_LEVEL } : { level: PAGE_LEVEL, dictionary };
  return deflateRawSync(text, opts);
}

export function decompressState(blob: Uint8Array, dictionary: Buffer | null): string {
  return (dictionary === null ? inflateRawSync(blob) : inflateRawSync(blob, { dictionary })).toString("utf8");
}

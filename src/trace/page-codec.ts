/** The encoding of stored RAM pages (the `page` table's `data`). */
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { PAGE_BYTES } from "./format.js";

/** Fast compression: the writer must keep up with the machine. */
const PAGE_LEVEL = 1;
const EMPTY = Buffer.alloc(0);

/**
 * Page blobs: empty for an all-zero page, the 4096 bytes themselves when deflate does not pay, else
 * raw deflate (never exactly 4096 bytes long, so the length tells the three apart).
 *
 * Compression is the writer's main cost on guests that keep rewriting memory with data deflate cannot
 * shrink, so a page that compressed poorly is stored as is for its next few versions before deflate is
 * tried on it again.
 */
export class PageCompressor {
  /** Physical page -> versions left to store uncompressed. */
  private readonly skip = new Map<number, number>();

  compress(page: number, bytes: Uint8Array): Buffer {
    if (isZero(bytes)) return EMPTY;
    const left = this.skip.get(page);
    if (left !== undefined && left > 0) {
      this.skip.set(page, left - 1);
      return Buffer.from(bytes);
    }
    const z = deflateRawSync(bytes, { level: PAGE_LEVEL });
    if (z.length >= POOR_RATIO * PAGE_BYTES) {
      this.skip.set(page, RAW_VERSIONS);
      if (z.length >= PAGE_BYTES) return Buffer.from(bytes);
    } else {
      this.skip.delete(page);
    }
    return z;
  }
}

/** Compressed to more than this fraction of a page: not worth deflate's time. */
const POOR_RATIO = 0.75;
/** Versions of a poorly compressing page stored raw before deflate is tried again. */
const RAW_VERSIONS = 15;

function isZero(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i += 4) {
    if ((bytes[i] | bytes[i + 1] | bytes[i + 2] | bytes[i + 3]) !== 0) return false;
  }
  return true;
}

/** The 4096 bytes of a stored page blob (see PageCompressor). Throws on a blob that does not decode. */
export function decodePage(blob: Uint8Array | null): Uint8Array | null {
  if (blob === null || blob.length === 0) return null;
  if (blob.length === PAGE_BYTES) return blob;
  return inflateRawSync(blob);
}


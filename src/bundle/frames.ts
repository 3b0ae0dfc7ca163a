/**
 * How an entry's content is stored: a sequence of frames, each holding at most FRAME_BYTES of content,
 * compressed on its own with brotli (or stored as is when brotli does not make it smaller):
 *
 *   u32 LE content size | u32 LE stored size | u32 LE method (0 = stored, 1 = brotli) | stored bytes
 *
 * Independent frames let a reader decompress with synchronous calls while holding one frame at a time,
 * and let it refuse a frame whose output would exceed the size it declares (a decompression bomb) as
 * soon as the decompressor gets there: brotli is told the exact output size it may produce.
 */
import { closeSync, fstatSync, openSync, readSync, writeSync } from "node:fs";
import { createHash, type Hash } from "node:crypto";
import { brotliCompressSync, brotliDecompressSync, constants as zc } from "node:zlib";

export const FRAME_BYTES = 4 * 1024 * 1024;
export const FRAME_HEADER_BYTES = 12;
export const METHOD_STORED = 0;
export const METHOD_BROTLI = 1;

/** Brotli quality by the content size: the best for small files, faster settings for big traces. */
export function qualityFor(size: number): number {
  if (size <= 16 * 1024 * 1024) return 11;
  if (size <= 256 * 1024 * 1024) return 7;
  return 5;
}

export interface StoredEntry {
  size: number;
  sha256: string;
  storedSize: number;
  storedSha256: string;
}

/** Writes sequentially to a file descriptor, tracking the position. */
export class OutFile {
  position: number;
  constructor(
    readonly fd: number,
    start: number,
  ) {
    this.position = start;
  }
  write(data: Uint8Array): void {
    let done = 0;
    while (done < data.length) done += writeSync(this.fd, data, done, data.length - done, this.position + done);
    this.position += data.length;
  }
}

/** Compresses `chunk` into one frame appended to `out`, updating both hashes. */
function writeFrame(out: OutFile, chunk: Uint8Array, quality: number, content: Hash, stored: Hash): number {
  content.update(chunk);
  let method = METHOD_BROTLI;
  let body: Uint8Array = brotliCompressSync(chunk, {
    params: {
      [zc.BROTLI_PARAM_QUALITY]: quality,
      [zc.BROTLI_PARAM_LGWIN]: 22,
      [zc.BROTLI_PARAM_SIZE_HINT]: chunk.length,
    },
  });
  if (body.length >= chunk.length) {
    method = METHOD_STORED;
    body = chunk;
  }
  const head = Buffer.alloc(FRAME_HEADER_BYTES);
  head.writeUInt32LE(chunk.length, 0);
  head.writeUInt32LE(body.length, 4);
  head.writeUInt32LE(method, 8);
  stored.update(head);
  stored.update(body);
  out.write(head);
  out.write(body);
  return FRAME_HEADER_BYTES + body.length;
}

/** Stores in-memory content as an entry at the current position of `out`. */
export function writeEntryBytes(out: OutFile, data: Uint8Array): StoredEntry {
  const content = createHash("sha256");
  const stored = createHash("sha256");
  const quality = qualityFor(data.length);
  let storedSize = 0;
  for (let at = 0; at < data.length; at += FRAME_BYTES) {
    storedSize += writeFrame(out, data.subarray(at, Math.min(at + FRAME_BYTES, data.length)), quality, content, stored);
  }
  return { size: data.length, sha256: content.digest("hex"), storedSize, storedSha256: stored.digest("hex") };
}

/** Stores the file at `path` as an entry, one frame in memory at a time (traces can be large). */
export function writeEntryFile(out: OutFile, path: string): StoredEntry {
  const fd = openSync(path, "r");
  try {
    const content = createHash("sha256");
    const stored = createHash("sha256");
    const buf = Buffer.alloc(FRAME_BYTES);
    let size = 0;
    let storedSize = 0;
    const quality = qualityFor(fstatSync(fd).size);
    for (;;) {
      let n = 0;
      while (n < FRAME_BYTES) {
        const r = readSync(fd, buf, n, FRAME_BYTES - n, size + n);
        if (r === 0) break;
        n += r;
      }
      if (n === 0) break;
      storedSize += writeFrame(out, buf.subarray(0, n), quality, content, stored);
      size += n;
      if (n < FRAME_BYTES) break;
    }
    return { size, sha256: content.digest("hex"), storedSize, storedSha256: stored.digest("hex") };
  } finally {
    closeSync(fd);
  }
}

/** Why an entry's stored bytes could not be decoded; the caller names the bundle and the entry. */
export class FrameError extends Error {
  /** True when the content is refused for its size (a decompression bomb), rather than damaged. */
  constructor(
    message: string,
    readonly refused = false,
  ) {
    super(message);
  }
}

/**
 * Decodes an entry's frames from `fd` (stored bytes at [offset, offset + storedSize)), passing each
 * piece of content to `sink` in order. Checks every frame header against the declared sizes before
 * decompressing it, and gives brotli the exact output size it may produce, so a bomb is stopped at
 * the first byte too many. Returns the SHA-256 of the content.
 */
export function decodeEntry(fd: number, offset: number, storedSize: number, size: number, sink: (piece: Uint8Array) => void): string {
  const content = createHash("sha256");
  const head = Buffer.alloc(FRAME_HEADER_BYTES);
  let at = offset;
  const end = offset + storedSize;
  let produced = 0;
  let body = Buffer.alloc(0);
  while (at < end) {
    if (end - at < FRAME_HEADER_BYTES) throw new FrameError(`a frame header is cut off at offset ${at}`);
    readFully(fd, head, at);
    const rawSize = head.readUInt32LE(0);
    const bodySize = head.readUInt32LE(4);
    const method = head.readUInt32LE(8);
    at += FRAME_HEADER_BYTES;
    if (rawSize === 0 || rawSize > FRAME_BYTES) throw new FrameError(`a frame at offset ${at - FRAME_HEADER_BYTES} declares ${rawSize} bytes (1 to ${FRAME_BYTES} allowed)`);
    if (produced + rawSize > size) {
      throw new FrameError(`its frames hold more than the ${size} bytes the index declares`, true);
    }
    if (bodySize > end - at) throw new FrameError(`a frame at offset ${at - FRAME_HEADER_BYTES} runs past the end of the entry`);
    // Writers store a frame as is when brotli would not shrink it, so no valid body is larger than its
    // content; this also bounds the buffer a hostile header can make us allocate.
    if (bodySize > rawSize) throw new FrameError(`a frame at offset ${at - FRAME_HEADER_BYTES} is stored in more bytes than it holds`);
    if (method === METHOD_STORED && bodySize !== rawSize) throw new FrameError(`a stored frame at offset ${at - FRAME_HEADER_BYTES} has two different sizes`);
    if (method !== METHOD_STORED && method !== METHOD_BROTLI) throw new FrameError(`a frame at offset ${at - FRAME_HEADER_BYTES} uses unknown method ${method}`);
    if (body.length < bodySize) body = Buffer.alloc(Math.max(bodySize, Math.min(2 * body.length, FRAME_BYTES)));
    const stored = body.subarray(0, bodySize);
    readFully(fd, stored, at);
    at += bodySize;
    let piece: Uint8Array;
    if (method === METHOD_STORED) {
      piece = stored;
    } else {
      try {
        piece = brotliDecompressSync(stored, { maxOutputLength: rawSize });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") {
          throw new FrameError(`a frame decompresses to more than the ${rawSize} bytes it declares (a decompression bomb)`, true);
        }
        throw new FrameError(`a frame at offset ${at - bodySize - FRAME_HEADER_BYTES} does not decompress (${(e as Error).message})`);
      }
      if (piece.length !== rawSize) throw new FrameError(`a frame decompresses to ${piece.length} bytes, not the ${rawSize} it declares`);
    }
    content.update(piece);
    produced += rawSize;
    sink(piece);
  }
  if (produced !== size) throw new FrameError(`its frames hold ${produced} bytes, not the ${size} the index declares`);
  return content.digest("hex");
}

/** SHA-256 of the bytes [offset, offset + length) of `fd`, read in frame-sized pieces. */
export function hashRange(fd: number, offset: number, length: number): string {
  const h = createHash("sha256");
  const buf = Buffer.alloc(Math.min(FRAME_BYTES, Math.max(length, 1)));
  let done = 0;
  while (done < length) {
    const n = Math.min(buf.length, length - done);
    readFully(fd, buf.subarray(0, n), offset + done);
    h.update(buf.subarray(0, n));
    done += n;
  }
  return h.digest("hex");
}

export function readFully(fd: number, into: Uint8Array, position: number): void {
  let done = 0;
  while (done < into.length) {
    const n = readSync(fd, into, done, into.length - done, position + done);
    if (n === 0) throw new FrameError(`unexpected end of file at offset ${position + done}`);
    done += n;
  }
}

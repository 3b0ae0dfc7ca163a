/**
 * Reading a bundle file: the header and manifest (validated as untrusted input), checksum verification
 * of every entry's stored bytes, and extraction of entries into a folder. Every failure is a
 * BundleError naming the bundle and, when one entry is at fault, that entry.
 */
import { closeSync, fstatSync, mkdirSync, openSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { brotliDecompressSync } from "node:zlib";
import { BundleError } from "./errors.js";
import { contentId, decodeHeader, hasMagic, HEADER_BYTES, MAGIC, parseManifest, sha256Hex, type BundleLimits, type Header, type Manifest, type ManifestEntry } from "./format.js";
import { decodeEntry, FrameError, hashRange, readFully } from "./frames.js";

/** True when the file at `path` starts with the bundle magic (false when unreadable or shorter). */
export function looksLikeBundle(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return false;
  }
  try {
    const b = Buffer.alloc(MAGIC.length);
    readFully(fd, b, 0);
    return hasMagic(b);
  } catch {
    return false;
  } finally {
    closeSync(fd);
  }
}

function describeOpenError(path: string, e: unknown): BundleError {
  const code = (e as NodeJS.ErrnoException).code;
  const why = code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : code === "EISDIR" ? "is a directory, not a bundle" : (e as Error).message;
  return new BundleError(`${path}: ${why}`);
}

export class BundleReader {
  readonly path: string;
  readonly header: Header;
  readonly manifest: Manifest;
  /** Total size of the file. */
  readonly fileBytes: number;
  /** The cache key (see format.ts contentId), computed here rather than trusted from the file. */
  readonly contentId: string;
  private fd: number;

  private constructor(path: string, fd: number, fileBytes: number, header: Header, manifest: Manifest) {
    this.path = path;
    this.fd = fd;
    this.fileBytes = fileBytes;
    this.header = header;
    this.manifest = manifest;
    this.contentId = contentId(manifest.entries);
  }

  /** Opens `path` and reads its header and manifest; the entries are not read yet. */
  static open(path: string, limits: BundleLimits): BundleReader {
    let fd: number;
    try {
      fd = openSync(path, "r");
    } catch (e) {
      throw describeOpenError(path, e);
    }
    try {
      const st = fstatSync(fd);
      if (st.isDirectory()) throw new BundleError(`${path}: is a directory, not a bundle`);
      if (st.size === 0) throw new BundleError(`${path}: empty file, not a ttd bundle`);
      const head = Buffer.alloc(Math.min(HEADER_BYTES, st.size));
      readFully(fd, head, 0);
      const header = decodeHeader(path, head, st.size);
      if (header.manifestSize > limits.maxManifestBytes || header.manifestStoredSize > limits.maxManifestBytes) {
        throw new BundleError(`${path}: refused: its index declares ${Math.max(header.manifestSize, header.manifestStoredSize)} bytes, more than the ${limits.maxManifestBytes} allowed`);
      }
      const stored = Buffer.alloc(header.manifestStoredSize);
      readFully(fd, stored, header.manifestOffset);
      if (sha256Hex(stored) !== header.manifestSha256) throw new BundleError(`${path}: damaged bundle (its index fails its checksum)`);
      let json: Buffer;
      try {
        json = brotliDecompressSync(stored, { maxOutputLength: Math.max(header.manifestSize, 1) });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") {
          throw new BundleError(`${path}: refused: its index decompresses to more than the ${header.manifestSize} bytes the header declares`);
        }
        throw new BundleError(`${path}: damaged bundle (its index does not decompress)`);
      }
      if (json.length !== header.manifestSize) throw new BundleError(`${path}: damaged bundle (its index is ${json.length} bytes, the header says ${header.manifestSize})`);
      const manifest = parseManifest(path, json.toString("utf8"), header, limits);
      return new BundleReader(path, fd, st.size, header, manifest);
    } catch (e) {
      closeSync(fd);
      if (e instanceof FrameError) throw new BundleError(`${path}: truncated bundle (${e.message})`);
      throw e;
    }
  }

  close(): void {
    if (this.fd >= 0) {
      closeSync(this.fd);
      this.fd = -1;
    }
  }

  entry(name: string): ManifestEntry {
    const e = this.manifest.entries.find((x) => x.name === name);
    if (e === undefined) throw new BundleError(`${this.path}: damaged bundle index (no entry ${JSON.stringify(name)})`);
    return e;
  }

  /** Checks the SHA-256 of every entry's stored bytes; names every entry that fails. */
  verifyStored(): void {
    const bad: string[] = [];
    for (const e of this.manifest.entries) {
      if (hashRange(this.fd, e.offset, e.storedSize) !== e.storedSha256) bad.push(e.name);
    }
    if (bad.length > 0) {
      const list = bad.slice(0, 5).map((n) => `'${n}'`).join(", ") + (bad.length > 5 ? ` and ${bad.length - 5} more` : "");
      throw new BundleError(`${this.path}: damaged bundle: ${bad.length === 1 ? "entry" : "entries"} ${list} ${bad.length === 1 ? "fails its" : "fail their"} checksum`);
    }
  }

  /** Decodes one entry into memory (for small entries: the size is capped by the limits already). */
  readEntry(name: string): Buffer {
    const e = this.entry(name);
    const out = Buffer.alloc(e.size);
    let at = 0;
    this.decode(e, (piece) => {
      out.set(piece, at);
      at += piece.length;
    });
    return out;
  }

  /**
   * Writes every entry to `<dir>/<name>` (dir must be new and empty: files are created exclusively, so
   * nothing is overwritten and no link is followed) and checks each content checksum.
   */
  extractAll(dir: string): void {
    for (const e of this.manifest.entries) {
      const target = join(dir, ...e.name.split("/"));
      mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
      const out = openSync(target, "wx", 0o600);
      try {
        let pos = 0;
        this.decode(e, (piece) => {
          let done = 0;
          while (done < piece.length) done += writeSync(out, piece, done, piece.length - done, pos + done);
          pos += piece.length;
        });
      } finally {
        closeSync(out);
      }
    }
  }

  private decode(e: ManifestEntry, sink: (piece: Uint8Array) => void): void {
    let sha: string;
    try {
      sha = decodeEntry(this.fd, e.offset, e.storedSize, e.size, sink);
    } catch (err) {
      if (err instanceof FrameError) throw new BundleError(`${this.path}: ${err.refused ? "refused" : "damaged bundle"}: entry '${e.name}': ${err.message}`);
      throw err;
    }
    if (sha !== e.sha256) throw new BundleError(`${this.path}: damaged bundle: entry '${e.name}' fails its content checksum`);
  }
}

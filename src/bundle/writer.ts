/**
 * Writing bundle files. A bundle is always written to a temporary file next to its destination and
 * renamed into place once complete and flushed, so an interrupted `ttd pack` or bookmark edit leaves
 * either the old file or the new one, never half of one.
 */
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { brotliCompressSync, constants as zc } from "node:zlib";
import { toolVersion } from "../trace/format.js";
import { BundleError } from "./errors.js";
import { BUNDLE_FORMAT, BUNDLE_VERSION, DEFAULT_LIMITS, encodeHeader, HEADER_BYTES, sha256Hex, type Bookmark, type Manifest, type ManifestEntry, type RecordingMeta, type SourceRecord } from "./format.js";
import { FRAME_BYTES, OutFile, readFully, writeEntryBytes, writeEntryFile, type StoredEntry } from "./frames.js";
import { checkEntryName, elfEntryName, sourceEntryName, TRACE_ENTRY } from "./names.js";
import { BundleReader } from "./reader.js";

export interface BundleParts {
  /** A self-contained SQLite trace file (no -wal beside it). */
  traceFile: string;
  elf: { name: string; data: Uint8Array; note?: string };
  /** Source texts by the path the line tables name. */
  sources: { path: string; data: Uint8Array }[];
  /** Paths the line tables name whose text was not found. */
  missing: string[];
  recording: RecordingMeta;
  note: string | null;
  bookmarks: Bookmark[];
  /** Time stamp of the packing (default: now). */
  packed?: Date;
}

export interface WrittenBundle {
  path: string;
  fileBytes: number;
  manifest: Manifest;
}

/** Unique stored names for source paths (names.ts shapes them; clashes get a numeric suffix). */
function sourceNames(paths: string[]): Map<string, string> {
  const used = new Set<string>([TRACE_ENTRY.toLowerCase()]);
  const out = new Map<string, string>();
  for (const p of paths) {
    let name = sourceEntryName(p);
    if (checkEntryName(name) !== null) name = `sources/_long/${sha256Hex(Buffer.from(p)).slice(0, 16)}-${(name.split("/").pop() ?? "").slice(0, 100)}`;
    let candidate = name;
    for (let i = 2; used.has(candidate.toLowerCase()); i++) {
      const slash = name.lastIndexOf("/");
      candidate = `${name.slice(0, slash + 1)}${i}~${name.slice(slash + 1)}`;
    }
    used.add(candidate.toLowerCase());
    out.set(p, candidate);
  }
  return out;
}

function compressManifest(m: Manifest): { stored: Buffer; size: number } {
  const json = Buffer.from(JSON.stringify(m), "utf8");
  if (json.length > DEFAULT_LIMITS.maxManifestBytes) throw new BundleError(`bundle index would be ${json.length} bytes, more than a reader accepts`);
  const stored = brotliCompressSync(json, { params: { [zc.BROTLI_PARAM_QUALITY]: 11, [zc.BROTLI_PARAM_SIZE_HINT]: json.length } });
  return { stored, size: json.length };
}

/** Runs `fill` on a new temporary file beside `dest`, then flushes and renames it to `dest`. */
function writeAtomically(dest: string, fill: (out: OutFile) => void): void {
  const tmp = join(dirname(dest), `.${basename(dest)}.${process.pid}.tmp`);
  let fd: number;
  try {
    fd = openSync(tmp, "wx", 0o644);
  } catch (e) {
    throw new BundleError(`${dest}: cannot write (${(e as Error).message})`);
  }
  let ok = false;
  try {
    fill(new OutFile(fd, 0));
    fsyncSync(fd);
    ok = true;
  } finally {
    closeSync(fd);
    if (!ok) unlinkSync(tmp);
  }
  try {
    renameSync(tmp, dest);
  } catch (e) {
    unlinkSync(tmp);
    throw new BundleError(`${dest}: cannot write (${(e as Error).message})`);
  }
}

function finish(out: OutFile, m: Manifest): void {
  const manifestOffset = out.position;
  const { stored, size } = compressManifest(m);
  out.write(stored);
  const header = encodeHeader({
    version: BUNDLE_VERSION,
    flags: 0,
    manifestOffset,
    manifestStoredSize: stored.length,
    manifestSize: size,
    manifestSha256: sha256Hex(stored),
  });
  const save = out.position;
  out.position = 0;
  out.write(header);
  out.position = save;
}

/** Writes a new bundle at `dest` (replacing it atomically if it exists; the caller decides whether it may). */
export function writeBundle(dest: string, parts: BundleParts): WrittenBundle {
  let manifest: Manifest | undefined;
  let fileBytes = 0;
  writeAtomically(dest, (out) => {
    out.write(Buffer.alloc(HEADER_BYTES));
    const entries: ManifestEntry[] = [];
    const add = (name: string, role: ManifestEntry["role"], offset: number, s: StoredEntry) => entries.push({ name, role, offset, ...s });
    let at = out.position;
    add(TRACE_ENTRY, "trace", at, writeEntryFile(out, parts.traceFile));
    const elfName = elfEntryName(parts.elf.name);
    at = out.position;
    add(elfName, "elf", at, writeEntryBytes(out, parts.elf.data));
    const names = sourceNames(parts.sources.map((s) => s.path));
    const files: SourceRecord[] = [];
    for (const s of parts.sources) {
      const name = names.get(s.path)!;
      at = out.position;
      add(name, "source", at, writeEntryBytes(out, s.data));
      files.push({ path: s.path, entry: name });
    }
    manifest = {
      format: BUNDLE_FORMAT,
      version: BUNDLE_VERSION,
      tool: { name: "ttd", version: toolVersion() },
      packed: (parts.packed ?? new Date()).toISOString(),
      note: parts.note,
      recording: parts.recording,
      trace: { entry: TRACE_ENTRY },
      elf: { entry: elfName, name: basename(parts.elf.name.replace(/\\/g, "/")), ...(parts.elf.note !== undefined ? { note: parts.elf.note } : {}) },
      sources: { files, missing: parts.missing },
      bookmarks: parts.bookmarks,
      entries,
    };
    finish(out, manifest);
    fileBytes = out.position;
  });
  return { path: dest, fileBytes, manifest: manifest! };
}

/**
 * Replaces the manifest of the bundle at `path` with `edit(manifest)`, copying the stored entries as
 * they are (nothing is recompressed). Only the descriptive fields may change: the entries must stay.
 */
export function rewriteManifest(path: string, edit: (m: Manifest) => Manifest): Manifest {
  const reader = BundleReader.open(path, DEFAULT_LIMITS);
  let next: Manifest;
  try {
    next = edit(structuredClone(reader.manifest));
    if (JSON.stringify(next.entries) !== JSON.stringify(reader.manifest.entries)) throw new Error("rewriteManifest: entries must not change");
    const end = reader.header.manifestOffset;
    const src = openSync(path, "r");
    try {
      writeAtomically(path, (out) => {
        out.write(Buffer.alloc(HEADER_BYTES));
        const buf = Buffer.alloc(FRAME_BYTES);
        for (let at = HEADER_BYTES; at < end; ) {
          const n = Math.min(buf.length, end - at);
          readFully(src, buf.subarray(0, n), at);
          out.write(buf.subarray(0, n));
          at += n;
        }
        finish(out, next);
      });
    } finally {
      closeSync(src);
    }
  } finally {
    reader.close();
  }
  return next;
}

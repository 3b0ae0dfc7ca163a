/**
 * Packing: a recording (a plain trace, or a bundle to repack) into one bundle file holding a snapshot
 * of the trace, the guest ELF, the source files its line tables name (as the recording's SourceProvider
 * finds them), how it was recorded, a note and the bookmarks.
 */
import Database from "better-sqlite3";
import { existsSync, readFileSync, statSync, unlinkSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { TraceError } from "../trace/errors.js";
import { BOOKMARK_TABLE } from "./bookmarks.js";
import { BundleError } from "./errors.js";
import type { Manifest, RecordingMeta } from "./format.js";
import type { Recording } from "./open.js";
import { MAX_SOURCE_BYTES } from "./sources.js";
import { writeBundle } from "./writer.js";

export interface PackOptions {
  note?: string;
  /** Replace `dest` if it exists. */
  force?: boolean;
  /** Time stamp to record as the packing time (default: now). */
  packed?: Date;
}

export interface PackResult {
  path: string;
  fileBytes: number;
  manifest: Manifest;
  /** Content and stored sizes by role. */
  trace: { size: number; stored: number };
  elf: { size: number; stored: number };
  sources: { count: number; size: number; stored: number };
  /** Line-table paths with no text found. */
  missing: string[];
  /** Sources packed although they differ from the MD5 the line table records. */
  stale: string[];
  /** The folders the packed source texts were read from (worth a look before sharing a bundle). */
  sourceFolders: string[];
}

/**
 * A self-contained copy of the SQLite trace at `src` in `dest`: a consistent snapshot even while a
 * recorder is still appending (SQLite's VACUUM INTO reads one transaction), in rollback-journal mode
 * (no -wal file needed to read it), without the bookmark side table (bookmarks go to the manifest).
 */
function snapshotTrace(src: string, dest: string): void {
  const db = new Database(src, { readonly: true, fileMustExist: true });
  try {
    db.prepare("VACUUM INTO ?").run(dest);
  } finally {
    db.close();
  }
  const copy = new Database(dest);
  try {
    copy.pragma("journal_mode = DELETE");
    const has = copy.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?").get(BOOKMARK_TABLE);
    if (has !== undefined) {
      copy.exec(`DROP TABLE ${BOOKMARK_TABLE}`);
      copy.exec("VACUUM");
    }
  } finally {
    copy.close();
  }
}

export function recordingMeta(rec: Recording): RecordingMeta {
  const info = rec.trace.info();
  return {
    traceFormatVersion: info.formatVersion,
    toolVersion: info.toolVersion,
    created: info.created,
    commandLine: info.commandLine,
    guestCmdline: info.guestCmdline,
    steps: info.steps,
    startStep: info.startStep,
    complete: info.complete,
    end: info.end,
    image: { name: info.image.name, sha256: info.image.sha256 },
  };
}

export function packRecording(rec: Recording, dest: string, options: PackOptions = {}): PackResult {
  if (existsSync(dest)) {
    if (statSync(dest).isDirectory()) throw new BundleError(`${dest}: is a directory; name the bundle file to write`);
    if (!options.force) throw new BundleError(`${dest}: already exists; use --force to overwrite it`);
  }
  if (!existsSync(dirname(resolve(dest)))) throw new BundleError(`${dest}: no such folder ${dirname(resolve(dest))}`);
  const snapshot = join(dirname(resolve(dest)), `.${basename(dest)}.${process.pid}.trace.tmp`);
  try {
    try {
      snapshotTrace(rec.trace.path, snapshot);
    } catch (e) {
      throw new TraceError(`${rec.path}: cannot copy the trace (${(e as Error).message})`);
    }
    const sources: { path: string; data: Uint8Array }[] = [];
    const missing: string[] = [];
    const stale: string[] = [];
    const folders = new Set<string>();
    for (const path of rec.sources.files) {
      const f = rec.sources.get(path);
      let data: Buffer | null = null;
      if (f !== null) {
        try {
          data = readFileSync(f.location);
        } catch {
          data = null;
        }
      }
      if (f === null || data === null || data.length > MAX_SOURCE_BYTES) {
        missing.push(path);
        continue;
      }
      if (f.stale) stale.push(path);
      folders.add(f.origin === "disk" ? dirname(f.location) : `${rec.path} (bundle)`);
      sources.push({ path, data });
    }
    const written = writeBundle(dest, {
      traceFile: snapshot,
      elf: { name: rec.image.name, data: rec.image.data, ...(rec.symbolsNote !== null ? { note: rec.symbolsNote } : {}) },
      sources,
      missing,
      recording: recordingMeta(rec),
      note: options.note !== undefined && options.note !== "" ? options.note : null,
      bookmarks: rec.bookmarks(),
      packed: options.packed,
    });
    const m = written.manifest;
    const sum = (role: string) =>
      m.entries.filter((e) => e.role === role).reduce((a, e) => ({ size: a.size + e.size, stored: a.stored + e.storedSize }), { size: 0, stored: 0 });
    const src = sum("source");
    return {
      path: dest,
      fileBytes: written.fileBytes,
      manifest: m,
      trace: sum("trace"),
      elf: sum("elf"),
      sources: { count: sources.length, ...src },
      missing,
      stale,
      sourceFolders: [...folders].sort(),
    };
  } finally {
    try {
      unlinkSync(snapshot);
    } catch {
      // never created
    }
  }
}

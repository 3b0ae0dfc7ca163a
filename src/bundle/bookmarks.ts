/**
 * Bookmarks: named steps of a recording. Where they live:
 *  - in a bundle, in its manifest (`bookmarks`); changing them rewrites the bundle's manifest in place
 *    (atomically; the stored entries are copied, not recompressed);
 *  - for a plain trace, in a side table of the trace file itself, `ttd_bookmark`, so they travel with
 *    the file. The table is created on the first write; a trace without it has no bookmarks. Readers
 *    of the trace format ignore tables they do not know, and `ttd pack` moves the rows into the
 *    bundle's manifest (the packed trace drops the table).
 */
import Database from "better-sqlite3";
import { TraceError } from "../trace/errors.js";
import { BundleError } from "./errors.js";
import { DEFAULT_LIMITS, MAX_BOOKMARK_NAME, MAX_BOOKMARK_NOTE, type Bookmark } from "./format.js";
import { BundleReader, looksLikeBundle } from "./reader.js";
import { rewriteManifest } from "./writer.js";

export type { Bookmark } from "./format.js";

export const BOOKMARK_TABLE = "ttd_bookmark";

/** Checks a bookmark's fields (and its step against [first, last] when given); returns a clean copy. */
export function checkBookmark(b: Bookmark, range?: { first: number; last: number }): Bookmark {
  const name = typeof b.name === "string" ? b.name.trim() : "";
  if (name === "") throw new TraceError("a bookmark needs a name");
  if (name.length > MAX_BOOKMARK_NAME) throw new TraceError(`bookmark name is longer than ${MAX_BOOKMARK_NAME} characters`);
  if (/[\u0000-\u001f\u007f]/.test(name)) throw new TraceError("a bookmark name cannot hold control characters");
  if (!Number.isSafeInteger(b.step) || b.step < 0) throw new TraceError(`bookmark '${name}': step must be a non-negative integer, got ${b.step}`);
  if (range !== undefined && (b.step < range.first || b.step > range.last)) {
    throw new TraceError(`bookmark '${name}': step ${b.step} is out of range (the trace covers steps ${range.first} to ${range.last})`);
  }
  const out: Bookmark = { name, step: b.step };
  if (b.note !== undefined && b.note !== "") {
    if (b.note.length > MAX_BOOKMARK_NOTE) throw new TraceError(`bookmark '${name}': note is longer than ${MAX_BOOKMARK_NOTE} characters`);
    out.note = b.note;
  }
  out.created = b.created ?? new Date().toISOString();
  return out;
}

/** Sorted by step, then name: the order every listing uses. */
export function sortBookmarks(list: Bookmark[]): Bookmark[] {
  return [...list].sort((a, b) => a.step - b.step || a.name.localeCompare(b.name));
}

// ---- Plain traces: the side table ---------------------------------------------------------------------

interface BookmarkRow {
  name: string;
  step: number;
  note: string | null;
  created: string | null;
}

export function readTraceBookmarks(tracePath: string): Bookmark[] {
  let db: Database.Database;
  try {
    db = new Database(tracePath, { readonly: true, fileMustExist: true });
  } catch (e) {
    throw new TraceError(`${tracePath}: cannot read bookmarks (${(e as Error).message})`);
  }
  try {
    const has = db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?").get(BOOKMARK_TABLE);
    if (has === undefined) return [];
    const rows = db.prepare(`SELECT name, step, note, created FROM ${BOOKMARK_TABLE}`).all() as BookmarkRow[];
    return sortBookmarks(
      rows
        .filter((r) => typeof r.name === "string" && Number.isSafeInteger(r.step))
        .map((r) => ({ name: r.name, step: r.step, ...(r.note ? { note: r.note } : {}), ...(r.created ? { created: r.created } : {}) })),
    );
  } catch (e) {
    throw new TraceError(`${tracePath}: cannot read bookmarks (${(e as Error).message})`);
  } finally {
    db.close();
  }
}

export function writeTraceBookmarks(tracePath: string, list: Bookmark[]): void {
  let db: Database.Database;
  try {
    db = new Database(tracePath, { fileMustExist: true });
  } catch (e) {
    throw new TraceError(`${tracePath}: cannot write bookmarks (${(e as Error).message})`);
  }
  try {
    // The recorder may still be writing this trace: wait for its transaction rather than fail.
    db.pragma("busy_timeout = 5000");
    db.transaction(() => {
      db.exec(`CREATE TABLE IF NOT EXISTS ${BOOKMARK_TABLE}(name TEXT PRIMARY KEY, step INTEGER NOT NULL, note TEXT, created TEXT) WITHOUT ROWID`);
      db.exec(`DELETE FROM ${BOOKMARK_TABLE}`);
      const ins = db.prepare(`INSERT INTO ${BOOKMARK_TABLE}(name, step, note, created) VALUES (?, ?, ?, ?)`);
      for (const b of list) ins.run(b.name, b.step, b.note ?? null, b.created ?? null);
    })();
  } catch (e) {
    throw new TraceError(`${tracePath}: cannot write bookmarks (${(e as Error).message})`);
  } finally {
    db.close();
  }
}

// ---- Either kind, by file -----------------------------------------------------------------------------

/** The bookmarks of a trace or bundle file. */
export function readBookmarks(path: string): Bookmark[] {
  if (!looksLikeBundle(path)) return readTraceBookmarks(path);
  // Only the manifest is read (and validated); the entries stay untouched.
  const r = BundleReader.open(path, DEFAULT_LIMITS);
  try {
    return sortBookmarks(r.manifest.bookmarks);
  } finally {
    r.close();
  }
}

/**
 * Replaces the bookmarks of a trace or bundle file with `list` (each checked; names must be unique).
 * For a bundle, steps are also checked against the recording it holds.
 */
export function writeBookmarks(path: string, list: Bookmark[]): Bookmark[] {
  const names = new Set<string>();
  const clean = list.map((b) => checkBookmark(b));
  for (const b of clean) {
    if (names.has(b.name)) throw new TraceError(`bookmark '${b.name}' is given twice`);
    names.add(b.name);
  }
  const sorted = sortBookmarks(clean);
  if (looksLikeBundle(path)) {
    rewriteManifest(path, (m) => {
      for (const b of sorted) {
        if (b.step < m.recording.startStep || b.step > m.recording.steps) {
          throw new BundleError(`${path}: bookmark '${b.name}': step ${b.step} is out of range (the trace covers steps ${m.recording.startStep} to ${m.recording.steps})`);
        }
      }
      return { ...m, bookmarks: sorted };
    });
  } else {
    writeTraceBookmarks(path, sorted);
  }
  return sorted;
}

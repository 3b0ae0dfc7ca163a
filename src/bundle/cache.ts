/**
 * The folder bundles are extracted into: `$TTD_CACHE_DIR`, else `$XDG_CACHE_HOME/ttd`, else
 * `~/.cache/ttd`; each bundle in `bundles/<content id>/` (see format.ts contentId), holding `files/`
 * (the entries, by their stored names) and `extracted.json`, the record of a finished extraction.
 *
 * Extraction happens in a fresh `bundles/.tmp-*` folder that is renamed into place only once every
 * entry is written and verified, so a folder under its content id is always complete; two processes
 * opening the same bundle at once each extract, and the second rename simply loses (its copy is
 * removed). Nothing is ever written outside the cache root.
 *
 * The cache stays bounded: each open marks its bundle as used (the record's modification time), and
 * after an extraction only the KEEP_BUNDLES most recently used extractions are kept; unfinished
 * `.tmp-*` folders older than a day (a process killed mid-extraction) go too.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statfsSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";
import { BundleError } from "./errors.js";
import type { ManifestEntry } from "./format.js";
import type { BundleReader } from "./reader.js";

export const CACHE_ENV = "TTD_CACHE_DIR";
const RECORD = "extracted.json";
/** Extracted bundles kept in the cache (the most recently opened ones). */
export const KEEP_BUNDLES = 16;
/** Age after which an unfinished extraction folder is taken to be abandoned. */
const STALE_TMP_MS = 24 * 3600 * 1000;

export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  const own = env[CACHE_ENV];
  if (own !== undefined && own !== "") return own;
  const xdg = env.XDG_CACHE_HOME;
  // The XDG spec says a relative XDG_CACHE_HOME is invalid and must be ignored.
  if (xdg !== undefined && isAbsolute(xdg)) return join(xdg, "ttd");
  return join(homedir(), ".cache", "ttd");
}

interface ExtractedRecord {
  contentId: string;
  /** Sizes and modification times as extracted: a file changed since then makes the copy stale. */
  files: { name: string; size: number; mtimeMs: number }[];
}

/** True when `dir` holds a finished extraction of exactly these entries (names and sizes). */
function isComplete(dir: string, id: string, entries: readonly ManifestEntry[]): boolean {
  let rec: ExtractedRecord;
  try {
    rec = JSON.parse(readFileSync(join(dir, RECORD), "utf8")) as ExtractedRecord;
  } catch {
    return false;
  }
  if (rec.contentId !== id || !Array.isArray(rec.files) || rec.files.length !== entries.length) return false;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    const r = rec.files[i];
    if (typeof r !== "object" || r === null || r.name !== e.name) return false;
    try {
      const st = statSync(join(dir, "files", ...e.name.split("/")));
      if (!st.isFile() || st.size !== e.size || st.mtimeMs !== r.mtimeMs) return false;
    } catch {
      return false;
    }
  }
  return true;
}

/**
 * The folder holding the extracted entries of `reader`'s bundle (its `files/` subfolder), extracting
 * them first unless an earlier open already did. The caller has verified the stored checksums.
 */
export function extractedFiles(reader: BundleReader, root = cacheRoot()): string {
  const id = reader.contentId;
  const entries = reader.manifest.entries;
  const base = join(root, "bundles");
  const dir = join(base, id);
  if (isComplete(dir, id, entries)) {
    markUsed(dir);
    return join(dir, "files");
  }
  try {
    mkdirSync(base, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new BundleError(`${reader.path}: cannot create the cache folder ${base} (${(e as Error).message}); set ${CACHE_ENV} to a writable folder`);
  }
  const need = entries.reduce((a, e) => a + e.size, 0);
  try {
    const fs = statfsSync(base);
    const free = Number(fs.bavail) * Number(fs.bsize);
    if (need > free) throw new BundleError(`${reader.path}: needs ${need} bytes in the cache folder ${base}, only ${free} are free; set ${CACHE_ENV} elsewhere`);
  } catch (e) {
    if (e instanceof BundleError) throw e;
    // statfs unsupported here: the writes themselves will fail cleanly if space runs out.
  }
  const tmp = mkdtempSync(join(base, ".tmp-"));
  try {
    reader.extractAll(join(tmp, "files"));
    const files = join(tmp, "files");
    const rec: ExtractedRecord = {
      contentId: id,
      files: entries.map((e) => ({ name: e.name, size: e.size, mtimeMs: statSync(join(files, ...e.name.split("/"))).mtimeMs })),
    };
    writeFileSync(join(tmp, RECORD), JSON.stringify(rec) + "\n", { mode: 0o600 });
    if (isComplete(dir, id, entries)) {
      // Another process finished the same extraction meanwhile.
      rmSync(tmp, { recursive: true, force: true });
      return join(dir, "files");
    }
    if (existsSync(dir)) rmSync(dir, { recursive: true, force: true }); // leftovers of an older, damaged copy
    try {
      renameSync(tmp, dir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if ((code === "ENOTEMPTY" || code === "EEXIST") && isComplete(dir, id, entries)) {
        rmSync(tmp, { recursive: true, force: true });
        return join(dir, "files");
      }
      throw e;
    }
    prune(base, id);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (e instanceof BundleError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOSPC") throw new BundleError(`${reader.path}: the cache folder ${base} ran out of space while extracting; set ${CACHE_ENV} elsewhere`);
    throw new BundleError(`${reader.path}: cannot extract into ${base} (${(e as Error).message})`);
  }
  return join(dir, "files");
}

/** Marks an extraction as just used (its record's modification time), for pruning. */
function markUsed(dir: string): void {
  try {
    const now = new Date();
    utimesSync(join(dir, RECORD), now, now);
  } catch {
    // read-only cache: it is only an ordering hint
  }
}

/**
 * Removes all but the KEEP_BUNDLES most recently used extractions (never `keep`, the one just made)
 * and abandoned temporary folders. Only names this module makes are touched: content ids (hex) and
 * `.tmp-*`.
 */
export function prune(base: string, keep: string, keepCount = KEEP_BUNDLES): void {
  let names: string[];
  try {
    names = readdirSync(base);
  } catch {
    return;
  }
  const now = Date.now();
  const used: { name: string; at: number }[] = [];
  for (const name of names) {
    const path = join(base, name);
    try {
      if (name.startsWith(".tmp-")) {
        if (now - statSync(path).mtimeMs > STALE_TMP_MS) rmSync(path, { recursive: true, force: true });
      } else if (/^[0-9a-f]+$/.test(name) && name !== keep) {
        let at = 0;
        try {
          at = statSync(join(path, RECORD)).mtimeMs;
        } catch {
          // no record: an unusable leftover, oldest of all
        }
        used.push({ name, at });
      }
    } catch {
      // gone meanwhile (another process pruning): nothing to do
    }
  }
  used.sort((a, b) => b.at - a.at);
  for (const { name } of used.slice(Math.max(0, keepCount - 1))) rmSync(join(base, name), { recursive: true, force: true });
}

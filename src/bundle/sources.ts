/**
 * Source text by the path an image's line tables name (`src/kernel/idle.c`): from a bundle (the copy
 * packed with it) or from disk (for a plain trace, searched for as described in findOnDisk).
 */
import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import type { DebugInfo } from "../symbols/debug-info.js";
import { fileMatches } from "../symbols/line-index.js";

export interface SourceFile {
  /** The path as the line table names it. */
  path: string;
  origin: "bundle" | "disk";
  /** The file read: on disk, or in the bundle's extracted copy. */
  location: string;
  text: string;
  /** Line 1 is lines[0]; no line terminators. */
  lines: readonly string[];
  /** True when the line table records an MD5 for the file and this text does not match it. */
  stale: boolean;
}

export interface SourceProvider {
  /** Every path the image's line tables name (for a bundle: those it was packed with, found or not). */
  readonly files: readonly string[];
  /** The paths among `files` with no text available. */
  readonly missing: readonly string[];
  /**
   * The file `path` names: a path as the line table gives it, or its trailing components (`idle.c`,
   * `kernel/idle.c`) when they match exactly one file. Null when unavailable.
   */
  get(path: string): SourceFile | null;
  /** Lines of the file (line 1 at index 0), or null when unavailable. */
  lines(path: string): readonly string[] | null;
  /** One line, 1-based, or null when the file or the line is unavailable. */
  line(path: string, n: number): string | null;
  /** Why `path` has no text, as a phrase for messages ("not found on disk (looked in ...)"). */
  whyMissing(path: string): string;
}

/** The largest source file read from disk or packed (larger ones are treated as missing). */
export const MAX_SOURCE_BYTES = 64 * 1024 * 1024;

const decoder = new TextDecoder("utf-8");

export function splitLines(text: string): string[] {
  const lines = text.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  return lines;
}

function decode(bytes: Uint8Array): string {
  const text = decoder.decode(bytes);
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** The MD5 a DWARF 5 line table recorded for a source file path, if any. */
export type SourceMd5s = (path: string) => string | undefined;

/**
 * MD5s recorded by DWARF 5 line tables, by file path (the first table to name a file wins). Looked up
 * as asked, among the tables loaded by then: symbols loaded through an index add a unit's table when a
 * question needs the unit, which is before its source is shown.
 */
export function lineTableMd5s(symbols: DebugInfo | null): SourceMd5s {
  if (symbols === null) return () => undefined;
  const out = new Map<string, string>();
  let read = 0;
  return (path) => {
    const tables = symbols.lines.tables;
    for (; read < tables.length; read++) {
      for (const f of tables[read].files) {
        if (f?.md5 !== undefined && !out.has(f.path)) out.set(f.path, Buffer.from(f.md5).toString("hex"));
      }
    }
    return out.get(path);
  };
}

/** Shared lookup logic: exact path first, then a unique trailing-components match among `files`. */
abstract class BaseProvider implements SourceProvider {
  abstract readonly files: readonly string[];
  abstract readonly missing: readonly string[];
  private readonly cache = new Map<string, SourceFile | null>();

  protected abstract load(path: string): SourceFile | null;
  abstract whyMissing(path: string): string;

  /** The line-table path `query` stands for. */
  protected canonical(query: string): string {
    if (this.files.includes(query)) return query;
    const hits = this.files.filter((f) => fileMatches(f, query));
    return hits.length === 1 ? hits[0] : query;
  }

  get(path: string): SourceFile | null {
    const p = this.canonical(path);
    let f = this.cache.get(p);
    if (f === undefined) {
      f = this.load(p);
      this.cache.set(p, f);
    }
    return f;
  }

  lines(path: string): readonly string[] | null {
    return this.get(path)?.lines ?? null;
  }

  line(path: string, n: number): string | null {
    const lines = this.lines(path);
    if (lines === null || !Number.isInteger(n) || n < 1 || n > lines.length) return null;
    return lines[n - 1];
  }
}

/** Sources packed in a bundle, read from its extracted copy. */
export class BundleSources extends BaseProvider {
  readonly files: readonly string[];
  readonly missing: readonly string[];
  private readonly entries: Map<string, string>;

  constructor(
    private readonly filesDir: string,
    packed: readonly { path: string; entry: string }[],
    missing: readonly string[],
    private readonly md5s: SourceMd5s,
  ) {
    super();
    this.entries = new Map(packed.map((s) => [s.path, s.entry]));
    this.files = [...new Set([...packed.map((s) => s.path), ...missing])].sort();
    this.missing = [...missing].sort();
  }

  protected load(path: string): SourceFile | null {
    const entry = this.entries.get(path);
    if (entry === undefined) return null;
    const location = join(this.filesDir, ...entry.split("/"));
    const bytes = readFileSync(location);
    const text = decode(bytes);
    const md5 = this.md5s(path);
    return { path, origin: "bundle", location, text, lines: splitLines(text), stale: md5 !== undefined && createHash("md5").update(bytes).digest("hex") !== md5 };
  }

  whyMissing(path: string): string {
    const p = this.canonical(path);
    if (this.missing.includes(p)) return "it was not found when the bundle was packed";
    return "the bundle's image does not name it";
  }
}

export interface DiskSearch {
  /** Folders given by the user (`--source-dir`), searched first, also for trailing parts of the path. */
  sourceDirs: string[];
  /** Folders a relative line-table path may be relative to (the current folder, the ELF's folders...). */
  bases: string[];
  /**
   * The folders the recorded ELF was in: a file the line table names by a path that does not exist
   * here (an absolute path on the build machine) is also looked for there by its trailing parts.
   */
  imageDirs?: string[];
}

/**
 * Where to look for a line table's `path` on disk, in order:
 *  1. each source dir D: D/path, then D/<path without its leading components>, shortest last
 *     (`--source-dir src/kernel` finds `src/kernel/idle.c` as `idle.c`);
 *  2. an absolute path as it is; a relative one under each base folder;
 *  3. each folder the ELF was in: the path's trailing parts, longest first (`/build/x/probe.c` is
 *     found as `probe.c` next to `probe.elf`).
 */
export function candidatePaths(path: string, search: DiskSearch): string[] {
  const out: string[] = [];
  const parts = path.split(/[\\/]+/).filter((p) => p !== "" && p !== ".");
  for (const d of search.sourceDirs) {
    if (!isAbsolute(path)) out.push(resolve(d, path));
    for (let i = isAbsolute(path) ? 0 : 1; i < parts.length; i++) {
      if (parts.slice(i).includes("..")) continue;
      out.push(resolve(d, ...parts.slice(i)));
    }
  }
  if (isAbsolute(path)) out.push(path);
  else for (const b of search.bases) out.push(resolve(b, path));
  for (const d of search.imageDirs ?? []) {
    for (let i = isAbsolute(path) ? 0 : 1; i < parts.length; i++) {
      if (parts.slice(i).includes("..")) continue;
      out.push(resolve(d, ...parts.slice(i)));
    }
  }
  return [...new Set(out)];
}

/** Sources read from disk for a plain trace (and by `ttd pack`, which copies what this finds). */
export class DiskSources extends BaseProvider {
  readonly files: readonly string[];
  private missingList: string[] | undefined;

  constructor(
    files: readonly string[],
    private readonly search: DiskSearch,
    private readonly md5s: SourceMd5s,
  ) {
    super();
    this.files = [...files].sort();
  }

  get missing(): readonly string[] {
    this.missingList ??= this.files.filter((f) => this.get(f) === null);
    return this.missingList;
  }

  protected load(path: string): SourceFile | null {
    const md5 = this.md5s(path);
    let fallback: SourceFile | null = null;
    for (const c of candidatePaths(path, this.search)) {
      let bytes: Buffer;
      try {
        const st = statSync(c);
        if (!st.isFile() || st.size > MAX_SOURCE_BYTES) continue;
        bytes = readFileSync(c);
      } catch {
        continue;
      }
      const stale = md5 !== undefined && createHash("md5").update(bytes).digest("hex") !== md5;
      const text = decode(bytes);
      const file: SourceFile = { path, origin: "disk", location: c, text, lines: splitLines(text), stale };
      // With an MD5 to go by, keep looking for a copy that matches what was compiled.
      if (!stale) return file;
      fallback ??= file;
    }
    return fallback;
  }

  whyMissing(path: string): string {
    const c = candidatePaths(this.canonical(path), this.search);
    // The first few (the path as named, the source dirs) and the last (its file name next to the ELF).
    const shown = c.length <= 4 ? c.join(", ") : `${c.slice(0, 3).join(", ")}, ${c.length - 4} more, and ${c[c.length - 1]}`;
    return c.length === 0 ? "not found on disk" : `not found on disk (looked for ${shown}; use --source-dir)`;
  }
}

/**
 * A folder and its ancestors, nearest first: at most `levels` of them, never the file system root
 * (a relative path found there would be a coincidence, not the project).
 */
export function withAncestors(dir: string, levels = 6): string[] {
  const out: string[] = [];
  for (let d = resolve(dir); out.length < levels && dirname(d) !== d; d = dirname(d)) out.push(d);
  return out;
}

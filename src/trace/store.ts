/**
 * Read access to a trace file: validation on open (not a trace, newer format, truncated, corrupt:
 * one TraceError naming the file), the metadata, and the SQL behind every query. SQLite errors met
 * later (a corrupt page deep in the file) are turned into the same kind of error.
 */
import Database from "better-sqlite3";
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { inflateRawSync } from "node:zlib";
import { createHash } from "node:crypto";
import { APPLICATION_ID, FORMAT_VERSION, TRACE_FORMAT } from "./format.js";
import { TraceError } from "./errors.js";
import type { IndexRow } from "./index-codec.js";

const SQLITE_MAGIC = "SQLite format 3\0";

export interface StoredEvent {
  step: number;
  kind: number;
  vector: number;
  errorCode: number | null;
  eip: number;
  cplBefore: number;
  cplAfter: number;
  handlerEip: number;
}

/** A disk of the recorded run (the `disk` table). */
export interface StoredDisk {
  drive: number;
  name: string;
  sha256: string;
  size: number;
  writeBack: boolean;
}

export interface StoredOutput {
  step: number;
  stream: number;
  byte: number;
}

function isSqliteError(e: unknown): e is Error & { code: string } {
  if (!(e instanceof Error)) return false;
  const code = (e as unknown as { code?: unknown }).code;
  return typeof code === "string" && code.startsWith("SQLITE_");
}

/** Reads the 100-byte SQLite header, or explains why `path` cannot be a trace. */
function checkHeader(path: string): void {
  let size: number;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new TraceError(`${path}: is a directory, not a ttd trace`);
    size = st.size;
  } catch (e) {
    if (e instanceof TraceError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new TraceError(`${path}: ${code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : (e as Error).message}`);
  }
  if (size === 0) throw new TraceError(`${path}: empty file, not a ttd trace`);
  const header = Buffer.alloc(100);
  const fd = openSync(path, "r");
  let n: number;
  try {
    n = readSync(fd, header, 0, 100, 0);
  } finally {
    closeSync(fd);
  }
  if (n < 16 || header.toString("latin1", 0, 16) !== SQLITE_MAGIC) {
    throw new TraceError(`${path}: not a ttd trace (not an SQLite database)`);
  }
  if (n < 100) throw new TraceError(`${path}: truncated trace (the file ends inside its header)`);
  const rawPageSize = header.readUInt16BE(16);
  const pageSize = rawPageSize === 1 ? 65536 : rawPageSize;
  const changeCounter = header.readUInt32BE(24);
  const pageCount = header.readUInt32BE(28);
  const validFor = header.readUInt32BE(92);
  // The header's page count is trustworthy when "version-valid-for" matches the change counter.
  if (validFor === changeCounter && pageCount > 0 && size < pageCount * pageSize) {
    throw new TraceError(`${path}: truncated trace (${size} bytes, the header says ${pageCount * pageSize})`);
  }
}

export class TraceStore {
  readonly path: string;
  private readonly db: Database.Database;
  readonly meta: ReadonlyMap<string, string>;
  readonly formatVersion: number;
  readonly memoryBytes: number;
  readonly chunkSteps: number;
  readonly keyframeSteps: number;
  readonly startStep: number;
  /** True when the recording was finalized (it recorded how the run ended). */
  readonly complete: boolean;
  /** Steps covered: the whole run, or up to the last commit of an interrupted recording. */
  readonly steps: number;
  /** Memory writes observed up to `steps`. */
  readonly writes: number;
  /** Keyframe steps, ascending. */
  readonly keyframes: Float64Array;
  /** The run's disks (none for traces recorded without disks, or before disks were recorded). */
  readonly disks: readonly StoredDisk[];

  private readonly stmts: {
    keyframeState: Database.Statement<[number], { state: Buffer }>;
    pagesBetween: Database.Statement<[number, number], { page: number }>;
    pageVersions: Database.Statement<[number], { keyframe: number }>;
    pageBlob: Database.Statement<[number, number], { data: Buffer }>;
    indexBackward: Database.Statement<[number, number], { first_chunk: number; last_chunk: number; entries: Buffer }>;
    indexRange: Database.Statement<[number, number, number, number], { line: number; first_chunk: number; last_chunk: number; entries: Buffer }>;
    events: Database.Statement<[number, number, number], StoredEvent>;
    output: Database.Statement<[number, number], StoredOutput>;
    portChunks: Database.Statement<[number, number, number], { chunk: number }>;
    anyPortChunks: Database.Statement<[number, number], { chunk: number }>;
  };

  private constructor(path: string, db: Database.Database) {
    this.path = path;
    this.db = db;
    const appId = db.pragma("application_id", { simple: true }) as number;
    const version = db.pragma("user_version", { simple: true }) as number;
    const tables = new Set((db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").pluck().all() as string[]));
    if (appId !== APPLICATION_ID) {
      if (appId === 0 && tables.size === 0) {
        throw new TraceError(`${path}: not a ttd trace (an empty SQLite database; if it is a recording that was killed, its -wal file is missing)`);
      }
      throw new TraceError(`${path}: not a ttd trace (an SQLite database of another kind)`);
    }
    if (version > FORMAT_VERSION) {
      throw new TraceError(`${path}: trace format version ${version} is newer than this ttd supports (${FORMAT_VERSION}); use a newer ttd`);
    }
    if (version < 1) throw new TraceError(`${path}: not a ttd trace (format version ${version})`);
    const required = ["meta", "image", "progress", "keyframe", "page", "write_index", "event", "serial", "port_index"];
    if (version >= 2) required.push("disk", "disk_chunk", "disk_sector");
    for (const t of required) {
      if (!tables.has(t)) throw new TraceError(`${path}: corrupt trace (table ${t} is missing)`);
    }
    this.disks = tables.has("disk")
      ? (db.prepare("SELECT drive, name, sha256, size, write_back AS writeBack FROM disk ORDER BY drive").all() as { drive: number; name: string; sha256: string; size: number; writeBack: number }[])
          .map((d) => ({ ...d, writeBack: d.writeBack !== 0 }))
      : [];
    const meta = new Map<string, string>();
    for (const row of db.prepare("SELECT key, value FROM meta").all() as { key: string; value: string }[]) meta.set(row.key, row.value);
    this.meta = meta;
    if (meta.get("format") !== TRACE_FORMAT) throw new TraceError(`${path}: not a ttd trace (meta 'format' is ${JSON.stringify(meta.get("format") ?? null)})`);
    this.formatVersion = version;
    const num = (key: string): number => {
      const v = Number(meta.get(key));
      if (meta.get(key) === undefined || !Number.isFinite(v)) throw new TraceError(`${path}: corrupt trace (meta '${key}' is missing or not a number)`);
      return v;
    };
    this.memoryBytes = num("memory_bytes");
    this.chunkSteps = num("chunk_steps");
    this.keyframeSteps = num("keyframe_steps");
    this.startStep = num("start_step");
    const progress = db.prepare("SELECT steps, writes FROM progress WHERE id = 1").get() as { steps: number; writes: number } | undefined;
    if (progress === undefined) throw new TraceError(`${path}: corrupt trace (no progress row)`);
    this.complete = meta.has("end_reason");
    this.steps = this.complete ? num("steps") : progress.steps;
    this.writes = progress.writes;
    this.keyframes = Float64Array.from(db.prepare("SELECT step FROM keyframe ORDER BY step").pluck().all() as number[]);
    if (this.keyframes.length === 0 || this.keyframes[0] !== this.startStep) {
      throw new TraceError(`${path}: corrupt trace (no keyframe at the first step)`);
    }
    this.stmts = {
      keyframeState: db.prepare("SELECT state FROM keyframe WHERE step = ?"),
      pagesBetween: db.prepare("SELECT DISTINCT page FROM page WHERE keyframe > ? AND keyframe <= ?"),
      pageVersions: db.prepare("SELECT keyframe FROM page WHERE page = ? ORDER BY keyframe"),
      pageBlob: db.prepare("SELECT data FROM page WHERE page = ? AND keyframe = ?"),
      indexBackward: db.prepare("SELECT first_chunk, last_chunk, entries FROM write_index WHERE line = ? AND first_chunk <= ? ORDER BY first_chunk DESC"),
      indexRange: db.prepare(
        "SELECT line, first_chunk, last_chunk, entries FROM write_index WHERE line BETWEEN ? AND ? AND first_chunk <= ? AND last_chunk >= ? ORDER BY line, first_chunk",
      ),
      events: db.prepare(
        "SELECT step, kind, vector, error_code AS errorCode, eip, cpl_before AS cplBefore, cpl_after AS cplAfter, handler_eip AS handlerEip FROM event WHERE step >= ? AND step < ? ORDER BY step, rowid LIMIT ?",
      ),
      output: db.prepare("SELECT step, stream, byte FROM serial WHERE step >= ? AND step < ? ORDER BY rowid"),
      portChunks: db.prepare("SELECT chunk FROM port_index WHERE port = ? AND chunk BETWEEN ? AND ? ORDER BY chunk"),
      anyPortChunks: db.prepare("SELECT DISTINCT chunk FROM port_index WHERE chunk BETWEEN ? AND ? ORDER BY chunk"),
    };
  }

  /** Opens and validates `path`; every failure is a TraceError naming the file. */
  static open(path: string): TraceStore {
    checkHeader(path);
    let db: Database.Database;
    try {
      db = new Database(path, { fileMustExist: true });
    } catch {
      // Not writable (permissions, read-only medium): a finalized trace reads fine without writing.
      try {
        db = new Database(path, { fileMustExist: true, readonly: true });
      } catch (e) {
        throw new TraceError(`${path}: cannot open (${(e as Error).message})`);
      }
    }
    try {
      return new TraceStore(path, db);
    } catch (e) {
      db.close();
      if (e instanceof TraceError) throw e;
      throw corrupt(path, e);
    }
  }

  /** Runs `fn`, reporting SQLite failures (corruption found late) as a TraceError. */
  guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      if (isSqliteError(e)) throw corrupt(this.path, e);
      throw e;
    }
  }

  /** Reads every page of the file (SQLite's quick_check); throws a TraceError if any is damaged. */
  verify(): void {
    const result = this.guard(() => this.db.pragma("quick_check", { simple: true }));
    if (result !== "ok") throw new TraceError(`${this.path}: corrupt trace (${String(result).split("\n")[0]})`);
  }

  keyframeAtOrBefore(step: number): number {
    const k = this.keyframes;
    let lo = 0, hi = k.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (k[mid] <= step) lo = mid;
      else hi = mid - 1;
    }
    return k[lo];
  }

  keyframeStateText(kf: number): string {
    const row = this.guard(() => this.stmts.keyframeState.get(kf));
    if (row === undefined) throw new TraceError(`${this.path}: corrupt trace (keyframe at step ${kf} is missing)`);
    try {
      return inflateRawSync(row.state).toString("utf8");
    } catch {
      throw new TraceError(`${this.path}: corrupt trace (keyframe at step ${kf} does not decompress)`);
    }
  }

  /** Pages with a stored version in keyframes (lo, hi]. */
  pagesChangedBetween(lo: number, hi: number): number[] {
    if (hi <= lo) return [];
    return this.guard(() => this.stmts.pagesBetween.all(lo, hi).map((r) => r.page));
  }

  /** Keyframes that stored a version of each page, loaded on first use (ascending). */
  private readonly versions = new Map<number, Float64Array>();

  /** The keyframe holding the version of `page` current at keyframe `kf`, or -1 (never stored: zeros). */
  pageVersion(page: number, kf: number): number {
    let v = this.versions.get(page);
    if (v === undefined) {
      v = Float64Array.from(this.guard(() => this.stmts.pageVersions.all(page).map((r) => r.keyframe)));
      this.versions.set(page, v);
    }
    let lo = 0, hi = v.length - 1, found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (v[mid] <= kf) {
        found = v[mid];
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  /** The stored blob of `page` at exactly keyframe `kf` (see page-codec.ts). */
  pageBlob(page: number, kf: number): Buffer {
    const row = this.guard(() => this.stmts.pageBlob.get(page, kf));
    if (row === undefined) throw new TraceError(`${this.path}: corrupt trace (page ${page} of keyframe ${kf} is missing)`);
    return row.data;
  }

  /** Index rows of `line` whose first chunk is at most `maxChunk`, latest first. */
  *indexRowsBackward(line: number, maxChunk: number): Generator<IndexRow> {
    const it = this.guard(() => this.stmts.indexBackward.iterate(line, maxChunk));
    try {
      for (;;) {
        const r = this.guard(() => it.next());
        if (r.done) return;
        yield { line, firstChunk: r.value.first_chunk, lastChunk: r.value.last_chunk, entries: r.value.entries };
      }
    } finally {
      it.return?.();
    }
  }

  /** Index rows of lines [lineLo, lineHi] that overlap chunks [chunkLo, chunkHi]. */
  indexRowsInRange(lineLo: number, lineHi: number, chunkLo: number, chunkHi: number): IndexRow[] {
    return this.guard(() =>
      this.stmts.indexRange.all(lineLo, lineHi, chunkHi, chunkLo).map((r) => ({ line: r.line, firstChunk: r.first_chunk, lastChunk: r.last_chunk, entries: r.entries })),
    );
  }

  events(from: number, to: number, limit: number): StoredEvent[] {
    return this.guard(() =>
      this.stmts.events.all(from, to, limit).map((r) => ({ ...r, errorCode: r.errorCode === null ? null : r.errorCode })),
    );
  }

  output(from: number, to: number): StoredOutput[] {
    return this.guard(() => this.stmts.output.all(from, to));
  }

  /** Chunks in [c0, c1] that accessed `port` (any port when null), ascending. */
  portChunks(port: number | null, c0: number, c1: number): number[] {
    return this.guard(() =>
      (port === null ? this.stmts.anyPortChunks.all(c0, c1) : this.stmts.portChunks.all(port, c0, c1)).map((r) => r.chunk),
    );
  }

  image(): { name: string; sha256: string; data: Buffer } {
    const row = this.guard(() => this.db.prepare("SELECT name, sha256, data FROM image LIMIT 1").get()) as { name: string; sha256: string; data: Buffer } | undefined;
    if (row === undefined) throw new TraceError(`${this.path}: corrupt trace (no image)`);
    return row;
  }

  /** The image of disk `drive` as the run started, checked against its SHA-256. */
  diskImage(disk: StoredDisk): Uint8Array {
    const data = new Uint8Array(disk.size);
    const rows = this.guard(() => this.db.prepare("SELECT offset, data FROM disk_chunk WHERE drive = ? ORDER BY offset").all(disk.drive)) as { offset: number; data: Buffer }[];
    for (const r of rows) {
      let bytes: Buffer;
      try {
        bytes = inflateRawSync(r.data);
      } catch {
        throw new TraceError(`${this.path}: corrupt trace (disk ${disk.name} at offset ${r.offset} does not decompress)`);
      }
      if (r.offset + bytes.length > disk.size) throw new TraceError(`${this.path}: corrupt trace (disk ${disk.name} has data past its size)`);
      data.set(bytes, r.offset);
    }
    if (createHash("sha256").update(data).digest("hex") !== disk.sha256) {
      throw new TraceError(`${this.path}: corrupt trace (disk ${disk.name} does not match its SHA-256)`);
    }
    return data;
  }

  /** The overlay (written sectors) of disk `drive` at keyframe `kf`: each sector's latest stored version. */
  diskOverlayAt(drive: number, kf: number): [number, Uint8Array][] {
    const rows = this.guard(() =>
      this.db.prepare("SELECT sector, data, MAX(keyframe) AS k FROM disk_sector WHERE drive = ? AND keyframe <= ? GROUP BY sector").all(drive, kf),
    ) as { sector: number; data: Buffer }[];
    return rows.map((r) => {
      try {
        return [r.sector, new Uint8Array(inflateRawSync(r.data))];
      } catch {
        throw new TraceError(`${this.path}: corrupt trace (sector ${r.sector} of disk ${drive} does not decompress)`);
      }
    });
  }

  /** Aggregates for `ttd info`. */
  summary(): {
    eventsByVector: { kind: number; vector: number; count: number }[];
    outputBytes: number;
    keyframes: number;
    pages: number;
    indexRows: number;
    ports: { port: number; reads: number; writes: number }[];
  } {
    return this.guard(() => {
      const db = this.db;
      const limit = this.steps;
      return {
        eventsByVector: db.prepare("SELECT kind, vector, COUNT(*) AS count FROM event WHERE step < ? GROUP BY kind, vector ORDER BY kind, vector").all(limit) as { kind: number; vector: number; count: number }[],
        outputBytes: db.prepare("SELECT COUNT(*) FROM serial WHERE step < ?").pluck().get(limit) as number,
        keyframes: this.keyframes.length,
        pages: db.prepare("SELECT COUNT(*) FROM page").pluck().get() as number,
        indexRows: db.prepare("SELECT COUNT(*) FROM write_index").pluck().get() as number,
        ports: db.prepare("SELECT port, SUM(reads) AS reads, SUM(writes) AS writes FROM port_index GROUP BY port ORDER BY port").all() as { port: number; reads: number; writes: number }[],
      };
    });
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

function corrupt(path: string, e: unknown): TraceError {
  const msg = e instanceof Error ? e.message : String(e);
  const code = isSqliteError(e) ? e.code : "";
  if (code === "SQLITE_NOTADB") return new TraceError(`${path}: not a ttd trace (${msg})`);
  return new TraceError(`${path}: corrupt trace (${msg})`);
}

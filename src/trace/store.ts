/**
 * Read access to a trace file: validation on open (not a trace, newer format, truncated, corrupt:
 * one TraceError naming the file), the metadata, and the SQL behind every query. SQLite errors met
 * later (a corrupt page deep in the file) are turned into the same kind of error.
 */
import Database from "better-sqlite3";
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { inflateRawSync } from "node:zlib";
import { createHash } from "node:crypto";
import { APPLICATION_ID, FORMAT_VERSION, FORMAT_VERSION_COMPACT, FORMAT_VERSION_DISKS, FORMAT_VERSION_INPUTS, LINE_BYTES, PAGE_BYTES, TRACE_FORMAT } from "./format.js";
import { TraceError } from "./errors.js";
import { decodeEntries, type IndexRow } from "./index-codec.js";
import { damagedTables, DIGEST_TABLES, LARGE_TABLES, LATER_TABLES, storedDigests } from "./digest.js";
import { decodeTaggedPage, decodeUntaggedPage, decompressState, pageBaseOf } from "./page-codec.js";

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

/** One input from outside (the `input` table): the step it entered at, the device, its bytes. */
export interface StoredInput {
  step: number;
  device: number;
  data: Uint8Array;
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

/** The largest guest RAM a trace may declare (what `ttd run --memory` accepts). */
const MAX_MEMORY_BYTES = 3072 * 1024 * 1024;
/** The largest kernel image a trace may hold (as a bundle's ELF entry). */
const MAX_IMAGE_BYTES = 1 << 30;
/**
 * Traces up to this size have every table's checksum compared on every open (a few milliseconds per
 * MiB); larger ones all but the page and write-index tables, which `ttd info --verify` checks.
 */
export const FULL_CHECK_MAX_BYTES = 4 * 1024 * 1024;

/**
 * How thoroughly a trace is checked when it is opened. "copy": the file is a copy whose every byte the
 * caller has checked against a checksum (a bundle's extracted trace), so the table checksums and
 * SQLite's check, which would find nothing more, are skipped: about 13 ms of a query command's start.
 */
export type VerifyLevel = "open" | "copy" | "full";

/** Reads the 100-byte SQLite header, or explains why `path` cannot be a trace; returns the file's size. */
function checkHeader(path: string): number {
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
  return size;
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
  /** Whether the trace has an `input` table (traces from before inputs were recorded do not). */
  private readonly hasInputTable: boolean;
  /** Format 4: the first keyframe's state text, the dictionary of every later state (read once). */
  private stateDictionary: Buffer | null = null;

  private readonly stmts: {
    keyframeState: Database.Statement<[number], { state: Buffer }>;
    pagesBetween: Database.Statement<[number, number], { page: number }>;
    allPageVersions: Database.Statement<[], [number, number]>;
    pageBlob: Database.Statement<[number, number], { data: Buffer }>;
    indexBackward: Database.Statement<[number, number], { first_chunk: number; last_chunk: number; entries: Buffer }>;
    indexRange: Database.Statement<[number, number, number, number], { line: number; first_chunk: number; last_chunk: number; entries: Buffer }>;
    events: Database.Statement<[number, number, number], StoredEvent>;
    output: Database.Statement<[number, number], StoredOutput>;
    portChunks: Database.Statement<[number, number, number], { chunk: number }>;
    anyPortChunks: Database.Statement<[number, number], { chunk: number }>;
  };

  /** What was checked when the trace was opened (for `ttd info`). */
  readonly checked: string[] = [];
  /** The image row's name and checksum (validated on open). */
  private readonly imageMeta: { name: string; sha256: string };

  private constructor(path: string, db: Database.Database, fileBytes: number, level: VerifyLevel) {
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
    if (version >= FORMAT_VERSION_DISKS) required.push("disk", "disk_chunk", "disk_sector");
    if (version >= FORMAT_VERSION_INPUTS) required.push("input");
    this.hasInputTable = tables.has("input");
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
    // Every number below becomes a size, a loop bound or an allocation: each is checked to be an
    // integer in the range the recorder writes before anything uses it.
    const bad = (what: string) => new TraceError(`${path}: corrupt trace (${what})`);
    const num = (key: string, min: number, max: number): number => {
      const text = meta.get(key);
      if (text === undefined || !/^[0-9]+$/.test(text)) throw bad(`meta '${key}' is missing or not a whole number`);
      const v = Number(text);
      if (v < min || v > max) throw bad(`meta '${key}' is ${text}, outside ${min}..${max}`);
      return v;
    };
    const MIB = 1024 * 1024;
    this.memoryBytes = num("memory_bytes", MIB, MAX_MEMORY_BYTES);
    if (this.memoryBytes % MIB !== 0) throw bad(`meta 'memory_bytes' is ${this.memoryBytes}, not a whole number of MiB`);
    this.chunkSteps = num("chunk_steps", 1, 2 ** 31);
    this.keyframeSteps = num("keyframe_steps", 1, 2 ** 40);
    if (this.keyframeSteps % this.chunkSteps !== 0) throw bad(`meta 'keyframe_steps' is not a multiple of 'chunk_steps'`);
    if (meta.has("line_bytes")) num("line_bytes", LINE_BYTES, LINE_BYTES);
    if (meta.has("page_bytes")) num("page_bytes", PAGE_BYTES, PAGE_BYTES);
    this.startStep = num("start_step", 0, Number.MAX_SAFE_INTEGER);
    const progress = db.prepare("SELECT steps, writes FROM progress WHERE id = 1").get() as { steps: unknown; writes: unknown } | undefined;
    if (progress === undefined) throw bad("no progress row");
    const whole = (v: unknown, what: string): number => {
      if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) throw bad(`${what} is not a whole number`);
      return v;
    };
    const progressSteps = whole(progress.steps, "progress.steps");
    this.complete = meta.has("end_reason");
    this.steps = this.complete ? num("steps", this.startStep, Number.MAX_SAFE_INTEGER) : progressSteps;
    if (this.steps < this.startStep) throw bad(`progress.steps is ${this.steps}, before the first step ${this.startStep}`);
    this.writes = whole(progress.writes, "progress.writes");
    const kfs = db.prepare("SELECT step FROM keyframe ORDER BY step").pluck().all() as unknown[];
    for (const k of kfs) if (typeof k !== "number" || !Number.isSafeInteger(k) || k < this.startStep || k > this.steps) throw bad(`a keyframe step is outside the trace`);
    this.keyframes = Float64Array.from(kfs as number[]);
    if (this.keyframes.length === 0 || this.keyframes[0] !== this.startStep) {
      throw bad("no keyframe at the first step");
    }
    this.imageMeta = this.checkImage();
    this.checked.push("image checksum");
    this.checkDigests(fileBytes, level, tables);
    this.stmts = {
      keyframeState: db.prepare("SELECT state FROM keyframe WHERE step = ?"),
      pagesBetween: db.prepare("SELECT DISTINCT page FROM page WHERE keyframe > ? AND keyframe <= ?"),
      allPageVersions: db.prepare<[], [number, number]>("SELECT page, keyframe FROM page ORDER BY page, keyframe").raw(true),
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

  /**
   * Opens and validates `path`; every failure is a TraceError naming the file. `level` "full" also
   * runs SQLite's integrity check, compares every table's checksum whatever the size and decodes
   * every stored blob (`ttd info --verify`).
   *
   * The file is opened read-only: reading never changes a trace (a killed recording's -wal file
   * stays beside it, and is read as it is). Only when SQLite cannot read it that way (a WAL trace
   * whose shared-memory file cannot be created) is it opened for writing.
   */
  static open(path: string, level: VerifyLevel = "open"): TraceStore {
    const size = checkHeader(path);
    let db: Database.Database;
    try {
      db = new Database(path, { fileMustExist: true, readonly: true });
      db.prepare("SELECT count(*) FROM sqlite_schema").get();
    } catch {
      try {
        db = new Database(path, { fileMustExist: true });
      } catch (e) {
        throw new TraceError(`${path}: cannot open (${(e as Error).message})`);
      }
    }
    try {
      return new TraceStore(path, db, size, level);
    } catch (e) {
      db.close();
      if (e instanceof TraceError) throw e;
      throw corrupt(path, e);
    }
  }

  /** Checks the image row (one row, a SHA-256 that matches its bytes, a sane size); returns its name and checksum. */
  private checkImage(): { name: string; sha256: string } {
    const bad = (what: string) => new TraceError(`${this.path}: corrupt trace (${what})`);
    const rows = this.db.prepare("SELECT name, sha256, size, length(data) AS len, typeof(data) AS type FROM image").all() as { name: unknown; sha256: unknown; size: unknown; len: unknown; type: unknown }[];
    if (rows.length !== 1) throw bad(`${rows.length} kernel images, expected 1`);
    const r = rows[0];
    if (typeof r.name !== "string" || r.name.length > 4096) throw bad("the kernel image's name is not a short text");
    if (typeof r.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(r.sha256)) throw bad("the kernel image's checksum is not a SHA-256");
    if (r.type !== "blob" || typeof r.len !== "number" || r.len > MAX_IMAGE_BYTES) throw bad("the kernel image is not a blob of at most 1 GiB");
    if (r.size !== r.len) throw bad(`the kernel image is ${String(r.len)} bytes, its row says ${String(r.size)}`);
    const data = this.db.prepare("SELECT data FROM image").pluck().get() as Buffer;
    if (createHash("sha256").update(data).digest("hex") !== r.sha256) throw bad("the kernel image fails its checksum");
    return { name: r.name, sha256: r.sha256 };
  }

  /**
   * Compares table checksums (digest.ts) when the trace has them: on every open the small tables, and
   * the large ones too when the file is small or `level` is "full". Throws naming every damaged table.
   */
  private checkDigests(fileBytes: number, level: VerifyLevel, tables: ReadonlySet<string>): void {
    if (level === "copy") {
      this.checked.push("extracted trace (checked against the bundle when extracted)");
      return;
    }
    const stored = storedDigests(this.db);
    if (stored === null) {
      if (this.complete && level === "full") this.checked.push("no table checksums (finalized by an older ttd)");
      else if (level === "full") this.checked.push("no table checksums (the recording was not finalized)");
      return;
    }
    if (!this.complete) throw new TraceError(`${this.path}: corrupt trace (table checksums in a recording that was not finalized)`);
    const all = level === "full" || fileBytes <= FULL_CHECK_MAX_BYTES;
    // Tables added after digests existed are checked where they exist and a digest was written (a
    // version 3 trace, with inputs, is always written with one for `input`, a table it requires).
    const names = Object.keys(DIGEST_TABLES).filter((n) => (all || !LARGE_TABLES.has(n)) && (!LATER_TABLES.has(n) || (tables.has(n) && (stored.has(n) || (n === "input" && this.formatVersion >= FORMAT_VERSION_INPUTS)))));
    const damaged = damagedTables(this.db, stored, names);
    if (damaged.length > 0) {
      throw new TraceError(`${this.path}: corrupt trace (${damaged.length === 1 ? "table" : "tables"} ${damaged.join(", ")} ${damaged.length === 1 ? "fails its" : "fail their"} checksum)`);
    }
    this.checked.push(all ? `checksums of all ${names.length} tables` : `checksums of ${names.length} small tables (${[...LARGE_TABLES].join(", ")}: ttd info --verify)`);
    // The checksums read the tables; queries go through their indexes too, so a damaged index
    // would answer differently from a sound table. SQLite's integrity check compares them.
    if (all && level !== "full") {
      this.integrityCheck();
      this.checked.push("SQLite integrity_check");
    }
  }

  /** SQLite's integrity check (pages, and every index against its table); throws naming the first problem. */
  private integrityCheck(): void {
    const messages = checkMessages(this.db.pragma("integrity_check(20)") as Record<string, unknown>[]);
    if (messages.length > 0) throw new TraceError(`${this.path}: corrupt trace (SQLite: ${messages[0]}${messages.length > 1 ? ` and ${messages.length - 1} more problems` : ""})`);
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
    const messages = checkMessages(this.guard(() => this.db.pragma("quick_check(20)") as Record<string, unknown>[]));
    if (messages.length > 0) throw new TraceError(`${this.path}: corrupt trace (SQLite: ${messages[0]})`);
    this.checked.push("SQLite quick_check");
  }

  /**
   * The full check (`ttd info --verify`): SQLite's integrity check (every page, and every index
   * against its table), then every stored blob decoded: keyframe states, pages, write-index rows.
   * Throws one TraceError listing what is damaged. Table checksums were compared by open("full").
   */
  verifyAll(): void {
    const problems: string[] = [];
    try {
      this.guard(() => this.integrityCheck());
    } catch (e) {
      problems.push((e as Error).message.replace(`${this.path}: corrupt trace (`, "").replace(/\)$/, ""));
    }
    const count = (what: string, n: number, first: string) => {
      if (n > 0) problems.push(`${n} ${what}${n === 1 ? "" : "s"} ${n === 1 ? "does" : "do"} not decode (first: ${first})`);
    };
    let badKf = 0, firstKf = "";
    for (const kf of this.keyframes) {
      try {
        JSON.parse(this.keyframeStateText(kf));
      } catch {
        if (badKf++ === 0) firstKf = `step ${kf}`;
      }
    }
    count("keyframe state", badKf, firstKf);
    let badPage = 0, firstPage = "";
    const pages = this.guard(() => this.db.prepare("SELECT keyframe, page, data FROM page").raw(true).iterate()) as Iterable<[number, number, Buffer]>;
    for (const [kf, page, data] of pages) {
      let ok = Buffer.isBuffer(data) && Number.isSafeInteger(page) && page >= 0 && page < this.memoryBytes / PAGE_BYTES;
      if (ok) {
        try {
          const bytes = this.decodePageBlob(page, kf, data);
          ok = bytes === null || bytes.length === PAGE_BYTES;
        } catch {
          ok = false;
        }
      }
      if (!ok && badPage++ === 0) firstPage = `page ${page} of keyframe ${kf}`;
    }
    count("stored page", badPage, firstPage);
    let badRow = 0, firstRow = "";
    const chunks: number[] = [], masks: number[] = [];
    const lastChunk = Math.floor(this.steps / this.chunkSteps);
    for (const r of this.guard(() => this.db.prepare("SELECT line, first_chunk, last_chunk, entries FROM write_index").raw(true).iterate()) as Iterable<[number, number, number, Buffer]>) {
      const [line, first, last, entries] = r;
      let ok = Buffer.isBuffer(entries) && Number.isSafeInteger(line) && line >= 0 && line < this.memoryBytes / LINE_BYTES;
      if (ok) {
        chunks.length = 0;
        masks.length = 0;
        try {
          decodeEntries(first, entries, chunks, masks);
          ok = chunks.length > 0 && chunks[0] === first && chunks[chunks.length - 1] === last && last <= lastChunk;
          for (let i = 1; ok && i < chunks.length; i++) ok = chunks[i] > chunks[i - 1];
        } catch {
          ok = false;
        }
      }
      if (!ok && badRow++ === 0) firstRow = `line ${line}, chunk ${first}`;
    }
    count("write-index row", badRow, firstRow);
    if (problems.length > 0) throw new TraceError(`${this.path}: corrupt trace (${problems.join("; ")})`);
    this.checked.push("SQLite integrity_check", "every stored blob decoded");
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
    // Format 4: every state but the first is compressed against the first one's text.
    const first = this.keyframes[0];
    const dictionary = this.formatVersion >= FORMAT_VERSION_COMPACT && kf !== first ? (this.stateDictionary ??= Buffer.from(this.keyframeStateText(first), "utf8")) : null;
    try {
      return decompressState(row.state, dictionary);
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
  private versions: Map<number, Float64Array> | null = null;

  /** The keyframe holding the version of `page` current at keyframe `kf`, or -1 (never stored: zeros). */
  pageVersion(page: number, kf: number): number {
    // All at once, read from the (page, keyframe) index alone: the first restore of a large trace asks
    // for every page of RAM, and one query per page cost a second on a 256 MiB guest.
    this.versions ??= this.loadPageVersions();
    const v = this.versions.get(page);
    if (v === undefined) return -1;
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

  private loadPageVersions(): Map<number, Float64Array> {
    const rows = this.guard(() => this.stmts.allPageVersions.all());
    const out = new Map<number, Float64Array>();
    for (let i = 0; i < rows.length; ) {
      const page = rows[i][0];
      let j = i;
      while (j < rows.length && rows[j][0] === page) j++;
      const v = new Float64Array(j - i);
      for (let k = i; k < j; k++) v[k - i] = rows[k][1];
      out.set(page, v);
      i = j;
    }
    return out;
  }

  /** The stored blob of `page` at exactly keyframe `kf` (see page-codec.ts). */
  pageBlob(page: number, kf: number): Buffer {
    const row = this.guard(() => this.stmts.pageBlob.get(page, kf));
    if (row === undefined) throw new TraceError(`${this.path}: corrupt trace (page ${page} of keyframe ${kf} is missing)`);
    return row.data;
  }

  /**
   * The contents of `page` stored at exactly keyframe `kf` (null: all zeros). Throws a TraceError
   * for a missing row, an Error for a blob that does not decode.
   */
  pageBytes(page: number, kf: number): Uint8Array | null {
    return this.decodePageBlob(page, kf, this.pageBlob(page, kf));
  }

  /** Decodes `blob`, the version of `page` stored at keyframe `kf` (reading its base, if it has one). */
  private decodePageBlob(page: number, kf: number, blob: Buffer): Uint8Array | null {
    if (this.formatVersion < FORMAT_VERSION_COMPACT) return decodeUntaggedPage(blob);
    const baseStep = pageBaseOf(blob);
    if (baseStep < 0) return decodeTaggedPage(blob, null);
    const baseBlob = this.pageBlob(page, baseStep);
    // A base is stored on its own and lies before the versions against it.
    if (baseStep >= kf || pageBaseOf(baseBlob) >= 0) throw new Error(`page ${page} of keyframe ${kf}: bad base ${baseStep}`);
    return decodeTaggedPage(blob, decodeTaggedPage(baseBlob, null));
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
    const data = this.guard(() => this.db.prepare("SELECT data FROM image LIMIT 1").pluck().get()) as Buffer | undefined;
    if (data === undefined) throw new TraceError(`${this.path}: corrupt trace (no image)`);
    return { ...this.imageMeta, data };
  }

  /** The image's name and checksum, without reading its bytes. */
  imageInfo(): { name: string; sha256: string } {
    return this.imageMeta;
  }

  /**
   * Every input from outside, in the order it entered (empty for traces without inputs). Checked on
   * the way out: a step outside the trace, an unknown device or an empty event is damage.
   */
  inputs(): StoredInput[] {
    if (!this.hasInputTable) return [];
    const rows = this.guard(() => this.db.prepare("SELECT step, device, data FROM input ORDER BY rowid").all()) as { step: unknown; device: unknown; data: unknown }[];
    let last = this.startStep;
    return rows.map((r) => {
      const ok = typeof r.step === "number" && Number.isSafeInteger(r.step) && r.step >= last && r.step <= this.steps
        && (r.device === 0 || r.device === 1) && Buffer.isBuffer(r.data) && r.data.length > 0 && r.data.length <= 16;
      if (!ok) throw new TraceError(`${this.path}: corrupt trace (an input row is malformed or out of order)`);
      last = r.step as number;
      return { step: r.step as number, device: r.device as number, data: new Uint8Array(r.data as Buffer) };
    });
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

/**
 * The problems an integrity_check or quick_check reported, one line each: its rows without "ok" and
 * without the "*** in database main ***" headings (a message may span lines).
 */
function checkMessages(rows: Record<string, unknown>[]): string[] {
  const out: string[] = [];
  for (const r of rows) {
    for (const line of String(Object.values(r)[0]).split("\n")) {
      const t = line.trim();
      if (t !== "" && t !== "ok" && !t.startsWith("***")) out.push(t);
    }
  }
  return out;
}

function corrupt(path: string, e: unknown): TraceError {
  const msg = (e instanceof Error ? e.message : String(e)).split("\n")[0];
  const code = isSqliteError(e) ? e.code : "";
  if (code === "SQLITE_NOTADB") return new TraceError(`${path}: not a ttd trace (${msg})`);
  return new TraceError(`${path}: corrupt trace (${msg})`);
}

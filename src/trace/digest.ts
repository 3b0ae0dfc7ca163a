/**
 * Content checksums of a trace: one SHA-256 per table over its rows in a fixed order, written when
 * the recording is finalized (table `digest`) and compared by readers. SQLite has no checksums of its
 * own, and a trace is mostly numbers and compressed blobs: one changed byte in a stored page or an
 * index row decodes to a different but plausible value, and queries would answer wrongly without a
 * sign. The digests turn any such change into "this table is damaged".
 *
 * Rows are hashed in primary-key order (insertion order for rowid tables, without the rowid itself,
 * which VACUUM may renumber), each value as the SQL literal quote() gives (so its type is part of it),
 * so a value that changes, changes type or moves between columns changes the digest. The bookmark side table is not covered: it is meant to change.
 */
import type Database from "better-sqlite3";
import { createHash } from "node:crypto";

/** The table holding the digests (new in format 1 traces finalized by this ttd; older ones lack it). */
export const DIGEST_TABLE = "digest";
export const DIGEST_SCHEMA = `CREATE TABLE IF NOT EXISTS ${DIGEST_TABLE}(name TEXT PRIMARY KEY, rows INTEGER NOT NULL, sha256 TEXT NOT NULL) WITHOUT ROWID`;

/** Every table of the format: its columns, and the key its rows are hashed in the order of. */
export const DIGEST_TABLES: Readonly<Record<string, { columns: readonly string[]; order: string; blobs?: true }>> = {
  meta: { columns: ["key", "value"], order: "key" },
  image: { columns: ["name", "sha256", "size", "data"], order: "rowid", blobs: true },
  progress: { columns: ["id", "steps", "writes", "batches"], order: "id" },
  keyframe: { columns: ["step", "state"], order: "step", blobs: true },
  page: { columns: ["keyframe", "page", "data"], order: "rowid", blobs: true },
  write_index: { columns: ["line", "first_chunk", "last_chunk", "entries"], order: "line, first_chunk" },
  event: { columns: ["step", "kind", "vector", "error_code", "eip", "cpl_before", "cpl_after", "handler_eip"], order: "rowid" },
  serial: { columns: ["step", "stream", "byte"], order: "rowid" },
  port_index: { columns: ["port", "chunk", "reads", "writes"], order: "port, chunk" },
  input: { columns: ["step", "device", "data"], order: "rowid" },
  disk: { columns: ["drive", "name", "sha256", "size", "write_back"], order: "drive" },
  disk_chunk: { columns: ["drive", "offset", "data"], order: "drive, offset", blobs: true },
  disk_sector: { columns: ["drive", "sector", "keyframe", "data"], order: "drive, sector, keyframe", blobs: true },
};

/**
 * Tables added after digests existed: traces finalized before them have no digest for them (and may
 * lack the table), so they are checked only where a digest was written.
 */
export const LATER_TABLES: ReadonlySet<string> = new Set(["input", "disk", "disk_chunk", "disk_sector"]);

/**
 * The tables that grow with the length of the run in steps (a keyframe every interval, its pages,
 * the index of every chunk); the rest grow only with what the guest did that is rare (events, output,
 * input) or not at all. Checking them on every open would make opening a long trace slow.
 */
export const LARGE_TABLES: ReadonlySet<string> = new Set(["keyframe", "page", "write_index", "disk_chunk", "disk_sector"]);

export interface TableDigest {
  name: string;
  rows: number;
  sha256: string;
}

/**
 * Rows per aggregate query: bounds the text held at once. Tables of stored pages and state blobs quote
 * to kilobytes a row (a page to 8 KiB of hex), so they go in small batches: with 1024 of them, the
 * finalizing recorder's memory peaked tens of MiB above its steady state. A write-index row quotes
 * to up to about 1.5 KiB (256 entries): at 1024 rows a query the digests of a 1 G-step trace lifted
 * the recorder's peak by 19 MiB, at 256 by 1. The hashed text is the same whatever the batch size
 * (each row, and so each batch, ends with the separator).
 */
const ROWS_PER_BATCH = 256;
const BLOB_ROWS_PER_BATCH = 32;
/** Separates rows in the hashed text (values are SQL literals from quote(), so it is unambiguous). */
const ROW_SEPARATOR = "char(30)";

/**
 * The digest of one table as it is now: the SHA-256 of its rows as SQL literals (quote(): type and
 * value, blobs in hex), in key order. SQLite serializes and concatenates a batch of rows per query,
 * so the cost is one JavaScript call per batch, not per row or value.
 */
export function tableDigest(db: Database.Database, name: string): TableDigest {
  const table = DIGEST_TABLES[name];
  if (table === undefined) throw new Error(`no digest order for table ${name}`);
  const order = table.order;
  const batchRows = table.blobs === true ? BLOB_ROWS_PER_BATCH : ROWS_PER_BATCH;
  const key = order.split(",").map((k) => k.trim());
  const keyTuple = key.length === 1 ? key[0] : `(${key.join(", ")})`;
  const params = key.length === 1 ? "?" : `(${key.map(() => "?").join(", ")})`;
  const row = table.columns.map((c) => `quote(${c})`).join(" || ',' || ");
  // The inner query walks the table (or its primary key) in key order and the aggregate takes rows
  // as they come: SQLite keeps that order, and an ORDER BY inside group_concat would sort again.
  const aggregate = (where: string) => db.prepare(`SELECT count(*), group_concat(r, ${ROW_SEPARATOR}) FROM (SELECT ${row} AS r FROM ${name} ${where} ORDER BY ${order})`).raw(true);
  const boundary = (where: string) => db.prepare(`SELECT ${key.join(", ")} FROM ${name} ${where} ORDER BY ${order} LIMIT 1 OFFSET ${batchRows - 1}`).raw(true);
  const hash = createHash("sha256");
  let rows = 0;
  const take = (r: unknown[]) => {
    rows += r[0] as number;
    if (r[1] !== null) hash.update(`${String(r[1])}\x1e`);
  };
  // Statements are prepared as needed: most tables of a small trace fit in one batch.
  let lo = boundary("").get() as unknown[] | undefined;
  if (lo === undefined) {
    take(aggregate("").get() as unknown[]);
  } else {
    take(aggregate(`WHERE ${keyTuple} <= ${params}`).get(...lo) as unknown[]);
    const nextBoundary = boundary(`WHERE ${keyTuple} > ${params}`);
    const between = aggregate(`WHERE ${keyTuple} > ${params} AND ${keyTuple} <= ${params}`);
    for (;;) {
      const hi = nextBoundary.get(...lo) as unknown[] | undefined;
      if (hi === undefined) {
        take(aggregate(`WHERE ${keyTuple} > ${params}`).get(...lo) as unknown[]);
        break;
      }
      take(between.get(...lo, ...hi) as unknown[]);
      lo = hi;
    }
  }
  return { name, rows, sha256: hash.digest("hex") };
}

/**
 * The digest of a table built as its rows are inserted, for a table whose key order is its insertion
 * order (`page` by rowid, `keyframe` by step): the text tableDigest hashes, each value as quote()
 * writes it (an integer in decimal, a blob as X'...' in upper-case hex), so the writer need not read
 * the largest table back when it finalizes a trace.
 */
export class AppendDigest {
  private readonly hash = createHash("sha256");
  private rows = 0;

  constructor(readonly name: string) {
    if (DIGEST_TABLES[name] === undefined) throw new Error(`no digest order for table ${name}`);
  }

  /** One row, its columns in DIGEST_TABLES order: integers and blobs only. */
  add(values: readonly (number | Uint8Array)[]): void {
    let text = "";
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (i > 0) text += ",";
      if (typeof v === "number") {
        if (!Number.isSafeInteger(v)) throw new Error(`${this.name}: ${v} is not an integer`);
        text += String(v);
      } else {
        text += `X'${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("hex").toUpperCase()}'`;
      }
    }
    this.hash.update(`${text}\x1e`);
    this.rows++;
  }

  digest(): TableDigest {
    return { name: this.name, rows: this.rows, sha256: this.hash.digest("hex") };
  }
}

/**
 * Computes and stores the digest of every table (inside the caller's finalizing transaction); `built`
 * are digests already made while the rows were inserted (AppendDigest).
 */
export function writeDigests(db: Database.Database, built: readonly TableDigest[] = []): void {
  db.exec(DIGEST_SCHEMA);
  const put = db.prepare<[string, number, string]>(`INSERT OR REPLACE INTO ${DIGEST_TABLE}(name, rows, sha256) VALUES (?, ?, ?)`);
  for (const name of Object.keys(DIGEST_TABLES)) {
    if (LATER_TABLES.has(name) && db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?").get(name) === undefined) continue;
    const d = built.find((b) => b.name === name) ?? tableDigest(db, name);
    put.run(d.name, d.rows, d.sha256);
  }
}

/**
 * The stored digests, or null when the trace has none (not finalized, or finalized by an older ttd).
 * A digest table that is itself malformed is reported as damage by the caller.
 */
export function storedDigests(db: Database.Database): Map<string, { rows: unknown; sha256: unknown }> | null {
  const has = db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?").get(DIGEST_TABLE);
  if (has === undefined) return null;
  const out = new Map<string, { rows: unknown; sha256: unknown }>();
  for (const r of db.prepare(`SELECT name, rows, sha256 FROM ${DIGEST_TABLE}`).all() as { name: unknown; rows: unknown; sha256: unknown }[]) {
    out.set(String(r.name), { rows: r.rows, sha256: r.sha256 });
  }
  return out;
}

/**
 * Compares the tables `names` with their stored digests; returns the names of those that differ
 * (or whose digest is missing or malformed).
 */
export function damagedTables(db: Database.Database, stored: Map<string, { rows: unknown; sha256: unknown }>, names: Iterable<string>): string[] {
  const bad: string[] = [];
  for (const name of names) {
    const want = stored.get(name);
    if (want === undefined || typeof want.sha256 !== "string") {
      bad.push(name);
      continue;
    }
    const got = tableDigest(db, name);
    if (got.sha256 !== want.sha256 || got.rows !== want.rows) bad.push(name);
  }
  return bad;
}

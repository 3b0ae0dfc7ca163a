/**
 * Writes a trace: creates the database, then stores the recorder's batches as they come inside one
 * open transaction, committed when a batch says so (every few tens of millions of steps).
 * Runs in a worker thread during `ttd record` (so compression and SQLite use the second core) or
 * inline (library callers, tests); the code is the same.
 *
 * Crash safety: WAL mode with synchronous=NORMAL. Each batch's transaction also moves
 * `progress.steps`, so after a `kill -9` the trace holds a consistent prefix: everything for the steps
 * below the last committed `progress.steps`. finish() records how the run ended and every table's
 * checksum, checkpoints the WAL and returns the database to rollback-journal mode, leaving one
 * self-contained file.
 */
import Database from "better-sqlite3";
import { closeSync, openSync, statSync } from "node:fs";
import { deflateRawSync, constants as zlibConstants } from "node:zlib";
import { APPLICATION_ID, DISK_CHUNK_BYTES, FORMAT_VERSION, PAGE_BYTES, SCHEMA } from "./format.js";
import { SECTOR_BYTES } from "../machine/disk-image.js";
import { IndexRowBuilder } from "./index-codec.js";
import { compressState, PageCompressor } from "./page-codec.js";
import { AppendDigest, writeDigests } from "./digest.js";
import { EVENT_FIELDS, PORT_FIELDS, SERIAL_FIELDS, type Batch, type TraceEnd, type TraceInit } from "./batch.js";

/**
 * Database pages the write-ahead log may hold before a commit copies them into the file (SQLite's
 * default is 1,000). Each commit puts every index page it touched in the log (about 8 MiB a commit on
 * probe-r300), so with the default every commit was followed by a checkpoint, two fsyncs and the copy
 * of pages the next commit rewrites again: a quarter of the writer's time. With 64 MiB a page is copied
 * once for several commits. Checkpoints change where the pages are, never what the file holds once
 * finished.
 */
const WAL_CHECKPOINT_PAGES = 16384;

export class TraceWriter {
  private readonly db: Database.Database;
  readonly path: string;
  private readonly insertIndex: Database.Statement<[number, number, number, Buffer]>;
  private readonly insertPort: Database.Statement<[number, number, number, number]>;
  private readonly insertEvent: Database.Statement<[number, number, number, number | null, number, number, number, number]>;
  private readonly insertSerial: Database.Statement<[number, number, number]>;
  private readonly insertInput: Database.Statement<[number, number, Buffer]>;
  private readonly insertKeyframe: Database.Statement<[number, Buffer]>;
  private readonly insertPage: Database.Statement<[number, number, Buffer]>;
  private readonly insertSector: Database.Statement<[number, number, number, Buffer]>;
  private readonly updateProgress: Database.Statement<[number, number, number]>;
  private readonly begin: Database.Statement;
  private readonly commit: Database.Statement;
  private readonly rows: IndexRowBuilder;
  /** Batches committed so far (`progress.batches`). */
  private commits = 0;
  private readonly pages = new PageCompressor();
  /** The digests of the tables the recording only appends to, built as their rows go in. */
  private readonly pageDigest = new AppendDigest("page");
  private readonly keyframeDigest = new AppendDigest("keyframe");
  /** The first keyframe's state text: the dictionary every later keyframe state is compressed with. */
  private stateDictionary: Buffer | null = null;
  private closed = false;

  /** Creates the trace at `init.path`, which must not exist (it is never overwritten). */
  constructor(init: TraceInit) {
    this.path = init.path;
    // Exclusive creation: an existing file, even one created a moment ago by someone else, is an error.
    closeSync(openSync(init.path, "wx"));
    const db = new Database(init.path);
    this.db = db;
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    // 8 MiB of page cache: enough for the index pages inserts touch (the tails of the active lines);
    // a larger cache only grows the recorder's memory with the trace.
    db.pragma("cache_size = -8192");
    db.pragma(`wal_autocheckpoint = ${WAL_CHECKPOINT_PAGES}`);
    const create = db.transaction(() => {
      db.pragma(`application_id = ${APPLICATION_ID}`);
      db.pragma(`user_version = ${FORMAT_VERSION}`);
      db.exec(SCHEMA);
      const meta = db.prepare<[string, string]>("INSERT INTO meta(key, value) VALUES (?, ?)");
      for (const [k, v] of Object.entries(init.meta)) meta.run(k, v);
      db.prepare<[string, string, number, Buffer]>("INSERT INTO image(name, sha256, size, data) VALUES (?, ?, ?, ?)")
        .run(init.image.name, init.image.sha256, init.image.data.length, Buffer.from(init.image.data.buffer, init.image.data.byteOffset, init.image.data.byteLength));
      db.prepare("INSERT INTO progress(id, steps, writes, batches) VALUES (1, 0, 0, 0)").run();
      const disk = db.prepare<[number, string, string, number, number]>("INSERT INTO disk(drive, name, sha256, size, write_back) VALUES (?, ?, ?, ?, ?)");
      const chunk = db.prepare<[number, number, Buffer]>("INSERT INTO disk_chunk(drive, offset, data) VALUES (?, ?, ?)");
      for (const d of init.disks) {
        disk.run(d.drive, d.name, d.sha256, d.data.length, d.writeBack ? 1 : 0);
        for (let off = 0; off < d.data.length; off += DISK_CHUNK_BYTES) {
          const piece = d.data.subarray(off, Math.min(off + DISK_CHUNK_BYTES, d.data.length));
          if (piece.every((x) => x === 0)) continue;
          chunk.run(d.drive, off, deflateRawSync(piece, { level: zlibConstants.Z_BEST_SPEED }));
        }
      }
    });
    create();
    this.insertIndex = db.prepare("INSERT INTO write_index(line, first_chunk, last_chunk, entries) VALUES (?, ?, ?, ?)");
    this.insertPort = db.prepare(
      "INSERT INTO port_index(port, chunk, reads, writes) VALUES (?, ?, ?, ?) ON CONFLICT(port, chunk) DO UPDATE SET reads = reads + excluded.reads, writes = writes + excluded.writes",
    );
    this.insertEvent = db.prepare("INSERT INTO event(step, kind, vector, error_code, eip, cpl_before, cpl_after, handler_eip) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    this.insertSerial = db.prepare("INSERT INTO serial(step, stream, byte) VALUES (?, ?, ?)");
    this.insertInput = db.prepare("INSERT INTO input(step, device, data) VALUES (?, ?, ?)");
    this.insertKeyframe = db.prepare("INSERT INTO keyframe(step, state) VALUES (?, ?)");
    this.insertPage = db.prepare("INSERT INTO page(keyframe, page, data) VALUES (?, ?, ?)");
    this.insertSector = db.prepare("INSERT INTO disk_sector(drive, sector, keyframe, data) VALUES (?, ?, ?, ?)");
    this.updateProgress = db.prepare("UPDATE progress SET steps = ?, writes = ?, batches = ? WHERE id = 1");
    this.begin = db.prepare("BEGIN");
    this.commit = db.prepare("COMMIT");
    // Rows go in as they fill, and the open ones at each commit: a transaction then touches each
    // line's tail once, however many chunks it spans.
    const insertIndex = this.insertIndex;
    this.rows = new IndexRowBuilder((line, first, last, entries) => {
      insertIndex.run(line, first, last, Buffer.from(entries.buffer, entries.byteOffset, entries.byteLength));
    });
  }

  /**
   * Stores one batch in the open transaction (beginning one if needed) and commits when the batch
   * says so. After an error the transaction is left open: close() rolls it back.
   */
  apply(b: Batch): void {
    if (!this.db.inTransaction) this.begin.run();
    // Keyframes first: compression dominates, and the rows are independent of the index.
    for (const k of b.keyframes) {
      const state = compressState(k.state, this.stateDictionary);
      this.insertKeyframe.run(k.step, state);
      this.keyframeDigest.add([k.step, state]);
      this.stateDictionary ??= Buffer.from(k.state, "utf8");
      for (let i = 0; i < k.pages.length; i++) {
        const bytes = k.data.subarray(i * PAGE_BYTES, (i + 1) * PAGE_BYTES);
        const blob = this.pages.compress(k.pages[i], k.step, bytes);
        this.insertPage.run(k.step, k.pages[i], blob);
        this.pageDigest.add([k.step, k.pages[i], blob]);
      }
      for (const d of k.disks) {
        for (let i = 0; i < d.sectors.length; i++) {
          const bytes = d.data.subarray(i * SECTOR_BYTES, (i + 1) * SECTOR_BYTES);
          this.insertSector.run(d.drive, d.sectors[i], k.step, deflateRawSync(bytes, { level: zlibConstants.Z_BEST_SPEED }));
        }
      }
    }
    this.rows.add(b.index);
    const ports = b.ports;
    for (let i = 0; i < ports.length; i += PORT_FIELDS) this.insertPort.run(ports[i], ports[i + 1], ports[i + 2], ports[i + 3]);
    const ev = b.events;
    for (let i = 0; i < ev.length; i += EVENT_FIELDS) {
      this.insertEvent.run(ev[i], ev[i + 1], ev[i + 2], ev[i + 3] < 0 ? null : ev[i + 3], ev[i + 4] >>> 0, ev[i + 5], ev[i + 6], ev[i + 7] >>> 0);
    }
    const s = b.serial;
    for (let i = 0; i < s.length; i += SERIAL_FIELDS) this.insertSerial.run(s[i], s[i + 1], s[i + 2]);
    const inp = b.inputs;
    for (let i = 0; i < inp.length; ) {
      const n = inp[i + 2];
      this.insertInput.run(inp[i], inp[i + 1], Buffer.from(Uint8Array.from(inp.subarray(i + 3, i + 3 + n))));
      i += 3 + n;
    }
    if (b.commit) {
      // Commits end on chunk boundaries (see Recorder), so (line, first_chunk) never repeats across them.
      this.rows.finish();
      this.updateProgress.run(b.upTo, b.writes, ++this.commits);
      this.commit.run();
    }
  }

  /** Size of the trace on disk so far (database plus write-ahead log). */
  fileBytes(): number {
    return fileBytes(this.path);
  }

  /** Records how the run ended and leaves a single, self-contained file. */
  finish(end: TraceEnd): number {
    const db = this.db;
    if (db.inTransaction) throw new Error("the trace writer was asked to finish with an uncommitted batch");
    const meta = db.prepare<[string, string]>("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)");
    db.transaction(() => {
      meta.run("end_reason", end.reason);
      meta.run("end_detail", end.detail);
      if (end.exitStatus !== null) meta.run("exit_status", String(end.exitStatus));
      meta.run("steps", String(end.steps));
      meta.run("finished", new Date().toISOString());
      // Last, so the checksums cover the rows just written: readers compare them (digest.ts).
      writeDigests(db, [this.pageDigest.digest(), this.keyframeDigest.digest()]);
    })();
    try {
      db.pragma("wal_checkpoint(TRUNCATE)");
      db.pragma("journal_mode = DELETE");
    } catch {
      // Another connection has the trace open (a reader of the live recording): it stays in WAL
      // mode, complete and valid; SQLite folds the -wal file in when the last connection closes.
    }
    this.close();
    return fileBytes(this.path);
  }

  /** Closes without finalizing (the trace stays valid up to the last committed batch). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }
}

export function fileBytes(path: string): number {
  let n = 0;
  for (const suffix of ["", "-wal"]) {
    try {
      n += statSync(path + suffix).size;
    } catch {
      // no such file: nothing to add
    }
  }
  return n;
}

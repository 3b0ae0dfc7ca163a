/**
 * The trace file format: an SQLite database, versioned through the header's `application_id` and
 * `user_version`, laid out as described in docs/trace-format.md. This module holds the constants and
 * the schema shared by the writer (recording) and the reader (queries).
 *
 * The design in one paragraph: nothing is stored per instruction. Keyframes (CPU and device state plus
 * the RAM pages dirtied since the previous keyframe) let any step be rebuilt by deterministic
 * re-execution, and a per-chunk summary of which 64-byte memory lines were written (with a mask of
 * which dwords) is indexed by line, so "the last chunk before step T that wrote address A" is one
 * B-tree lookup; the exact write (step, old and new value, EIP, cause) is then found by re-running that
 * one chunk with an observer attached.
 */
import { readFileSync } from "node:fs";

/** Value of meta `format`. */
export const TRACE_FORMAT = "ttd-trace";
/**
 * Bumped on any change a reader of the previous version would misread. The newest version this code
 * reads, and the one every new trace is written as: 4 stores pages as tagged blobs, most of them
 * deltas against an earlier version, and keyframe states compressed against the first one
 * (page-codec.ts). Older versions still open: 3 is a trace of a run that took input from outside (it
 * cannot be replayed without the `input` table), 2 a trace whose run had disks (the `disk` tables),
 * 1 a trace with neither.
 */
export const FORMAT_VERSION = 4;
/** The first version with the `input` table. */
export const FORMAT_VERSION_INPUTS = 3;
/** The first version with the disk tables. */
export const FORMAT_VERSION_DISKS = 2;
/** The first version with tagged page blobs and dictionary-compressed keyframe states. */
export const FORMAT_VERSION_COMPACT = 4;

/** Bytes per row of `disk_chunk` (the stored image is cut into pieces this size, all-zero ones left out). */
export const DISK_CHUNK_BYTES = 1 << 20;
/** SQLite header `application_id`: "ttdT" read as a big-endian 32-bit integer. */
export const APPLICATION_ID = 0x74746454;

/** Memory lines: the unit of the write index (64 bytes, 16 dwords: one mask bit per dword). */
export const LINE_SHIFT = 6;
export const LINE_BYTES = 1 << LINE_SHIFT;
export const PAGE_SHIFT = 12;
export const PAGE_BYTES = 1 << PAGE_SHIFT;

/**
 * Steps per chunk of the write index. A "last write" query re-executes one chunk, so smaller chunks
 * mean cheaper queries and more index rows (a loop that writes the same lines appears once per chunk).
 */
export const DEFAULT_CHUNK_STEPS = 1 << 16;
/**
 * Steps between keyframes. A query re-executes at most this many steps before the chunk it wants, so
 * this bounds the cost of `stateAt`; each keyframe stores the pages dirtied since the previous one.
 */
export const DEFAULT_KEYFRAME_STEPS = 1 << 18;

/** Streams of guest output in the `serial` table. */
export const enum OutputStream {
  /** COM1 (the 16550 at 0x3f8). */
  Serial = 0,
  /** The 0xe9 debug console. */
  DebugConsole = 1,
}

/**
 * Most (chunk, mask) entries in one write_index row; a line written in more chunks of one batch gets
 * several rows. Keeps rows small enough to stay inside B-tree pages.
 */
export const MAX_ENTRIES_PER_ROW = 256;

/**
 * The schema. Steps, addresses and values are INTEGER; blobs are raw-deflate compressed (zlib's
 * `deflateRaw`) unless noted. Chunk c covers steps [c * chunk_steps, (c + 1) * chunk_steps).
 */
export const SCHEMA = `
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE image(name TEXT NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL, data BLOB NOT NULL);
CREATE TABLE progress(
  id INTEGER PRIMARY KEY CHECK (id = 1),
  steps INTEGER NOT NULL,
  writes INTEGER NOT NULL,
  batches INTEGER NOT NULL
);
CREATE TABLE keyframe(step INTEGER PRIMARY KEY, state BLOB NOT NULL);
CREATE TABLE page(keyframe INTEGER NOT NULL, page INTEGER NOT NULL, data BLOB NOT NULL);
CREATE UNIQUE INDEX page_history ON page(page, keyframe);
CREATE INDEX page_by_keyframe ON page(keyframe, page);
CREATE TABLE write_index(
  line INTEGER NOT NULL,
  first_chunk INTEGER NOT NULL,
  last_chunk INTEGER NOT NULL,
  entries BLOB NOT NULL,
  PRIMARY KEY (line, first_chunk)
) WITHOUT ROWID;
CREATE TABLE event(
  step INTEGER NOT NULL,
  kind INTEGER NOT NULL,
  vector INTEGER NOT NULL,
  error_code INTEGER,
  eip INTEGER NOT NULL,
  cpl_before INTEGER NOT NULL,
  cpl_after INTEGER NOT NULL,
  handler_eip INTEGER NOT NULL
);
CREATE INDEX event_by_step ON event(step);
CREATE TABLE serial(step INTEGER NOT NULL, stream INTEGER NOT NULL, byte INTEGER NOT NULL);
CREATE INDEX serial_by_step ON serial(step);
CREATE TABLE disk(
  drive INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  size INTEGER NOT NULL,
  write_back INTEGER NOT NULL
);
CREATE TABLE disk_chunk(drive INTEGER NOT NULL, offset INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (drive, offset)) WITHOUT ROWID;
CREATE TABLE disk_sector(
  drive INTEGER NOT NULL,
  sector INTEGER NOT NULL,
  keyframe INTEGER NOT NULL,
  data BLOB NOT NULL,
  PRIMARY KEY (drive, sector, keyframe)
) WITHOUT ROWID;
CREATE INDEX disk_sector_by_keyframe ON disk_sector(drive, keyframe);
CREATE TABLE input(step INTEGER NOT NULL, device INTEGER NOT NULL, data BLOB NOT NULL);
CREATE INDEX input_by_step ON input(step);
CREATE TABLE port_index(
  port INTEGER NOT NULL,
  chunk INTEGER NOT NULL,
  reads INTEGER NOT NULL,
  writes INTEGER NOT NULL,
  PRIMARY KEY (port, chunk)
) WITHOUT ROWID;
`;

/** The version in package.json (recorded in every trace as meta `tool_version`). */
export function toolVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version?: unknown };
    return typeof pkg.version === "string" ? pkg.version : "unknown";
  } catch {
    return "unknown";
  }
}

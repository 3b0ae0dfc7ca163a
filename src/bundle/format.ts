/**
 * The bundle file format (`.ttdb`), described for people in docs/bundle-format.md:
 *
 *   [header: 96 bytes][entry 0 stored bytes][entry 1 ...]...[manifest: brotli-compressed JSON]
 *
 * The header is fixed and little-endian; its first 10 bytes (magic, format version) keep their meaning in
 * every version, so any ttd can tell "not a bundle", "too new" and "too old" apart before trusting
 * anything else. Entries are stored as frames (see frames.ts), each frame compressed on its own so that
 * reading never needs more memory than one frame, whatever the size of the trace. The manifest names
 * every entry with its size, offset and two SHA-256 checksums (of the stored bytes and of the content).
 *
 * This module only encodes and decodes; it does no I/O. Everything decoded from a file is validated
 * here, field by field, because a bundle is untrusted input.
 */
import { createHash } from "node:crypto";
import { BundleError } from "./errors.js";
import { checkEntryName } from "./names.js";

/** "\x89TTDB\r\n\x1a": a high byte first and CR LF / ^Z after, so text-mode transfers are caught (as PNG does). */
export const MAGIC = Uint8Array.from([0x89, 0x54, 0x54, 0x44, 0x42, 0x0d, 0x0a, 0x1a]);
export const HEADER_BYTES = 96;
/** The version this ttd writes. Bumped on any change a reader of the previous version would misread. */
export const BUNDLE_VERSION = 1;
/** The oldest version this ttd still reads (older ones are refused with the reason). */
export const OLDEST_READABLE_VERSION = 1;
export const BUNDLE_FORMAT = "ttd-bundle";
/** The file name extension `ttd pack` writes. */
export const BUNDLE_SUFFIX = ".ttdb";

/** Offsets in the header. */
const H_VERSION = 8;
const H_FLAGS = 10;
const H_MANIFEST_OFFSET = 16;
const H_MANIFEST_STORED = 24;
const H_MANIFEST_SIZE = 32;
const H_MANIFEST_SHA = 40;
const H_CHECK = 80;
const H_CHECK_BYTES = 16;

export type EntryRole = "trace" | "elf" | "source";

/** One stored file. Offsets are absolute file offsets. */
export interface ManifestEntry {
  name: string;
  role: EntryRole;
  /** Content size in bytes, and its SHA-256 (hex). */
  size: number;
  sha256: string;
  /** Where the stored (framed, compressed) bytes are, and their SHA-256. */
  offset: number;
  storedSize: number;
  storedSha256: string;
}

export interface Bookmark {
  name: string;
  step: number;
  note?: string;
  created?: string;
}

/** How the trace was recorded (copied from the trace's own metadata when packing). */
export interface RecordingMeta {
  traceFormatVersion: number;
  toolVersion: string;
  created: string | null;
  commandLine: string[];
  guestCmdline: string;
  steps: number;
  startStep: number;
  complete: boolean;
  end: { reason: string; detail: string; exitStatus: number | null } | null;
  image: { name: string; sha256: string };
}

export interface SourceRecord {
  /** The path as the image's line tables name it (a lookup key only, never used as a file name). */
  path: string;
  /** The entry holding its text. */
  entry: string;
}

export interface Manifest {
  format: typeof BUNDLE_FORMAT;
  version: number;
  tool: { name: string; version: string };
  /** When the bundle was packed (ISO 8601). */
  packed: string;
  note: string | null;
  recording: RecordingMeta;
  trace: { entry: string };
  /**
   * `note`: what answers say once about these symbols, when the recording's symbols were slid to where
   * KASLR moved a Linux kernel (the ELF made from its System.map, already at those addresses). Added
   * after version 1 was fixed: older readers ignore it, losing only the note.
   */
  elf: { entry: string; name: string; note?: string };
  sources: { files: SourceRecord[]; missing: string[] };
  bookmarks: Bookmark[];
  entries: ManifestEntry[];
}

export interface Header {
  version: number;
  flags: number;
  manifestOffset: number;
  manifestStoredSize: number;
  manifestSize: number;
  manifestSha256: string;
}

export function sha256Hex(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

export function hasMagic(bytes: Uint8Array): boolean {
  if (bytes.length < MAGIC.length) return false;
  for (let i = 0; i < MAGIC.length; i++) if (bytes[i] !== MAGIC[i]) return false;
  return true;
}

export function encodeHeader(h: Header): Buffer {
  const b = Buffer.alloc(HEADER_BYTES);
  b.set(MAGIC, 0);
  b.writeUInt16LE(h.version, H_VERSION);
  b.writeUInt16LE(h.flags, H_FLAGS);
  b.writeBigUInt64LE(BigInt(h.manifestOffset), H_MANIFEST_OFFSET);
  b.writeBigUInt64LE(BigInt(h.manifestStoredSize), H_MANIFEST_STORED);
  b.writeBigUInt64LE(BigInt(h.manifestSize), H_MANIFEST_SIZE);
  b.write(h.manifestSha256, H_MANIFEST_SHA, 32, "hex");
  createHash("sha256").update(b.subarray(0, H_CHECK)).digest().copy(b, H_CHECK, 0, H_CHECK_BYTES);
  return b;
}

/**
 * Decodes the header of `file` (whose first bytes are `b`). Checks, in this order: magic, version (too
 * new, too old), the header's own checksum, then field ranges against the file size.
 */
export function decodeHeader(file: string, b: Uint8Array, fileSize: number): Header {
  if (!hasMagic(b)) throw new BundleError(`${file}: not a ttd bundle (wrong magic bytes)`);
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  if (buf.length < H_VERSION + 2) throw new BundleError(`${file}: truncated bundle (the file ends inside its header)`);
  const version = buf.readUInt16LE(H_VERSION);
  if (version > BUNDLE_VERSION) {
    throw new BundleError(`${file}: bundle format version ${version} is newer than this ttd reads (${OLDEST_READABLE_VERSION} to ${BUNDLE_VERSION}); use a newer ttd`);
  }
  if (version < OLDEST_READABLE_VERSION) {
    throw new BundleError(
      `${file}: bundle format version ${version} predates the oldest this ttd reads (${OLDEST_READABLE_VERSION}): no ttd release wrote it, so it is not a bundle this tool can interpret`,
    );
  }
  if (buf.length < HEADER_BYTES) throw new BundleError(`${file}: truncated bundle (the file ends inside its header)`);
  const check = createHash("sha256").update(buf.subarray(0, H_CHECK)).digest().subarray(0, H_CHECK_BYTES);
  if (!check.equals(buf.subarray(H_CHECK, H_CHECK + H_CHECK_BYTES))) throw new BundleError(`${file}: damaged bundle (header checksum mismatch)`);
  const flags = buf.readUInt16LE(H_FLAGS);
  if (flags !== 0) throw new BundleError(`${file}: bundle header has flags 0x${flags.toString(16)} this ttd does not know; use a newer ttd`);
  const big = (at: number, what: string): number => {
    const v = buf.readBigUInt64LE(at);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new BundleError(`${file}: damaged bundle (header ${what} out of range)`);
    return Number(v);
  };
  const h: Header = {
    version,
    flags,
    manifestOffset: big(H_MANIFEST_OFFSET, "index offset"),
    manifestStoredSize: big(H_MANIFEST_STORED, "index size"),
    manifestSize: big(H_MANIFEST_SIZE, "index size"),
    manifestSha256: buf.toString("hex", H_MANIFEST_SHA, H_MANIFEST_SHA + 32),
  };
  if (h.manifestOffset < HEADER_BYTES) throw new BundleError(`${file}: damaged bundle (index offset ${h.manifestOffset} inside the header)`);
  const end = h.manifestOffset + h.manifestStoredSize;
  if (fileSize < end) throw new BundleError(`${file}: truncated bundle (${fileSize} bytes, the header says ${end})`);
  if (fileSize > end) throw new BundleError(`${file}: damaged bundle (${fileSize - end} unexpected bytes after its index)`);
  return h;
}

// ---- Manifest validation ----------------------------------------------------------------------------

const HEX64 = /^[0-9a-f]{64}$/;

/** Walks an untrusted JSON value, naming the field at fault in every error. */
class Fields {
  constructor(private readonly file: string) {}

  fail(path: string, what: string): never {
    throw new BundleError(`${this.file}: damaged bundle index (${path} ${what})`);
  }
  object(v: unknown, path: string): Record<string, unknown> {
    if (typeof v !== "object" || v === null || Array.isArray(v)) this.fail(path, "is not an object");
    return v as Record<string, unknown>;
  }
  array(v: unknown, path: string, max: number): unknown[] {
    if (!Array.isArray(v)) this.fail(path, "is not an array");
    if (v.length > max) this.fail(path, `has ${v.length} items (at most ${max})`);
    return v;
  }
  string(v: unknown, path: string, max = 4096): string {
    if (typeof v !== "string") this.fail(path, "is not a string");
    if (v.length > max) this.fail(path, `is longer than ${max} characters`);
    return v;
  }
  nullableString(v: unknown, path: string, max = 4096): string | null {
    return v === null || v === undefined ? null : this.string(v, path, max);
  }
  int(v: unknown, path: string, min = 0): number {
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min) this.fail(path, `is not an integer >= ${min}`);
    return v;
  }
  bool(v: unknown, path: string): boolean {
    if (typeof v !== "boolean") this.fail(path, "is not true or false");
    return v;
  }
  hex(v: unknown, path: string): string {
    const s = this.string(v, path, 64);
    if (!HEX64.test(s)) this.fail(path, "is not a SHA-256 in lowercase hex");
    return s;
  }
}

/** Bounds on what a manifest may declare, checked before anything is decompressed. */
export interface BundleLimits {
  /** Largest manifest (decompressed JSON). */
  maxManifestBytes: number;
  maxEntries: number;
  /** Largest content size of one entry, by role. */
  maxTraceBytes: number;
  maxElfBytes: number;
  maxSourceBytes: number;
  /** Largest sum of content sizes. */
  maxTotalBytes: number;
}

const GiB = 1024 * 1024 * 1024;
const MiB = 1024 * 1024;

export const DEFAULT_LIMITS: BundleLimits = {
  maxManifestBytes: 64 * MiB,
  maxEntries: 100_000,
  maxTraceBytes: 64 * GiB,
  maxElfBytes: 1 * GiB,
  maxSourceBytes: 64 * MiB,
  maxTotalBytes: 80 * GiB,
};

const ROLES: EntryRole[] = ["trace", "elf", "source"];

function roleLimit(limits: BundleLimits, role: EntryRole): number {
  return role === "trace" ? limits.maxTraceBytes : role === "elf" ? limits.maxElfBytes : limits.maxSourceBytes;
}

/**
 * Parses and validates a manifest. Entries must tile the data area exactly (from the end of the header
 * to the manifest), names must be safe relative paths (names.ts), sizes within `limits`.
 */
export function parseManifest(file: string, json: string, header: Header, limits: BundleLimits): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (e) {
    throw new BundleError(`${file}: damaged bundle index (not JSON: ${(e as Error).message})`);
  }
  const f: Fields = new Fields(file);
  const m = f.object(raw, "the index");
  if (m.format !== BUNDLE_FORMAT) f.fail("'format'", `is ${JSON.stringify(m.format)}, not "${BUNDLE_FORMAT}"`);
  const version = f.int(m.version, "'version'", 1);
  if (version !== header.version) f.fail("'version'", `is ${version} but the header says ${header.version}`);
  const tool = f.object(m.tool, "'tool'");
  const rec = f.object(m.recording, "'recording'");
  const end = rec.end === null || rec.end === undefined ? null : f.object(rec.end, "'recording.end'");
  const image = f.object(rec.image, "'recording.image'");
  const recording: RecordingMeta = {
    traceFormatVersion: f.int(rec.traceFormatVersion, "'recording.traceFormatVersion'", 1),
    toolVersion: f.string(rec.toolVersion, "'recording.toolVersion'", 200),
    created: f.nullableString(rec.created, "'recording.created'", 200),
    commandLine: f.array(rec.commandLine, "'recording.commandLine'", 10_000).map((a, i) => f.string(a, `'recording.commandLine[${i}]'`)),
    guestCmdline: f.string(rec.guestCmdline, "'recording.guestCmdline'"),
    steps: f.int(rec.steps, "'recording.steps'"),
    startStep: f.int(rec.startStep, "'recording.startStep'"),
    complete: f.bool(rec.complete, "'recording.complete'"),
    end:
      end === null
        ? null
        : {
            reason: f.string(end.reason, "'recording.end.reason'", 200),
            detail: f.string(end.detail, "'recording.end.detail'"),
            exitStatus: end.exitStatus === null ? null : f.int(end.exitStatus, "'recording.end.exitStatus'"),
          },
    image: { name: f.string(image.name, "'recording.image.name'", 1024), sha256: f.hex(image.sha256, "'recording.image.sha256'") },
  };

  const entries: ManifestEntry[] = [];
  const names = new Set<string>();
  const folded = new Set<string>();
  let total = 0;
  let expectOffset = HEADER_BYTES;
  const list = f.array(m.entries, "'entries'", limits.maxEntries);
  list.forEach((v, i) => {
    const p = `'entries[${i}]`;
    const e = f.object(v, `${p}'`);
    const name = f.string(e.name, `${p}.name'`, 4096);
    const problem = checkEntryName(name);
    if (problem !== null) throw new BundleError(`${file}: unsafe name in bundle: ${JSON.stringify(name)} (${problem})`);
    // Two names equal but for case would collide when extracted on a case-insensitive file system.
    if (names.has(name) || folded.has(name.toLowerCase())) throw new BundleError(`${file}: damaged bundle index (entry '${name}' appears twice)`);
    names.add(name);
    folded.add(name.toLowerCase());
    const role = f.string(e.role, `${p}.role'`, 16) as EntryRole;
    if (!ROLES.includes(role)) f.fail(`${p}.role'`, `is ${JSON.stringify(role)}`);
    const size = f.int(e.size, `${p}.size'`);
    const limit = roleLimit(limits, role);
    if (size > limit) {
      throw new BundleError(`${file}: refused: entry '${name}' declares ${size} bytes, more than the ${limit} allowed for a ${role} file`);
    }
    total += size;
    if (total > limits.maxTotalBytes) throw new BundleError(`${file}: refused: its entries declare more than ${limits.maxTotalBytes} bytes in all`);
    const offset = f.int(e.offset, `${p}.offset'`);
    const storedSize = f.int(e.storedSize, `${p}.storedSize'`);
    if (offset !== expectOffset) f.fail(`${p}.offset'`, `is ${offset}, expected ${expectOffset} (entries must follow one another)`);
    expectOffset = offset + storedSize;
    if (expectOffset > header.manifestOffset) f.fail(`${p}.storedSize'`, "runs past the start of the index");
    entries.push({ name, role, size, sha256: f.hex(e.sha256, `${p}.sha256'`), offset, storedSize, storedSha256: f.hex(e.storedSha256, `${p}.storedSha256'`) });
  });
  if (expectOffset !== header.manifestOffset) f.fail("'entries'", `end at ${expectOffset}, but the index starts at ${header.manifestOffset}`);

  const byName = new Map(entries.map((e) => [e.name, e]));
  const ref = (v: unknown, path: string, role: EntryRole): string => {
    const name = f.string(v, path, 4096);
    const e = byName.get(name);
    if (e === undefined) f.fail(path, `names ${JSON.stringify(name)}, which is not an entry`);
    if (e.role !== role) f.fail(path, `names ${JSON.stringify(name)}, ${e.role === "elf" ? "an" : "a"} ${e.role} entry, not ${role === "elf" ? "an" : "a"} ${role} entry`);
    return name;
  };
  const trace = f.object(m.trace, "'trace'");
  const elf = f.object(m.elf, "'elf'");
  const sources = f.object(m.sources, "'sources'");
  const sourcePaths = new Set<string>();
  const files = f.array(sources.files, "'sources.files'", limits.maxEntries).map((v, i) => {
    const s = f.object(v, `'sources.files[${i}]'`);
    const path = f.string(s.path, `'sources.files[${i}].path'`);
    if (sourcePaths.has(path)) f.fail(`'sources.files[${i}].path'`, "is listed twice");
    sourcePaths.add(path);
    return { path, entry: ref(s.entry, `'sources.files[${i}].entry'`, "source") };
  });
  const missing = f.array(sources.missing, "'sources.missing'", limits.maxEntries).map((v, i) => f.string(v, `'sources.missing[${i}]'`));
  return {
    format: BUNDLE_FORMAT,
    version,
    tool: { name: f.string(tool.name, "'tool.name'", 200), version: f.string(tool.version, "'tool.version'", 200) },
    packed: f.string(m.packed, "'packed'", 200),
    note: f.nullableString(m.note, "'note'", 1 << 20),
    recording,
    trace: { entry: ref(trace.entry, "'trace.entry'", "trace") },
    elf: {
      entry: ref(elf.entry, "'elf.entry'", "elf"),
      name: f.string(elf.name, "'elf.name'", 1024),
      ...(elf.note !== undefined && elf.note !== null ? { note: f.string(elf.note, "'elf.note'", 1024) } : {}),
    },
    sources: { files, missing },
    bookmarks: f.array(m.bookmarks, "'bookmarks'", 100_000).map((v, i) => parseBookmark(f, v, `'bookmarks[${i}]`)),
    entries,
  };
}

function parseBookmark(f: Fields, v: unknown, p: string): Bookmark {
  const b = f.object(v, `${p}'`);
  const out: Bookmark = { name: f.string(b.name, `${p}.name'`, MAX_BOOKMARK_NAME), step: f.int(b.step, `${p}.step'`) };
  if (b.note !== undefined && b.note !== null) out.note = f.string(b.note, `${p}.note'`, MAX_BOOKMARK_NOTE);
  if (b.created !== undefined && b.created !== null) out.created = f.string(b.created, `${p}.created'`, 200);
  return out;
}

export const MAX_BOOKMARK_NAME = 200;
export const MAX_BOOKMARK_NOTE = 4096;

/**
 * The cache key of a bundle's contents: a hash over every entry's name, size and both checksums. It
 * does not cover the manifest's other fields, so editing bookmarks or the note keeps the extracted
 * copy valid.
 */
export function contentId(entries: readonly ManifestEntry[]): string {
  const h = createHash("sha256");
  for (const e of entries) h.update(`${e.name}\0${e.role}\0${e.size}\0${e.sha256}\0${e.storedSize}\0${e.storedSha256}\n`);
  return h.digest("hex");
}

/**
 * Parsers for the text llvm-dwarfdump and readelf print, so tests can compare the symbol layer with
 * independent tools on the same images. Only the shapes those tools print for our images are handled.
 */
import { spawnSync } from "node:child_process";

export function toolAvailable(tool: string): boolean {
  const r = spawnSync(tool, ["--version"], { encoding: "utf8" });
  return r.status === 0;
}

export function run(tool: string, args: string[]): string {
  const r = spawnSync(tool, args, { encoding: "utf8", maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`${tool} ${args.join(" ")} failed: ${r.stderr}`);
  return r.stdout;
}

export interface DumpDie {
  offset: number;
  tag: string;
  depth: number;
  /** Attribute name (DW_AT_x) -> raw text inside the outer parentheses (first line only). */
  attrs: Map<string, string>;
  /** For DW_AT_ranges: the [low, high) pairs listed under it. */
  ranges: [number, number][];
  /** For a DW_AT_location that is a location list: each entry's [low, high) and its operations as printed. */
  locations: { low: number; high: number; ops: string }[];
  children: DumpDie[];
  parent: DumpDie | undefined;
  /** Offset of the unit's first byte (from the "Compile Unit:" line). */
  unitOffset: number;
}

/** The DIE trees of `llvm-dwarfdump --debug-info` output, one root per unit. */
export function parseDebugInfo(text: string): DumpDie[] {
  const roots: DumpDie[] = [];
  const stack: DumpDie[] = [];
  let cur: DumpDie | undefined;
  let lastAttr = "";
  let unitOffset = 0;
  for (const line of text.split("\n")) {
    const unit = /^(0x[0-9a-f]+): (Compile|Type|Partial|Skeleton) Unit:/.exec(line);
    if (unit) {
      unitOffset = parseInt(unit[1], 16);
      stack.length = 0;
      continue;
    }
    const die = /^(0x[0-9a-f]+):( +)(DW_TAG_\w+|NULL)/.exec(line);
    if (die) {
      const depth = (die[2].length - 1) / 2;
      stack.length = depth;
      if (die[3] === "NULL") {
        cur = undefined;
        continue;
      }
      const parent = depth > 0 ? stack[depth - 1] : undefined;
      cur = { offset: parseInt(die[1], 16), tag: die[3], depth, attrs: new Map(), ranges: [], locations: [], children: [], parent, unitOffset };
      if (parent) parent.children.push(cur);
      else roots.push(cur);
      stack[depth] = cur;
      continue;
    }
    if (!cur) continue;
    const attr = /^\s+(DW_AT_\w+)\t\((.*)$/.exec(line);
    if (attr) {
      lastAttr = attr[1];
      let v = attr[2];
      if (v.endsWith(")")) v = v.slice(0, -1);
      cur.attrs.set(attr[1], v);
      continue;
    }
    const entry = /^\s+\[(0x[0-9a-f]+), (0x[0-9a-f]+)\): (.*?)\)?$/.exec(line);
    if (entry && lastAttr === "DW_AT_location") {
      cur.locations.push({ low: parseInt(entry[1], 16), high: parseInt(entry[2], 16), ops: entry[3] });
      continue;
    }
    const range = /^\s+\[(0x[0-9a-f]+), (0x[0-9a-f]+)\)/.exec(line);
    if (range && lastAttr === "DW_AT_ranges") cur.ranges.push([parseInt(range[1], 16), parseInt(range[2], 16)]);
  }
  return roots;
}

export function* walkDump(dies: DumpDie[]): Generator<DumpDie> {
  for (const d of dies) {
    yield d;
    yield* walkDump(d.children);
  }
}

/** The string of an attribute printed as ("text") or as a reference (0x... "text"). */
export function dumpString(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const m = /"(.*)"$/.exec(v);
  return m ? m[1] : undefined;
}

/** A number printed as 0x... or decimal (optionally negative). */
export function dumpNumber(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const m = /^(-?)(0x[0-9a-f]+|\d+)$/.exec(v.trim());
  if (!m) return undefined;
  const n = m[2].startsWith("0x") ? parseInt(m[2], 16) : parseInt(m[2], 10);
  return m[1] ? -n : n;
}

/** `.debug_addr` tables from `llvm-dwarfdump --debug-addr`: offset of each table's first entry -> entries. */
export function parseDebugAddr(text: string): Map<number, number[]> {
  const out = new Map<number, number[]>();
  let offset = 0;
  let entries: number[] | undefined;
  for (const line of text.split("\n")) {
    const h = /^Address table header: length = (0x[0-9a-f]+)/.exec(line);
    if (h) {
      entries = [];
      out.set(offset + 8, entries);
      offset += 4 + parseInt(h[1], 16);
      continue;
    }
    const a = /^(0x[0-9a-f]+)$/.exec(line.trim());
    if (a && entries) entries.push(parseInt(a[1], 16));
  }
  return out;
}

export interface DumpLineRow {
  address: number;
  line: number;
  column: number;
  file: number;
  isa: number;
  discriminator: number;
  flags: Set<string>;
}

export interface DumpLineTable {
  offset: number;
  version: number;
  includeDirs: Map<number, string>;
  files: Map<number, { name: string; dirIndex: number }>;
  rows: DumpLineRow[];
}

/** Line tables from `llvm-dwarfdump --debug-line`. */
export function parseDebugLine(text: string): DumpLineTable[] {
  const tables: DumpLineTable[] = [];
  let t: DumpLineTable | undefined;
  let file: { name: string; dirIndex: number } | undefined;
  for (const line of text.split("\n")) {
    const start = /^debug_line\[(0x[0-9a-f]+)\]/.exec(line);
    if (start) {
      t = { offset: parseInt(start[1], 16), version: 0, includeDirs: new Map(), files: new Map(), rows: [] };
      tables.push(t);
      continue;
    }
    if (!t) continue;
    let m = /^\s+version: (\d+)/.exec(line);
    if (m) {
      t.version = Number(m[1]);
      continue;
    }
    m = /^include_directories\[\s*(\d+)\] = "(.*)"/.exec(line);
    if (m) {
      t.includeDirs.set(Number(m[1]), m[2]);
      continue;
    }
    m = /^file_names\[\s*(\d+)\]:/.exec(line);
    if (m) {
      file = { name: "", dirIndex: 0 };
      t.files.set(Number(m[1]), file);
      continue;
    }
    m = /^\s+name: "(.*)"/.exec(line);
    if (m && file) {
      file.name = m[1];
      continue;
    }
    m = /^\s+dir_index: (\d+)/.exec(line);
    if (m && file) {
      file.dirIndex = Number(m[1]);
      continue;
    }
    m = /^0x([0-9a-f]{16})\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*(.*)$/.exec(line);
    if (m) {
      t.rows.push({
        address: parseInt(m[1], 16), line: Number(m[2]), column: Number(m[3]), file: Number(m[4]), isa: Number(m[5]),
        discriminator: Number(m[6]), flags: new Set(m[7].trim().split(/\s+/).filter((x) => x !== "")),
      });
    }
  }
  return tables;
}

export interface ReadelfSymbol {
  value: number;
  size: number;
  type: string;
  bind: string;
  ndx: string;
  name: string;
}

/** Symbols from `readelf -sW`. */
export function parseReadelfSymbols(text: string): ReadelfSymbol[] {
  const out: ReadelfSymbol[] = [];
  for (const line of text.split("\n")) {
    const m = /^\s*\d+:\s+([0-9a-f]+)\s+(\d+|0x[0-9a-f]+)\s+(\w+)\s+(\w+)\s+\w+\s+(\w+)\s+(\S+)$/.exec(line);
    if (m) out.push({ value: parseInt(m[1], 16), size: m[2].startsWith("0x") ? parseInt(m[2], 16) : Number(m[2]), type: m[3], bind: m[4], ndx: m[5], name: m[6] });
  }
  return out;
}

export interface ReadelfFrameRow {
  address: number;
  /** The CFA's register as readelf names it (`esp`, `ebp`). */
  register: string;
  offset: number;
}

/** The CFA rows `readelf -wF` prints under each FDE, with the FDE's end address. */
export function parseReadelfFrames(text: string): { end: number; rows: ReadelfFrameRow[] }[] {
  const out: { end: number; rows: ReadelfFrameRow[] }[] = [];
  let cur: { end: number; rows: ReadelfFrameRow[] } | null = null;
  for (const line of text.split("\n")) {
    const fde = /FDE cie=[0-9a-f]+ pc=([0-9a-f]+)\.\.([0-9a-f]+)/.exec(line);
    if (fde) {
      cur = { end: parseInt(fde[2], 16), rows: [] };
      out.push(cur);
      continue;
    }
    if (/ CIE /.test(line)) cur = null;
    const row = /^([0-9a-f]{8}) ([a-z]+)([+-]\d+) /.exec(line);
    if (row && cur) cur.rows.push({ address: parseInt(row[1], 16), register: row[2], offset: Number(row[3]) });
  }
  return out;
}

/**
 * Line lookups across every unit's line table: address -> file:line:column (the row in effect at that
 * address, as llvm-dwarfdump --lookup picks it) and file:line -> the addresses of its is_stmt rows.
 */
import type { LineRow, LineSequence, LineTable } from "./line.js";

export interface SourceLocation {
  /** Full path of the source file (directory joined with the name). */
  file: string;
  line: number;
  column: number;
  /** Address of the row that covers the looked-up address (the start of that line's code block). */
  address: number;
  isStmt: boolean;
}

interface IndexedSequence {
  seq: LineSequence;
  table: LineTable;
}

/** True when `query` names `path`: equal, or equal to its trailing path components (`kernel.c`, `src/kernel.c`). */
export function fileMatches(path: string, query: string): boolean {
  if (path === query) return true;
  if (query.startsWith("/")) return false;
  const q = query.startsWith("./") ? query.slice(2) : query;
  return path.endsWith("/" + q) || path === q;
}

export class LineIndex {
  private readonly sequences: IndexedSequence[] = [];

  constructor(readonly tables: LineTable[]) {
    this.index(tables);
  }

  /** Adds tables read later (units parsed on demand, see DebugInfo's `index` option). */
  add(tables: LineTable[]): void {
    this.tables.push(...tables);
    this.index(tables);
  }

  private index(tables: LineTable[]): void {
    for (const table of tables) for (const seq of table.sequences) if (seq.high > seq.low) this.sequences.push({ seq, table });
    this.sequences.sort((a, b) => a.seq.low - b.seq.low || a.seq.high - b.seq.high);
  }

  get empty(): boolean {
    return this.sequences.length === 0;
  }

  /** The source position of the code at `address`, or undefined when no sequence covers it. */
  lookup(address: number): SourceLocation | undefined {
    const seqs = this.sequences;
    // Sequences whose start is <= address: find the last, then walk back over overlapping ones.
    let lo = 0;
    let hi = seqs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (seqs[mid].seq.low <= address) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo - 1; i >= 0; i--) {
      const { seq, table } = seqs[i];
      if (address >= seq.high) continue;
      const row = rowAt(seq, address);
      if (row) return toLocation(row, table);
    }
    return undefined;
  }

  /**
   * Addresses of the is_stmt rows for `line` of the files matching `file` (see fileMatches), sorted and
   * without duplicates. Empty when the line has no code.
   */
  addressesForLine(file: string, line: number): number[] {
    const out = new Set<number>();
    for (const { seq, table } of this.sequences) {
      for (const row of seq.rows) {
        if (row.endSequence || !row.isStmt || row.line !== line) continue;
        const f = table.files[row.file];
        if (f && fileMatches(f.path, file)) out.add(row.address);
      }
    }
    return [...out].sort((a, b) => a - b);
  }

  /** The smallest line >= `line` of `file` that has code, for "break at the next line with code". */
  nextLineWithCode(file: string, line: number): number | undefined {
    let best: number | undefined;
    for (const { seq, table } of this.sequences) {
      for (const row of seq.rows) {
        if (row.endSequence || !row.isStmt || row.line < line || (best !== undefined && row.line >= best)) continue;
        const f = table.files[row.file];
        if (f && fileMatches(f.path, file)) best = row.line;
      }
    }
    return best;
  }

  /** Every source file path named by a line table. */
  files(): string[] {
    const out = new Set<string>();
    for (const t of this.tables) for (const f of t.files) if (f) out.add(f.path);
    return [...out].sort();
  }
}

/** The last row of `seq` whose address is <= `address` (the end_sequence row excluded). */
function rowAt(seq: LineSequence, address: number): LineRow | undefined {
  const rows = seq.rows;
  let lo = 0;
  let hi = rows.length - 1; // exclude the end_sequence row
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (rows[mid].address <= address) lo = mid + 1;
    else hi = mid;
  }
  return lo > 0 ? rows[lo - 1] : undefined;
}

function toLocation(row: LineRow, table: LineTable): SourceLocation {
  const f = table.files[row.file];
  return { file: f ? f.path : `<file ${row.file}>`, line: row.line, column: row.column, address: row.address, isStmt: row.isStmt };
}

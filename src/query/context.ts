/**
 * What every backward question needs: the trace, the guest's symbols (from the ELF stored in the
 * trace), and source text. Also the shared ways to name code and data in answers.
 */
import type { Trace } from "../trace/trace.js";
import { DebugInfo, resolveType, sizeOf, type CType } from "../symbols/index.js";
import { disassemble } from "../disasm/disassembler.js";
import { DW_AT, DW_TAG } from "../symbols/constants.js";
import { dieRanges } from "../symbols/ranges.js";
import type { AttrValue, Die } from "../symbols/info.js";

/**
 * Source text by the path a line table names. Recordings provide it (src/bundle/sources.ts: from a
 * bundle, or from disk for a plain trace); this is the part of that interface queries use.
 */
export interface SourceProvider {
  lines(path: string): readonly string[] | null;
}

/** No source text at all (answers still name files and lines). */
export const NO_SOURCES: SourceProvider = { lines: () => null };

/** A code address described for a kernel developer. */
export interface CodeRef {
  eip: number;
  /** `function+0xoff`, or null when no symbol covers the address. */
  symbol: string | null;
  /** The source function: for code the compiler inlined, the innermost inlined function. */
  function: string | null;
  file: string | null;
  line: number | null;
  /** Whether the symbols map addresses to source lines at all (not a System.map or a bare symbol table). */
  linesKnown: boolean;
  /** The source line's text, when the file is available. */
  sourceText: string | null;
  disasm: string;
}

export class QueryContext {
  readonly symbols: DebugInfo | null;
  readonly symbolsProblem: string | null;
  /** Something answers say once about the symbols (that they were slid to where KASLR moved the kernel), or null. */
  readonly symbolsNote: string | null = null;

  /** A context over an opened recording (trace or bundle; see src/bundle/open.ts). */
  static fromRecording(rec: { trace: Trace; sources: SourceProvider; symbols: DebugInfo | null; symbolsProblem: string | null; symbolsNote?: string | null }): QueryContext {
    const ctx = new QueryContext(rec.trace, rec.sources, rec.symbols);
    (ctx as { symbolsProblem: string | null }).symbolsProblem = rec.symbolsProblem;
    (ctx as { symbolsNote: string | null }).symbolsNote = rec.symbolsNote ?? null;
    return ctx;
  }

  constructor(readonly trace: Trace, readonly sources: SourceProvider = NO_SOURCES, symbols?: DebugInfo | null) {
    if (symbols !== undefined) {
      this.symbols = symbols;
      this.symbolsProblem = symbols === null ? "no symbols" : null;
      return;
    }
    let di: DebugInfo | null = null;
    let problem: string | null = null;
    try {
      di = DebugInfo.fromElf(trace.image().data);
      if (!di.hasLines) problem = di.linesUnavailableReason ?? "the image has no line tables";
    } catch (e) {
      problem = `the recorded image has no usable symbols: ${(e as Error).message}`;
    }
    this.symbols = di;
    this.symbolsProblem = problem;
  }

  /** Names the code at `eip`; `bytes` are the instruction bytes when known (else read from the image). */
  describeCode(eip: number, bytes?: Uint8Array): CodeRef {
    const di = this.symbols;
    eip >>>= 0;
    const fn = di?.functionAt(eip) ?? null;
    const symbol = di ? di.symbolize(eip) || null : null;
    const src = di?.sourceAt(eip) ?? null;
    const file = src?.file ?? null;
    // Line 0 is DWARF's "no source line" (code the compiler made up, e.g. a hoisted loop step).
    const line = src?.line ? src.line : null;
    let sourceText: string | null = null;
    if (file !== null && line !== null) {
      const lines = this.sources.lines(file);
      if (lines !== null && line >= 1 && line <= lines.length) sourceText = lines[line - 1];
    }
    const code = bytes ?? this.imageBytes(eip, 15);
    const d = code.length > 0 ? disassemble(code, eip, (a) => (di ? di.symbolize(a) : "")) : null;
    const inlined = this.inlinedAt(eip);
    return { eip, symbol, function: inlined ?? fn?.function.name ?? null, file, line, linesKnown: di?.hasLines ?? false, sourceText, disasm: d ? d.text : "(code not available)" };
  }

  /** Address ranges of inlined function bodies (DW_TAG_inlined_subroutine), nesting depth first. */
  private inlineRanges: { low: number; high: number; depth: number; name: string }[] | null = null;

  /**
   * The innermost function inlined at `eip`, or null when the code there is not inlined. With -O2 a
   * static function like `insertion_sort` often has no code of its own, and naming only the function
   * it was inlined into would hide where the instruction comes from.
   */
  private inlinedAt(eip: number): string | null {
    const di = this.symbols;
    if (di === null) return null;
    if (this.inlineRanges === null) {
      const out: { low: number; high: number; depth: number; name: string }[] = [];
      const nameOf = (die: Die): string | null => {
        let cur: Die | undefined = die;
        for (let guard = 0; cur !== undefined && guard < 8; guard++) {
          const n = cur.unit.string(cur.attrs.get(DW_AT.name));
          if (n !== undefined) return n;
          const ref: AttrValue | undefined = cur.attrs.get(DW_AT.abstract_origin) ?? cur.attrs.get(DW_AT.specification);
          cur = ref?.kind === "ref" ? di.dieAt(ref.offset) : undefined;
        }
        return null;
      };
      const walk = (die: Die, depth: number): void => {
        for (const c of die.children) {
          let d = depth;
          if (c.tag === DW_TAG.inlined_subroutine) {
            const name = nameOf(c);
            d = depth + 1;
            if (name !== null) for (const r of dieRanges(c)) out.push({ low: r.low, high: r.high, depth: d, name });
          }
          if (c.children.length > 0) walk(c, d);
        }
      };
      for (const cu of di.units) {
        // The unit's first DIE follows its header (11 to 24 bytes, by version and unit type).
        for (let o = cu.offset + 11; o <= cu.offset + 24; o++) {
          const root = di.dieAt(o);
          if (root !== undefined) {
            walk(root.unit.root, 0);
            break;
          }
        }
      }
      this.inlineRanges = out;
    }
    let best: { depth: number; name: string } | null = null;
    for (const r of this.inlineRanges) {
      if (eip >= r.low && eip < r.high && (best === null || r.depth > best.depth)) best = r;
    }
    return best?.name ?? null;
  }

  /** Objects that global pointers pointed at when pointerHints() was last taken. */
  private hints: { lo: number; hi: number; name: string; type: CType }[] = [];
  /** The step `hints` were read at (a recording never changes, so they stay valid for that step). */
  private hintsStep = -1;

  /**
   * Reads every global pointer to a struct or union at `step`, so data inside the objects they point
   * at can be named through them (`ksIdleThread->tcbArch.tcbContext.registers[12]`), which says more
   * than the raw storage they live in (often a byte array).
   */
  pointerHints(step: number): void {
    const di = this.symbols;
    if (step === this.hintsStep) return;
    this.hints = [];
    this.hintsStep = step;
    if (di === null) return;
    const state = this.trace.stateAt(step);
    for (const v of di.variables()) {
      if (v.address === undefined || v.elfOnly) continue;
      const t = resolveType(v.type);
      if (t.kind !== "pointer") continue;
      const target = di.complete(resolveType(t.target));
      if (target.kind !== "struct" && target.kind !== "union") continue;
      const bytes = state.readLinear(v.address, 4);
      if (bytes === null) continue;
      const p = (bytes[0] | (bytes[1] << 8) | (bytes[2] << 16) | (bytes[3] << 24)) >>> 0;
      const size = sizeOf(target);
      if (p === 0 || size <= 0) continue;
      this.hints.push({ lo: p, hi: p + size, name: v.scope ? `${v.scope}::${v.name}` : v.name, type: target });
    }
  }

  /** Names the data at linear `address` (`ksIdleThread->tcbArch.tcbContext.registers[12]`), or null. */
  describeData(address: number): string | null {
    const di = this.symbols;
    if (di === null) return null;
    const a = address >>> 0;
    for (const h of this.hints) {
      if (a >= h.lo && a < h.hi) {
        const inner = di.pathWithin(h.type, a - h.lo);
        return `${h.name}->${inner.path.replace(/^\./, "")}${inner.offset !== 0 ? `+${inner.offset}` : ""}`;
      }
    }
    const hit = di.dataAt(a);
    if (!hit) return null;
    return hit.offset !== 0 && hit.path === hit.variable.name ? `${hit.path}+${hit.offset}` : hit.path;
  }

  /**
   * Names a pointer value: the data it points at, and also, when it is just past the end of a
   * variable (a stack's top, an end pointer), that variable: `idt[0].off_lo, or the end of
   * kernel_stack`. Null when neither applies.
   */
  describePointer(value: number): string | null {
    const v = value >>> 0;
    const at = this.describeData(v);
    const before = v > 0 ? this.symbols?.dataAt(v - 1) : undefined;
    const ends = before !== undefined && before.variable.size > 0 && before.variable.address! + before.variable.size === v;
    if (!ends) return at === null ? null : `&${at}`;
    return at === null ? `the end of ${before.variable.name}` : `&${at}, or the end of ${before.variable.name}`;
  }

  /** Up to `n` bytes of the loaded image at virtual `address` (code as it was loaded). */
  private imageBytes(address: number, n: number): Uint8Array {
    return this.symbols?.imageBytes(address, n) ?? new Uint8Array(0);
  }
}

export function hex(v: number): string {
  return `0x${(v >>> 0).toString(16)}`;
}

/**
 * "Every write to this location, in time order" (WinDbg's `TTD.Memory(begin, end, "w")`): each write
 * between two steps, described like why-write's writes (the instruction with its function, source
 * line and disassembly, or the CPU and which word of an interrupt frame it pushed), with old and new
 * values and the bytes of the location it covered.
 *
 * The trace's write index names the chunks that touched the location, so only those are re-executed;
 * the cost grows with the number of writes found, not with the length of the trace.
 */
import { type QueryContext, hex } from "./context.js";
import type { Location } from "./location.js";
import { explainWrite, inImage, type WriteExplanation } from "./why-write.js";
import { describeWriter, formatBytes, sourcePlace, symbolsRemarkLines, whyWriteJson, type SymbolsRemarks } from "./render.js";
import { groupDigits } from "../text/group-digits.js";

export interface HistoryOptions {
  /** First step whose writes count (default: the trace's first step). */
  from?: number;
  /** Writes by steps before this one count (default: the end of the trace). */
  to?: number;
  /** Most writes to return (default 1000). */
  limit?: number;
}

export interface HistoryAnswer {
  location: Location & { kind: "memory" };
  from: number;
  to: number;
  /** The location's bytes at `from` and at `to` (null when unmapped then). */
  before: Uint8Array | null;
  after: Uint8Array | null;
  /** The writes, oldest first; `bytes` is the part of the location each one covered. */
  writes: WriteExplanation[];
  /** True when there were more than `limit` writes: the list stops at the limit. */
  truncated: boolean;
  /** With no writes from the trace's start: where the value came from (per the first byte). */
  source: "image" | "zero" | null;
}

export const DEFAULT_HISTORY_LIMIT = 1000;

export class HistoryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HistoryError";
  }
}

export function history(ctx: QueryContext, location: Location & { kind: "memory" }, options: HistoryOptions = {}): HistoryAnswer {
  const { trace } = ctx;
  const from = options.from ?? trace.startStep;
  const to = options.to ?? trace.steps;
  const limit = options.limit ?? DEFAULT_HISTORY_LIMIT;
  if (!Number.isInteger(limit) || limit < 1) throw new HistoryError(`limit must be a positive integer, got ${limit}`);
  for (const [name, s] of [["from", from], ["to", to]] as const) {
    if (!Number.isInteger(s) || s < trace.startStep || s > trace.steps) {
      throw new HistoryError(`${name} step ${s} is out of range (the trace covers steps ${trace.startStep}..${trace.steps})`);
    }
  }
  if (from > to) throw new HistoryError(`from step ${from} is after to step ${to}`);
  const { address, size } = location;

  const before = copy(trace.stateAt(from).readLinear(address, size));
  // The index matches physical addresses (the page tables at `to` translate the location, as in
  // writesIn), so which bytes a write covered is decided physically too: an alias through another
  // linear mapping still counts, and a location crossing pages onto scattered frames works.
  const atTo = trace.stateAt(to);
  const after = copy(atTo.readLinear(address, size));
  const physical: (number | null)[] = [];
  for (let b = 0; b < size; b++) physical.push(atTo.translate((address + b) >>> 0));

  const found = trace.writesIn({ address, size }, from, to, { limit: limit + 1 });
  const truncated = found.length > limit;
  const writes = found.slice(0, limit).map((w) => {
    let lo = -1, hi = -1;
    for (let b = 0; b < size; b++) {
      const p = physical[b];
      if (p !== null && p >= w.physical && p < w.physical + w.size) {
        if (lo < 0) lo = b;
        hi = b + 1;
      }
    }
    return explainWrite(ctx, w, [lo, hi], null);
  });
  // Unwritten and not zero: put there before the first step (the loader's or the image's bytes).
  const loaded = before !== null && before.some((x) => x !== 0);
  const source = writes.length === 0 && from === trace.startStep ? (loaded || inImage(ctx, address) ? "image" : "zero") : null;
  return { location, from, to, before, after, writes, truncated, source };
}

function copy(b: Uint8Array | null): Uint8Array | null {
  return b === null ? null : Uint8Array.from(b);
}

const n = (v: number) => groupDigits(v);

export function renderHistory(a: HistoryAnswer, symbols: SymbolsRemarks): string {
  const out: string[] = [];
  const loc = a.location;
  const named = loc.name && loc.name !== loc.expression ? ` (${loc.name})` : "";
  out.push(loc.expression);
  out.push(`  = ${hex(loc.address)}, ${loc.size} byte${loc.size === 1 ? "" : "s"}${named}`);
  out.push(`  steps ${n(a.from)}..${n(a.to)}: ${formatBytes(a.before)} -> ${formatBytes(a.after)}, ${a.writes.length}${a.truncated ? "+" : ""} write${a.writes.length === 1 ? "" : "s"}`);
  out.push(...symbolsRemarkLines(symbols));
  out.push("");
  if (a.writes.length === 0) {
    const origin = a.source === "image" ? ": its value comes from the loaded image" : a.source === "zero" ? ": it holds the zero the machine started with" : "";
    out.push(`No writes between steps ${n(a.from)} and ${n(a.to)}${origin}.`);
  }
  const width = a.writes.reduce((m, w) => Math.max(m, n(w.step).length), 0);
  for (const w of a.writes) {
    const whole = w.bytes[0] === 0 && w.bytes[1] === loc.size;
    const part = whole ? "" : ` [byte${w.bytes[1] - w.bytes[0] === 1 ? ` ${w.bytes[0]}` : `s ${w.bytes[0]}..${w.bytes[1] - 1}`}]`;
    out.push(`  step ${n(w.step).padStart(width)}${part}  ${hex(w.oldValue)} -> ${hex(w.newValue)}  by ${describeWriter(w)}`);
    const c = w.writer.code;
    const where = sourcePlace(c);
    const text = c.sourceText !== null ? `  | ${c.sourceText.trim()}` : "";
    out.push(`  ${" ".repeat(width + 5)}${w.writer.kind === "cpu" ? `interrupted code: ${c.symbol ?? hex(c.eip)} ` : ""}${where}${text}`);
  }
  if (a.truncated) {
    const last = a.writes[a.writes.length - 1];
    out.push(`  ... more writes after step ${n(last.step)} (raise --limit, or start --from ${last.step + 1})`);
  }
  return out.join("\n");
}

/** The stable JSON shape of a history answer (documented in docs/queries.md); writes as why-write's. */
export function historyJson(a: HistoryAnswer): Record<string, unknown> {
  // The location and each write are serialised by why-write's own code, so the shapes cannot drift.
  const shared = whyWriteJson({ location: a.location, atStep: a.to, value: a.after, writes: a.writes, neverWritten: [], chain: [], callPath: null }) as { location: unknown; writes: unknown[] };
  return {
    location: shared.location,
    from: a.from,
    to: a.to,
    before: formatBytes(a.before),
    after: formatBytes(a.after),
    count: a.writes.length,
    truncated: a.truncated,
    source: a.source,
    writes: shared.writes,
  };
}

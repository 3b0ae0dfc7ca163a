/**
 * `ttd diff`: the first point where two recordings' executions part, in source terms.
 *
 * Two recordings of one image are aligned by step: the first step whose EIP, general registers or
 * EFLAGS differ, or whose kind (an interrupt on one side only) differs. Two different images (the
 * same kernel built two ways, a good and a bad commit) cannot be compared by address, so each side
 * is reduced to its source visits in first-visit order (see visits()): each (function, file, line)
 * and each interrupt or exception the first time an activation reaches it; the first visit where the
 * two sequences differ is the divergence, and the visit before it the last common point. Their stores
 * cannot be compared by address either: a store to a global variable is named by the variable (each
 * image's own symbols), and within an activation the first store each source line makes to each
 * variable is compared with the other side's, its value too when it is an address, by the symbol it
 * names; another value is a data divergence, and the walk goes on to where control flow parts. Guest
 * output is compared byte by byte as well, with the step that printed the first differing byte on each
 * side, and so are the inputs from outside the recordings took (bytes on COM1, key presses).
 *
 * For one image, a divergence in data (a register differs before the same instruction, or the same
 * instruction stores another value) has a source: a step that ran the same instruction with the same
 * registers on both sides read something that differed, a port (the UART's receive buffer holding
 * another typed byte) or memory; it is named, and the walk goes on to where control flow parts, if it does.
 */
import { FlowControl } from "../disasm/iced.js";
import { decodeAt } from "../disasm/disassembler.js";
import { dependenciesOf, effectiveAddress } from "../cpu/instructions/dependencies.js";
import type { Registers, StepRecord, Trace } from "../trace/trace.js";
import type { CodeRef, QueryContext } from "./context.js";
import { GPR_NAMES } from "./step-window.js";

/** One side of a point in the two executions. */
export interface DiffSide {
  step: number;
  /** What happens at this step: the instruction (code) or the event. */
  kind: "instruction" | "interrupt" | "exception" | "fault";
  vector: number | null;
  code: CodeRef;
  /** Registers that differ from the other side at this step (same-image diffs only). */
  registers: { name: string; value: number }[];
}

/**
 * A store whose value differs between the sides: for one image the same instruction, for two the
 * same source line's first store to the same variable in the same activation.
 */
export interface StoreDifference {
  /** Linear address of the write on side A, and on side B (the same for one image). */
  address: number;
  addressB: number;
  size: number;
  a: number;
  b: number;
  /** The variable (and member or element) written, by side A's symbols; null when none covers it. */
  variable: string | null;
}

/** What the last common step read that differed between the sides: the source of a data divergence. */
export interface DataSource {
  /** The step (the same on both sides) whose instruction read it. */
  step: number;
  kind: "port" | "memory";
  /** The port, or the linear address read. */
  address: number;
  size: number;
  a: number;
  b: number;
}

/** An input from outside as a recording stored it: the step it entered at, the device, its bytes. */
export interface DiffInput {
  step: number;
  device: string;
  data: number[];
}

export interface DiffAnswer {
  /** "step": one image, aligned by step; "source": two images, aligned by source lines and events. */
  alignment: "step" | "source";
  /** The last point both executions shared, or null when they differ from the first step. */
  common: { a: DiffSide; b: DiffSide } | null;
  /** The last common points, oldest first, `common` last (as many as the `context` option asked for). */
  context: { a: DiffSide; b: DiffSide }[];
  /**
   * The first divergence, or null when the executions agree over their common length. For one image:
   * `store`, a store whose value differs; `source`, what was read that differed (by the step before
   * for registers that differ, by the storing step itself for a store), null when not found.
   */
  divergence: { a: DiffSide | null; b: DiffSide | null; what: string; store: StoreDifference | null; source: DataSource | null } | null;
  /** After a data divergence (one image): the first step where control flow or events part, or null when they do not. */
  flow: { a: DiffSide | null; b: DiffSide | null; what: string } | null;
  /**
   * After a data divergence: how many steps past it were compared looking for `flow`, and whether
   * that went as far as it could (to `flow`, or to a recording's end) rather than stopping at the
   * `flowSearchSteps` option. Null otherwise.
   */
  flowSearch: { steps: number; complete: boolean } | null;
  /** The first byte of guest output that differs (or that one side lacks), with the step that printed it. */
  output: { offset: number; a: { step: number; byte: number } | null; b: { step: number; byte: number } | null } | null;
  /** The first input from outside that differs (its step, device or bytes), or that one side lacks; null when they agree. */
  input: { index: number; a: DiffInput | null; b: DiffInput | null } | null;
  /** How far the comparison went on each side. */
  compared: { a: number; b: number };
}

interface Visit {
  step: number;
  key: string;
  kind: DiffSide["kind"];
  vector: number | null;
  eip: number;
  bytes: Uint8Array;
}

/** The first store a source line made to a global variable in one activation (two images). */
interface StoreVisit {
  kind: "store";
  step: number;
  /** The activation's path, the function and line, and the variable: the same on both sides when they agree. */
  key: string;
  eip: number;
  bytes: Uint8Array;
  /** What was written, as the image's symbols name it (`config.depth`, `nodes[1].next`). */
  variable: string;
  address: number;
  size: number;
  value: number;
}

export interface DiffOptions {
  /** How many common points before the divergence to show (default 1: the last one). */
  context?: number;
  /** Steps compared past a data divergence looking for where control flow parts (default FLOW_SEARCH_STEPS). */
  flowSearchSteps?: number;
}

export function diffRecordings(a: QueryContext, b: QueryContext, options: DiffOptions = {}): DiffAnswer {
  const same = a.trace.image().sha256 === b.trace.image().sha256;
  const context = new ContextRing(options.context ?? 1);
  const flowSearchSteps = options.flowSearchSteps ?? FLOW_SEARCH_STEPS;
  const answer = same ? byStep(a, b, context, flowSearchSteps) : bySource(a, b, context, flowSearchSteps);
  answer.output = outputDiff(a.trace, b.trace);
  answer.input = inputDiff(a.trace, b.trace);
  return answer;
}

function side(ctx: QueryContext, step: number, kind: DiffSide["kind"], vector: number | null, eip: number, bytes: Uint8Array, registers: DiffSide["registers"] = []): DiffSide {
  return { step, kind, vector, code: ctx.describeCode(eip, bytes), registers };
}

const COMPARED = [...GPR_NAMES, "eflags"] as const;

/** The last `size` common points of a walk, described only when the answer needs them. */
class ContextRing {
  /** One more than asked for: a divergence found at a point's own step leaves that point out. */
  private readonly items: { stepA: number; describe: () => { a: DiffSide; b: DiffSide } }[] = [];
  constructor(private readonly size: number) {}

  push(stepA: number, describe: () => { a: DiffSide; b: DiffSide }): void {
    this.items.push({ stepA, describe });
    if (this.items.length > this.size + 1) this.items.shift();
  }

  /** The points before side A's step `beforeA`, oldest first, and the last one as `common`. */
  described(beforeA = Infinity): { common: { a: DiffSide; b: DiffSide } | null; context: { a: DiffSide; b: DiffSide }[] } {
    const context = this.items.filter((i) => i.stepA < beforeA).slice(-this.size).map((i) => i.describe());
    return { common: context[context.length - 1] ?? null, context };
  }
}

const ENDED = ["the first recording ends here; the second goes on", "the second recording ends here; the first goes on"];

/** Steps compared past a data divergence looking for where control flow parts (a step-by-step walk). */
export const FLOW_SEARCH_STEPS = 1_000_000;

function byStep(a: QueryContext, b: QueryContext, context: ContextRing, flowSearchSteps: number): DiffAnswer {
  const ca = a.trace.cursor(a.trace.startStep, { writes: true }), cb = b.trace.cursor(b.trace.startStep, { writes: true });
  const sideOf = (ctx: QueryContext, r: StepRecord, registers: DiffSide["registers"] = []) => side(ctx, r.step, r.kind, r.vector ?? null, r.regs.eip, r.bytes, registers);
  let last: StepRecord | null = null;
  // The first data divergence, once seen: the walk goes on to where control flow parts.
  let data: Omit<DiffAnswer, "flow" | "flowSearch" | "output" | "input"> | null = null;
  for (;;) {
    const ra = ca.next(), rb = cb.next();
    let parted: { a: DiffSide | null; b: DiffSide | null; what: string } | null = null;
    if (ra === null || rb === null) {
      if (ra !== null || rb !== null) parted = { a: ra && sideOf(a, ra), b: rb && sideOf(b, rb), what: ENDED[ra === null ? 0 : 1] };
    } else if (ra.regs.eip !== rb.regs.eip) {
      parted = { a: sideOf(a, ra), b: sideOf(b, rb), what: "control flow: the two executions are at different instructions" };
    } else if (ra.kind !== rb.kind || ra.vector !== rb.vector) {
      parted = { a: sideOf(a, ra), b: sideOf(b, rb), what: "an event: an interrupt or exception on one side only (or a different one)" };
    }
    if (data !== null) {
      const past = (ra?.step ?? ca.step) - data.compared.a;
      if (ra === null || rb === null || parted !== null) return { ...data, flow: parted, flowSearch: { steps: past, complete: true }, output: null, input: null };
      if (past >= flowSearchSteps) return { ...data, flow: null, flowSearch: { steps: past, complete: false }, output: null, input: null };
    }
    if (ra === null || rb === null || parted !== null) {
      const compared = parted === null ? { a: a.trace.steps, b: b.trace.steps } : { a: ra?.step ?? ca.step, b: rb?.step ?? cb.step };
      return { alignment: "step", ...context.described(), divergence: parted && { ...parted, store: null, source: null }, flow: null, flowSearch: null, output: null, input: null, compared };
    }
    if (data === null) {
      const differing = COMPARED.filter((r) => ra.regs[r] !== rb.regs[r]);
      const store = differing.length === 0 ? storeDifference(a, ra, rb) : null;
      if (differing.length > 0 || store !== null) {
        const regsOf = (rec: StepRecord) => differing.map((r) => ({ name: r, value: rec.regs[r] >>> 0 }));
        data = {
          alignment: "step",
          ...context.described(),
          divergence: {
            a: sideOf(a, ra, regsOf(ra)), b: sideOf(b, rb, regsOf(rb)),
            what: store !== null
              ? "data: the same store writes another value"
              : `data: ${differing.map((r) => r.toUpperCase()).join(", ")} differ${differing.length === 1 ? "s" : ""} before the same instruction`,
            store,
            // Registers that differ before this step come from what the step before read; a store
            // that differs with equal registers, from what this step read.
            source: store !== null ? dataSource(a.trace, b.trace, ra) : last === null ? null : dataSource(a.trace, b.trace, last),
          },
          compared: { a: ra.step, b: rb.step },
        };
      }
    }
    if (data === null) {
      const x = ra, y = rb;
      context.push(x.step, () => ({ a: sideOf(a, x), b: sideOf(b, y) }));
    }
    last = ra;
  }
}

/** The first write of two records of the same instruction whose value (or address, or size) differs, or null. */
function storeDifference(ctx: QueryContext, ra: StepRecord, rb: StepRecord): StoreDifference | null {
  const wa = ra.writes ?? [], wb = rb.writes ?? [];
  for (let i = 0; i < Math.min(wa.length, wb.length); i++) {
    const x = wa[i], y = wb[i];
    if (x.linear !== y.linear || x.size !== y.size || x.value !== y.value) return { address: x.linear, addressB: y.linear, size: x.size, a: x.value, b: y.value, variable: ctx.describeData(x.linear) };
  }
  return null;
}

/**
 * What step `rec` (the same instruction with the same registers on both sides) read that differs
 * between the traces: a port (an `in`), else a memory operand. Null when neither differs.
 */
function dataSource(ta: Trace, tb: Trace, rec: StepRecord): DataSource | null {
  const step = rec.step;
  const ins = (t: Trace) => t.portIo(null, step, step + 1).filter((p) => p.direction === "in");
  const pa = ins(ta), pb = ins(tb);
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    if (pa[i].value !== pb[i].value) return { step, kind: "port", address: pa[i].port, size: pa[i].size, a: pa[i].value, b: pb[i].value };
  }
  if (rec.kind !== "instruction") return null;
  const regs: Registers = rec.regs;
  for (const m of dependenciesOf(rec.bytes, regs.eip).memory) {
    if (!m.reads || m.size === 0 || m.size > 4) continue;
    // The registers agree before this step, so the operand's address is the same on both sides.
    const address = effectiveAddress(m, (i) => regs[GPR_NAMES[i]]);
    const va = ta.stateAt(step).readLinear(address, m.size);
    const vb = tb.stateAt(step).readLinear(address, m.size);
    if (va === null || vb === null || va.every((x, i) => x === vb[i])) continue;
    const le = (v: Uint8Array) => v.reduceRight((acc, x) => acc * 256 + x, 0);
    return { step, kind: "memory", address, size: m.size, a: le(va), b: le(vb) };
  }
  return null;
}

/**
 * Each side's source visits in first-visit order, produced lazily. The execution is read as a tree of
 * activations (a call, an interrupt handler, a jump into a function's entry); within one activation a
 * line or event is visited once, the first time, and of the activations one parent starts, only the
 * first of each function is looked into. A loop whose count depends on data (printing a longer
 * string, the same call made once more) then reads the same on both sides, and what is left to
 * compare is the code each side reaches and the order it first reaches it in.
 */
function* visits(ctx: QueryContext): Generator<Visit | StoreVisit> {
  const di = ctx.symbols;
  // Global variables by address: the variable (the key) and the part of it written (what is shown).
  const data = new Map<number, { object: string; path: string } | null>();
  const variableAt = (address: number) => {
    let v = data.get(address);
    if (v === undefined) {
      const d = di?.dataAt(address);
      v = d === undefined ? null : { object: d.variable.scope ? `${d.variable.scope}::${d.variable.name}` : d.variable.name, path: ctx.describeData(address) ?? d.path };
      data.set(address, v);
    }
    return v;
  };
  const lines = new Map<number, { fn: string; line: string | null; entry: boolean }>();
  const at = (eip: number) => {
    let v = lines.get(eip);
    if (v === undefined) {
      const f = di?.functionAt(eip) ?? null;
      const src = di?.sourceAt(eip) ?? null;
      // Code with no line (line 0) belongs to the line before it.
      v = { fn: f?.function.name ?? `?0x${eip.toString(16)}`, line: src !== null && src.line ? `${src.file}:${src.line}` : null, entry: f !== null && f.offset === 0 };
      lines.set(eip, v);
    }
    return v;
  };
  // `path`: the activations it was started from, each by how and which function (the first of each under
  // its parent, for one that is not hidden): it names the activation alike on both sides.
  interface Activation { fn: string; path: string; seen: Set<string>; children: Set<string>; hidden: boolean }
  const stack: Activation[] = [];
  const open = (fn: string, how: string): Activation => {
    const parent = stack[stack.length - 1];
    const key = `${how}${fn}`;
    const hidden = parent !== undefined && (parent.hidden || parent.children.has(key));
    if (parent !== undefined) parent.children.add(key);
    const a: Activation = { fn, path: `${parent?.path ?? ""}/${key}`, seen: new Set(), children: new Set(), hidden };
    stack.push(a);
    return a;
  };
  const cursor = ctx.trace.cursor(ctx.trace.startStep, { writes: true });
  let flow: FlowControl = FlowControl.Next;
  let pendingHandler = false;
  for (let rec = cursor.next(); rec !== null; rec = cursor.next()) {
    const eip = rec.regs.eip >>> 0;
    if (rec.kind !== "instruction") {
      const top = stack[stack.length - 1];
      const key = `${rec.kind}:${rec.vector ?? "?"}`;
      if (top !== undefined && !top.hidden && !top.seen.has(key)) {
        top.seen.add(key);
        yield { step: rec.step, key, kind: rec.kind, vector: rec.vector ?? null, eip, bytes: rec.bytes };
      }
      pendingHandler = rec.kind !== "fault";
      flow = FlowControl.Next;
      continue;
    }
    const here = at(eip);
    let top = stack[stack.length - 1];
    if (top === undefined) top = open(here.fn, "");
    else if (pendingHandler) top = open(here.fn, "handler ");
    else if (flow === FlowControl.Call || flow === FlowControl.IndirectCall || (here.fn !== top.fn && here.entry)) top = open(here.fn, "");
    else if (here.fn !== top.fn) {
      // A return (or a jump back into a caller): unwind to it; else the activation changes function.
      let i = stack.length - 1;
      while (i >= 0 && stack[i].fn !== here.fn) i--;
      if (i >= 0) stack.length = i + 1;
      else {
        stack.pop();
        open(here.fn, "");
      }
      top = stack[stack.length - 1];
    }
    pendingHandler = false;
    const insn = decodeAt(rec.bytes, eip);
    flow = insn.isInvalid ? FlowControl.Next : insn.flowControl;
    if (top.hidden || here.line === null) continue;
    const key = `${here.fn}|${here.line}`;
    if (!top.seen.has(key)) {
      top.seen.add(key);
      yield { step: rec.step, key, kind: "instruction", vector: null, eip, bytes: rec.bytes };
    }
    // A stack may be a global array (a kernel's boot stack, a thread's); what is pushed there, or kept
    // in frames on it, is not the variable's data.
    let stackObject: string | null | undefined;
    for (const w of rec.writes ?? []) {
      if (w.cause !== "instruction") continue;
      const v = variableAt(w.linear);
      if (v === null) continue;
      if (stackObject === undefined) stackObject = variableAt((rec.regs.esp - 1) >>> 0)?.object ?? null;
      if (v.object === stackObject) continue;
      const storeKey = `${top.path}|${key}|${v.object}`;
      if (top.seen.has(storeKey)) continue;
      top.seen.add(storeKey);
      yield { kind: "store", step: rec.step, key: storeKey, eip, bytes: rec.bytes, variable: v.path, address: w.linear, size: w.size, value: w.value };
    }
  }
}

/** Unmatched stores kept per side while looking for the other side's store with the same key. */
const PENDING_STORES = 10_000;

/**
 * Pairs the two sides' store visits by key and compares each pair: the values agree when they are
 * equal, or when both are addresses that the two images' symbols name alike (`queue`, `main+0x12`).
 */
class StorePairs {
  private readonly pending = [new Map<string, StoreVisit>(), new Map<string, StoreVisit>()];
  constructor(private readonly a: QueryContext, private readonly b: QueryContext) {}

  /** Adds a store of side 0 (A) or 1 (B); returns the pair [A, B] when the other side's store differs from it. */
  add(sideIndex: 0 | 1, s: StoreVisit): [StoreVisit, StoreVisit] | null {
    const other = this.pending[1 - sideIndex];
    const match = other.get(s.key);
    if (match === undefined) {
      const mine = this.pending[sideIndex];
      mine.set(s.key, s);
      if (mine.size > PENDING_STORES) mine.delete(mine.keys().next().value as string);
      return null;
    }
    other.delete(s.key);
    const [x, y] = sideIndex === 0 ? [s, match] : [match, s];
    return this.agree(x, y) ? null : [x, y];
  }

  private agree(x: StoreVisit, y: StoreVisit): boolean {
    if (x.variable !== y.variable || x.size !== y.size) return false;
    if (x.value === y.value) return true;
    if (x.size !== 4) return false;
    const nx = addressName(this.a, x.value), ny = addressName(this.b, y.value);
    if (nx !== null || ny !== null) return nx === ny;
    // Addresses no symbol names (a string literal in .rodata): the builds place them apart, and only
    // the section they point into can be compared.
    const sx = sectionAt(this.a, x.value), sy = sectionAt(this.b, y.value);
    return sx !== null && sx === sy;
  }
}

/**
 * `function+off` or `variable+off` for an address inside a function or a variable (by its size), else
 * null: an ELF label's reach to the next symbol is not taken, since it differs from build to build.
 */
function addressName(ctx: QueryContext, address: number): string | null {
  const di = ctx.symbols;
  if (di === null) return null;
  const f = di.functionAt(address);
  if (f !== undefined) return `${f.function.name}+${f.offset}`;
  const d = di.dataAt(address);
  return d === undefined ? null : `${d.variable.name}+${address - d.variable.address!}`;
}

/** The name of the loaded ELF section of `ctx`'s image holding `address`, or null. */
function sectionAt(ctx: QueryContext, address: number): string | null {
  const SHF_ALLOC = 2;
  const di = ctx.symbols;
  if (di === null) return null;
  // Sections hold linked addresses; the image may have run moved by a slide (KASLR).
  const linked = (address - di.slide) >>> 0;
  for (const s of di.elf.sections) {
    if ((s.flags & SHF_ALLOC) !== 0 && linked >= s.addr && linked < s.addr + s.size) return s.name;
  }
  return null;
}

function bySource(a: QueryContext, b: QueryContext, context: ContextRing, flowSearchSteps: number): DiffAnswer {
  const va = visits(a), vb = visits(b);
  const stores = new StorePairs(a, b);
  const sideOf = (ctx: QueryContext, v: Visit) => side(ctx, v.step, v.kind, v.vector, v.eip, v.bytes);
  // The first store that differs, once seen: the walk goes on to where control flow parts.
  let data: Omit<DiffAnswer, "flow" | "flowSearch" | "output" | "input"> | null = null;
  /** The next source or event visit of one side; its stores on the way are paired with the other side's. */
  const next = (sideIndex: 0 | 1): Visit | null => {
    const gen = sideIndex === 0 ? va : vb;
    for (;;) {
      const r = gen.next();
      if (r.done === true) return null;
      if (r.value.kind !== "store") return r.value;
      const differs = stores.add(sideIndex, r.value);
      if (differs !== null && data === null) data = storeDivergence(a, b, differs, context);
    }
  };
  for (;;) {
    const x = next(0), y = next(1);
    let parted: { a: DiffSide | null; b: DiffSide | null; what: string } | null = null;
    if (x === null || y === null) {
      if (x !== null || y !== null) parted = { a: x && sideOf(a, x), b: y && sideOf(b, y), what: ENDED[x === null ? 0 : 1] };
    } else if (x.key !== y.key) {
      const events = x.kind !== "instruction" || y.kind !== "instruction";
      const sameFunction = !events && x.key.split("|")[0] === y.key.split("|")[0];
      const what = events ? "an event: an interrupt or exception on one side only (or a different one) at this point" : sameFunction ? "control flow: the same function runs different source lines" : "control flow: the executions go on in different functions";
      parted = { a: sideOf(a, x), b: sideOf(b, y), what };
    }
    // (`data` is set inside next(), which the compiler's narrowing does not see.)
    const seen = data as Omit<DiffAnswer, "flow" | "flowSearch" | "output" | "input"> | null;
    if (seen !== null) {
      const past = (x?.step ?? a.trace.steps) - seen.compared.a;
      if (x === null || y === null || parted !== null) return { ...seen, flow: parted, flowSearch: { steps: past, complete: true }, output: null, input: null };
      if (past >= flowSearchSteps) return { ...seen, flow: null, flowSearch: { steps: past, complete: false }, output: null, input: null };
    }
    if (x === null || y === null || parted !== null) {
      const compared = parted === null ? { a: a.trace.steps, b: b.trace.steps } : { a: x?.step ?? a.trace.steps, b: y?.step ?? b.trace.steps };
      return { alignment: "source", ...context.described(), divergence: parted && { ...parted, store: null, source: null }, flow: null, flowSearch: null, output: null, input: null, compared };
    }
    if (seen === null) {
      const p = x, q = y;
      context.push(p.step, () => ({ a: sideOf(a, p), b: sideOf(b, q) }));
    }
  }
}

/** The answer so far when the first differing store of two images is found: both storing steps. */
function storeDivergence(a: QueryContext, b: QueryContext, [x, y]: [StoreVisit, StoreVisit], context: ContextRing): Omit<DiffAnswer, "flow" | "flowSearch" | "output" | "input"> {
  const what = x.variable === y.variable
    ? `data: the same source line stores another value to ${x.variable}`
    : `data: the same source line's first store goes to ${x.variable} on one side, ${y.variable} on the other`;
  return {
    alignment: "source",
    // The store's own line was visited at that step or before: the common points end before the store.
    ...context.described(x.step),
    divergence: {
      a: side(a, x.step, "instruction", null, x.eip, x.bytes), b: side(b, y.step, "instruction", null, y.eip, y.bytes),
      what,
      store: { address: x.address, addressB: y.address, size: x.size, a: x.value, b: y.value, variable: x.variable === y.variable ? x.variable : `${x.variable} / ${y.variable}` },
      source: null,
    },
    compared: { a: x.step, b: y.step },
  };
}

function outputDiff(a: Trace, b: Trace): DiffAnswer["output"] {
  const oa = a.output(), ob = b.output();
  const n = Math.min(oa.length, ob.length);
  for (let i = 0; i < n; i++) {
    if (oa[i].byte !== ob[i].byte) return { offset: i, a: { step: oa[i].step, byte: oa[i].byte }, b: { step: ob[i].step, byte: ob[i].byte } };
  }
  if (oa.length === ob.length) return null;
  return { offset: n, a: n < oa.length ? { step: oa[n].step, byte: oa[n].byte } : null, b: n < ob.length ? { step: ob[n].step, byte: ob[n].byte } : null };
}

function inputDiff(a: Trace, b: Trace): DiffAnswer["input"] {
  const ia = a.inputs(), ib = b.inputs();
  const of = (i: (typeof ia)[number] | undefined): DiffInput | null => (i === undefined ? null : { step: i.step, device: i.deviceName, data: Array.from(i.data) });
  const n = Math.min(ia.length, ib.length);
  for (let i = 0; i < n; i++) {
    const x = ia[i], y = ib[i];
    if (x.step !== y.step || x.device !== y.device || x.data.length !== y.data.length || x.data.some((v, k) => v !== y.data[k])) return { index: i, a: of(x), b: of(y) };
  }
  return ia.length === ib.length ? null : { index: n, a: of(ia[n]), b: of(ib[n]) };
}

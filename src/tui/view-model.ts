/**
 * The debugger's state and every command it understands, independent of any screen. A front end
 * feeds it keys (`key`) and renders `view`; all questions go through the trace and query library
 * here, so components hold no query logic and other front ends can drive the same commands.
 *
 * Position: "step N" is the machine after N steps, i.e. just before step N runs (as `stateAt(N)`).
 * The instruction at EIP is the one step N will execute.
 */
import type { Recording } from "../bundle/open.js";
import { disassemble } from "../disasm/disassembler.js";
import { hex, QueryContext } from "../query/context.js";
import { LocationError, resolveLocation } from "../query/location.js";
import { renderWhyWrite } from "../query/render.js";
import { whyWrite } from "../query/why-write.js";
import type { Registers, StepState, Trace, TraceEvent } from "../trace/trace.js";

export type Mode = "normal" | "goto" | "why" | "break" | "bookmark" | "help" | "answer";

export interface RegisterView {
  name: string;
  value: number;
  /** Whether the last step (N-1 -> N) changed it. */
  changed: boolean;
}

export interface DisasmLine {
  address: number;
  /** `function+0xoff`, or the hexadecimal address. */
  label: string;
  text: string;
  current: boolean;
}

export interface SourceLine {
  number: number;
  text: string;
  current: boolean;
}

export interface SourceView {
  file: string | null;
  line: number | null;
  lines: SourceLine[];
  /** Why no source is shown (null when lines are shown). */
  missing: string | null;
}

export interface StackWord {
  address: number;
  /** Null when the page is not mapped at this step. */
  value: number | null;
  /** What the stack slot is (a variable or field path), when symbols name it. */
  name: string | null;
  /** The value read as a code or data address, when it names one. */
  points: string | null;
}

export interface TimelineView {
  /** One character per cell: '.' nothing, 'i' interrupt, 'e' exception/fault, 's' software interrupt. */
  cells: string;
  /** The cell holding the current position. */
  cursor: number;
  /** Events in the trace (capped; see `capped`). */
  count: number;
  capped: boolean;
}

export interface View {
  step: number;
  first: number;
  last: number;
  mode: Mode;
  /** The text typed into the current prompt. */
  input: string;
  /** What the last command did (or why it could not). */
  message: string;
  location: { symbol: string | null; file: string | null; line: number | null };
  /** What kind of step N is, when it is not a plain instruction (e.g. "interrupt 157"). */
  stepKind: string | null;
  registers: RegisterView[];
  /** Segment and control registers (shown on demand). */
  system: RegisterView[];
  showSystem: boolean;
  disasm: DisasmLine[];
  source: SourceView;
  stack: StackWord[];
  timeline: TimelineView;
  /** The why-write answer, one string per line, and the step `j` jumps to. */
  answer: { lines: string[]; jumpTo: number | null; scroll: number } | null;
  breakpoints: { name: string; address: number }[];
}

/** The part of the view that depends only on the position. */
type StepView = Omit<View, "mode" | "input" | "message" | "showSystem" | "answer" | "breakpoints">;

/** Keys as Ink reports them, reduced to what the view model needs. */
export interface KeyInfo {
  upArrow?: boolean;
  downArrow?: boolean;
  pageUp?: boolean;
  pageDown?: boolean;
  home?: boolean;
  end?: boolean;
  return?: boolean;
  escape?: boolean;
  backspace?: boolean;
  delete?: boolean;
  ctrl?: boolean;
}

const GPRS = ["eax", "ebx", "ecx", "edx", "esi", "edi", "ebp", "esp", "eip", "eflags"] as const;
const SYSTEM = ["cs", "ds", "es", "fs", "gs", "ss", "cr0", "cr2", "cr3", "cr4", "cpl"] as const;
const DISASM_BEFORE = 4;
const DISASM_AFTER = 8;
const SOURCE_CONTEXT = 6;
const STACK_WORDS = 12;
const TIMELINE_CELLS = 64;
/** Most events read for the timeline; traces with more show the first ones and say so. */
const TIMELINE_EVENTS = 200_000;
/** Most steps a forward or reverse continue walks before it stops and reports how far it got. */
const CONTINUE_LIMIT = 5_000_000;

export const HELP: readonly [string, string][] = [
  ["n / p", "next step / previous step (reverse)"],
  ["g", "go to a step number"],
  ["< > Home End", "go to the start / end of the trace"],
  ["i / I", "next / previous interrupt or exception"],
  ["b", "breakpoint on a function, file:line or address (again to remove)"],
  ["c / r", "continue / reverse-continue to a breakpoint"],
  ["w", "why-write: who last wrote an expression or address (EXPR @ STEP to ask elsewhere)"],
  ["j", "in a why-write answer: jump to the writing step"],
  ["m / '", "set a bookmark here (named) / jump to the next bookmark"],
  ["s", "show segment and control registers"],
  ["?", "this help"],
  ["Esc", "close a prompt, answer or help"],
  ["q", "quit"],
];

export class DebuggerViewModel {
  readonly ctx: QueryContext;
  readonly trace: Trace;
  private step: number;
  private mode: Mode = "normal";
  private input = "";
  private message = "";
  private showSystem = false;
  private answer: View["answer"] = null;
  private readonly breakpoints = new Map<number, string>();
  private eventList: TraceEvent[] | null = null;
  private eventsCapped = false;
  private snapshot: View | null = null;
  private atStep: StepView | null = null;

  constructor(private readonly recording: Pick<Recording, "trace" | "sources" | "symbols" | "symbolsProblem" | "bookmarks" | "setBookmark">, at?: number) {
    this.ctx = QueryContext.fromRecording(recording);
    this.trace = recording.trace;
    const start = at ?? this.trace.startStep;
    this.step = this.clamp(start);
    this.message = `${this.trace.path}: steps ${this.trace.startStep}..${this.trace.steps}; ? for help`;
  }

  /** The current screen state (recomputed after each command, then cached). */
  get view(): View {
    if (this.snapshot === null) {
      // What depends on the position is computed once per step; prompts and messages are cheap.
      if (this.atStep === null || this.atStep.step !== this.step) this.atStep = this.compute();
      this.snapshot = {
        ...this.atStep,
        mode: this.mode,
        input: this.input,
        message: this.message,
        showSystem: this.showSystem,
        answer: this.answer,
        breakpoints: [...this.breakpoints].map(([address, name]) => ({ address, name })),
      };
    }
    return this.snapshot;
  }

  get position(): number {
    return this.step;
  }

  // ---- commands -------------------------------------------------------------------------------

  /** Moves to `step` (clamped into the trace). */
  goTo(step: number, why?: string): void {
    const target = this.clamp(step);
    this.step = target;
    this.message = why ?? `at step ${fmt(target)}`;
    this.invalidate();
  }

  next(): void {
    if (this.step >= this.trace.steps) return this.say("at the end of the trace");
    this.goTo(this.step + 1, `stepped to ${fmt(this.step + 1)}`);
  }

  previous(): void {
    if (this.step <= this.trace.startStep) return this.say("at the start of the trace");
    this.goTo(this.step - 1, `reverse-stepped to ${fmt(this.step - 1)}`);
  }

  /** Next (dir 1) or previous (dir -1) interrupt, exception or fault, from the index. */
  nextEvent(dir: 1 | -1): void {
    let e: TraceEvent | undefined;
    if (dir > 0) {
      e = this.trace.events(this.step + 1, this.trace.steps, { limit: 1 })[0];
    } else {
      // Events come in step order; scan backwards by widening windows so the cost stays bounded.
      let span = 4096;
      let to = this.step;
      while (to > this.trace.startStep && e === undefined) {
        const from = Math.max(this.trace.startStep, to - span);
        const list = this.trace.events(from, to);
        e = list[list.length - 1];
        to = from;
        span *= 4;
      }
    }
    if (e === undefined) return this.say(`no ${dir > 0 ? "later" : "earlier"} interrupt or exception`);
    this.goTo(e.step, `${describeEvent(e)} at step ${fmt(e.step)}`);
  }

  /** Asks who last wrote `text` (an expression or address, optionally `@ STEP|fault|end`). */
  whyWrite(text: string): void {
    const m = /^(.*?)(?:\s+@\s*(\S+))?\s*$/.exec(text.trim());
    const expr = (m?.[1] ?? "").trim();
    const atText = m?.[2];
    let at = this.step;
    if (atText !== undefined) {
      const parsed = this.parseStep(atText);
      if (parsed === null) return this.say(`why-write: '${atText}' is not a step number, 'fault' or 'end'`, "answer-none");
      at = parsed;
    }
    let note: string | null = null;
    let result = this.askWhy(expr, at);
    // Early in a trace the structure may not exist yet (paging off, pointer unset) or nothing has
    // written it: the question is then about the crash, so ask at the first fault (or the end).
    if (atText === undefined && (result.error !== null || result.lines === null)) {
      const fallback = this.firstFault() ?? this.trace.steps;
      if (fallback !== at) {
        const again = this.askWhy(expr, fallback);
        if (again.error === null && again.lines !== null) {
          note = `(${result.error !== null ? `not resolvable at step ${fmt(at)}: ${result.error}` : `never written before step ${fmt(at)}`}; asked at ${fallback === this.firstFault() ? "the first fault, " : "the end, "}step ${fmt(fallback)})`;
          result = again;
        }
      }
    }
    if (result.error !== null) return this.say(`why-write: ${result.error}`, "answer-none");
    const lines = [...(note !== null ? [note] : []), ...(result.lines ?? [])];
    this.answer = { lines, jumpTo: result.jumpTo, scroll: 0 };
    this.mode = "answer";
    this.message = result.jumpTo !== null ? `why-write ${expr}: last written at step ${fmt(result.jumpTo)}` : `why-write ${expr}: never written`;
    this.invalidate();
  }

  /** Toggles a breakpoint on a function, file:line or address. */
  toggleBreakpoint(text: string): void {
    const t = text.trim();
    const address = this.resolveCode(t);
    if (address === null) return this.say(`break: cannot find '${t}' (a function, file:line or address)`);
    if (this.breakpoints.has(address)) {
      this.breakpoints.delete(address);
      return this.say(`breakpoint at ${hex(address)} (${t}) removed`);
    }
    this.breakpoints.set(address, t);
    this.say(`breakpoint at ${hex(address)} (${t})`);
  }

  /**
   * Runs forward (dir 1) or backward (dir -1) to the nearest step whose EIP is a breakpoint, or to
   * the trace's end. Walks recorded steps with a cursor; bounded by CONTINUE_LIMIT per command.
   */
  continueTo(dir: 1 | -1): void {
    if (this.breakpoints.size === 0) {
      return dir > 0 ? this.goTo(this.trace.steps, "no breakpoints: went to the end") : this.goTo(this.trace.startStep, "no breakpoints: went to the start");
    }
    const hit = dir > 0 ? this.scanForward() : this.scanBackward();
    if (hit.step !== null) this.goTo(hit.step, `breakpoint ${this.breakpoints.get(hit.address!)} at step ${fmt(hit.step)}`);
    else if (hit.stoppedAt !== null) this.goTo(hit.stoppedAt, `no breakpoint within ${fmt(CONTINUE_LIMIT)} steps; stopped at ${fmt(hit.stoppedAt)} (press again to go on)`);
    else dir > 0 ? this.goTo(this.trace.steps, "no breakpoint ahead: at the end") : this.goTo(this.trace.startStep, "no breakpoint behind: at the start");
  }

  setBookmark(name: string): void {
    try {
      const b = this.recording.setBookmark({ name: name.trim(), step: this.step });
      this.say(`bookmark '${b.name}' at step ${fmt(b.step)}`);
    } catch (e) {
      this.say(`bookmark: ${(e as Error).message}`);
    }
  }

  /** Jumps to the first bookmark after the current step (wrapping to the first). */
  nextBookmark(): void {
    const list = this.recording.bookmarks();
    if (list.length === 0) return this.say("no bookmarks (m sets one)");
    const b = list.find((x) => x.step > this.step) ?? list[0];
    this.goTo(b.step, `bookmark '${b.name}' at step ${fmt(b.step)}`);
  }

  /** Handles one key; returns "quit" when the user asked to leave. */
  key(input: string, k: KeyInfo = {}): "quit" | undefined {
    // Keys typed while a slow command ran reach us as one string ("wksIdle...\r"): take them one by one
    // so a command key followed by prompt text works as typed.
    if (input.length > 1 && !k.escape && !k.ctrl) {
      for (const c of input) {
        const r = c === "\r" || c === "\n" ? this.key("", { return: true }) : this.key(c, {});
        if (r === "quit") return r;
      }
      return undefined;
    }
    return this.oneKey(input, k);
  }

  private oneKey(input: string, k: KeyInfo): "quit" | undefined {
    switch (this.mode) {
      case "goto":
      case "why":
      case "break":
      case "bookmark":
        this.promptKey(input, k);
        return;
      case "help":
        if (k.escape || input === "?" || input === "q") this.setMode("normal");
        return;
      case "answer":
        return this.answerKey(input, k);
      default:
        break;
    }
    if (k.home) return void this.goTo(this.trace.startStep, "at the start");
    if (k.end) return void this.goTo(this.trace.steps, "at the end");
    switch (input) {
      case "q": return "quit";
      case "n": this.next(); break;
      case "p": this.previous(); break;
      case "<": this.goTo(this.trace.startStep, "at the start"); break;
      case ">": this.goTo(this.trace.steps, "at the end"); break;
      case "i": this.nextEvent(1); break;
      case "I": this.nextEvent(-1); break;
      case "c": this.continueTo(1); break;
      case "r": this.continueTo(-1); break;
      case "s": this.showSystem = !this.showSystem; this.invalidate(); break;
      case "'": this.nextBookmark(); break;
      case "?": this.setMode("help"); break;
      case "g": this.openPrompt("goto"); break;
      case "w": this.openPrompt("why"); break;
      case "b": this.openPrompt("break"); break;
      case "m": this.openPrompt("bookmark"); break;
      default: break;
    }
    return undefined;
  }

  // ---- internals ------------------------------------------------------------------------------

  private promptKey(input: string, k: KeyInfo): void {
    if (k.escape) return this.setMode("normal");
    if (k.return) {
      const text = this.input;
      const mode = this.mode;
      this.mode = "normal";
      this.input = "";
      if (text.trim() === "") return this.invalidate();
      if (mode === "goto") {
        const s = this.parseStep(text.trim());
        if (s === null) this.say(`go to: '${text.trim()}' is not a step number, 'fault' or 'end'`);
        else this.goTo(s, `at step ${fmt(this.clamp(s))}`);
      } else if (mode === "why") this.whyWrite(text);
      else if (mode === "break") this.toggleBreakpoint(text);
      else this.setBookmark(text);
      return;
    }
    if (k.backspace || k.delete) this.input = this.input.slice(0, -1);
    else if (!k.ctrl && input.length > 0 && !/[\x00-\x1f\x7f]/.test(input)) this.input += input;
    this.invalidate();
  }

  private answerKey(input: string, k: KeyInfo): "quit" | undefined {
    const a = this.answer!;
    if (k.escape || input === "q") {
      this.setMode("normal");
      return;
    }
    if (input === "j" && a.jumpTo !== null) {
      this.mode = "normal";
      this.goTo(a.jumpTo, `jumped to the writing step ${fmt(a.jumpTo)}`);
      return;
    }
    if (k.downArrow || input === "n") a.scroll = Math.min(a.scroll + 1, Math.max(0, a.lines.length - 1));
    else if (k.upArrow || input === "p") a.scroll = Math.max(0, a.scroll - 1);
    else if (k.pageDown || input === " ") a.scroll = Math.min(a.scroll + 10, Math.max(0, a.lines.length - 1));
    else if (k.pageUp) a.scroll = Math.max(0, a.scroll - 10);
    this.answer = { ...a };
    this.invalidate();
    return undefined;
  }

  private openPrompt(mode: Mode): void {
    this.mode = mode;
    this.input = "";
    this.invalidate();
  }

  private setMode(mode: Mode): void {
    this.mode = mode;
    if (mode === "normal") this.input = "";
    this.invalidate();
  }

  private say(message: string, _kind?: string): void {
    this.message = message;
    this.invalidate();
  }

  private invalidate(): void {
    this.snapshot = null;
  }

  private clamp(step: number): number {
    return Math.max(this.trace.startStep, Math.min(this.trace.steps, Math.trunc(step)));
  }

  private firstFault(): number | null {
    return this.events().find((e) => e.kind === "fault")?.step ?? null;
  }

  private parseStep(text: string): number | null {
    if (text === "end") return this.trace.steps;
    if (text === "start") return this.trace.startStep;
    if (text === "fault") return this.firstFault();
    const cleaned = text.replace(/[_,]/g, "");
    if (!/^[0-9]+$/.test(cleaned)) return null;
    return Number(cleaned);
  }

  /** One why-write question: rendered lines (null when never written) or an error message. */
  private askWhy(expr: string, at: number): { lines: string[] | null; jumpTo: number | null; error: string | null } {
    try {
      const loc = resolveLocation(this.ctx, expr, at);
      if (loc.kind === "register") {
        const change = this.trace.lastRegisterChange(loc.register, at);
        if (change === null) return { lines: null, jumpTo: null, error: null };
        const rec = this.trace.describeStep(change.step);
        const code = this.ctx.describeCode(rec?.regs.eip ?? 0, rec?.bytes);
        const lines = [
          `$${loc.register} before step ${fmt(at)}`,
          `Last changed at step ${fmt(change.step)}: ${hex(change.before)} -> ${hex(change.after)} by \`${code.disasm}\``,
          `    ${code.symbol ?? hex(code.eip)}  ${code.file !== null ? `${code.file}:${code.line}` : "(no source line)"}`,
        ];
        return { lines, jumpTo: change.step, error: null };
      }
      const answer = whyWrite(this.ctx, loc, at, { chain: true });
      if (answer.writes.length === 0) return { lines: null, jumpTo: null, error: null };
      return { lines: renderWhyWrite(answer, this.ctx.symbolsProblem).split("\n"), jumpTo: answer.writes[0].step, error: null };
    } catch (e) {
      if (e instanceof LocationError) return { lines: null, jumpTo: null, error: e.message };
      const err = e as Error;
      if (err.name === "TraceError") return { lines: null, jumpTo: null, error: err.message };
      throw e;
    }
  }

  /** A code address from a function name, file:line or number. */
  private resolveCode(t: string): number | null {
    if (/^(0x[0-9a-f]+|[0-9]+)$/i.test(t)) return Number(t) >>> 0;
    const di = this.ctx.symbols;
    if (di === null) return null;
    const fl = /^(.+):([0-9]+)$/.exec(t);
    if (fl) {
      const a = di.addressesForLine(fl[1], Number(fl[2]));
      return a.length > 0 ? Math.min(...a) >>> 0 : null;
    }
    const f = di.functionNamed(t);
    return f ? f.entry >>> 0 : null;
  }

  private scanForward(): { step: number | null; address: number | null; stoppedAt: number | null } {
    const cursor = this.trace.cursor(Math.min(this.step + 1, this.trace.steps));
    const limit = this.step + 1 + CONTINUE_LIMIT;
    for (;;) {
      const s = cursor.step;
      if (s >= limit) return { step: null, address: null, stoppedAt: s };
      const rec = cursor.next();
      if (rec === null) return { step: null, address: null, stoppedAt: null };
      if (rec.kind === "instruction" && this.breakpoints.has(rec.regs.eip)) return { step: s, address: rec.regs.eip, stoppedAt: null };
    }
  }

  /** Scans earlier windows forward and keeps each window's last hit, nearest window first. */
  private scanBackward(): { step: number | null; address: number | null; stoppedAt: number | null } {
    let to = this.step;
    let walked = 0;
    let span = 8192;
    while (to > this.trace.startStep) {
      const from = Math.max(this.trace.startStep, to - span);
      const cursor = this.trace.cursor(from);
      let best: { step: number; address: number } | null = null;
      while (cursor.step < to) {
        const s = cursor.step;
        const rec = cursor.next();
        if (rec === null) break;
        if (rec.kind === "instruction" && this.breakpoints.has(rec.regs.eip)) best = { step: s, address: rec.regs.eip };
      }
      if (best !== null) return { step: best.step, address: best.address, stoppedAt: null };
      walked += to - from;
      to = from;
      if (walked >= CONTINUE_LIMIT && to > this.trace.startStep) return { step: null, address: null, stoppedAt: to };
      span = Math.min(span * 2, 1 << 20);
    }
    return { step: null, address: null, stoppedAt: null };
  }

  private events(): TraceEvent[] {
    if (this.eventList === null) {
      this.eventList = this.trace.events(this.trace.startStep, this.trace.steps, { limit: TIMELINE_EVENTS + 1 });
      this.eventsCapped = this.eventList.length > TIMELINE_EVENTS;
      if (this.eventsCapped) this.eventList.length = TIMELINE_EVENTS;
    }
    return this.eventList;
  }

  private compute(): StepView {
    const trace = this.trace;
    const step = this.step;
    // The step that led here, replayed once: its registers are "before", the state after it is now.
    const prev = step > trace.startStep ? trace.describeStep(step - 1) : null;
    const state = trace.stateAt(step);
    const regs = state.regs;
    const changed = (name: string) => prev !== null && (prev.regs as unknown as Record<string, number>)[name] !== (regs as unknown as Record<string, number>)[name];
    const reg = (name: string): RegisterView => ({ name, value: (regs as unknown as Record<string, number>)[name], changed: changed(name) });
    const disasm = this.disassembleAround(state, regs);
    const stackRaw = this.readStack(state, regs.esp);
    const code = this.ctx.describeCode(regs.eip, state.readLinear(regs.eip, 15) ?? undefined);
    // pointerHints replays to `step` itself; readers taken above are not used after this point.
    this.ctx.pointerHints(step);
    const di = this.ctx.symbols;
    const stack = stackRaw.map((w) => ({
      address: w.address,
      value: w.value,
      name: this.ctx.describeData(w.address),
      points: w.value === null || di === null ? null : namedAddress(di.symbolize(w.value)),
    }));
    // What step N is (an interrupt delivery, a fault...), from the event index: no replay needed.
    const here = step < trace.steps ? trace.events(step, step + 1, { limit: 1 })[0] : undefined;
    const stepKind = here !== undefined ? describeEvent(here) : null;
    const ev = this.events();
    return {
      step,
      first: trace.startStep,
      last: trace.steps,
      location: { symbol: code.symbol, file: code.file, line: code.line },
      stepKind,
      registers: GPRS.map(reg),
      system: SYSTEM.map(reg),
      disasm,
      source: this.sourceView(code.file, code.line),
      stack,
      timeline: timeline(ev, trace.startStep, trace.steps, step, this.eventsCapped),
    };
  }

  private disassembleAround(state: StepState, regs: Registers): DisasmLine[] {
    const eip = regs.eip >>> 0;
    const di = this.ctx.symbols;
    const sym = (a: number) => (di ? di.symbolize(a) : "");
    // Instructions before EIP are only known from a boundary: decode from the function's entry.
    const fn = di?.functionAt(eip);
    let start = eip;
    if (fn !== undefined && fn.offset > 0 && fn.offset <= 1024) start = (eip - fn.offset) >>> 0;
    const want = eip - start + 15 * (DISASM_AFTER + 1);
    let bytes: Uint8Array | null = null;
    // Shrink the read until it fits the mapped pages.
    for (let n = want; n >= 1 && bytes === null; n = n > 64 ? n >> 1 : n - 16) bytes = state.readLinear(start, Math.max(1, n));
    if (bytes === null && start !== eip) {
      start = eip;
      bytes = state.readLinear(eip, 15);
    }
    if (bytes === null) return [{ address: eip, label: hex(eip), text: "(code not mapped)", current: true }];
    const out: DisasmLine[] = [];
    let off = 0;
    let currentIndex = -1;
    while (off < bytes.length) {
      const addr = (start + off) >>> 0;
      if (addr > eip && currentIndex < 0) {
        // EIP is not on a boundary from the function entry (data in code, or a wrong entry): resync.
        out.length = 0;
        off = eip - start;
        continue;
      }
      const d = disassemble(bytes.subarray(off), addr, sym);
      if (addr === eip) currentIndex = out.length;
      out.push({ address: addr, label: di ? di.symbolize(addr) : hex(addr), text: d.valid ? d.text : "(bad)", current: addr === eip });
      off += d.length > 0 ? d.length : 1;
      if (currentIndex >= 0 && out.length - currentIndex > DISASM_AFTER) break;
    }
    const from = Math.max(0, currentIndex - DISASM_BEFORE);
    return out.slice(from, currentIndex + DISASM_AFTER + 1);
  }

  private readStack(state: StepState, esp: number): { address: number; value: number | null }[] {
    const out: { address: number; value: number | null }[] = [];
    for (let i = 0; i < STACK_WORDS; i++) {
      const address = (esp + 4 * i) >>> 0;
      const b = state.readLinear(address, 4);
      out.push({ address, value: b === null ? null : (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0 });
    }
    return out;
  }

  private sourceView(file: string | null, line: number | null): SourceView {
    if (file === null || line === null) {
      return { file, line, lines: [], missing: this.ctx.symbolsProblem ?? "no source line for this address" };
    }
    const text = this.ctx.sources.lines(file);
    if (text === null) return { file, line, lines: [], missing: `source not available (${file})` };
    const lines: SourceLine[] = [];
    for (let n = Math.max(1, line - SOURCE_CONTEXT); n <= Math.min(text.length, line + SOURCE_CONTEXT); n++) {
      lines.push({ number: n, text: text[n - 1].replace(/\t/g, "    "), current: n === line });
    }
    return { file, line, lines, missing: null };
  }
}

/** Only names that are symbols, not bare hexadecimal fallbacks. */
function namedAddress(s: string): string | null {
  return /^0x[0-9a-f]+$/i.test(s) ? null : s;
}

function describeEvent(e: TraceEvent): string {
  const what = e.kind === "interrupt" ? "interrupt" : e.kind === "software-interrupt" ? "int" : e.kind;
  return `${what} ${e.vector} (${hex(e.vector)})${e.errorCode !== null ? ` error ${hex(e.errorCode)}` : ""}`;
}

function timeline(events: TraceEvent[], first: number, last: number, step: number, capped: boolean): TimelineView {
  const span = Math.max(1, last - first);
  const cell = (s: number) => Math.min(TIMELINE_CELLS - 1, Math.floor(((s - first) * TIMELINE_CELLS) / (span + 1)));
  const cells = new Array<string>(TIMELINE_CELLS).fill(".");
  const rank: Record<string, number> = { ".": 0, s: 1, i: 2, e: 3 };
  for (const e of events) {
    const c = e.kind === "interrupt" ? "i" : e.kind === "software-interrupt" ? "s" : "e";
    const k = cell(e.step);
    if (rank[c] > rank[cells[k]]) cells[k] = c;
  }
  return { cells: cells.join(""), cursor: cell(step), count: events.length, capped };
}

export function fmt(n: number): string {
  return n.toLocaleString("en-US");
}

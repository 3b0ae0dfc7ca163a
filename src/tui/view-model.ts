/**
 * The debugger's state and every command it understands, independent of any screen. A front end
 * feeds it keys (`key`) and renders `view`; all questions go through the trace and query library
 * here, so components hold no query logic and other front ends can drive the same commands.
 *
 * Position: "step N" is the machine after N steps, i.e. just before step N runs (as `stateAt(N)`).
 * The instruction at EIP is the one step N will execute.
 *
 * Long commands (continue, reverse-continue, step over, source-line steps, why-write) run as jobs: a
 * generator that does a bounded piece of work per `next()` (a few thousand steps or one query) and
 * yields a progress line. The job runner gives each tick a time budget, then yields to the event loop
 * with setImmediate, so keys (Esc) are read and the screen redraws while a search runs. A job moves the
 * position only when it finishes; cancelling it therefore leaves the debugger exactly where it was.
 */
import type { Recording } from "../bundle/open.js";
import { disassemble } from "../disasm/disassembler.js";
import { hex, QueryContext } from "../query/context.js";
import { LocationError, resolveLocation, stepEvalContext } from "../query/location.js";
import { ExpressionEvaluator } from "../symbols/expr-eval.js";
import { ExpressionError } from "../symbols/expr-error.js";
import { formatValue } from "../symbols/format.js";
import { codePlace, renderWhyWrite } from "../query/render.js";
import { whyWrite } from "../query/why-write.js";
import { screenAt } from "../query/screen.js";
import { ReplayTimeline, type Search, type StopConditions } from "../query/timeline.js";
import { changedFpuRegisters, fpuRegisters, type FpuRegister } from "../query/fpu-registers.js";
import { explain, ExplainError, type Explanation } from "../query/explain.js";
import { findCrash } from "../query/crash.js";
import { renderExplanation } from "../query/explain-render.js";
import type { MemoryRange, Registers, StepRecord, StepState, Trace, TraceEvent } from "../trace/trace.js";
import { groupDigits } from "../text/group-digits.js";

export type Mode = "normal" | "goto" | "why" | "break" | "watch" | "bookmark" | "bookmarks" | "help" | "answer";

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

/** A local or parameter of the code at EIP, with its value there. */
export interface LocalView {
  name: string;
  parameter: boolean;
  /** The value as C would print it, or why it has none here (`<optimised out>`). */
  text: string;
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
  location: { symbol: string | null; file: string | null; line: number | null; linesKnown: boolean };
  /** What kind of step N is, when it is not a plain instruction (e.g. "interrupt 157"). */
  stepKind: string | null;
  registers: RegisterView[];
  /** Segment and control registers (shown on demand). */
  system: RegisterView[];
  showSystem: boolean;
  disasm: DisasmLine[];
  source: SourceView;
  stack: StackWord[];
  /** Locals and parameters visible at EIP (innermost first; at most MAX_LOCALS). */
  locals: LocalView[];
  timeline: TimelineView;
  /** The why-write or explain answer, one string per line, the step `j` jumps to and what that step is. */
  answer: { lines: string[]; jumpTo: number | null; jumpName?: string; scroll: number } | null;
  breakpoints: { name: string; address: number }[];
  /** Watched memory: the expression as typed and the range it resolved to. */
  watches: Watch[];
  /** Index into `stack` of the selected word (up/down arrows), or null. */
  stackSelection: number | null;
  /** The bookmark list overlay (M): the recording's bookmarks and the highlighted one. */
  bookmarkList: { items: { name: string; step: number }[]; selected: number } | null;
  /** The running long command, with its latest progress line; null when idle. */
  busy: { label: string; progress: string } | null;
  /** The VGA text screen at this step while the Screen panel is open (key v), else null. */
  screen: ScreenView | null;
  /** The x87/SSE registers at this step while the FPU panel is open (key f), else null. */
  fpu: FpuView | null;
  /** The guest's output printed before this step while the Output panel is open (key t), else null. */
  output: OutputView | null;
}

/** What the guest had printed (serial and 0xe9 console, in step order) when the current step began. */
export interface OutputView {
  /** The last lines, oldest first; the last one is the line being printed (possibly empty). */
  lines: string[];
  /** Bytes printed before this step, and in the whole recording. */
  printed: number;
  total: number;
}

/** The x87 and SSE registers at the current step, each marked when the last step changed it. */
export interface FpuView {
  registers: (FpuRegister & { changed: boolean })[];
}

/** The text screen as the guest's display showed it at the current step. */
export interface ScreenView {
  /** 25 rows of 80 characters (code page 437 as Unicode). */
  lines: string[];
  /** 0-based, or null when the cursor is hidden or off the screen. */
  cursor: { row: number; column: number } | null;
}

export interface Watch {
  expression: string;
  /** Linear address and size the expression had when the watch was set. */
  address: number;
  size: number;
  /** What is searched: the physical range when the location was mapped contiguously, else linear. */
  range: MemoryRange;
}

export interface ViewModelOptions {
  /** Milliseconds of work per tick before yielding to the event loop (default 40). */
  sliceMs?: number;
  /** Most job units (a few thousand steps or one query each) per tick; tests use 1 to force ticks. */
  unitsPerSlice?: number;
  /** Steps a breakpoint search covers per unit (default 2M, 10-20 ms); tests make it small. */
  breakpointSliceSteps?: number;
}

/** The part of the view that depends only on the position. */
type StepView = Omit<View, "mode" | "input" | "message" | "showSystem" | "answer" | "breakpoints" | "watches" | "stackSelection" | "bookmarkList" | "busy" | "screen" | "fpu" | "output">;

/** A long command: each `next()` does a bounded piece of work and yields a progress line. */
type JobBody = Generator<string, void, void>;

interface Job {
  label: string;
  body: JobBody;
  progress: string;
}

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
/** Locals listed at most (the innermost scopes' first). */
const MAX_LOCALS = 8;
const SOURCE_CONTEXT = 6;
const STACK_WORDS = 12;
const TIMELINE_CELLS = 64;
/** Most events read for the timeline; traces with more show the first ones and say so. */
const TIMELINE_EVENTS = 200_000;
/** Steps walked between two progress reports (and chances to yield) in scanning jobs. */
const PROGRESS_EVERY = 4096;
/** Most output lines the Output panel keeps (more than any terminal shows). */
const OUTPUT_LINES = 200;
/** Steps read forward at a time when walking backward (each window costs one seek). */
const BACK_WINDOW = 4096;
/** The longest near call: a segment override, then FF /2 with a SIB byte and a 32-bit displacement. */
const MAX_CALL_LENGTH = 8;

/**
 * One line of the help and the keys it covers. In normal mode each key runs its action; a line with
 * no actions documents keys another mode handles (a prompt, an answer). Key names are the typed
 * character, or Home, End, Up, Down, Esc.
 */
interface KeyCommand {
  keys: string;
  help: string;
  actions: Readonly<Record<string, (vm: DebuggerViewModel) => "quit" | void>>;
}

export class DebuggerViewModel {
  /** Every command of the normal mode, with its help line: adding a command is adding an entry here. */
  static readonly COMMANDS: readonly KeyCommand[] = [
    { keys: "n / p", help: "next step / previous step (reverse)", actions: { n: (vm) => vm.next(), p: (vm) => vm.previous() } },
    { keys: "o / O", help: "step over a call / back over the call just returned from", actions: { o: (vm) => vm.stepOver(), O: (vm) => vm.stepOverBack() } },
    { keys: "l / L", help: "next / previous source line (is_stmt rows)", actions: { l: (vm) => vm.sourceLine(1), L: (vm) => vm.sourceLine(-1) } },
    { keys: "g", help: "go to a step number (or 'fault', 'start', 'end')", actions: { g: (vm) => vm.openPrompt("goto") } },
    {
      keys: "< > Home End",
      help: "go to the start / end of the trace",
      actions: {
        "<": (vm) => vm.goTo(vm.trace.startStep, "at the start"),
        ">": (vm) => vm.goTo(vm.trace.steps, "at the end"),
        Home: (vm) => vm.goTo(vm.trace.startStep, "at the start"),
        End: (vm) => vm.goTo(vm.trace.steps, "at the end"),
      },
    },
    { keys: "i / I", help: "next / previous interrupt or exception", actions: { i: (vm) => vm.nextEvent(1), I: (vm) => vm.nextEvent(-1) } },
    { keys: "b", help: "breakpoint on a function, file:line or address (again to remove)", actions: { b: (vm) => vm.openPrompt("break") } },
    { keys: "W", help: "watch an expression or address (again to remove)", actions: { W: (vm) => vm.openPrompt("watch") } },
    { keys: "c / r", help: "continue / reverse-continue to a breakpoint or watched write", actions: { c: (vm) => vm.continueTo(1), r: (vm) => vm.continueTo(-1) } },
    {
      keys: "w",
      help: "why-write: who last wrote an expression or address (EXPR @ STEP to ask elsewhere)",
      actions: {
        w: (vm) => {
          // A selected stack word is asked about directly, by its address.
          const word = vm.stackSelection !== null ? vm.view.stack[vm.stackSelection] : undefined;
          if (word !== undefined) vm.whyWrite(hex(word.address));
          else vm.openPrompt("why");
        },
      },
    },
    { keys: "Up / Down", help: "select a stack word; w then asks who wrote it", actions: { Up: (vm) => vm.selectStack(-1), Down: (vm) => vm.selectStack(1) } },
    { keys: "e", help: "explain: from the fault at this step (else the recording's crash, else this step) back to its root", actions: { e: (vm) => vm.startJob("explain", vm.explainJob()) } },
    { keys: "j", help: "in a why-write answer: jump to the writing step; in an explanation: to the root", actions: {} },
    { keys: "m / '", help: "set a bookmark here (named) / jump to the next bookmark", actions: { m: (vm) => vm.openPrompt("bookmark"), "'": (vm) => vm.nextBookmark() } },
    { keys: "M", help: "list bookmarks; Enter jumps to the selected one", actions: { M: (vm) => vm.listBookmarks() } },
    {
      keys: "s",
      help: "show segment and control registers",
      actions: {
        s: (vm) => {
          vm.showSystem = !vm.showSystem;
          vm.invalidate();
        },
      },
    },
    {
      keys: "v / f / t",
      help: "show the VGA text screen / the x87 and SSE registers / the output printed so far, at this step (again to hide)",
      // The Screen, FPU and Output panels share the body: opening one closes the other.
      actions: { v: (vm) => vm.togglePanel("screen"), f: (vm) => vm.togglePanel("fpu"), t: (vm) => vm.togglePanel("output") },
    },
    { keys: "?", help: "this help", actions: { "?": (vm) => vm.setMode("help") } },
    {
      keys: "Esc",
      help: "cancel a running search; close a prompt, list, answer or help; clear the stack selection",
      actions: {
        Esc: (vm) => {
          vm.stackSelection = null;
          vm.invalidate();
        },
      },
    },
    { keys: "q", help: "quit", actions: { q: () => "quit" } },
  ];

  /** Normal-mode actions by key name, from COMMANDS. */
  private static readonly ACTIONS: ReadonlyMap<string, (vm: DebuggerViewModel) => "quit" | void> = new Map(
    DebuggerViewModel.COMMANDS.flatMap((c) => Object.entries(c.actions)),
  );

  readonly ctx: QueryContext;
  readonly trace: Trace;
  private step: number;
  private mode: Mode = "normal";
  private input = "";
  private message = "";
  private showSystem = false;
  /** The panel shown instead of code and registers: the Screen (v), FPU (f) or Output (t) panel. */
  private panel: "code" | "screen" | "fpu" | "output" = "code";
  /** The screen of one step, kept while the position stays there. */
  private screenCache: { step: number; view: ScreenView } | null = null;
  /** The output of one step, kept while the position stays there. */
  private outputCache: { step: number; view: OutputView } | null = null;
  /** The FPU registers of one step, kept while the position stays there. */
  private fpuCache: { step: number; view: FpuView } | null = null;
  private answer: View["answer"] = null;
  private readonly breakpoints = new Map<number, string>();
  private watches: Watch[] = [];
  private stackSelection: number | null = null;
  private bookmarkList: View["bookmarkList"] = null;
  private eventList: TraceEvent[] | null = null;
  private eventsCapped = false;
  private snapshot: View | null = null;
  private atStep: StepView | null = null;
  private job: Job | null = null;
  private tick: ReturnType<typeof setImmediate> | null = null;
  private idleWaiters: (() => void)[] = [];
  private listener: (() => void) | null = null;
  private readonly sliceMs: number;
  /** Continue, reverse-continue and instruction searches (shared with the gdb stub). */
  private readonly timeline: ReplayTimeline;
  private readonly unitsPerSlice: number;
  /** Per code address: the instruction's length and whether it is a call or a return. */
  private readonly insnCache = new Map<number, { call: boolean; ret: boolean; length: number }>();
  /** Per code address: its source line ("file:line") and whether its row is is_stmt; null without one. */
  private readonly lineCache = new Map<number, { key: string; stmt: boolean } | null>();

  constructor(
    private readonly recording: Pick<Recording, "path" | "trace" | "sources" | "symbols" | "symbolsProblem" | "symbolsNote" | "bookmarks" | "setBookmark">,
    at?: number,
    options: ViewModelOptions = {},
  ) {
    this.ctx = QueryContext.fromRecording(recording);
    this.trace = recording.trace;
    this.sliceMs = options.sliceMs ?? 40;
    this.unitsPerSlice = options.unitsPerSlice ?? Infinity;
    this.timeline = new ReplayTimeline(this.trace, { breakpointSliceSteps: options.breakpointSliceSteps });
    const start = at ?? this.trace.startStep;
    this.step = this.clamp(start);
    // The recording as named (a bundle's path, not the trace extracted from it into the cache).
    this.message = `${recording.path}: steps ${this.trace.startStep}..${this.trace.steps}; ? for help`;
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
        watches: [...this.watches],
        stackSelection: this.stackSelection,
        bookmarkList: this.bookmarkList,
        busy: this.job !== null ? { label: this.job.label, progress: this.job.progress } : null,
        screen: this.panel === "screen" ? this.screenView() : null,
        fpu: this.panel === "fpu" ? this.fpuView() : null,
        output: this.panel === "output" ? this.outputView() : null,
      };
    }
    return this.snapshot;
  }

  get position(): number {
    return this.step;
  }

  /** Whether a long command is running. */
  get busy(): boolean {
    return this.job !== null;
  }

  /** Called whenever the view changes on its own (a job's progress or end), for the front end to redraw. */
  onChange(listener: (() => void) | null): void {
    this.listener = listener;
  }

  /** Resolves when no job is running (at once when idle). */
  idle(): Promise<void> {
    if (this.job === null) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops any running job (the front end is going away). */
  dispose(): void {
    if (this.job !== null) this.endJob(null);
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

  /**
   * Asks who last wrote `text` (an expression or address, optionally `@ STEP|fault|end`). Runs as a
   * job, one query per tick: the question at the current step, then (when that has no answer) the
   * same question at the first fault or the end.
   */
  whyWrite(text: string): void {
    const m = /^(.*?)(?:\s+@\s*(\S+))?\s*$/.exec(text.trim());
    const expr = (m?.[1] ?? "").trim();
    const atText = m?.[2];
    let at = this.step;
    if (atText !== undefined) {
      const parsed = this.parseStep(atText);
      if (parsed === null) return this.say(`why-write: '${atText}' is not a step number, 'fault' or 'end'`);
      const problem = this.outOfRange(parsed);
      if (problem !== null) return this.say(`why-write: ${problem}`);
      at = parsed;
    }
    this.startJob("why-write", this.whyJob(expr, at, atText === undefined));
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
   * Toggles a watch on an expression or address. The expression is resolved once, now (or, when it
   * cannot be resolved here, at the trace's end, where the structures it names exist), to the physical
   * range it occupies: the same memory is then watched whatever the page tables say at other steps.
   */
  toggleWatch(text: string): void {
    const t = text.trim();
    const existing = this.watches.findIndex((w) => w.expression === t);
    if (existing >= 0) {
      const [w] = this.watches.splice(existing, 1);
      return this.say(`watch ${w.expression} removed`);
    }
    let watch: Watch | null = null;
    let problem = "";
    for (const at of [this.step, this.trace.steps]) {
      try {
        const loc = resolveLocation(this.ctx, t, at);
        if (loc.kind === "register") return this.say(`watch: '${t}' is a register; watch memory (registers are asked with w)`);
        const state = this.trace.stateAt(at);
        const first = state.translate(loc.address);
        const last = state.translate((loc.address + loc.size - 1) >>> 0);
        const range: MemoryRange = first !== null && last !== null && last - first === loc.size - 1 ? { address: first, size: loc.size, space: "physical" } : { address: loc.address, size: loc.size, space: "linear" };
        watch = { expression: t, address: loc.address, size: loc.size, range };
        break;
      } catch (e) {
        if (!(e instanceof LocationError) && (e as Error).name !== "TraceError") throw e;
        if (problem === "") problem = (e as Error).message;
      }
    }
    if (watch === null) return this.say(`watch: ${problem}`);
    this.watches.push(watch);
    this.say(`watching ${t} (${hex(watch.address)}, ${watch.size} bytes)`);
  }

  /**
   * Runs forward (dir 1) or backward (dir -1) to the nearest step that stops: a breakpoint (EIP is
   * one) or a watched write (the writing step, as why-write's j goes there). Watches cost one indexed
   * query each; breakpoints walk recorded steps, bounded by the nearest watched write. A job.
   */
  continueTo(dir: 1 | -1): void {
    if (this.breakpoints.size === 0 && this.watches.length === 0) {
      return dir > 0 ? this.goTo(this.trace.steps, "no breakpoints or watches: went to the end") : this.goTo(this.trace.startStep, "no breakpoints or watches: went to the start");
    }
    this.startJob(dir > 0 ? "continue" : "reverse-continue", this.continueJob(dir));
  }

  /**
   * Step over (forward). When step N is a `call`, runs to the first later step whose EIP is the
   * instruction after the call and whose ESP is at or above ESP before the call: the call has
   * returned to this frame (a recursive call returning to the same address does so with a lower ESP;
   * a callee-pops `ret n` leaves ESP higher). Otherwise it is a plain step. A job.
   */
  stepOver(): void {
    if (this.step >= this.trace.steps) return this.say("at the end of the trace");
    const rec = this.trace.describeStep(this.step);
    const insn = rec !== null && rec.kind === "instruction" ? this.insn(rec) : null;
    if (rec === null || insn === null || !insn.call) return this.next();
    this.startJob("step over", this.stepOverJob(rec, insn.length));
  }

  /**
   * Step over backward. When step N-1 was a `ret`, goes back to the call it returned from: the latest
   * earlier step that is a `call` whose next instruction is the return address (EIP now) and whose ESP
   * is ESP at the `ret` plus 4 (the call pushed the return address where the ret popped it). The
   * position is then the call itself, about to run. Otherwise it is a plain reverse step. A job.
   */
  stepOverBack(): void {
    if (this.step <= this.trace.startStep) return this.say("at the start of the trace");
    const prev = this.trace.describeStep(this.step - 1);
    const insn = prev !== null && prev.kind === "instruction" ? this.insn(prev) : null;
    if (prev === null || insn === null || !insn.ret) return this.previous();
    const returnTo = this.trace.stateAt(this.step).regs.eip >>> 0;
    this.startJob("step back over", this.stepOverBackJob(prev, returnTo));
  }

  /**
   * Next source line: the first later step that is an instruction whose address has a line table
   * row marked is_stmt with a file:line other than the current one. Previous source line: the latest
   * earlier step where such a line was entered (the step before it was on another line), so the
   * position is the start of that line's run, not its last instruction. Jobs.
   */
  sourceLine(dir: 1 | -1): void {
    // Without a line table (no symbols, a System.map, an ELF without DWARF) no step starts a line: the
    // search would re-execute the whole trace to find none.
    if (this.ctx.symbols === null || !this.ctx.symbols.hasLines) return this.say(`no line table: ${this.ctx.symbolsProblem ?? "the recorded image has no symbols"}`);
    if (dir > 0 && this.step >= this.trace.steps) return this.say("at the end of the trace");
    if (dir < 0 && this.step <= this.trace.startStep) return this.say("at the start of the trace");
    const here = this.lineOf(this.trace.stateAt(this.step).regs.eip >>> 0)?.key ?? null;
    this.startJob(dir > 0 ? "next line" : "previous line", dir > 0 ? this.nextLineJob(here) : this.previousLineJob(here));
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

  /** Opens the bookmark list, the one at or before the current step highlighted. */
  listBookmarks(): void {
    const items = this.recording.bookmarks().map((b) => ({ name: b.name, step: b.step }));
    if (items.length === 0) return this.say("no bookmarks (m sets one)");
    let selected = 0;
    items.forEach((b, i) => {
      if (b.step <= this.step) selected = i;
    });
    this.bookmarkList = { items, selected };
    this.setMode("bookmarks");
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
    if (this.job !== null) {
      // While a search runs only Esc (cancel) and q (cancel and quit) mean anything.
      if (k.escape) this.endJob(`${this.job.label} cancelled; still at step ${fmt(this.step)}`);
      else if (input === "q") {
        this.endJob(null);
        return "quit";
      }
      return undefined;
    }
    switch (this.mode) {
      case "goto":
      case "why":
      case "break":
      case "watch":
      case "bookmark":
        this.promptKey(input, k);
        return;
      case "help":
        if (k.escape || input === "?" || input === "q") this.setMode("normal");
        return;
      case "answer":
        return this.answerKey(input, k);
      case "bookmarks":
        this.bookmarksKey(input, k);
        return;
      default:
        break;
    }
    const name = k.home ? "Home" : k.end ? "End" : k.upArrow ? "Up" : k.downArrow ? "Down" : k.escape ? "Esc" : input;
    const action = DebuggerViewModel.ACTIONS.get(name);
    return action === undefined ? undefined : (action(this) ?? undefined);
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
        const problem = s === null ? null : this.outOfRange(s);
        if (s === null) this.say(`go to: '${text.trim()}' is not a step number, 'fault' or 'end'`);
        else if (problem !== null) this.say(`go to: ${problem}; still at step ${fmt(this.step)}`);
        else this.goTo(s, `at step ${fmt(s)}`);
      } else if (mode === "why") this.whyWrite(text);
      else if (mode === "break") this.toggleBreakpoint(text);
      else if (mode === "watch") this.toggleWatch(text);
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
      this.goTo(a.jumpTo, `jumped to the ${a.jumpName ?? "writing step"} ${fmt(a.jumpTo)}`);
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

  private bookmarksKey(input: string, k: KeyInfo): void {
    const list = this.bookmarkList!;
    if (k.escape || input === "q" || input === "M") {
      this.bookmarkList = null;
      return this.setMode("normal");
    }
    if (k.return) {
      const b = list.items[list.selected];
      this.bookmarkList = null;
      this.mode = "normal";
      return this.goTo(b.step, `bookmark '${b.name}' at step ${fmt(b.step)}`);
    }
    let selected = list.selected;
    if (k.downArrow || input === "n") selected = Math.min(list.items.length - 1, selected + 1);
    else if (k.upArrow || input === "p") selected = Math.max(0, selected - 1);
    this.bookmarkList = { items: list.items, selected };
    this.invalidate();
  }

  /** Moves the stack selection; from none, Down selects the word at ESP and Up the deepest shown. */
  private selectStack(delta: 1 | -1): void {
    const n = this.view.stack.length;
    if (n === 0) return;
    const cur = this.stackSelection;
    this.stackSelection = cur === null ? (delta > 0 ? 0 : n - 1) : Math.max(0, Math.min(n - 1, cur + delta));
    const w = this.view.stack[this.stackSelection];
    this.message = `stack word ${hex(w.address)}${w.name !== null ? ` (${w.name})` : ""} selected: w asks who wrote it, Esc clears`;
    this.invalidate();
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

  /** Why a typed step is not in the trace (naming the range), or null when it is. */
  private outOfRange(step: number): string | null {
    if (step >= this.trace.startStep && step <= this.trace.steps) return null;
    return `step ${fmt(step)} is out of range: this trace has steps ${fmt(this.trace.startStep)} to ${fmt(this.trace.steps)}`;
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
          `    ${codePlace(code)}`,
        ];
        return { lines, jumpTo: change.step, error: null };
      }
      const answer = whyWrite(this.ctx, loc, at, { chain: true });
      if (answer.writes.length === 0) return { lines: null, jumpTo: null, error: null };
      return { lines: renderWhyWrite(answer, this.ctx).split("\n"), jumpTo: answer.writes[0].step, error: null };
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

  // ---- jobs ---------------------------------------------------------------------------------

  /** Starts `body` as the running job and does its first slice at once (short jobs end right here). */
  private startJob(label: string, body: JobBody): void {
    if (this.job !== null) this.endJob(null);
    this.job = { label, body, progress: `${label}...` };
    this.invalidate();
    this.runSlice();
  }

  /** Runs the job for one slice (time and unit budget), then schedules the next slice. */
  private runSlice(): void {
    this.tick = null;
    const job = this.job;
    if (job === null) return;
    const end = performance.now() + this.sliceMs;
    let units = 0;
    try {
      for (;;) {
        const r = job.body.next();
        if (this.job !== job) return;
        if (r.done === true) return this.endJob(undefined);
        job.progress = r.value;
        if (++units >= this.unitsPerSlice || performance.now() >= end) break;
      }
    } catch (e) {
      const err = e as Error;
      if (!(e instanceof LocationError) && err.name !== "TraceError") {
        this.endJob(`${job.label} failed: ${err.message}`);
        throw e;
      }
      return this.endJob(`${job.label}: ${err.message}`);
    }
    this.invalidate();
    this.listener?.();
    this.tick = setImmediate(() => this.runSlice());
  }

  /**
   * Ends the running job. `message` undefined: it finished (and set its own message); a string: it was
   * stopped and that is said; null: stopped silently. A stopped job never moved the position.
   */
  private endJob(message: string | null | undefined): void {
    const job = this.job;
    if (job === null) return;
    this.job = null;
    if (this.tick !== null) clearImmediate(this.tick);
    this.tick = null;
    if (message !== undefined) job.body.return();
    if (typeof message === "string") this.message = message;
    this.invalidate();
    this.listener?.();
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /**
   * `e`: the fault at the current step if there is one, else the recording's crash, else the current
   * step (how execution got there); shown in the answer panel, `j` jumps to the root.
   */
  private *explainJob(): JobBody {
    yield "explain: following the crash backwards... (Esc cancels)";
    const here = this.step;
    let e: Explanation;
    try {
      e = findCrash(this.trace, here) !== null ? explain(this.ctx, { at: here }) : explain(this.ctx);
    } catch (err) {
      if (!(err instanceof ExplainError)) throw err;
      e = explain(this.ctx, { at: here });
    }
    const root = e.root >= 0 ? e.links[e.root].step : null;
    this.answer = { lines: renderExplanation(e, this.ctx).split("\n"), jumpTo: root, jumpName: "root, step", scroll: 0 };
    this.mode = "answer";
    this.message = root !== null ? `explain: root at step ${fmt(root)} (j jumps there)` : "explain: no root found";
    this.invalidate();
  }

  private *whyJob(expr: string, at: number, fallbackAllowed: boolean): JobBody {
    let note: string | null = null;
    let result = this.askWhy(expr, at);
    // Early in a trace the structure may not exist yet (paging off, pointer unset) or nothing has
    // written it: the question is then about the crash, so ask at the first fault (or the end).
    if (fallbackAllowed && (result.error !== null || result.lines === null)) {
      const fault = this.firstFault();
      const fallback = fault ?? this.trace.steps;
      if (fallback !== at) {
        yield `why-write ${expr}: asking at step ${fmt(fallback)}... (Esc cancels)`;
        const again = this.askWhy(expr, fallback);
        if (again.error === null && again.lines !== null) {
          note = `(${result.error !== null ? `not resolvable at step ${fmt(at)}: ${result.error}` : `never written before step ${fmt(at)}`}; asked at ${fallback === fault ? "the first fault, " : "the end, "}step ${fmt(fallback)})`;
          result = again;
        }
      }
    }
    if (result.error !== null) return this.say(`why-write: ${result.error}`);
    const lines = [...(note !== null ? [note] : []), ...(result.lines ?? [])];
    this.answer = { lines, jumpTo: result.jumpTo, scroll: 0 };
    this.mode = "answer";
    this.message = result.jumpTo !== null ? `why-write ${expr}: last written at step ${fmt(result.jumpTo)}` : `why-write ${expr}: never written`;
    this.invalidate();
  }

  /** Continue or reverse-continue through the timeline, to a breakpoint, a watched write or an end. */
  private *continueJob(dir: 1 | -1): JobBody {
    if (dir > 0 && this.step >= this.trace.steps) return this.say("at the end of the trace");
    if (dir < 0 && this.step <= this.trace.startStep) return this.say("at the start of the trace");
    const label = dir > 0 ? "continue" : "reverse-continue";
    // The timeline's watches stand for this.watches, in order.
    const watches = this.watches.map((w) => ({ type: "write" as const, address: w.range.address, length: w.range.size, space: w.range.space ?? "linear" }));
    const cond: StopConditions = { breakpoints: [...this.breakpoints.keys()], watches, writeStop: "at-write" };
    const stop = yield* this.timelineJob(this.timeline.continue(this.step, dir > 0 ? "forward" : "backward", cond), label);
    switch (stop.kind) {
      case "breakpoint":
        return this.goTo(stop.step, `breakpoint ${this.breakpoints.get(stop.address)} at step ${fmt(stop.step)}`);
      case "watch": {
        const w = this.watches[watches.indexOf(stop.watch as (typeof watches)[number])];
        const hit = stop.write!;
        const what = dir > 0 ? "written" : "last written";
        return this.goTo(stop.step, `watch ${w.expression}: ${what} by step ${fmt(hit.step)} (${hex(hit.oldValue)} -> ${hex(hit.newValue)})`);
      }
      default:
        if (dir > 0) this.goTo(this.trace.steps, "no breakpoint or watched write ahead: at the end");
        else this.goTo(this.trace.startStep, "no breakpoint or watched write behind: at the start");
    }
  }

  /** Runs a timeline search as a job, its progress as the job's progress lines. */
  private *timelineJob<T>(search: Search<T>, label: string): Generator<string, T, void> {
    for (;;) {
      const r = search.next();
      if (r.done) return r.value;
      yield this.progress(label, r.value.at, r.value.from, r.value.to);
    }
  }

  /**
   * The first (dir 1) or last (dir -1) step in [lo, hi) about to execute an instruction at one of
   * `eips` and passing `accept` (given the state at that step).
   */
  private *searchInstructions(
    eips: number[],
    lo: number,
    hi: number,
    dir: 1 | -1,
    label: string,
    accept: (regs: Registers) => boolean = () => true,
  ): Generator<string, number | null, void> {
    return yield* this.timelineJob(this.timeline.findInstruction(eips, lo, hi, dir > 0 ? "forward" : "backward", accept), label);
  }

  private *stepOverJob(call: StepRecord, length: number): JobBody {
    const returnTo = (call.regs.eip + length) >>> 0;
    const esp = call.regs.esp >>> 0;
    const returned = (regs: Registers) => regs.eip >>> 0 === returnTo && regs.esp >>> 0 >= esp;
    const end = this.trace.steps;
    const s = yield* this.searchInstructions([returnTo], call.step + 1, end, 1, "step over", returned);
    if (s !== null) return this.goTo(s, `stepped over the call at step ${fmt(call.step)} to ${fmt(s)}`);
    // The trace's final position executes nothing, but it may be the return.
    if (returned(this.trace.stateAt(end).regs)) return this.goTo(end, `stepped over the call at step ${fmt(call.step)} to ${fmt(end)}`);
    this.goTo(end, `the call at step ${fmt(call.step)} does not return before the end of the trace: at the end`);
  }

  private *stepOverBackJob(ret: StepRecord, returnTo: number): JobBody {
    const callEsp = (ret.regs.esp + 4) >>> 0;
    const calls = this.callsReturningTo(returnTo, ret.step);
    const s = calls.length === 0 ? null : yield* this.searchInstructions(calls, this.trace.startStep, ret.step, -1, "step back over", (regs) => regs.esp >>> 0 === callEsp);
    if (s !== null) return this.goTo(s, `back over the call returned at step ${fmt(ret.step)}: at the call, step ${fmt(s)}`);
    this.say(`the ret at step ${fmt(ret.step)} has no matching call in the trace (its return address was not pushed by a call); stayed`);
  }

  /**
   * Addresses of the near calls (2 to 8 bytes long) that end exactly at `returnTo`, decoded from
   * the code as it is at step `at`.
   */
  private callsReturningTo(returnTo: number, at: number): number[] {
    const start = (returnTo - MAX_CALL_LENGTH) >>> 0;
    const bytes = this.trace.stateAt(at).readLinear(start, MAX_CALL_LENGTH);
    if (bytes === null) return [];
    const out: number[] = [];
    for (let k = 0; k + 2 <= MAX_CALL_LENGTH; k++) {
      const d = disassemble(bytes.subarray(k), (start + k) >>> 0);
      if (d.valid && d.length === MAX_CALL_LENGTH - k && /^call\b/.test(d.text)) out.push((start + k) >>> 0);
    }
    return out;
  }

  private *nextLineJob(here: string | null): JobBody {
    const from = this.step + 1;
    const cursor = this.trace.cursor(from);
    for (;;) {
      const s = cursor.step;
      const rec = cursor.next();
      const eip = rec !== null ? (rec.kind === "instruction" ? rec.regs.eip : null) : s === this.trace.steps ? this.trace.stateAt(s).regs.eip : undefined;
      if (eip === undefined) break;
      const line = eip !== null ? this.lineOf(eip >>> 0) : null;
      if (line !== null && line.stmt && line.key !== here) return this.goTo(s, `next line: ${line.key} at step ${fmt(s)}`);
      if (rec === null) break;
      if ((s - from) % PROGRESS_EVERY === PROGRESS_EVERY - 1) yield this.progress("next line", s, from, this.trace.steps);
    }
    this.goTo(this.trace.steps, "no other source line ahead: at the end");
  }

  private *previousLineJob(here: string | null): JobBody {
    // Walking backward, `found` is the earliest step seen so far of the run on another line; the run
    // ends (and `found` is the answer) at the first earlier step on a different line, or none.
    let found: { step: number; key: string } | null = null;
    let walked = 0;
    for (const rec of this.backward(this.step, this.trace.startStep)) {
      const line = rec.kind === "instruction" ? this.lineOf(rec.regs.eip >>> 0) : null;
      if (found !== null) {
        if (line === null || line.key !== found.key) break;
        if (line.stmt) found = { step: rec.step, key: line.key };
      } else if (line !== null && line.stmt && line.key !== here) found = { step: rec.step, key: line.key };
      if (++walked % PROGRESS_EVERY === 0) yield this.progress("previous line", rec.step, this.step, this.trace.startStep);
    }
    if (found === null) return this.goTo(this.trace.startStep, "no other source line behind: at the start");
    this.goTo(found.step, `previous line: ${found.key} at step ${fmt(found.step)}`);
  }

  /** "label: step S (P%), Esc cancels", P being how much of the span from..to is searched. */
  private progress(label: string, at: number, from: number, to: number): string {
    const pct = to === from ? 100 : Math.floor((Math.abs(at - from) * 100) / Math.abs(to - from));
    return `${label}: searching, step ${fmt(at)} (${pct}%); Esc cancels`;
  }

  /**
   * Step records from `from - 1` down to `lowest`, latest first. Steps can only be executed forward,
   * so windows of BACK_WINDOW steps are read forward (one seek each) and handed out last first.
   */
  private *backward(from: number, lowest: number): Generator<StepRecord, void, void> {
    let to = from;
    while (to > lowest) {
      const start = Math.max(lowest, to - BACK_WINDOW);
      const cursor = this.trace.cursor(start);
      const window: StepRecord[] = [];
      while (cursor.step < to) {
        const rec = cursor.next();
        if (rec === null) break;
        window.push(rec);
      }
      for (let i = window.length - 1; i >= 0; i--) yield window[i];
      to = start;
    }
  }

  /**
   * Whether the instruction of `rec` is a near call or return, and its length. Cached by address:
   * the demo and workload kernels do not rewrite their code (a guest that does would need the bytes as key).
   */
  private insn(rec: StepRecord): { call: boolean; ret: boolean; length: number } {
    const eip = rec.regs.eip >>> 0;
    let v = this.insnCache.get(eip);
    if (v === undefined) {
      const d = disassemble(rec.bytes, eip);
      v = { call: d.valid && /^call\b/.test(d.text), ret: d.valid && /^ret\b/.test(d.text), length: d.length };
      this.insnCache.set(eip, v);
    }
    return v;
  }

  private lineOf(eip: number): { key: string; stmt: boolean } | null {
    let v = this.lineCache.get(eip);
    if (v === undefined) {
      const loc = this.ctx.symbols?.sourceAt(eip);
      v = loc !== undefined ? { key: `${loc.file}:${loc.line}`, stmt: loc.isStmt } : null;
      this.lineCache.set(eip, v);
    }
    return v;
  }

  private events(): TraceEvent[] {
    if (this.eventList === null) {
      this.eventList = this.trace.events(this.trace.startStep, this.trace.steps, { limit: TIMELINE_EVENTS + 1 });
      this.eventsCapped = this.eventList.length > TIMELINE_EVENTS;
      if (this.eventsCapped) this.eventList.length = TIMELINE_EVENTS;
    }
    return this.eventList;
  }

  private togglePanel(panel: "screen" | "fpu" | "output"): void {
    this.panel = this.panel === panel ? "code" : panel;
    this.invalidate();
  }

  /** The output printed before the current step (from the trace's output table; cached per step). */
  private outputView(): OutputView {
    if (this.outputCache === null || this.outputCache.step !== this.step) {
      const all = this.trace.output();
      let printed = 0;
      while (printed < all.length && all[printed].step < this.step) printed++;
      // Decode only the tail that can show: the last OUTPUT_LINES lines.
      let from = printed;
      for (let newlines = 0; from > 0; from--) {
        if (all[from - 1].byte === 10 && ++newlines > OUTPUT_LINES) break;
      }
      let text = "";
      for (let i = from; i < printed; i++) text += String.fromCharCode(all[i].byte);
      const lines = text.replace(/\r\n?/g, "\n").split("\n").map((l) => l.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, "."));
      this.outputCache = { step: this.step, view: { lines: lines.slice(-OUTPUT_LINES), printed, total: all.length } };
    }
    return this.outputCache.view;
  }

  /** The FPU registers at the current step, compared with the step before (two replays; cached per step). */
  private fpuView(): FpuView {
    if (this.fpuCache === null || this.fpuCache.step !== this.step) {
      const now = this.trace.stateAt(this.step).machine.cpu.fpu.save();
      const before = this.step > this.trace.startStep ? this.trace.stateAt(this.step - 1).machine.cpu.fpu.save() : now;
      const changed = changedFpuRegisters(before, now);
      const registers = fpuRegisters(now).map((r) => ({ ...r, changed: changed.has(r.name) }));
      this.fpuCache = { step: this.step, view: { registers } };
    }
    return this.fpuCache.view;
  }

  /** The text screen at the current step (a replay to it; cached per step). */
  private screenView(): ScreenView {
    if (this.screenCache === null || this.screenCache.step !== this.step) {
      const s = screenAt(this.trace, this.step);
      this.screenCache = { step: this.step, view: { lines: s.lines, cursor: s.cursor } };
    }
    return this.screenCache.view;
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
    const locals = this.localsAt(state, regs.eip >>> 0);
    // pointerHints replays to `step` itself; readers taken above are not used after this point.
    this.ctx.pointerHints(step);
    const di = this.ctx.symbols;
    const stack = stackRaw.map((w) => ({
      address: w.address,
      value: w.value,
      name: this.ctx.describeData(w.address),
      points: w.value === null || di === null ? null : di.symbolName(w.value) ?? null,
    }));
    // What step N is (an interrupt delivery, a fault...), from the event index: no replay needed.
    const here = step < trace.steps ? trace.events(step, step + 1, { limit: 1 })[0] : undefined;
    const stepKind = here !== undefined ? describeEvent(here) : null;
    const ev = this.events();
    return {
      step,
      first: trace.startStep,
      last: trace.steps,
      location: { symbol: code.symbol, file: code.file, line: code.line, linesKnown: code.linesKnown },
      stepKind,
      registers: GPRS.map(reg),
      system: SYSTEM.map(reg),
      disasm,
      source: this.sourceView(code.file, code.line),
      stack,
      locals,
      timeline: timeline(ev, trace.startStep, trace.steps, step, this.eventsCapped),
    };
  }

  /** The locals and parameters the code at `eip` sees, with their values in `state`. */
  private localsAt(state: StepState, eip: number): LocalView[] {
    const di = this.ctx.symbols;
    if (di === null) return [];
    const evaluator = new ExpressionEvaluator(di);
    const ctx = stepEvalContext(state);
    const out: LocalView[] = [];
    const seen = new Set<string>();
    for (const l of di.localsAt(eip)) {
      // An inner variable hides an outer one of the same name, as the evaluator resolves it.
      if (seen.has(l.name)) continue;
      seen.add(l.name);
      let text: string;
      try {
        const r = evaluator.evaluate(l.name, ctx, { maxReadBytes: 256 });
        text = r.bytes !== undefined
          ? formatValue(r.type, r.bytes, { symbolize: (a) => di.symbolName(a), complete: (t) => di.complete(t), maxElements: 8, hex: true })
          : `<${r.readError ?? "unreadable"}>`;
      } catch (e) {
        if (!(e instanceof ExpressionError)) throw e;
        text = /optimised out/.test(e.message) ? "<optimised out>" : `<${e.message.replace(/^`[^`]*`( at 0x[0-9a-f]+ \(in [^)]*\))?:? ?/, "")}>`;
      }
      out.push({ name: l.name, parameter: l.parameter, text });
      if (out.length >= MAX_LOCALS) break;
    }
    return out;
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
  return groupDigits(n);
}

/** The help lines, [keys, what they do], in the order the help shows them. */
export const HELP: readonly [string, string][] = DebuggerViewModel.COMMANDS.map((c) => [c.keys, c.help]);

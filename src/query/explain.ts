/**
 * `ttd explain`: from a crash, with no location named, back to its root. The crash's input (fault-
 * input.ts) names a memory word or a register; from there each link asks the trace who last wrote
 * the word (why-write, with the CPU's own interrupt-frame pushes) or what last changed the register,
 * and follows the value's data dependencies, or, when the value is right but sits in the wrong
 * place, the address dependencies that put it there (the why-write chain). The root is the first
 * instruction whose result does not come from what is being followed: a constant it stores, a store
 * that clobbered a word something else owned, or the step that moved the pointer a misplaced write
 * went through.
 */
import { FlowControl, Mnemonic } from "../disasm/iced.js";
import { decodeAt } from "../disasm/disassembler.js";
import { dependenciesOf, effectiveAddress } from "../cpu/instructions/dependencies.js";
import type { ChainLink } from "./chain.js";
import { type CodeRef, type QueryContext, hex } from "./context.js";
import { findCrash, faultName, type CrashPoint } from "./crash.js";
import { faultInput, type FaultInput, type Subject } from "./fault-input.js";
import { GPR_NAMES, type GprName } from "./step-window.js";
import { eventAt, whyWrite, type WriteExplanation } from "./why-write.js";
import { codeName } from "./render.js";
import { groupDigits } from "../text/group-digits.js";

export type ExplainLinkKind =
  /** What the faulting instruction consumed. */
  | "input"
  /** The last write of a memory word. */
  | "write"
  /** A memory word no step wrote: its value comes from the image or zeroed memory. */
  | "never-written"
  /** How a write's address was formed, and the steps that moved that register (from the why-write chain). */
  | "address"
  /** A register's last change. */
  | "change"
  /** Several steps that each only added to a register (a loop's pointer or counter), summarised. */
  | "walk"
  /** The register has held its value since the trace began. */
  | "initial"
  /** The depth limit was reached. */
  | "limit";

export interface ExplainLink {
  kind: ExplainLinkKind;
  step: number;
  text: string;
  code: CodeRef | null;
}

export interface Explanation {
  /** The fault explained, or null when `--at` named a step that is not a fault. */
  crash: CrashPoint | null;
  /** The step explained (the fault's abort step). */
  step: number;
  /** The instruction at that step. */
  code: CodeRef;
  /** One line about the crash: what faulted, and how it was chosen. */
  summary: string;
  input: FaultInput | null;
  /** Each link explains the one before it. */
  links: ExplainLink[];
  /** Index in `links` of the root, or -1 when the trail ends without one (depth, trace start). */
  root: number;
  /** The root in one sentence, or why there is none. */
  conclusion: string;
}

export class ExplainError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ExplainError";
  }
}

export interface ExplainOptions {
  /**
   * The step to explain: a fault's step, or any step (a halt or breakpoint in a panic routine). The
   * trace's end (the state after its last step) stands for the last step.
   */
  at?: number;
  /** Most links after the input (default 12). */
  depth?: number;
}

const DEFAULT_DEPTH = 12;
/** Words of a frame the CPU pushes, from its lowest address (an error code, when there is one, sits below). */
const CPU_FRAME = ["EIP", "CS", "EFLAGS", "ESP", "SS"];
/** How far back (in steps) the previous execution of a store is looked for. */
const OVERRUN_LOOKBACK = 1_000_000;

export function explain(ctx: QueryContext, options: ExplainOptions = {}): Explanation {
  const trace = ctx.trace;
  // No step runs at the end; how the run got there is its last step's story.
  const at = options.at === trace.steps && trace.steps > trace.startStep ? trace.steps - 1 : options.at;
  const crash = findCrash(trace, at);
  if (crash === null) {
    if (at === undefined) throw new ExplainError("the trace has no fault to explain; give --at STEP to explain a step (a halt or breakpoint in a panic routine)");
    return explainStep(ctx, at);
  }
  const rec = trace.describeStep(crash.step);
  const code = ctx.describeCode(crash.eip, rec?.bytes);
  ctx.pointerHints(crash.step);
  const input = faultInput(ctx, crash);
  const summary = `${faultName(crash.vector, crash.errorCode)} at step ${groupDigits(crash.step)}: \`${code.disasm}\` in ${codeName(code)} (${crash.reason})`;
  const trail = new Trail(ctx, options.depth ?? DEFAULT_DEPTH);
  trail.push({ kind: "input", step: crash.step, text: input.text, code });
  trail.follow(input.subject, input);
  return { crash, step: crash.step, code, summary, input, links: trail.links, root: trail.root, conclusion: trail.conclusion() };
}

/** A step that is not a fault (a halt, a breakpoint, a panic routine): the call that led there. */
function explainStep(ctx: QueryContext, at: number): Explanation {
  const trace = ctx.trace;
  const rec = trace.describeStep(at);
  if (rec === null) throw new ExplainError(`step ${at} is not in the trace`);
  const code = ctx.describeCode(rec.regs.eip, rec.bytes);
  const fn = ctx.symbols?.functionAt(rec.regs.eip >>> 0) ?? null;
  const summary = `step ${groupDigits(at)}: \`${code.disasm}\` in ${codeName(code)} (not a fault: explaining how execution got there)`;
  const links: ExplainLink[] = [];
  let root = -1;
  if (fn !== null) {
    const entry = ((rec.regs.eip >>> 0) - fn.offset) >>> 0;
    const entered = entry === (rec.regs.eip >>> 0) ? at : trace.findInstruction([entry], trace.startStep, at, "last");
    if (entered !== null && entered > trace.startStep) {
      const caller = trace.describeStep(entered - 1);
      if (caller !== null && caller.kind === "instruction") {
        const callCode = ctx.describeCode(caller.regs.eip, caller.bytes);
        const isCall = decodeAt(caller.bytes, caller.regs.eip).flowControl === FlowControl.Call || decodeAt(caller.bytes, caller.regs.eip).flowControl === FlowControl.IndirectCall;
        links.push({ kind: "change", step: entered - 1, text: `${fn.function.name} was entered at step ${groupDigits(entered)} from \`${callCode.disasm}\` in ${codeName(callCode)}${isCall ? "" : " (not a call)"}`, code: callCode });
        root = 0;
      }
    }
  }
  const conclusion = root >= 0 ? `called from ${codeName(links[0].code as CodeRef)}${links[0].code?.file ? ` at ${links[0].code.file}:${links[0].code.line}` : ""} at step ${groupDigits(links[0].step)}` : "no symbol covers this code, so its entry cannot be found";
  return { crash: null, step: at, code, summary, input: null, links, root, conclusion };
}

/** The links found so far, and the rules for following a subject backwards. */
class Trail {
  readonly links: ExplainLink[] = [];
  root = -1;
  private ended: string | null = null;

  constructor(private readonly ctx: QueryContext, private readonly depth: number) {}

  push(link: ExplainLink): number {
    this.links.push(link);
    return this.links.length - 1;
  }

  /** True (with a "limit" link ending the trail) when `depth` links follow the input already. */
  private overDepth(step: number): boolean {
    if (this.links.length <= this.depth) return false;
    this.push({ kind: "limit", step, text: "depth limit reached (raise it with --depth)", code: null });
    this.ended = "the trail is longer than --depth";
    return true;
  }

  conclusion(): string {
    if (this.root >= 0) {
      const r = this.links[this.root];
      const where = r.code ? `${r.code.disasm !== "" ? `\`${r.code.disasm}\` in ` : ""}${codeName(r.code)}${r.code.file ? ` at ${r.code.file}:${r.code.line}` : ""}` : "";
      return `root: step ${groupDigits(r.step)}${where ? `, ${where}` : ""}: ${this.ended ?? r.text}`;
    }
    return this.ended ?? "no root found";
  }

  follow(subject: Subject | null, input: FaultInput): void {
    let role = input.role;
    let frame = input.frame;
    if (subject === null) {
      this.root = 0;
      this.ended = "the faulting instruction's input is part of the code itself";
      return;
    }
    while (subject !== null) {
      if (this.overDepth(subject.step)) return;
      subject = subject.kind === "memory" ? this.memory(subject, role, frame) : this.register(subject);
      role = null;
      frame = null;
    }
  }

  /** The last write of a word; returns the next subject (the stored value's source), or null at a root. */
  private memory(s: Subject & { kind: "memory" }, role: string | null, frame: { base: number; offset: number } | null): Subject | null {
    const ctx = this.ctx;
    const name = ctx.describeData(s.address);
    const answer = whyWrite(ctx, { kind: "memory", address: s.address, size: s.size, expression: hex(s.address), name }, s.step, { chain: true, depth: 6 });
    const at = name ? `${hex(s.address)} (&${name})` : hex(s.address);
    if (answer.writes.length === 0) {
      const src = answer.neverWritten.some((x) => x.source === "image") ? "comes from the loaded image (the program was built with it)" : "is the zero the machine started with";
      this.root = this.push({ kind: "never-written", step: s.step, text: `no step wrote ${at} before step ${groupDigits(s.step)}: its value ${src}`, code: null });
      this.ended = `${at} was never written: its value ${src}`;
      return null;
    }
    const w = answer.writes[0];
    if (w.writer.kind === "cpu") return this.cpuWrite(w, answer.chain, at, role, frame);
    const code = w.writer.code;
    const clobbered = this.clobbered(w) ?? this.overran(w);
    const text = `${at} was last written at step ${groupDigits(w.step)} with ${hex(w.newValue)} by \`${code.disasm}\` in ${codeName(code)}${code.file ? ` at ${code.file}:${code.line}` : ""}${clobbered ? `, overwriting ${hex(w.oldValue)}: ${clobbered}` : ""}`;
    const i = this.push({ kind: "write", step: w.step, text, code });
    if (clobbered !== null) {
      this.root = i;
      this.ended = clobbered;
      this.addressLinks(answer.chain, 2);
      return null;
    }
    return this.storedValue(w, i);
  }

  /** A word the CPU pushed while delivering an interrupt or exception. */
  private cpuWrite(w: WriteExplanation, chain: ChainLink[], at: string, role: string | null, frame: { base: number; offset: number } | null): Subject | null {
    const wr = w.writer;
    if (wr.kind !== "cpu") return null;
    const part = wr.framePart;
    const what = wr.activity === "interrupt" ? "interrupt" : wr.activity === "exception" ? "exception" : wr.activity === "software-interrupt" ? "software interrupt" : wr.activity;
    let text = `${at} was last written at step ${groupDigits(w.step)} by the CPU delivering ${what} vector ${wr.vector ?? "?"}${wr.vector !== null ? ` (${hex(wr.vector)})` : ""}: it pushed ${part ?? "a frame word"} = ${hex(w.newValue)} there while ${codeName(wr.code)} ran`;
    const misplaced = part !== null && role !== null && part !== role && part !== "error code";
    let shift = "";
    if (misplaced && frame !== null) {
      const ev = eventAt(this.ctx, w.step);
      const offset = (ev !== null && ev.errorCode !== null ? 4 : 0) + CPU_FRAME.indexOf(part) * 4;
      const delta = (((w.address - offset) >>> 0) - frame.base) | 0;
      if (delta !== 0) shift = `${Math.abs(delta)} byte${Math.abs(delta) === 1 ? "" : "s"} ${delta < 0 ? "below" : "above"} the frame the faulting instruction popped`;
    }
    if (misplaced) text += `; the faulting instruction read that word as ${role}${shift ? `: the CPU's frame starts ${shift}` : ""}`;
    this.push({ kind: "write", step: w.step, text, code: wr.code });
    if (!misplaced) {
      this.root = this.links.length - 1;
      this.ended = `the CPU pushed this value while delivering vector ${wr.vector ?? "?"}`;
      return null;
    }
    // The value is right for what the CPU pushed; the frame is in the wrong place: why there.
    const rootAt = this.addressLinks(chain, 2);
    if (rootAt >= 0) {
      this.root = rootAt;
      const moved = this.links[rootAt].text.replace(/ by `.*$/, "");
      this.ended = `${moved}; so the frame the CPU pushed at step ${groupDigits(w.step)} landed ${shift || "out of place"}, and ${part} sat where ${role} was read`;
    }
    return null;
  }

  /**
   * Copies the why-write chain's address links (how the write's address was formed, then the steps
   * that moved that register) and returns the index of the first step that moved it, the root of a
   * misplaced write; `extra` links after it are kept as context.
   */
  private addressLinks(chain: ChainLink[], extra: number): number {
    let root = -1;
    let after = 0;
    for (const l of chain) {
      if (root >= 0 && after >= extra - 1) break;
      if (l.kind === "limit") break;
      // Past --depth: before the root the trail ends there; after it, the context is cut short.
      if (root >= 0 ? this.links.length > this.depth : this.overDepth(l.step)) break;
      const i = this.push({ kind: "address", step: l.step, text: l.text, code: l.code });
      if (root >= 0) after++;
      else if (l.kind === "change" || l.kind === "stack-walk") root = i;
    }
    return root;
  }

  /**
   * What the write overwrote, when the word belonged to something else: a return address pushed by a
   * call, or a word pushed by a push or by the CPU, overwritten by a plain store (a stack smash).
   */
  private clobbered(w: WriteExplanation): string | null {
    if (w.writer.kind !== "instruction") return null;
    const rec = this.ctx.trace.describeStep(w.step);
    if (rec === null) return null;
    const mine = decodeAt(rec.bytes, rec.regs.eip);
    if (mine.stackPointerIncrement !== 0) return null; // a push or call writing its own slot
    const prev = this.ctx.trace.lastWrite({ address: w.physical, size: w.size, space: "physical" }, w.step);
    if (prev === null) return null;
    if (prev.cause === "interrupt-frame") return `it wrote over a word of the frame the CPU pushed at step ${groupDigits(prev.step)}`;
    if (prev.cause !== "instruction") return null;
    const p = this.ctx.trace.describeStep(prev.step);
    if (p === null) return null;
    const theirs = decodeAt(p.bytes, p.regs.eip);
    const pc = this.ctx.describeCode(p.regs.eip, p.bytes);
    if (theirs.flowControl === FlowControl.Call || theirs.flowControl === FlowControl.IndirectCall) {
      return `it wrote over the return address pushed by \`${pc.disasm}\` in ${codeName(pc)} at step ${groupDigits(prev.step)}`;
    }
    if (theirs.mnemonic === Mnemonic.Push || theirs.mnemonic === Mnemonic.Pushad || theirs.mnemonic === Mnemonic.Pushfd) {
      return `it wrote over the word saved by \`${pc.disasm}\` in ${codeName(pc)} at step ${groupDigits(prev.step)}`;
    }
    return null;
  }

  /**
   * Whether the store ran out of the object it was writing: the same instruction's previous execution
   * (a loop's earlier iteration) wrote into another variable or member than this one.
   */
  private overran(w: WriteExplanation): string | null {
    if (w.writer.kind !== "instruction") return null;
    const trace = this.ctx.trace;
    const eip = w.writer.code.eip;
    const earlier = trace.findInstruction([eip], Math.max(trace.startStep, w.step - OVERRUN_LOOKBACK), w.step, "last");
    if (earlier === null) return null;
    const p = trace.describeStep(earlier);
    if (p === null) return null;
    const store = dependenciesOf(p.bytes, p.regs.eip).memory.find((m) => m.writes);
    if (store === undefined) return null;
    const a = effectiveAddress(store, (i) => p.regs[GPR_NAMES[i]]);
    const before = this.ctx.describeData(a), now = this.ctx.describeData(w.address);
    if (before === null || now === null) return null;
    // Elements of one array (at any depth) are the same object: `nodes[2].next` and `nodes[1].next`.
    const objectOf = (name: string) => name.replace(/\+\d+$/, "").replace(/\[\d+\]/g, "[]");
    if (objectOf(before) === objectOf(now)) return null;
    return `the same store wrote ${before} at step ${groupDigits(earlier)}, then ${now}: it ran past the end of ${objectOf(before).replace(/\[\]$/, "")}`;
  }

  /**
   * Where the value a store wrote came from: the memory it copied (a `movs`, a `push` of memory), the
   * register it stored, or a constant (a root).
   */
  private storedValue(w: WriteExplanation, at: number): Subject | null {
    const rec = this.ctx.trace.describeStep(w.step);
    if (rec === null) return null;
    const deps = dependenciesOf(rec.bytes, rec.regs.eip);
    const copied = deps.memory.find((m) => m.reads && !m.writes);
    if (copied !== undefined) return { kind: "memory", address: effectiveAddress(copied, (i) => rec.regs[GPR_NAMES[i]]), size: w.size, step: w.step };
    const store = deps.memory.find((m) => m.writes);
    const addressRegs = store ? [store.base, store.index] : [];
    const sources = deps.regsRead.filter((r) => !addressRegs.includes(r) && r !== 4);
    if (sources.length === 0) {
      this.root = at;
      this.ended = "the store wrote a constant";
      return null;
    }
    return { kind: "register", register: GPR_NAMES[sources[0]], step: w.step };
  }

  /** A register's last change before the subject's step; returns the next subject, or null at a root. */
  private register(s: Subject & { kind: "register" }): Subject | null {
    const ctx = this.ctx;
    const reg: GprName = s.register;
    const R = reg.toUpperCase();
    const change = ctx.trace.lastRegisterChange(reg, s.step);
    if (change === null) {
      const v = ctx.trace.stateAt(s.step).regs[reg] >>> 0;
      this.root = this.push({ kind: "initial", step: ctx.trace.startStep, text: `${R} has held ${hex(v)} since the trace began (set by the loader or before the recording)`, code: null });
      this.ended = `${R} was never changed during the trace`;
      return null;
    }
    const rec = ctx.trace.describeStep(change.step);
    if (rec === null) return null;
    const code = ctx.describeCode(rec.regs.eip, rec.bytes);
    const name = (v: number) => {
      const n = ctx.describePointer(v);
      return n ? ` (${n})` : "";
    };
    if (rec.kind !== "instruction") {
      this.root = this.push({ kind: "change", step: change.step, text: `${R} ${hex(change.before)} -> ${hex(change.after)}: the CPU delivering vector ${rec.vector ?? "?"}`, code });
      this.ended = `the CPU set ${R} while delivering vector ${rec.vector ?? "?"}`;
      return null;
    }
    const deps = dependenciesOf(rec.bytes, rec.regs.eip);
    const me = GPR_NAMES.indexOf(reg);
    const selfOnly = deps.regsRead.includes(me) && deps.regsRead.every((r) => r === me || r === 4) && !deps.memory.some((m) => m.reads);
    if (selfOnly) {
      // A loop's pointer or counter: summarise the run of steps that only stepped it.
      let first = change.step, before = change.before, count = 1;
      for (let guard = 0; guard < 100_000; guard++) {
        const p = ctx.trace.lastRegisterChange(reg, first);
        if (p === null) break;
        const pr = ctx.trace.describeStep(p.step);
        if (pr === null || pr.kind !== "instruction") break;
        const pd = dependenciesOf(pr.bytes, pr.regs.eip);
        if (!(pd.regsRead.includes(me) && pd.regsRead.every((r) => r === me || r === 4) && !pd.memory.some((m) => m.reads))) break;
        first = p.step;
        before = p.before;
        count++;
      }
      if (count > 1) {
        this.push({ kind: "walk", step: change.step, text: `${R} went ${hex(before)}${name(before)} -> ${hex(change.after)}${name(change.after)} through ${count} steps that only added to it (steps ${groupDigits(first)}..${groupDigits(change.step)}, last \`${code.disasm}\` in ${codeName(code)})`, code });
      } else {
        this.push({ kind: "change", step: change.step, text: `${R} ${hex(before)}${name(before)} -> ${hex(change.after)}${name(change.after)} by \`${code.disasm}\` in ${codeName(code)}${code.file ? ` at ${code.file}:${code.line}` : ""}`, code });
      }
      return { kind: "register", register: reg, step: first };
    }
    const i = this.push({ kind: "change", step: change.step, text: `${R} ${hex(change.before)} -> ${hex(change.after)}${name(change.after)} by \`${code.disasm}\` in ${codeName(code)}${code.file ? ` at ${code.file}:${code.line}` : ""}`, code });
    if (deps.constantResult) {
      this.root = i;
      this.ended = `\`${code.disasm}\` set ${R} to the constant ${hex(change.after)}`;
      return null;
    }
    const load = deps.memory.find((m) => m.reads);
    if (load !== undefined) {
      const a = effectiveAddress(load, (i) => rec.regs[GPR_NAMES[i]]);
      this.links[i].text += `, loaded from ${hex(a)}${name(a)}`;
      return { kind: "memory", address: a, size: 4, step: change.step };
    }
    const next = deps.regsRead.filter((x) => x !== me && x !== 4);
    if (next.length === 0) {
      this.root = i;
      this.ended = `\`${code.disasm}\` computed ${R} from nothing else the trail can follow`;
      return null;
    }
    return { kind: "register", register: GPR_NAMES[next[0]], step: change.step };
  }
}

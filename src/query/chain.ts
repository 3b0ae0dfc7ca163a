/**
 * Why a write landed where it did, followed backwards through the trace's own data and address
 * dependencies: the register that formed the store's address (ESP for pushes, calls and interrupt
 * frames; base/index for other stores), its value then, the step that last changed it, then what that
 * step's result came from, and so on until a constant, a load from memory, the trace's start or the
 * depth limit. Nothing here knows any particular kernel or bug.
 *
 * Runs of instructions that only move the stack pointer by themselves (pops, `add $n,%esp`...) are
 * summarised in one link, so the chain stays readable.
 */
import type { MemoryWrite, Registers, StepRecord } from "../trace/trace.js";
import { dependenciesOf, effectiveAddress } from "../cpu/instructions/dependencies.js";
import { type CodeRef, type QueryContext, hex } from "./context.js";
import { GPR_NAMES, type StepWindow, type GprName } from "./step-window.js";
import { eventAt } from "./why-write.js";

export type ChainLinkKind =
  /** How the write's address was formed (the register and its value). */
  | "address"
  /** A step changed the register being followed. */
  | "change"
  /** Several consecutive steps only moved the stack pointer by themselves (summarised). */
  | "stack-walk"
  /** The value came from memory: where, and who wrote it there. */
  | "load"
  /** The value is a constant (an immediate, a self-cancelling operation). */
  | "constant"
  /** The register has held its value since the trace began. */
  | "initial"
  /** The depth limit was reached. */
  | "limit";

export interface ChainLink {
  kind: ChainLinkKind;
  /** The step this link is about (for a walk: the most recent one). */
  step: number;
  /** What this link explains, e.g. `address of the write`, `esp`. */
  explains: string;
  register: string | null;
  /** Register value before and after the step (for "change"), or its value (for "address"). */
  before: number | null;
  after: number | null;
  /** The symbolic name of the value when it points at known data (`ksIdleThreadTCB...registers[12]`). */
  valueName: string | null;
  /** The code of that step: the instruction, or for CPU events the interrupted instruction. */
  code: CodeRef | null;
  /** One readable sentence. */
  text: string;
  /** For "stack-walk": how many steps, and the first (oldest) step. */
  count?: number;
  firstStep?: number;
}

export interface ChainOptions {
  /** Most links (default 8). */
  depth?: number;
}

const DEFAULT_DEPTH = 8;

function signed(d: number): string {
  return d >= 0 ? `+${d}` : `${d}`;
}

export function explainChain(ctx: QueryContext, write: MemoryWrite, window: StepWindow, options: ChainOptions = {}): ChainLink[] {
  const depth = options.depth ?? DEFAULT_DEPTH;
  const links: ChainLink[] = [];
  const valueName = (v: number) => ctx.describeData(v);
  const regsAt = (step: number): Registers | null => window.regsBefore(step);

  // 1. The register that formed the write's address.
  let follow: GprName | null = null;
  if (write.cause === "interrupt-frame") {
    const ev = eventAt(ctx, write.step);
    const regs = regsAt(write.step);
    if (ev !== null && regs !== null) {
      const code = ctx.describeCode(ev.eip);
      if (ev.cplBefore === ev.cplAfter) {
        const esp = regs.esp;
        links.push({
          kind: "address", step: write.step, explains: "address of the write", register: "esp", before: null, after: esp,
          valueName: valueName(esp), code,
          text: `the CPU pushed the ${ev.kind === "interrupt" ? "interrupt" : "exception"} frame of vector ${ev.vector} just below ESP, which was ${hex(esp)}${nameSuffix(valueName(esp))} (no stack switch: the interrupted code ran at CPL ${ev.cplBefore})`,
        });
        follow = "esp";
      } else {
        links.push({
          kind: "address", step: write.step, explains: "address of the write", register: null, before: null, after: null, valueName: null, code,
          text: `the CPU switched from CPL ${ev.cplBefore} to CPL ${ev.cplAfter} and pushed the frame on the stack named by the TSS (esp${ev.cplAfter}/ss${ev.cplAfter})`,
        });
        return links;
      }
    }
  } else if (write.cause === "instruction") {
    const rec = window.record(write.step);
    if (rec !== null) {
      const deps = dependenciesOf(rec.bytes, rec.regs.eip);
      const store = deps.memory.find((m) => m.writes);
      const code = ctx.describeCode(rec.regs.eip, rec.bytes);
      const candidates = store ? [store.base, store.index].filter((r) => r >= 0) : [];
      if (candidates.length === 0) {
        links.push({
          kind: "constant", step: write.step, explains: "address of the write", register: null, before: null, after: null, valueName: null, code,
          text: `the address ${hex(write.linear)} is a constant in the instruction (no register formed it)`,
        });
        return links;
      }
      // With a base and an index, follow the one that changed most recently: that is what moved the store.
      let best = candidates[0], bestStep = -1;
      for (const r of candidates) {
        const c = window.lastChange(GPR_NAMES[r], write.step);
        if (c !== null && c.step > bestStep) {
          best = r;
          bestStep = c.step;
        }
      }
      follow = GPR_NAMES[best];
      const v = rec.regs[follow];
      const other = candidates.filter((r) => r !== best).map((r) => `${GPR_NAMES[r].toUpperCase()}=${hex(rec.regs[GPR_NAMES[r]])}`);
      links.push({
        kind: "address", step: write.step, explains: "address of the write", register: follow, before: null, after: v, valueName: valueName(v), code,
        text: `the store's address ${hex(write.linear)} came from ${follow.toUpperCase()} = ${hex(v)}${nameSuffix(valueName(v))}${other.length ? ` (with ${other.join(", ")})` : ""}`,
      });
    }
  }

  // 2. Follow the register back through the steps that changed it.
  let at = write.step;
  while (follow !== null && links.length < depth) {
    const change = window.lastChange(follow, at);
    if (change === null) {
      const v = regsAt(at)?.[follow] ?? 0;
      links.push({
        kind: "initial", step: ctx.trace.startStep, explains: follow, register: follow, before: null, after: v, valueName: valueName(v), code: null,
        text: `${follow.toUpperCase()} has been ${hex(v)} since the trace began (set by the loader or before the recording)`,
      });
      return links;
    }
    const rec = change.record;
    const reg: GprName = follow;
    if (rec.kind !== "instruction") {
      // The CPU itself moved the register while delivering an event (a frame push moves ESP).
      const code = ctx.describeCode(rec.regs.eip, rec.bytes);
      links.push({
        kind: "change", step: change.step, explains: reg, register: reg, before: change.before, after: change.after, valueName: valueName(change.after), code,
        text: `${reg.toUpperCase()} ${hex(change.before)} -> ${hex(change.after)} (${signed((change.after | 0) - (change.before | 0))}): the CPU delivering vector ${rec.vector ?? "?"}`,
      });
      at = change.step;
      continue;
    }
    const deps = dependenciesOf(rec.bytes, rec.regs.eip);
    const regIndex = GPR_NAMES.indexOf(reg);
    const selfDependent = deps.regsRead.includes(regIndex) && deps.memory.every((m) => !m.reads || m.base === regIndex);
    // Summarise a run of pure stack-pointer steps (pop, add $n,%esp, ret...) once two links into the chain.
    if (reg === "esp" && selfDependent && links.length >= 3) {
      const walk = walkStack(window, change);
      if (walk.count > 1) {
        const first = walk.first;
        links.push({
          kind: "stack-walk", step: change.step, firstStep: first.step, count: walk.count, explains: "esp", register: "esp",
          before: first.before, after: change.after, valueName: valueName(change.after), code: ctx.describeCode(rec.regs.eip, rec.bytes),
          text: `ESP walked ${hex(first.before)} -> ${hex(change.after)} (${signed((change.after | 0) - (first.before | 0))}) through ${walk.count} stack-only steps (${first.step}..${change.step})`,
        });
        at = first.step;
        continue;
      }
    }
    const code = ctx.describeCode(rec.regs.eip, rec.bytes);
    const delta = (change.after | 0) - (change.before | 0);
    const moved = reg === "esp" || reg === "ebp" ? ` (${signed(delta)})` : "";
    links.push({
      kind: "change", step: change.step, explains: reg, register: reg, before: change.before, after: change.after, valueName: valueName(change.after), code,
      text: `${reg.toUpperCase()} ${hex(change.before)}${nameSuffix(valueName(change.before))} -> ${hex(change.after)}${nameSuffix(valueName(change.after))}${moved} by \`${code.disasm}\`${where(code)}`,
    });
    at = change.step;
    if (deps.constantResult) {
      links.push({ kind: "constant", step: change.step, explains: reg, register: reg, before: null, after: change.after, valueName: null, code, text: `\`${code.disasm}\` sets ${reg.toUpperCase()} to a constant: the chain ends here` });
      return links;
    }
    if (selfDependent) continue; // the new value came from the old one: keep following the same register
    const load = deps.memory.find((m) => m.reads);
    if (load !== undefined) {
      const regs = rec.regs;
      const addr = effectiveAddress(load, (i) => regs[GPR_NAMES[i]]);
      const last = ctx.trace.lastWrite({ address: addr, size: 4 }, change.step);
      const name = ctx.describeData(addr);
      const by = last === null ? "never written during the trace (its value comes from the image or zeroed memory)" : `last written at step ${last.step}${last.cause === "instruction" ? ` by ${ctx.describeCode(last.eip).symbol ?? hex(last.eip)}` : ` by the CPU (${last.cause})`}`;
      links.push({
        kind: "load", step: change.step, explains: reg, register: reg, before: null, after: change.after, valueName: name, code,
        text: `${reg.toUpperCase()} was loaded from ${hex(addr)}${nameSuffix(name)}, ${by}`,
      });
      return links;
    }
    const next = deps.regsRead.filter((r) => r !== regIndex && r !== 4 /* esp as an address only */);
    const source = next.length > 0 ? next[0] : deps.regsRead.find((r) => r !== regIndex);
    if (source === undefined) {
      links.push({ kind: "constant", step: change.step, explains: reg, register: reg, before: null, after: change.after, valueName: null, code, text: `\`${code.disasm}\` does not take ${reg.toUpperCase()}'s value from another register: the chain ends here` });
      return links;
    }
    follow = GPR_NAMES[source];
  }
  if (follow !== null && links.length >= depth) {
    links.push({ kind: "limit", step: at, explains: follow, register: follow, before: null, after: null, valueName: null, code: null, text: `depth limit reached (raise it with --depth)` });
  }
  return links;
}

/** Consecutive earlier steps that changed ESP only from ESP itself, ending with `last`. */
function walkStack(window: StepWindow, last: { step: number; before: number; after: number; record: StepRecord }): { count: number; first: { step: number; before: number } } {
  let count = 1;
  let first = { step: last.step, before: last.before };
  for (;;) {
    const prev = window.lastChange("esp", first.step);
    if (prev === null || prev.record.kind !== "instruction") break;
    const deps = dependenciesOf(prev.record.bytes, prev.record.regs.eip);
    const self = deps.regsRead.includes(4) && deps.memory.every((m) => !m.reads || m.base === 4);
    if (!self || deps.memory.some((m) => m.writes)) break; // a push or call starts something new: stop the walk
    count++;
    first = { step: prev.step, before: prev.before };
  }
  return { count, first };
}

function nameSuffix(name: string | null): string {
  return name ? ` (&${name})` : "";
}

function where(code: CodeRef): string {
  const parts: string[] = [];
  if (code.symbol) parts.push(` in ${code.symbol}`);
  if (code.file) parts.push(` at ${code.file}${code.line !== null ? `:${code.line}` : ""}`);
  return parts.join("");
}

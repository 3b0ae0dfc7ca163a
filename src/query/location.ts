/**
 * Turns what the user typed (`0xe010f624`, `$esp`, `ksCurThread->tcbArch.tcbContext.registers[Error]`)
 * into a location at a given step: memory (linear address and size) or a register.
 */
import { ExpressionError, ExpressionEvaluator, watchLocation, type EvalContext } from "../symbols/index.js";
import type { StepState } from "../trace/trace.js";
import type { QueryContext } from "./context.js";
import { hex } from "./context.js";

export type Location =
  | { kind: "memory"; address: number; size: number; expression: string; name: string | null }
  | { kind: "register"; register: string; expression: string };

export class LocationError extends Error {
  constructor(message: string, readonly underline: string | null = null) {
    super(message);
    this.name = "LocationError";
  }
}

const REGISTERS = new Set(["eax", "ebx", "ecx", "edx", "esi", "edi", "ebp", "esp", "eip", "eflags", "cs", "ds", "es", "fs", "gs", "ss", "cr0", "cr2", "cr3", "cr4"]);

/** "Memory and registers at step N" for the expression evaluator. */
export function stepEvalContext(state: StepState): EvalContext {
  return {
    readMemory(address: number, size: number): Uint8Array {
      const b = state.readLinear(address >>> 0, size);
      if (b === null) throw new Error(`${hex(address)} is not mapped at step ${state.step}`);
      return b;
    },
    register(name: string): number {
      const v = (state.regs as unknown as Record<string, number>)[name.toLowerCase()];
      if (v === undefined) throw new Error(`unknown register ${name}`);
      return v;
    },
  };
}

/**
 * Resolves `text` at `step`. `sizeOverride` replaces the size the expression implies (or the default
 * of 4 bytes for a bare address).
 */
export function resolveLocation(ctx: QueryContext, text: string, step: number, sizeOverride?: number): Location {
  const t = text.trim();
  if (t === "") throw new LocationError("empty location: give an address, a $register or a C expression");
  const reg = /^\$([a-z0-9]+)$/i.exec(t);
  if (reg && REGISTERS.has(reg[1].toLowerCase())) return { kind: "register", register: reg[1].toLowerCase(), expression: t };
  ctx.pointerHints(step);
  if (/^(0x[0-9a-f]+|[0-9]+)$/i.test(t)) {
    const address = Number(t) >>> 0;
    return { kind: "memory", address, size: sizeOverride ?? 4, expression: t, name: ctx.describeData(address) };
  }
  if (ctx.symbols === null) {
    throw new LocationError(`cannot evaluate \`${t}\`: ${ctx.symbolsProblem ?? "the recorded image has no symbols"}; give an address instead`);
  }
  const state = ctx.trace.stateAt(step);
  try {
    const evaluator = new ExpressionEvaluator(ctx.symbols);
    let w;
    try {
      w = watchLocation(evaluator.evaluate(t, stepEvalContext(state), { read: false }));
    } catch (e) {
      // An address computed from symbols (`symbol+0x10` over a System.map's untyped symbols, a cast
      // address) is a value, which evaluating without reading memory leaves unknown: evaluate it.
      if (!(e instanceof ExpressionError)) throw e;
      w = watchLocation(evaluator.evaluate(t, stepEvalContext(state)));
    }
    if (w.kind === "register") return { kind: "register", register: w.base.toLowerCase(), expression: t };
    // A typeless label (a System.map's symbols) has no size of its own: a word, as for an address.
    const named = /^[A-Za-z_]\w*$/.test(t) ? ctx.symbols.variable(t) : undefined;
    const size = sizeOverride ?? (named?.extentGuessed === true ? 4 : w.size);
    // A symbol that shares its address with others (jiffies and jiffies_64) is named as it was asked.
    const name = named !== undefined && named.address === w.address >>> 0 ? t : ctx.describeData(w.address);
    return { kind: "memory", address: w.address >>> 0, size, expression: t, name };
  } catch (e) {
    if (e instanceof ExpressionError) throw new LocationError(e.message, e.underline(t));
    throw new LocationError(`cannot evaluate \`${t}\` at step ${step}: ${(e as Error).message}`);
  }
}

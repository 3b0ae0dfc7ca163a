/**
 * The call path at a step: which calls (and which interrupt or exception delivery) are still open
 * there, innermost first, reconstructed from the trace itself, so it needs no frame pointers, no
 * unwind tables and no DWARF: a System.map-only kernel gets `do_timer <- tick_periodic <- ... <-
 * interrupt 0x30` from what the CPU did.
 *
 * The steps before the one asked about are re-executed backwards in windows (a few thousand steps,
 * doubling), each replayed forwards into a shadow stack: a call or delivery pushes a frame, a return
 * or iret pops the frame whose return-address slot it read (control-transfer.ts). A return whose slot
 * matches no frame of its window popped an older one: it is carried to the earlier windows, where it
 * ends that frame, and the frames of its own window pushed before it are dead (they belonged to a
 * stack that was switched away from, or were abandoned). What is left open at the end of a window lies
 * outside everything found in later windows.
 *
 * By default the path ends at the innermost delivery: an interrupt handler's callers are the
 * interrupt, and the code it interrupted is named there.
 */
import type { ControlTransfer } from "../trace/control-transfer.js";
import { SS } from "../cpu/constants.js";
import type { CodeRef, QueryContext } from "./context.js";

export type CallFrame =
  | {
      kind: "call";
      /** The step of the call instruction. */
      step: number;
      /** The call instruction (in the caller). */
      site: CodeRef;
      /** The callee's first instruction. */
      entry: number;
    }
  | {
      kind: "delivery";
      step: number;
      vector: number;
      /** An external interrupt (else an exception or `int n`). */
      external: boolean;
      /** The instruction that was interrupted (or faulted, or the `int n` itself). */
      site: CodeRef;
      entry: number;
    };

export interface CallPath {
  /** The step asked about, and the code it runs. */
  step: number;
  code: CodeRef;
  /** Open calls and deliveries at `step`, innermost first. */
  frames: CallFrame[];
  /**
   * Why the path stops: at a delivery (the frames above it are the interrupt's), at the trace's first
   * step, after `maxFrames`, or after searching `maxSteps` back (older callers were not looked for).
   */
  end: "delivery" | "trace-start" | "depth" | "searched";
  /** The earliest step re-executed. */
  searchedFrom: number;
}

export interface CallPathOptions {
  /** Most frames (default 32). */
  maxFrames?: number;
  /** Most steps re-executed back from the step (default 1M: one at a time, a second or a few). */
  maxSteps?: number;
  /** Go on through interrupt and exception deliveries into the interrupted code's callers. */
  throughDeliveries?: boolean;
}

const FIRST_WINDOW = 4096;
const LARGEST_WINDOW = 1 << 20;
const DEFAULT_MAX_FRAMES = 32;
const DEFAULT_MAX_STEPS = 1 << 20;

/** A return whose frame was pushed before the window it ran in. */
interface Pop {
  slot: number;
}

export function callPath(ctx: QueryContext, step: number, options: CallPathOptions = {}): CallPath {
  const trace = ctx.trace;
  const maxFrames = options.maxFrames ?? DEFAULT_MAX_FRAMES;
  const maxSteps = options.maxSteps ?? DEFAULT_MAX_STEPS;
  const state = trace.stateAt(step);
  const code = ctx.describeCode(state.regs.eip);
  // A live frame's return address lies at or above ESP on the stack in use at the step.
  const esp = (state.machine.cpu.segBase[SS] + state.regs.esp) >>> 0;
  const open: ControlTransfer[] = [];
  let pending: Pop[] = [];
  let end: CallPath["end"] | null = null;
  let b = step;
  let window = FIRST_WINDOW;
  let first = true;
  let earliest = step;
  while (end === null) {
    const a = Math.max(trace.startStep, b - window, step - maxSteps);
    if (a >= b) {
      end = a === trace.startStep ? "trace-start" : "searched";
      break;
    }
    earliest = a;
    const stack: ControlTransfer[] = [];
    const unmatched: Pop[] = [];
    for (const t of trace.controlTransfers(a, b)) {
      if (t.kind === "call" || t.kind === "delivery") stack.push(t);
      else if (!pop(stack, t.slot)) unmatched.push({ slot: t.slot });
    }
    // The returns of later windows end this window's frames first (in the order they ran).
    const carried: Pop[] = [];
    for (const r of pending) if (!pop(stack, r.slot)) carried.push(r);
    pending = unmatched.concat(carried);
    if (first) {
      while (stack.length > 0 && stack[stack.length - 1].slot < esp) stack.pop();
      first = false;
    }
    for (let i = stack.length - 1; i >= 0 && end === null; i--) {
      open.push(stack[i]);
      if (stack[i].kind === "delivery" && options.throughDeliveries !== true) end = "delivery";
      else if (open.length >= maxFrames) end = "depth";
    }
    if (end !== null) break;
    if (a === trace.startStep) end = "trace-start";
    else if (step - a >= maxSteps) end = "searched";
    b = a;
    window = Math.min(window * 2, LARGEST_WINDOW);
  }
  const frames = open.map((t): CallFrame =>
    t.kind === "delivery"
      ? { kind: "delivery", step: t.step, vector: t.vector ?? 0, external: t.external, site: ctx.describeCode(t.from), entry: t.to }
      : { kind: "call", step: t.step, site: ctx.describeCode(t.from), entry: t.to },
  );
  return { step, code, frames, end, searchedFrom: earliest };
}

/**
 * Ends the frame whose return address is at `slot`: it and every frame pushed after it (abandoned, or
 * left on a stack that was switched away from). When none has that slot, the return popped a frame
 * older than all of them, so none of them is live any more: the stack is emptied and false returned.
 */
function pop(stack: ControlTransfer[], slot: number): boolean {
  for (let i = stack.length - 1; i >= 0; i--) {
    if (stack[i].slot === slot) {
      stack.length = i;
      return true;
    }
  }
  stack.length = 0;
  return false;
}

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
 * Jumps that stand in for calls and returns: a jump to another function's entry made with a frame's
 * return address on top of the stack (a tail call) hands that frame to the jumped-to function, and a
 * return to a pushed address is a jump (unless a frame's return address was popped and pushed back).
 * `sysenter` opens a frame that `sysexit` (or an iret matching no frame above it) ends; it and an
 * `int n` made in user mode are system calls, where the path ends as at a delivery.
 *
 * By default the path ends at the innermost delivery or system call: an interrupt handler's callers
 * are the interrupt, and the code it interrupted is named there.
 */
import type { ControlTransfer } from "../trace/control-transfer.js";
import { SS } from "../cpu/constants.js";
import { hex, type CodeRef, type QueryContext } from "./context.js";

/** A jump that replaced a frame's function with another (a tail call), keeping its return address. */
export interface TailCall {
  /** The step of the jump (a `jmp`, or a `push X; ret` used as one). */
  step: number;
  /** The jump instruction, in the function whose frame it took over. */
  site: CodeRef;
  /** The tail-called function's first instruction, and its name. */
  entry: number;
  name: string;
}

export type CallFrame =
  | {
      kind: "call";
      /** The step of the call instruction. */
      step: number;
      /** The call instruction (in the caller). */
      site: CodeRef;
      /** The callee's first instruction. */
      entry: number;
      /** Tail calls made in this frame, in the order they ran: the last one's function runs in it. */
      tailCalls: TailCall[];
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
    }
  | {
      /** User code entering the kernel: `sysenter`, or an `int n` made in user mode (`int 0x80`). */
      kind: "syscall";
      step: number;
      via: "sysenter" | "int";
      /** The vector of an `int n`; null for `sysenter`. */
      vector: number | null;
      /** The `sysenter` or `int n` instruction, in user code. */
      site: CodeRef;
      /** The kernel's entry point. */
      entry: number;
    };

export interface CallPath {
  /** The step asked about, and the code it runs. */
  step: number;
  code: CodeRef;
  /** Open calls and deliveries at `step`, innermost first. */
  frames: CallFrame[];
  /**
   * Why the path stops: at a delivery (the frames above it are the interrupt's), at a system call's entry
   * from user mode, at the trace's first step, after `maxFrames`, or after searching `maxSteps` back
   * (older callers were not looked for).
   */
  end: "delivery" | "syscall" | "trace-start" | "depth" | "searched";
  /** The earliest step re-executed. */
  searchedFrom: number;
}

export interface CallPathOptions {
  /** Most frames (default 32). */
  maxFrames?: number;
  /** Most steps re-executed back from the step (default 1M: one at a time, a second or a few). */
  maxSteps?: number;
  /** Go on through interrupt and exception deliveries and system calls into the interrupted code's callers. */
  throughDeliveries?: boolean;
}

const FIRST_WINDOW = 4096;
const LARGEST_WINDOW = 1 << 20;
const DEFAULT_MAX_FRAMES = 32;
const DEFAULT_MAX_STEPS = 1 << 20;

/**
 * What a window leaves for the earlier ones, in the order it ran: a return, iret or `sysexit` whose
 * frame was opened before the window, or a tail call made while no frame of the window was open.
 */
type Carried =
  /** `orSysenter`: an iret or sysexit, which also ends a `sysenter` frame (sysexit's slot is NaN). */
  | { kind: "pop"; slot: number; orSysenter: boolean }
  /** `slot`: ESP after the jump, where a tail call leaves its frame's return address. */
  | { kind: "jump"; jump: ControlTransfer; slot: number };

export function callPath(ctx: QueryContext, step: number, options: CallPathOptions = {}): CallPath {
  const trace = ctx.trace;
  const maxFrames = options.maxFrames ?? DEFAULT_MAX_FRAMES;
  const maxSteps = options.maxSteps ?? DEFAULT_MAX_STEPS;
  const state = trace.stateAt(step);
  const code = ctx.describeCode(state.regs.eip);
  // A live frame's return address lies at or above ESP on the stack in use at the step.
  const esp = (state.machine.cpu.segBase[SS] + state.regs.esp) >>> 0;
  const isTailCall = tailCallTest(ctx);
  const tails = new Map<ControlTransfer, ControlTransfer[]>();
  const addTail = (frame: ControlTransfer, jump: ControlTransfer) => {
    const list = tails.get(frame);
    if (list === undefined) tails.set(frame, [jump]);
    else list.push(jump);
  };
  const open: ControlTransfer[] = [];
  let pending: Carried[] = [];
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
    const carried: Carried[] = [];
    // This window's transfers, then those later windows carried back (which ran after them).
    const apply = (c: Carried) => {
      if (c.kind === "pop") {
        if (!pop(stack, c.slot, c.orSysenter)) carried.push(c);
      } else if (stack.length === 0) {
        carried.push(c);
      } else {
        const top = stack[stack.length - 1];
        // The jump left the frame's return address on top of the stack: the frame is the jumped-to code's.
        if (top.kind === "call" && top.slot === c.slot) addTail(top, c.jump);
      }
    };
    for (const t of trace.controlTransfers(a, b)) {
      switch (t.kind) {
        case "call": case "delivery": case "sysenter":
          stack.push(t);
          break;
        case "return":
          apply({ kind: "pop", slot: t.slot, orSysenter: false });
          break;
        // An iret matching no frame above a `sysenter` is the system call's way back to user mode.
        case "iret": case "sysexit":
          apply({ kind: "pop", slot: t.slot, orSysenter: true });
          break;
        case "jump":
          if (isTailCall(t)) apply({ kind: "jump", jump: t, slot: t.slot });
          break;
        case "pushed-return":
          // A frame of this window at the slot: its return address was popped and pushed back.
          if (stack.some((f) => f.slot === t.slot)) apply({ kind: "pop", slot: t.slot, orSysenter: false });
          else if (isTailCall(t)) apply({ kind: "jump", jump: t, slot: (t.slot + 4) >>> 0 });
          break;
      }
    }
    const later = pending;
    pending = carried;
    for (const c of later) apply(c);
    if (first) {
      while (stack.length > 0 && stack[stack.length - 1].slot < esp) stack.pop();
      first = false;
    }
    for (let i = stack.length - 1; i >= 0 && end === null; i--) {
      const t = stack[i];
      open.push(t);
      if (options.throughDeliveries !== true && t.kind !== "call") end = isSyscall(t) ? "syscall" : "delivery";
      else if (open.length >= maxFrames) end = "depth";
    }
    if (end !== null) break;
    if (a === trace.startStep) end = "trace-start";
    else if (step - a >= maxSteps) end = "searched";
    b = a;
    window = Math.min(window * 2, LARGEST_WINDOW);
  }
  const frames = open.map((t): CallFrame => {
    const site = ctx.describeCode(t.from);
    if (isSyscall(t)) return { kind: "syscall", step: t.step, via: t.kind === "sysenter" ? "sysenter" : "int", vector: t.vector, site, entry: t.to };
    if (t.kind === "delivery") return { kind: "delivery", step: t.step, vector: t.vector ?? 0, external: t.external, site, entry: t.to };
    const tailCalls = (tails.get(t) ?? []).map((j): TailCall => ({ step: j.step, site: ctx.describeCode(j.from), entry: j.to, name: ctx.symbols?.symbolize(j.to) ?? hex(j.to) }));
    return { kind: "call", step: t.step, site, entry: t.to, tailCalls };
  });
  return { step, code, frames, end, searchedFrom: earliest };
}

/** User code entering the kernel: a `sysenter`, or a software interrupt made in user mode. */
function isSyscall(t: ControlTransfer): boolean {
  return t.kind === "sysenter" || (t.kind === "delivery" && t.fromUser && t.software);
}

/**
 * Whether a jump goes to another function's first instruction (by the symbols: without them no jump
 * is known to be a call). Jumps inside a function, to its own start included, are its control flow.
 */
function tailCallTest(ctx: QueryContext): (jump: ControlTransfer) => boolean {
  const symbols = ctx.symbols;
  if (symbols === null) return () => false;
  return (jump) => {
    if (symbols.functionAt(jump.to)?.offset !== 0) return false;
    const source = symbols.functionAt(jump.from);
    return source === undefined || jump.from - source.offset !== jump.to;
  };
}

/**
 * Ends the frame whose return address is at `slot` (or with `orSysenter`, the innermost `sysenter`
 * frame if that comes first): it and every frame pushed after it (abandoned, or left on a stack that
 * was switched away from). When none is found, the return popped a frame older than all of them, so
 * none of them is live any more: the stack is emptied and false returned.
 */
function pop(stack: ControlTransfer[], slot: number, orSysenter: boolean): boolean {
  for (let i = stack.length - 1; i >= 0; i--) {
    if (stack[i].slot === slot || (orSysenter && stack[i].kind === "sysenter")) {
      stack.length = i;
      return true;
    }
  }
  stack.length = 0;
  return false;
}

/**
 * Where a recording went wrong: the fault that led to its stop. A kernel may take faults it handles
 * (demand paging, lazy FPU...), so the crash is the last fault whose instruction never ran again:
 * a handled fault returns to the faulting instruction and retries it, one that ends the run does not.
 * A cascade (a fault whose delivery faults again, up to a triple fault) is traced back to its first
 * fault, the one that started it.
 */
import type { Trace, TraceEvent } from "../trace/trace.js";
import { exceptionMnemonic, hasErrorCode } from "../cpu/exceptions.js";

export interface CrashPoint {
  /** The step of the faulting instruction's abort (the state before it is the instruction's input). */
  step: number;
  vector: number;
  errorCode: number | null;
  /** The faulting instruction. */
  eip: number;
  /** How this fault was chosen, in words. */
  reason: string;
}

/** Faults looked at from the end of the trace before settling on the last one. */
const MAX_CANDIDATES = 64;
/** Steps between two faults of one cascade: the first one's delivery fails within its own step or the next. */
const CASCADE_GAP = 2;

/** The fault at `at` (its abort step, or the step delivering it), or the one that led to the trace's end. */
export function findCrash(trace: Trace, at?: number): CrashPoint | null {
  if (at !== undefined) {
    const near = trace.events(Math.max(trace.startStep, at - 1), Math.min(trace.steps, at + 1) + 1).filter((e) => e.kind === "fault");
    const hit = near.find((e) => e.step === at) ?? near.find((e) => e.step === at - 1);
    return hit ? point(hit, `the fault at step ${hit.step}`) : null;
  }
  const faults = trace.events().filter((e) => e.kind === "fault");
  if (faults.length === 0) return null;
  let chosen = faults.length - 1;
  let reason = "the last fault of the trace";
  for (let i = faults.length - 1, looked = 0; i >= 0 && looked < MAX_CANDIDATES; i--, looked++) {
    const f = faults[i];
    const again = f.step + 1 < trace.steps ? trace.findInstruction([f.eip], f.step + 1, trace.steps, "first") : null;
    if (again === null) {
      chosen = i;
      reason = i === faults.length - 1 ? "the last fault of the trace; its instruction never ran again" : "the last fault whose instruction never ran again (later faults were handled and retried)";
      break;
    }
  }
  let first = chosen;
  while (first > 0 && faults[first].step - faults[first - 1].step <= CASCADE_GAP) first--;
  if (first !== chosen) reason = `the first of ${chosen - first + 1} faults in a row (each one's delivery faulted again)`;
  return point(faults[first], reason);
}

function point(e: TraceEvent, reason: string): CrashPoint {
  return { step: e.step, vector: e.vector, errorCode: e.errorCode, eip: e.eip >>> 0, reason };
}

/** `#GP(0x200)`, `#PF(0x2)`, `#UD`. */
export function faultName(vector: number, errorCode: number | null): string {
  const name = exceptionMnemonic(vector) ?? `vector ${vector}`;
  return errorCode === null || !hasErrorCode(vector) ? name : `${name}(0x${(errorCode >>> 0).toString(16)})`;
}

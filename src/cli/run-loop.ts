/**
 * Runs a machine to its end in slices, yielding to the event loop between them so Ctrl-C (SIGINT)
 * can stop it cleanly; shared by `run`, `record` and `demo`.
 */
import type { Machine, RunResult } from "../machine/machine.js";
import { groupDigits } from "../text/group-digits.js";

/** Steps per slice: long enough to be cheap, short enough (~0.1 s) for Ctrl-C to feel immediate. */
const SLICE = 8_000_000;

export interface RunToEndOptions {
  maxSteps?: number;
  /** Called after every slice (flush output, report progress). */
  onChunk?: (steps: number) => void;
  /** Awaited when the input feed asks the run to wait ("input-wait"); then the run goes on. */
  waitForInput?: () => Promise<void>;
  /** Set by the caller to stop the run at the next slice (Ctrl-A x); the reason is "interrupted". */
  stop?: { requested: boolean; detail: string };
}

export async function runToEnd(machine: Machine, options: RunToEndOptions = {}): Promise<RunResult> {
  const limit = options.maxSteps ?? Infinity;
  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
    machine.requestStop();
  };
  process.on("SIGINT", onSigint);
  try {
    for (;;) {
      const sliceEnd = Math.min(limit, machine.cpu.steps + SLICE);
      const r = machine.run({ maxSteps: sliceEnd });
      options.onChunk?.(r.steps);
      if (r.reason === "input-wait" && options.waitForInput !== undefined) await options.waitForInput();
      else if (r.reason !== "max-steps" || r.steps >= limit) return r;
      else await new Promise<void>((resolve) => setImmediate(resolve));
      if (interrupted) return { reason: "interrupted", steps: machine.cpu.steps, detail: "interrupted by Ctrl-C" };
      if (options.stop?.requested) return { reason: "interrupted", steps: machine.cpu.steps, detail: options.stop.detail };
    }
  } finally {
    process.off("SIGINT", onSigint);
  }
}

export function exitCodeFor(r: RunResult): number {
  switch (r.reason) {
    case "exit": return (r.exitStatus ?? 1) & 0xff;
    case "halt": case "power-off": return 0;
    case "max-steps": return 4;
    case "triple-fault": case "reset": return 6;
    case "interrupted": return 130;
    // Only debugger searches set code stops; a command-line run never does.
    case "code-stop": throw new Error("a run stopped at a code stop, which only debugger searches set");
    // runToEnd and the recorder wait for the input and run on.
    case "input-wait": throw new Error("a run ended waiting for input, which its caller waits for");
  }
}

export function describeStop(machine: Machine, r: RunResult, seconds: number): string {
  const mips = r.steps / Math.max(seconds, 1e-9) / 1e6;
  const lines = [`ttd: stopped: ${r.reason} (${r.detail})`, `ttd: ${groupDigits(r.steps)} steps in ${seconds.toFixed(2)} s (${mips.toFixed(1)} million steps/s)`];
  const unimpl = machine.cpu.firstUnimplemented;
  if (unimpl !== null) lines.push(`ttd: first unimplemented instruction: ${unimpl} (raised #UD in the guest)`);
  return lines.join("\n");
}

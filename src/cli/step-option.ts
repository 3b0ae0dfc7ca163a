/**
 * The one parser of step options (`--at`, `--from`, `--to` of every command that reads a trace): a
 * step number (`_` and `,` allowed as separators), `start` (the trace's first step), `end` (its last)
 * or `fault` (the first instruction that faulted). A step outside the trace is bad input.
 */
import { UsageError } from "./errors.js";
import type { Trace } from "../trace/trace.js";

/** What the parser needs of a trace: its range and its events (for `fault`). */
export type StepSource = Pick<Trace, "startStep" | "steps" | "events">;

export function parseStepOption(trace: StepSource, value: string, option: string): number {
  if (value === "start") return trace.startStep;
  if (value === "end") return trace.steps;
  if (value === "fault") {
    const f = trace.events().find((e) => e.kind === "fault");
    if (f === undefined) throw new UsageError(`${option} fault: the trace has no faulting instruction`);
    return f.step;
  }
  const cleaned = value.replace(/[_,]/g, "");
  if (!/^[0-9]+$/.test(cleaned)) {
    throw new UsageError(`${option} expects a step number, 'start', 'end' or 'fault', got '${value}' (the trace covers steps ${trace.startStep}..${trace.steps})`);
  }
  const step = Number(cleaned);
  if (step < trace.startStep || step > trace.steps) {
    throw new UsageError(`${option} ${value}: step out of range (the trace covers steps ${trace.startStep}..${trace.steps})`);
  }
  return step;
}

/** Opens the trace or bundle a command names (or the latest recording), as a UsageError when it cannot. */
import { openRecordingArg, type Recording } from "../bundle/open.js";
import { QueryContext } from "../query/context.js";
import { UsageError } from "./errors.js";

export function openForQuery(arg: string | undefined): { recording: Recording; ctx: QueryContext } {
  let recording: Recording;
  try {
    recording = openRecordingArg(arg);
  } catch (e) {
    const err = e as Error;
    if (err.name === "TraceError" || err.name === "BundleError" || err.name === "UsageError") throw new UsageError(err.message);
    throw e;
  }
  return { recording, ctx: QueryContext.fromRecording(recording) };
}

/** Parses `--at`: a step number, `end` (the default), or `fault` (the first faulting instruction). */
export function parseAtStep(ctx: QueryContext, at: string | undefined): number {
  const trace = ctx.trace;
  if (at === undefined || at === "end") return trace.steps;
  if (at === "fault") {
    const f = trace.events().find((e) => e.kind === "fault");
    if (f === undefined) throw new UsageError(`--at fault: the trace has no faulting instruction`);
    return f.step;
  }
  const cleaned = at.replace(/[_,]/g, "");
  if (!/^[0-9]+$/.test(cleaned)) throw new UsageError(`--at expects a step number, 'fault' or 'end', got '${at}'`);
  const step = Number(cleaned);
  if (step < trace.startStep || step > trace.steps) {
    throw new UsageError(`--at ${at}: step out of range (the trace covers steps ${trace.startStep}..${trace.steps})`);
  }
  return step;
}

/** Opens the trace or bundle a command names (or the latest recording), as a UsageError when it cannot. */
import { openRecordingArg, type Recording } from "../bundle/open.js";
import { QueryContext } from "../query/context.js";
import { UsageError } from "./errors.js";
import { parseStepOption } from "./step-option.js";

/** The help text of `--symbols`, shared by every command that takes it. */
export const SYMBOLS_OPTION_HELP =
  "symbols from this file instead of the recorded image: an ELF (e.g. a vmlinux with DWARF, its index cached after the first use) or a Linux System.map (either checked against a recorded bzImage, and slid to where KASLR moved it; a map is found as System.map-<release> next to it)";

export function openForQuery(arg: string | undefined, options: { symbols?: string } = {}): { recording: Recording; ctx: QueryContext } {
  let recording: Recording;
  try {
    recording = openRecordingArg(arg, { symbols: options.symbols });
  } catch (e) {
    const err = e as Error;
    if (err.name === "TraceError" || err.name === "BundleError" || err.name === "UsageError") throw new UsageError(err.message);
    throw e;
  }
  return { recording, ctx: QueryContext.fromRecording(recording) };
}

/** Parses `--at` (see step-option.ts); absent means `end`, the state after the last step. */
export function parseAtStep(ctx: QueryContext, at: string | undefined): number {
  return at === undefined ? ctx.trace.steps : parseStepOption(ctx.trace, at, "--at");
}

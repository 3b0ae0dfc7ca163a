/** `ttd explain`: from the crash (or a step) back to its root, with no location named. */
import type { Command } from "commander";
import { openForQuery, parseAtStep, SYMBOLS_OPTION_HELP } from "./open-recording.js";
import { parsePositiveInt, UsageError } from "./errors.js";
import { explain, ExplainError } from "../query/explain.js";
import { explanationJson, renderExplanation } from "../query/explain-render.js";
import { symbolsJson } from "../query/render.js";

export function registerExplain(program: Command): void {
  program
    .command("explain")
    .description("why the recording crashed: the fault, what the faulting instruction consumed, and the steps back to the root cause")
    .argument("[trace]", "trace or bundle (default: the latest recording in ./.ttd)")
    .option("--at <step>", "explain this step instead: 'fault' (the first faulting instruction), 'end', or a step number (a fault, or a halt/breakpoint whose call site is wanted)")
    .option("--depth <n>", "most links to follow", "12")
    .option("--symbols <file>", SYMBOLS_OPTION_HELP)
    .option("--json", "print one JSON object (see docs/queries.md for its fields)")
    .addHelpText(
      "after",
      `
With no --at, the crash is the last fault whose instruction never ran again (a handled fault is
retried; the one that ended the run is not), or the first fault of a cascade ending in a triple fault.
From the fault ttd works out what the instruction consumed (the selector an iret popped for a #GP, the
register that formed a #PF's address, a #DE's divisor, the jump or return that brought EIP to a #UD),
then asks the trace who wrote that value, following data and address dependencies back to the root.

Examples:
  ttd explain traces/idle-bug.ttdb
  ttd explain traces/idle-bug.ttdb --json
  ttd explain traces/idle-bug.ttdb --at 61891

Exit status: 0 when explained; 2 for bad input (no such trace, a step out of range, a trace with no
fault and no --at).`,
    )
    .action((traceArg: string | undefined, opts: { at?: string; depth: string; json?: boolean; symbols?: string }) => {
      const { recording, ctx } = openForQuery(traceArg, { symbols: opts.symbols });
      try {
        const depth = parsePositiveInt(opts.depth, "--depth", 200);
        const at = opts.at === undefined ? undefined : parseAtStep(ctx, opts.at);
        let e;
        try {
          e = explain(ctx, { at, depth });
        } catch (err) {
          if (err instanceof ExplainError) throw new UsageError(`${traceArg ?? "the latest recording"}: ${err.message}`);
          throw err;
        }
        if (opts.json) process.stdout.write(JSON.stringify({ ...explanationJson(e), ...symbolsJson(ctx) }) + "\n");
        else process.stdout.write(renderExplanation(e, ctx) + "\n");
      } finally {
        recording.close();
      }
    });
}

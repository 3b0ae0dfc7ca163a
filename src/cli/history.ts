/** `ttd history`: every write to a memory location between two steps, in time order. */
import type { Command } from "commander";
import { openForQuery, SYMBOLS_OPTION_HELP } from "./open-recording.js";
import { parsePositiveInt, UsageError } from "./errors.js";
import { parseStepOption } from "./step-option.js";
import { LocationError, resolveLocation } from "../query/location.js";
import { DEFAULT_HISTORY_LIMIT, HistoryError, history, historyJson, renderHistory } from "../query/history.js";
import { symbolsJson } from "../query/render.js";

export function registerHistory(program: Command): void {
  program
    .command("history")
    .description("every write to a memory location between two steps, oldest first")
    .argument("<location>", "an address (0xe010f624) or a C expression over the guest's symbols")
    .option("--trace <file>", "trace or bundle to ask (default: the latest recording in ./.ttd)")
    .option("--symbols <file>", SYMBOLS_OPTION_HELP)
    .option("--from <step>", "first step whose writes are listed: a number, 'start', 'fault' or 'end'", "start")
    .option("--to <step>", "list writes made before this step: a number, 'start', 'fault' or 'end'", "end")
    .option("--size <bytes>", "bytes to watch (default: the expression's type size, or 4 for an address)")
    .option("--limit <n>", "most writes to list", String(DEFAULT_HISTORY_LIMIT))
    .option("--json", "print one JSON object (see docs/queries.md for its fields)")
    .addHelpText(
      "after",
      `
The location is evaluated at the --to step, so pointers are followed as they were then. Each write
shows its step, the bytes of the location it covered (when not all), old -> new, and who made it: an
instruction (function+offset, file:line) or the CPU (e.g. an interrupt frame push, naming the word).

Exit status: 0 when listed (no writes in the range is an answer too); 2 for bad input (no such trace or
a damaged one, a location that does not parse or resolve, or names a register, a --from or --to that is
not a step of the trace or --from after --to, a bad --size or --limit).

Examples:
  ttd history 'ksIdleThread->tcbArch.tcbContext.registers[Error]' --trace traces/idle-bug.ttdb --to fault
  ttd history ksCurThread --trace traces/idle-bug.ttdb --from 40000 --limit 20
  ttd history 0xe010f624 --size 16 --trace traces/idle-bug.ttdb --json

For the last change of a register, use why-write:
  ttd why-write '$esp' --trace traces/idle-bug.ttdb --at 61766`,
    )
    .action((location: string, opts: { trace?: string; symbols?: string; from: string; to: string; size?: string; limit: string; json?: boolean }) => {
      const { recording, ctx } = openForQuery(opts.trace, { symbols: opts.symbols });
      try {
        const from = parseStepOption(ctx.trace, opts.from, "--from");
        const to = parseStepOption(ctx.trace, opts.to, "--to");
        if (from > to) throw new UsageError(`--from ${opts.from} (step ${from}) is after --to ${opts.to} (step ${to})`);
        const size = opts.size !== undefined ? parsePositiveInt(opts.size, "--size", 4096) : undefined;
        const limit = parsePositiveInt(opts.limit, "--limit");
        let loc;
        try {
          loc = resolveLocation(ctx, location, to, size);
        } catch (e) {
          if (e instanceof LocationError) throw new UsageError(e.underline ? `${e.message}\n${e.underline}` : e.message);
          throw e;
        }
        if (loc.kind === "register") {
          // Registers are not indexed: listing every change would single-step the whole range.
          throw new UsageError(`history lists memory writes; for the last change of ${loc.expression} before a step use: ttd why-write '${loc.expression}' --at <step>`);
        }
        let answer;
        try {
          answer = history(ctx, loc, { from, to, limit });
        } catch (e) {
          const err = e as Error;
          if (err instanceof HistoryError || err.name === "TraceError") throw new UsageError(`${location}: ${err.message}`);
          throw e;
        }
        if (opts.json) process.stdout.write(JSON.stringify({ ...historyJson(answer), ...symbolsJson(ctx) }) + "\n");
        else process.stdout.write(renderHistory(answer, ctx) + "\n");
      } finally {
        recording.close();
      }
    });
}

/** `ttd find-output TEXT`: the step at which the guest printed a text (the step of its last byte). */
import type { Command } from "commander";
import { openForQuery } from "./open-recording.js";
import { parsePositiveInt, UsageError } from "./errors.js";
import { parseStepOption } from "./step-option.js";
import { findOutput, type OutputStreamName } from "../query/output-search.js";
import { reportErrorsAsJson } from "./json-errors.js";

/** Exit status when the text was never printed (0 found, 2 bad input, 1 a bug). */
export const EXIT_NOT_FOUND = 3;

interface FindOutputOptions {
  trace?: string;
  after?: string;
  stream?: string;
  all?: boolean;
  count?: string;
  json?: boolean;
}

function parseStream(text: string | undefined): OutputStreamName | undefined {
  if (text === undefined) return undefined;
  if (text === "com1" || text === "serial") return "serial";
  if (text === "debug-console" || text === "e9") return "debug-console";
  throw new UsageError(`--stream ${text}: must be com1 or debug-console`);
}

export function registerFindOutput(program: Command): void {
  const command = program
    .command("find-output")
    .description("the step at which the guest printed TEXT: the first step that printed its last byte")
    .argument("<text>", "the text to look for in the guest's output (COM1 and the 0xe9 console, each on its own)")
    .argument("[trace]", "trace or bundle (default: the latest recording in ./.ttd)")
    .option("--trace <file>", "trace or bundle (instead of the second argument)")
    .option("--after <step>", "only where the last byte was printed at or after this step (a number, 'start', 'fault', 'end')")
    .option("--stream <name>", "only this output: com1 or debug-console")
    .option("--all", "every place the text was printed, in step order (at most --count)")
    .option("--count <n>", "with --all, at most this many (default 100)")
    .option("--json", "print {text, found, matches: [{step, firstStep, stream, offset, line}]} as one JSON object")
    .addHelpText(
      "after",
      `
The answer is the step whose execution wrote the text's last byte: the state after it (--at STEP+1 in
the other commands) is the first in which all of the text had been printed, so from a line the user
saw ("usertests failed") a query can start right there and go backwards (why-write, explain, the TUI).
Output is searched byte for byte (TEXT as UTF-8); 'ttd log --output' lists every line with its steps.

Exit status: 0 when found (the step is printed); 3 when the text was never printed (or not after
--after); 2 for bad input (no such trace, a damaged file, a bad option or step).

Examples:
  ttd find-output 'idle' traces/idle-bug.ttdb
  ttd find-output 'naked hlt' --trace traces/idle-fixed.ttdb --json
  ttd find-output 'e' traces/idle-bug.ttdb --all --count 3`,
    )
    .action((text: string, traceArg: string | undefined, opts: FindOutputOptions) => {
      if (opts.trace !== undefined && traceArg !== undefined) throw new UsageError(`give the trace once: as an argument (${traceArg}) or with --trace (${opts.trace})`);
      const stream = parseStream(opts.stream);
      const count = opts.count !== undefined ? parsePositiveInt(opts.count, "--count") : 100;
      if (text === "") throw new UsageError("find-output: the text is empty");
      const { recording, ctx } = openForQuery(opts.trace ?? traceArg);
      try {
        const fromStep = opts.after !== undefined ? parseStepOption(ctx.trace, opts.after, "--after") : undefined;
        const matches = findOutput(ctx.trace, text, { fromStep, stream, limit: opts.all ? count : 1 });
        if (opts.json) {
          process.stdout.write(JSON.stringify({ text, found: matches.length > 0, matches }) + "\n");
        } else if (matches.length === 0) {
          process.stderr.write(`ttd: ${JSON.stringify(text)} was never printed${fromStep !== undefined ? ` at or after step ${fromStep}` : ""}\n`);
        } else {
          for (const m of matches) {
            process.stdout.write(`step ${m.step}  ${m.stream === "serial" ? "com1" : m.stream}  ${JSON.stringify(m.line)}${m.firstStep !== m.step ? `  (first byte at step ${m.firstStep})` : ""}\n`);
          }
        }
        if (matches.length === 0) process.exitCode = EXIT_NOT_FOUND;
      } finally {
        recording.close();
      }
    });
  reportErrorsAsJson(command);
}

/** `ttd screen`: the VGA text screen as it was at a step of a recording. */
import type { Command } from "commander";
import { openForQuery, parseAtStep } from "./open-recording.js";
import { formatScreen } from "./screen-output.js";
import { screenAt, screenJson } from "../query/screen.js";

export function registerScreen(program: Command): void {
  program
    .command("screen")
    .description("print the VGA text screen (80x25) as it was at a step, cursor included")
    .argument("[trace]", "trace or bundle (default: the latest recording in ./.ttd)")
    .option("--at <step>", "the screen before this step: a number, 'fault' (the first faulting instruction) or 'end'", "end")
    .option("--json", "print one JSON object: step, columns, rows, cursor {row, column} (0-based) or null, startAddress, lines, attributes (hex per row)")
    .addHelpText(
      "after",
      `
The screen is rebuilt from the recording's memory at 0xb8000 and the VGA registers of that step, so
it scrolls with time like every other answer (the TUI's v key shows the same).

Examples:
  ttd screen traces/idle-bug.ttdb --at fault
  ttd screen traces/idle-bug.ttdb --at 1000 --json

Exit status: 0 when printed; 2 for bad input (no such trace, a damaged file, a step out of range).`,
    )
    .action((trace: string | undefined, opts: { at: string; json?: boolean }) => {
      const { recording, ctx } = openForQuery(trace);
      try {
        const at = parseAtStep(ctx, opts.at);
        const screen = screenAt(ctx.trace, at);
        if (opts.json) process.stdout.write(JSON.stringify(screenJson(screen, at)) + "\n");
        else process.stdout.write(formatScreen(screen, `at step ${at}`));
      } finally {
        recording.close();
      }
    });
}

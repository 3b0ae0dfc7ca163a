/** `ttd tui`: the full-screen terminal debugger over a recording (src/tui/). */
import type { Command } from "commander";
// Must come before ink: see the module.
import "../tui/interactive-terminal.js";
import { createElement } from "react";
import { render } from "ink";
import { openForQuery, parseAtStep, SYMBOLS_OPTION_HELP } from "./open-recording.js";
import { UsageError } from "./errors.js";
import { DebuggerViewModel } from "../tui/view-model.js";
import { App } from "../tui/app.js";

export function registerTui(program: Command): void {
  program
    .command("tui")
    .description("full-screen time-travel debugger: step forward and back, ask who wrote what")
    .argument("[trace]", "trace or bundle (default: the latest recording in ./.ttd)")
    .option("--at <step>", "start at this step: a number, 'start', 'fault' (the first faulting instruction) or 'end'")
    .option("--symbols <file>", SYMBOLS_OPTION_HELP)
    .addHelpText(
      "after",
      `
Keys (also on ? inside):
  n / p          next step / previous step (reverse)
  o / O          step over a call / back over the call just returned from
  l / L          next / previous source line
  g              go to a step (a number, 'fault', 'start' or 'end')
  < > Home End   the trace's start / end
  i / I          next / previous interrupt or exception
  b              breakpoint on a function, file:line or address (again removes it)
  W              watch an expression or address (again removes it)
  c / r          continue / reverse-continue to a breakpoint or a watched write
  w              why-write an expression or address (EXPR @ STEP asks at another step)
  Up / Down      select a stack word; w then asks who wrote that word
  e              explain: the fault here (else the recording's crash) back to its root
  j              in a why-write answer: jump to the writing step; in an explanation: to the root
  m / ' / M      set a named bookmark / jump to the next one / list them (Enter jumps)
  s              segment and control registers
  v              the guest's VGA text screen (and cursor) as it was at this step
  f              the x87 and SSE registers at this step, those the last step changed marked
  t              the guest's output (serial, 0xe9 console) as printed before this step
  ?              the key list
  Esc            cancel a running search (the position stays); close a prompt or overlay
  q              quit
Searches that take a while show progress on the second line. Needs an interactive terminal of at
least 60x16 (80x24 shows every panel).

Exit status: 0 after q (or Ctrl-C); 2 for bad input (no such trace or a damaged one, an --at that is
not a step of the trace, stdin or stdout not a terminal).

Examples:
  ttd tui traces/idle-bug.ttdb --at fault
  ttd tui traces/idle-fixed.ttdb --at 100`,
    )
    .action(async (arg: string | undefined, opts: { at?: string; symbols?: string }) => {
      const { recording, ctx } = openForQuery(arg, { symbols: opts.symbols });
      try {
        const at = opts.at !== undefined ? parseAtStep(ctx, opts.at) : undefined;
        // Checked after the recording and --at, so their errors come first and a script can check them.
        if (!process.stdin.isTTY || !process.stdout.isTTY) throw new UsageError("tui: needs an interactive terminal (stdin and stdout must be a TTY)");
        const vm = new DebuggerViewModel(recording, at);
        // The alternate screen keeps the user's scrollback intact and gives a clean full screen.
        process.stdout.write("\x1b[?1049h\x1b[H");
        try {
          const app = render(createElement(App, { vm }), { exitOnCtrlC: true, patchConsole: true });
          await app.waitUntilExit();
        } finally {
          process.stdout.write("\x1b[?1049l");
        }
      } finally {
        recording.close();
      }
    });
}

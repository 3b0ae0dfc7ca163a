/**
 * Bad input as JSON for the commands whose `--json` summary goes to stderr (`run`, `record`): a script
 * reading that summary gets one JSON object on every path, the error included, with exit status 2.
 * Without `--json` errors stay one plain line (main.ts).
 */
import type { Command } from "commander";
import { EXIT_BAD_INPUT, isBadInput } from "./errors.js";

/** The object printed for bad input: `reason` tells it apart from a run's summary. */
export function badInputJson(message: string, fields: Record<string, unknown> = {}): string {
  return JSON.stringify({ ...fields, reason: "bad-input", error: message, status: EXIT_BAD_INPUT });
}

/** True when `--json` is among the command's own arguments (before a `--`). */
function argvAsksJson(): boolean {
  const args = process.argv.slice(2);
  const end = args.indexOf("--");
  return (end < 0 ? args : args.slice(0, end)).includes("--json");
}

/**
 * Makes the option-parsing errors of `command` (missing argument, unknown option, bad value) JSON when
 * `--json` was given, without the usage text commander prints after them.
 */
export function jsonParseErrors(command: Command): Command {
  const wantsJson = () => command.opts().json === true || argvAsksJson();
  return command.configureOutput({
    writeErr: (s) => {
      if (!wantsJson()) process.stderr.write(s);
    },
    outputError: (s, write) => {
      if (wantsJson()) process.stderr.write(badInputJson(s.trim().replace(/^error: /, "")) + "\n");
      else write(s);
    },
  });
}

/**
 * Runs a command's action; with `json`, bad input it throws is printed as JSON on stderr (exit status 2)
 * instead of reaching main.ts's plain line. Other errors pass through unchanged.
 */
export async function reportingJsonErrors(json: boolean, fields: Record<string, unknown>, action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (e) {
    if (!json || !isBadInput(e)) throw e;
    process.stderr.write(badInputJson(e.message, fields) + "\n");
    process.exitCode = EXIT_BAD_INPUT;
  }
}

/**
 * Bad input as JSON for the commands whose `--json` summary goes to stderr (`run`, `record`): a script
 * reading that summary gets one JSON object on every path, the error included, with exit status 2.
 * Without `--json` errors stay one plain line (program.ts).
 */
import type { Command } from "commander";
import { EXIT_BAD_INPUT } from "./errors.js";

/** The commands that asked for it (see reportErrorsAsJson). */
const jsonCommands = new WeakSet<Command>();

/** The object printed for bad input: `reason` tells it apart from a run's summary. */
function badInputJson(message: string, fields: Record<string, unknown> = {}): string {
  return JSON.stringify({ ...fields, reason: "bad-input", error: message, status: EXIT_BAD_INPUT }) + "\n";
}

/** True when `--json` is among the command's own arguments (before a `--`). */
function argvAsksJson(): boolean {
  const args = process.argv.slice(2);
  const end = args.indexOf("--");
  return (end < 0 ? args : args.slice(0, end)).includes("--json");
}

/** With --json, the option's value once parsed; before that (a parse error), whether the arguments hold it. */
function wantsJson(command: Command): boolean {
  return command.opts().json === true || argvAsksJson();
}

/**
 * Makes `command` report bad input as JSON on stderr when `--json` is given: option-parsing errors
 * (missing argument, unknown option; without the usage text commander prints after them) here, and
 * the errors its action throws through badInputAsJson (program.ts).
 */
export function reportErrorsAsJson(command: Command): Command {
  jsonCommands.add(command);
  return command.configureOutput({
    writeErr: (s) => {
      if (!wantsJson(command)) process.stderr.write(s);
    },
    outputError: (s, write) => {
      if (wantsJson(command)) process.stderr.write(badInputJson(s.trim().replace(/^error: /, "")));
      else write(s);
    },
  });
}

/**
 * The JSON text for bad input `message` when the command that ran (`name`) reports errors as JSON and
 * was given --json; null otherwise. The first argument (the kernel) is named in it.
 */
export function badInputAsJson(program: Command, name: string | undefined, message: string): string | null {
  const command = program.commands.find((c) => c.name() === name);
  if (command === undefined || !jsonCommands.has(command) || command.opts().json !== true) return null;
  const first = command.processedArgs[0] as unknown;
  return badInputJson(message, typeof first === "string" ? { kernel: first } : {});
}

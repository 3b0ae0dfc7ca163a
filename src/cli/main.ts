#!/usr/bin/env node
/** The `ttd` command line: one file per command, each thin over the library. */
import { Command, CommanderError } from "commander";
import { EXIT_BAD_INPUT, isBadInput } from "./errors.js";
import { QEMU_STYLE_COMMANDS, rewriteQemuArgs } from "./qemu-options.js";
import { badInputAsJson } from "./json-errors.js";

/**
 * Every command and the module that defines it. Only the invoked command's module is loaded (the
 * terminal UI's ink/react and iced-x86 take hundreds of milliseconds to load); help and unknown
 * commands load them all so the command list is complete.
 */
const COMMANDS: Record<string, () => Promise<(program: Command) => void>> = {
  demo: async () => (await import("./demo.js")).registerDemo,
  run: async () => (await import("./run.js")).registerRun,
  record: async () => (await import("./record.js")).registerRecord,
  info: async () => (await import("./info.js")).registerInfo,
  log: async () => (await import("./log.js")).registerLog,
  "why-write": async () => (await import("./why-write.js")).registerWhyWrite,
  diff: async () => (await import("./diff.js")).registerDiff,
  explain: async () => (await import("./explain.js")).registerExplain,
  history: async () => (await import("./history.js")).registerHistory,
  print: async () => (await import("./print.js")).registerPrint,
  screen: async () => (await import("./screen.js")).registerScreen,
  "find-output": async () => (await import("./find-output.js")).registerFindOutput,
  tui: async () => (await import("./tui.js")).registerTui,
  gdbserver: async () => (await import("./gdbserver.js")).registerGdbserver,
  pack: async () => (await import("./pack.js")).registerPack,
};

// Output piped into `head` and the like: stop quietly when the reader goes away.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(0);
    throw e;
  });
}

const program = new Command();
program
  .name("ttd")
  .description("Record-and-replay, time-travel debugger for i386 kernels")
  .version("0.1.0")
  .showHelpAfterError()
  .exitOverride()
  .addHelpText(
    "after",
    `
Exit status: 0 when a command did what was asked; 2 for bad input (a missing or damaged file, an option,
expression or step that does not parse or resolve, an output that cannot be written), with one line on
stderr naming it; 1 for an internal error (a bug in ttd: the stack trace is printed, please report it).
'run' and 'record' end with the guest's status instead (odd values from isa-debug-exit, 0 halt,
4 --max-steps, 6 triple fault, 130 Ctrl-C); each command's --help says what its statuses mean.

Examples:
  ttd demo
  ttd record src/kernel/build/idle-bug.elf -o idle.trace --force
  ttd why-write '$esp' --trace idle.trace --at fault
  ttd help print`,
  );

const invoked = process.argv[2];
const versionOnly = invoked === "--version" || invoked === "-V";
const wanted = versionOnly ? [] : invoked !== undefined && Object.hasOwn(COMMANDS, invoked) ? [invoked] : Object.keys(COMMANDS);
for (const name of wanted) (await COMMANDS[name]())(program);

try {
  // `ttd run -kernel k.elf -m 256M ...`: QEMU's spellings become ttd's before commander sees them.
  const argv = invoked !== undefined && QEMU_STYLE_COMMANDS.has(invoked)
    ? [...process.argv.slice(0, 3), ...rewriteQemuArgs(process.argv.slice(3), (line) => process.stderr.write(`ttd: ${line}\n`))]
    : process.argv;
  await program.parseAsync(argv);
} catch (e) {
  if (e instanceof CommanderError) {
    process.exitCode = e.exitCode === 0 ? 0 : EXIT_BAD_INPUT;
  } else if (isBadInput(e)) {
    // Bad input, or a trace/bundle that cannot answer: one line naming the problem.
    process.stderr.write(badInputAsJson(program, invoked, e.message) ?? `ttd: ${e.message}\n`);
    process.exitCode = EXIT_BAD_INPUT;
  } else {
    throw e;
  }
}

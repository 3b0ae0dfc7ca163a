/**
 * The `ttd` command line: one file per command, each thin over the library. main.ts starts it, from
 * the single-file build when there is a current one (cli-bundle.ts) or from these modules.
 */
import { Command, CommanderError } from "commander";
import { EXIT_BAD_INPUT, isBadInput } from "./errors.js";
import { QEMU_STYLE_COMMANDS, rewriteQemuArgs } from "./qemu-options.js";
import { badInputAsJson } from "./json-errors.js";

/**
 * Every command, the module that defines it and the function there that adds it to the program. Only
 * the invoked command's module is loaded (the terminal UI's ink/react and iced-x86 take hundreds of
 * milliseconds to load); help and unknown commands load them all so the command list is complete.
 */
export const COMMANDS: Record<string, { module: string; register: string }> = {
  demo: { module: "./demo.js", register: "registerDemo" },
  run: { module: "./run.js", register: "registerRun" },
  record: { module: "./record.js", register: "registerRecord" },
  info: { module: "./info.js", register: "registerInfo" },
  log: { module: "./log.js", register: "registerLog" },
  "why-write": { module: "./why-write.js", register: "registerWhyWrite" },
  diff: { module: "./diff.js", register: "registerDiff" },
  explain: { module: "./explain.js", register: "registerExplain" },
  history: { module: "./history.js", register: "registerHistory" },
  print: { module: "./print.js", register: "registerPrint" },
  screen: { module: "./screen.js", register: "registerScreen" },
  "find-output": { module: "./find-output.js", register: "registerFindOutput" },
  tui: { module: "./tui.js", register: "registerTui" },
  gdbserver: { module: "./gdbserver.js", register: "registerGdbserver" },
  pack: { module: "./pack.js", register: "registerPack" },
};

async function addCommand(program: Command, name: string): Promise<void> {
  const { module, register } = COMMANDS[name];
  const definitions = (await import(module)) as Record<string, (program: Command) => void>;
  definitions[register](program);
}

/** Runs the command named in `process.argv`; its exit status is left in `process.exitCode`. */
export async function runCli(): Promise<void> {
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
  for (const name of wanted) await addCommand(program, name);

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
}

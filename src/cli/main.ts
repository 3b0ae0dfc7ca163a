#!/usr/bin/env node
/** The `ttd` command line: one file per command, each thin over the library. */
import { Command, CommanderError } from "commander";
import { registerRun } from "./run.js";
import { registerWhyWrite } from "./why-write.js";
import { registerDemo } from "./demo.js";
import { UsageError, EXIT_BAD_INPUT } from "./errors.js";

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
  .exitOverride();

registerRun(program);
registerWhyWrite(program);
registerDemo(program);
(await import("./record.js")).registerRecord(program);
(await import("./info.js")).registerInfo(program);
(await import("./log.js")).registerLog(program);
(await import("./gdbserver.js")).registerGdbserver(program);
(await import("./pack.js")).registerPack(program);
(await import("./history.js")).registerHistory(program);
(await import("./tui.js")).registerTui(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    process.exitCode = e.exitCode === 0 ? 0 : EXIT_BAD_INPUT;
  } else if (e instanceof UsageError || (e instanceof Error && (e.name === "TraceError" || e.name === "BundleError"))) {
    // Bad input, or a trace/bundle that cannot answer: one line naming the problem.
    process.stderr.write(`ttd: ${(e as Error).message}\n`);
    process.exitCode = EXIT_BAD_INPUT;
  } else {
    throw e;
  }
}

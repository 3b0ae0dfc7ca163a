#!/usr/bin/env node
/** The `ttd` command line: one file per command, each thin over the library. */
import { Command, CommanderError } from "commander";
import { registerRun } from "./run.js";
import { registerWhyWrite } from "./why-write.js";
import { UsageError, EXIT_BAD_INPUT } from "./errors.js";

const program = new Command();
program
  .name("ttd")
  .description("Record-and-replay, time-travel debugger for i386 kernels")
  .version("0.1.0")
  .showHelpAfterError()
  .exitOverride();

registerRun(program);
registerWhyWrite(program);
(await import("./record.js")).registerRecord(program);
(await import("./info.js")).registerInfo(program);
(await import("./log.js")).registerLog(program);
(await import("./gdbserver.js")).registerGdbserver(program);
(await import("./pack.js")).registerPack(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    process.exitCode = e.exitCode === 0 ? 0 : EXIT_BAD_INPUT;
  } else if (e instanceof UsageError) {
    process.stderr.write(`ttd: ${e.message}\n`);
    process.exitCode = EXIT_BAD_INPUT;
  } else {
    throw e;
  }
}

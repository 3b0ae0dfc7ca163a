/** `ttd gdbserver`: serve a recorded trace to stock gdb over the remote serial protocol. */
import type { Command } from "commander";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { UsageError } from "./errors.js";
import { parseStepOption } from "./step-option.js";
import { GdbServer } from "../gdb/server.js";
import { imageFileFor, openReplay } from "../gdb/open.js";
import { SYMBOLS_OPTION_HELP } from "./open-recording.js";
import type { Recording } from "../bundle/open.js";
import { QueryContext } from "../query/context.js";
import { explain, ExplainError } from "../query/explain.js";
import { renderExplanation } from "../query/explain-render.js";

interface GdbserverCliOptions {
  symbols?: string;
  port?: string;
  host: string;
  at?: string;
  once?: boolean;
  verbose?: boolean;
}

function parsePort(text: string): number {
  if (!/^[0-9]+$/.test(text) || Number(text) > 65535) throw new UsageError(`--port expects a TCP port from 0 to 65535, got '${text}'`);
  return Number(text);
}

/** Quotes a path for a POSIX shell when it needs it. */
function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export function registerGdbserver(program: Command): void {
  program
    .command("gdbserver")
    .description("serve a trace to gdb (remote protocol over TCP) with reverse execution: reverse-stepi, reverse-continue, watch")
    .argument("[recording]", "trace file or .ttdb bundle (default: the latest recorded in ./.ttd)")
    .option("-p, --port <n>", "TCP port to listen on (default: any free port, printed at start)")
    .option("--host <address>", "address to listen on; anything but loopback exposes the recording to the network", "127.0.0.1")
    .option("--at <step>", "step each client starts at: a number, 'start', 'fault' (the first faulting instruction) or 'end' (default: start)")
    .option("--symbols <file>", SYMBOLS_OPTION_HELP)
    .option("--once", "exit when the first client disconnects")
    .option("-v, --verbose", "log every packet on stderr")
    .addHelpText(
      "after",
      `
gdb sees the recorded CPU as one thread stopped at the start of the trace. Registers and memory are
as they were at the current step; writing either gets an error (a recording is read-only). Forward:
stepi, continue. Backward: reverse-stepi, reverse-continue, reverse-finish. Breakpoints (break,
hbreak) and watchpoints (watch, rwatch, awatch) work in both directions; going past either end of the
trace stops with gdb's "No more reverse-execution history". Ctrl-C in gdb stops a long search.

A 'watch' plus 'reverse-continue' finds the last write through the trace's write index: it costs
about the same however far back the write is. Breakpoints and read watchpoints re-execute steps one
by one, from the current step towards the stop.

The kernel image stored in the recording is written to a fresh private temporary folder for gdb's
symbols (removed when the server exits); the command line to paste is printed at start. One debugger at a time: a second connection is refused with an
error while one is served; each new client starts afresh at --at with no breakpoints.
'monitor step' in gdb prints the current step; 'monitor help' lists the others.

With no recording named, it serves the latest one in ./.ttd (see 'ttd record'); --port picks the port.

Exit status: 0 after Ctrl-C (or with --once, when the client leaves); 2 for bad input (no such
recording or a damaged one, an --at that is not a step of the trace, port in use).

Each prints the gdb command line to paste into another terminal.

Examples:
  ttd gdbserver traces/idle-bug.ttdb
  ttd gdbserver traces/idle-bug.ttdb --at fault
  ttd gdbserver traces/idle-fixed.ttdb --once -v`,
    )
    .action(async (traceArg: string | undefined, opts: GdbserverCliOptions) => {
      const port = opts.port !== undefined ? parsePort(opts.port) : 0;
      let recording;
      try {
        recording = openReplay(traceArg, { symbols: opts.symbols });
      } catch (e) {
        const err = e as Error;
        if (err.name === "TraceError" || err.name === "BundleError" || err.name === "UsageError") throw new UsageError(err.message);
        throw e;
      }
      const trace = recording.trace;
      let start: number;
      try {
        start = opts.at !== undefined ? parseStepOption(trace, opts.at, "--at") : trace.startStep;
      } catch (e) {
        recording.close();
        throw e;
      }
      let server: GdbServer;
      try {
        server = await GdbServer.listen(trace, {
          host: opts.host,
          port,
          startStep: start,
          once: opts.once,
          verbose: opts.verbose,
          log: (line) => process.stderr.write(`ttd gdbserver: ${line}\n`),
          explain: (at) => explainText(recording, at),
        });
      } catch (e) {
        recording.close();
        const err = e as NodeJS.ErrnoException;
        if (err.code === "EADDRINUSE") throw new UsageError(`port ${port} on ${opts.host} is already in use; pick another with --port, or omit it for any free port`);
        if (err.code === "EACCES") throw new UsageError(`no permission to listen on ${opts.host}:${port}`);
        if (err.code === "EADDRNOTAVAIL" || err.code === "ENOTFOUND") throw new UsageError(`cannot listen on '${opts.host}': not an address of this machine`);
        throw e;
      }
      let image;
      try {
        // An ELF named on the command line is given to gdb where it is (a vmlinux is 300 MB); the
        // recording's own image, or one made from a System.map, is written out for it.
        const file = recording.image.path;
        image = file !== undefined ? { path: file, remove: () => {} } : imageFileFor(recording.image);
      } catch (e) {
        await server.close();
        recording.close();
        throw new UsageError(`cannot write the kernel image for gdb in the temporary folder (${(e as Error).message}); set TMPDIR to a writable folder`);
      }
      const connectHost = server.host === "0.0.0.0" || server.host === "::" ? "127.0.0.1" : server.host.includes(":") ? `[${server.host}]` : server.host;
      // A bundle carries its sources (entries sources/<line-table path>): point gdb at them. For a
      // plain trace gdb finds them as the compiler named them, relative to where gdb runs.
      const sourcesDir = recording.bundle !== null ? join(recording.bundle.extractedTo, "sources") : null;
      const directory = sourcesDir !== null && existsSync(sourcesDir) ? ` -ex ${shellQuote(`directory ${sourcesDir}`)}` : "";
      // Symbols that ran elsewhere than the file says (a vmlinux of a kernel KASLR moved) are loaded
      // moved by as much.
      const slide = recording.image.slide ?? 0;
      const gdbCommand = slide === 0
        ? `gdb -ex 'set architecture i386'${directory} -ex 'target remote ${connectHost}:${server.port}' ${shellQuote(image.path)}`
        : `gdb -ex 'set architecture i386'${directory} -ex ${shellQuote(`symbol-file -o ${slide < 0 ? "-" : ""}0x${Math.abs(slide).toString(16)} ${image.path}`)} -ex 'target remote ${connectHost}:${server.port}'`;
      // Before the command line is printed: whoever reads it may stop the server right away.
      const stop = () => void server.close();
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
      process.stdout.write(
        [
          `ttd gdbserver: serving ${recording.path} (steps ${trace.startStep} to ${trace.steps}, clients start at step ${start})`,
          `ttd gdbserver: listening on ${connectHost}:${server.port}`,
          `ttd gdbserver: connect with:`,
          `  ${gdbCommand}`,
          "",
        ].join("\n"),
      );
      try {
        await server.closed;
      } finally {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
        recording.close();
        image.remove();
      }
    });
}

/** `monitor explain`: the narrative `ttd explain` prints, or the one-line reason there is none. */
function explainText(recording: Recording, at: number | undefined): string {
  const ctx = QueryContext.fromRecording(recording);
  try {
    return renderExplanation(explain(ctx, { at }), ctx);
  } catch (e) {
    if (e instanceof ExplainError) return `explain: ${e.message}`;
    throw e;
  }
}

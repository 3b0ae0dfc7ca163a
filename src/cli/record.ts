/** `ttd record`: run a kernel like `ttd run` and write a trace of every step. */
import type { Command } from "commander";
import { existsSync, statSync } from "node:fs";
import { relative } from "node:path";
import { machineForKernel } from "./load-kernel.js";
import { parsePositiveInt, UsageError } from "./errors.js";
import { exitCodeFor } from "./run-loop.js";
import { DEFAULT_MEMORY_MIB } from "../machine/machine.js";
import { NO_SCREEN_OPTION_HELP, parseScreenWhen, ScreenReport, SCREEN_OPTION_HELP } from "./screen-output.js";
import { Recorder, type RecordProgress } from "../trace/recorder.js";
import { newTracePath, removeTraceFiles, setLatest, TRACE_DIR } from "../trace/locate.js";

interface RecordCliOptions {
  output?: string;
  maxSteps?: string;
  force?: boolean;
  memory?: string;
  cmdline: string;
  progress?: boolean;
  screen?: boolean;
}

export function registerRecord(program: Command): void {
  program
    .command("record")
    .description("run a multiboot i386 kernel like 'ttd run' and record every step into a trace file")
    .argument("<kernel.elf>", "multiboot ELF32 kernel image")
    .option("-o, --output <file>", `trace file to write (default: ${TRACE_DIR}/<kernel>-<n>.trace, and ${TRACE_DIR}/latest points to it)`)
    .option("--max-steps <n>", "stop after this many steps (instructions plus interrupt deliveries)")
    .option("--force", "overwrite the output file if it exists")
    .option("--memory <MiB>", `guest RAM in MiB (default ${DEFAULT_MEMORY_MIB})`)
    .option("--cmdline <text>", "kernel command line passed in the multiboot information", "")
    .option("--no-progress", "do not print progress on stderr while recording")
    .option("--screen", SCREEN_OPTION_HELP)
    .option("--no-screen", NO_SCREEN_OPTION_HELP)
    .addHelpText(
      "after",
      `
Serial output (COM1) and the 0xe9 debug console go to stdout as the guest writes them. Progress
(steps, steps per second, trace size) and the final summary go to stderr.

The trace is valid while it is being written: Ctrl-C stops the guest and finalizes it; even after a
crash or kill -9 it holds every step up to its last commit (a fraction of a second before).
Without -o, traces go to ${TRACE_DIR}/ in the current directory and 'ttd info', 'ttd log' and the other
commands open the latest one when no trace is named. An existing file is never overwritten without
--force.

Exit status: as 'ttd run' (the guest's isa-debug-exit status, 0 halt, 4 --max-steps, 6 triple fault,
130 Ctrl-C), or 2 for bad input (kernel image, existing output file).

Examples:
  ttd record ../shared/bench/probe/probe-r1.elf
  ttd record src/kernel/build/idle-bug.elf -o idle.trace --force
  ttd record ../shared/bench/probe/probe-r30.elf --max-steps 10000000 -o r30-head.trace`,
    )
    .action(async (kernel: string, opts: RecordCliOptions) => {
      const maxSteps = opts.maxSteps !== undefined ? parsePositiveInt(opts.maxSteps, "--max-steps") : undefined;
      const memoryMiB = opts.memory !== undefined ? parsePositiveInt(opts.memory, "--memory", 3072) : DEFAULT_MEMORY_MIB;
      const screenWhen = parseScreenWhen(opts.screen);
      // Check the output before loading anything, so nothing is created when the kernel is bad either.
      let path: string;
      const isDefault = opts.output === undefined;
      if (opts.output !== undefined) {
        path = opts.output;
        if (existsSync(path) && statSync(path).isDirectory()) throw new UsageError(`${path}: is a directory; name the trace file to write`);
        const exists = ["", "-wal", "-shm"].some((s) => existsSync(path + s));
        if (exists && !opts.force) throw new UsageError(`${path}: already exists; use --force to overwrite it`);
      } else {
        path = "";
      }
      const { machine, image } = machineForKernel(kernel, { memoryMiB, cmdline: opts.cmdline, compile: true });
      if (isDefault) path = newTracePath(kernel);
      else if (opts.force) removeTraceFiles(path);

      const screen = new ScreenReport(machine, screenWhen);
      const out = new OutputWriter();
      const progress = new ProgressLine(opts.progress !== false, path);
      out.beforeWrite = () => progress.clear();
      const recorder = new Recorder(machine, {
        path,
        image,
        imageName: kernel.split(/[\\/]/).pop() ?? kernel,
        cmdline: opts.cmdline,
        commandLine: ["ttd", ...process.argv.slice(2)],
        maxSteps,
        onSerial: (b) => out.push(b),
        onDebugConsole: (b) => out.push(b),
        onProgress: (p) => {
          out.flush();
          progress.show(p);
        },
        onCreated: () => {
          if (isDefault) setLatest(path);
        },
      });
      const onSignal = () => recorder.requestStop();
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);
      let result;
      try {
        result = await recorder.run();
      } catch (e) {
        progress.clear();
        out.flush();
        if (e instanceof Error && /EEXIST/.test(e.message)) throw new UsageError(`${path}: already exists; use --force to overwrite it`);
        throw e;
      } finally {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
      }
      out.flush();
      progress.clear();
      process.stdout.write(screen.text());
      const shown = isDefault ? relative(process.cwd(), path) : path;
      const mips = result.steps / Math.max(result.seconds, 1e-9) / 1e6;
      const lines = [
        `ttd: stopped: ${result.reason} (${result.detail})`,
        `ttd: recorded ${result.steps.toLocaleString("en-US")} steps in ${result.seconds.toFixed(2)} s (${mips.toFixed(1)} million steps/s)`,
        `ttd: trace ${shown}: ${formatBytes(result.fileBytes)}, ${(result.fileBytes / Math.max(result.steps, 1)).toFixed(3)} bytes/step`,
      ];
      const unimpl = machine.cpu.firstUnimplemented;
      if (unimpl !== null) lines.push(`ttd: first unimplemented instruction: ${unimpl} (raised #UD in the guest)`);
      process.stderr.write(lines.join("\n") + "\n");
      process.exitCode = exitCodeFor({ reason: result.reason, steps: result.steps, detail: result.detail, exitStatus: result.exitStatus ?? undefined });
    });
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 * 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
  return `${(n / (1024 * 1024 * 1024)).toFixed(2)} GiB`;
}

/** Buffers guest output and writes it a line (or a run slice) at a time. */
class OutputWriter {
  private buf = new Uint8Array(4096);
  private n = 0;
  beforeWrite: () => void = () => {};
  push(b: number): void {
    this.buf[this.n++] = b;
    if (b === 10 || this.n === this.buf.length) this.flush();
  }
  flush(): void {
    if (this.n === 0) return;
    this.beforeWrite();
    process.stdout.write(this.buf.slice(0, this.n));
    this.n = 0;
  }
}

/**
 * Progress on stderr: one line rewritten in place on a terminal; otherwise a line every few seconds
 * (so logs of long recordings show it is alive without flooding them).
 */
class ProgressLine {
  private readonly tty: boolean;
  private shown = false;
  private lastPrinted = 0;
  private lastSteps = 0;
  private lastSeconds = 0;

  constructor(
    private readonly enabled: boolean,
    private readonly path: string,
  ) {
    this.tty = process.stderr.isTTY === true;
  }

  show(p: RecordProgress): void {
    if (!this.enabled) return;
    const dt = p.seconds - this.lastSeconds;
    const rate = dt > 0 ? (p.steps - this.lastSteps) / dt : 0;
    this.lastSteps = p.steps;
    this.lastSeconds = p.seconds;
    const text = `ttd: recording: ${p.steps.toLocaleString("en-US")} steps, ${(rate / 1e6).toFixed(1)} million steps/s, trace ${formatBytes(p.fileBytes)}`;
    if (this.tty) {
      process.stderr.write(`\r\x1b[K${text}`);
      this.shown = true;
    } else if (p.seconds - this.lastPrinted >= 5) {
      this.lastPrinted = p.seconds;
      process.stderr.write(`${text} (${this.path})\n`);
    }
  }

  clear(): void {
    if (this.shown) {
      process.stderr.write("\r\x1b[K");
      this.shown = false;
    }
  }
}

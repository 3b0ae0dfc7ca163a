/** `ttd record`: run a kernel like `ttd run` and write a trace of every step. */
import { RUN_COMPILE_THRESHOLD } from "../cpu/jit/block-cache.js";
import type { Command } from "commander";
import { existsSync, statSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, join, relative } from "node:path";
import { collect, machineForKernel, readModules } from "./load-kernel.js";
import type { BootModule } from "../machine/boot-modules.js";
import { createHash } from "node:crypto";
import { fsErrorCode, fsProblem, parsePositiveInt, UsageError } from "./errors.js";
import { reportErrorsAsJson } from "./json-errors.js";
import { exitCodeFor } from "./run-loop.js";
import { DEFAULT_MEMORY_MIB, type Machine } from "../machine/machine.js";
import { DISK_OPTION_HELP, openDisks, type DiskCliOptions } from "./disk-options.js";
import { NO_SCREEN_OPTION_HELP, parseScreenWhen, ScreenReport, SCREEN_OPTION_HELP } from "./screen-output.js";
import { Recorder, type RecordProgress } from "../trace/recorder.js";
import { claimNewTracePath, removeTraceFiles, setLatest, TRACE_DIR } from "../trace/locate.js";
import { lockPathFor, TraceLock, tryLockTrace } from "../trace/output-lock.js";
import { TraceError } from "../trace/errors.js";
import { groupDigits } from "../text/group-digits.js";
import { fitWidth, LatestLine } from "../text/latest-line.js";
import { addInputOptions, INPUT_HELP, openInput, parseRtc, type InputCliOptions, type InputSession } from "./input-options.js";

interface RecordCliOptions extends DiskCliOptions, InputCliOptions {
  output?: string;
  maxSteps?: string;
  force?: boolean;
  memory?: string;
  cmdline: string;
  module: string[];
  progress?: boolean;
  json?: boolean;
  screen?: boolean;
}

export function registerRecord(program: Command): void {
  const command = addInputOptions(program
    .command("record")
    .description("run a multiboot i386 kernel or a Linux bzImage like 'ttd run' and record every step into a trace file (QEMU's -kernel, -initrd, -append, -m, -hda, -hdb are accepted)")
    .argument("<kernel>", "multiboot kernel (ELF32 or a.out kludge) or Linux bzImage, told apart by content")
    .option("-o, --output <file>", `trace file to write (default: ${TRACE_DIR}/<kernel>-<n>.trace, and ${TRACE_DIR}/latest points to it)`)
    .option("--max-steps <n>", "stop after this many steps (instructions plus interrupt deliveries)")
    .option("--force", "overwrite the output file if it exists")
    .option("--memory <MiB>", `guest RAM in MiB (default ${DEFAULT_MEMORY_MIB})`)
    .option("--cmdline <text>", "kernel command line, also spelled --append: a multiboot kernel sees '<kernel> <text>', a Linux kernel '<text>' (as under QEMU's -append)", "")
    .option("--module <file>", "multiboot module, repeatable; text after a space is passed with it ('--module \"init.elf arg\"'); --initrd A,B adds modules A and B (for a Linux kernel: --initrd FILE, its one initrd)", collect, [])
    .option("--hda <file>", DISK_OPTION_HELP.hda)
    .option("--hdb <file>", DISK_OPTION_HELP.hdb)
    .option("--drive <spec>", DISK_OPTION_HELP.drive, collect)
    .option("--no-progress", "do not print progress on stderr while recording")
    .option("--json", "print the end-of-recording summary (or the error) as one JSON object on stderr; no progress lines")
    .option("--screen", SCREEN_OPTION_HELP)
    .option("--no-screen", NO_SCREEN_OPTION_HELP))
    .addHelpText(
      "after",
      `
Serial output (COM1) and the 0xe9 debug console go to stdout as the guest writes them. Progress
(steps, steps per second, trace size and the guest's latest output line) and the final summary go to
stderr: on a terminal one line rewritten in place, otherwise a line every 5 seconds (and one as soon
as the guest prints its first line).

${INPUT_HELP} Every input is stored in the trace with the step it entered at, and every
replay (queries, the TUI, gdb) delivers it at that step.

The trace is valid while it is being written: Ctrl-C (Ctrl-A x at a terminal) stops the guest and finalizes it; even after a
crash or kill -9 it holds every step up to its last commit (a fraction of a second before).
Without -o, traces go to ${TRACE_DIR}/ in the current directory and 'ttd info', 'ttd log' and the other
commands open the latest one when no trace is named. An existing file is never overwritten without
--force.

Parallel recordings in one folder get different numbered names. While a recording runs, its trace has a
lock file next to it (<trace>.lock, removed at the end); a trace another recording is writing is never
replaced, even with --force. A lock left by a recording that was killed is taken over.

Exit status:
  odd values  the guest wrote V to isa-debug-exit (port 0xf4): status is (V << 1) | 1, as in QEMU
  0           the guest halted with interrupts disabled
  2           bad input: the kernel image, its initrd or command line (as 'ttd run'), an output that exists (without --force), that
              another recording is writing, or that cannot be created (missing or read-only folder)
  4           --max-steps reached
  6           triple fault (or a reset through port 0x92)
  130         interrupted (Ctrl-C, or Ctrl-A x at a terminal); the trace is finalized up to that step

Examples:
  ttd record src/kernel/build/idle-bug.elf
  ttd record src/kernel/build/idle-fixed.elf --input-file src/kernel/config.h -o typed.trace --force --rtc 2026-01-01T00:00:00
  ttd record src/kernel/build/idle-fixed.elf -o idle-fixed.trace --force
  ttd record src/kernel/build/idle-bug.elf --max-steps 10000 -o head.trace --force --json
  ttd record src/guests/linux-hello/build/hello.bzImage --append 'console=ttyS0' -o hello.trace --force`,
    )
    .action((kernel: string, opts: RecordCliOptions) => record(kernel, opts));
  reportErrorsAsJson(command);
}

async function record(kernel: string, opts: RecordCliOptions): Promise<void> {
  const maxSteps = opts.maxSteps !== undefined ? parsePositiveInt(opts.maxSteps, "--max-steps") : undefined;
  const memoryMiB = opts.memory !== undefined ? parsePositiveInt(opts.memory, "--memory", 3072) : DEFAULT_MEMORY_MIB;
  if (opts.output !== undefined && existsSync(opts.output) && statSync(opts.output).isDirectory()) {
    throw new UsageError(`${opts.output}: is a directory; name the trace file to write`);
  }
  // The kernel first: a bad image is refused before any file or folder is created.
  const modules = readModules(opts.module, memoryMiB * 1048576);
  const rtc = opts.rtc !== undefined ? parseRtc(opts.rtc) : null;
  const input = openInput(opts);
  const opened = openDisks(opts);
  try {
    const { machine, image, cmdline } = machineForKernel(kernel, { memoryMiB, append: opts.cmdline, modules, compile: true, compileThreshold: RUN_COMPILE_THRESHOLD, disks: opened.disks });
    if (rtc !== null) machine.setRtcStart(rtc);
    const isDefault = opts.output === undefined;
    const lock = isDefault ? claimDefaultOutput(kernel) : claimNamedOutput(opts.output!, opts.force === true);
    const path = lock.tracePath;
    try {
      await recordInto(path, isDefault, kernel, machine, image, maxSteps, cmdline, modules, opts, input, rtc);
    } finally {
      lock.release();
    }
  } finally {
    input.close();
    opened.close();
  }
}

/** A new numbered trace in ./.ttd, claimed atomically (parallel recordings get different names). */
function claimDefaultOutput(kernel: string): TraceLock {
  try {
    return claimNewTracePath(kernel);
  } catch (e) {
    if (e instanceof TraceError) throw new UsageError(e.message);
    throw new UsageError(`${join(process.cwd(), TRACE_DIR)}: cannot create the trace folder or a trace in it: ${fsProblem(e)}`);
  }
}

/**
 * The lock of the named output. Refused when another recording is writing it (even with --force), when
 * it exists without --force, or when it cannot be created; with --force an old trace is removed.
 */
function claimNamedOutput(path: string, force: boolean): TraceLock {
  let claim;
  try {
    claim = tryLockTrace(path);
  } catch (e) {
    throw new UsageError(`${path}: cannot create the trace: ${fsProblem(e)}${fsErrorCode(e) === "ENOENT" ? ` ${dirname(path)}` : ""}`);
  }
  if (!(claim instanceof TraceLock)) {
    const who = claim.pid > 0 ? `another recording (pid ${claim.pid}${claim.host !== hostname() ? ` on ${claim.host}` : ""})` : "another recording";
    throw new UsageError(`${path}: ${who} is writing it; wait for it to end (if none is running, remove ${lockPathFor(path)})`);
  }
  const exists = ["", "-wal", "-shm"].some((s) => existsSync(path + s));
  if (exists && !force) {
    claim.release();
    throw new UsageError(`${path}: already exists; use --force to overwrite it`);
  }
  if (exists) {
    try {
      removeTraceFiles(path);
    } catch (e) {
      claim.release();
      throw new UsageError(`${path}: cannot remove the old trace: ${fsProblem(e)}`);
    }
  }
  return claim;
}

async function recordInto(
  path: string,
  isDefault: boolean,
  kernel: string,
  machine: Machine,
  image: Uint8Array,
  maxSteps: number | undefined,
  cmdline: string,
  modules: BootModule[],
  opts: RecordCliOptions,
  input: InputSession,
  rtc: Date | null,
): Promise<void> {
  const json = opts.json === true;
  const screen = new ScreenReport(machine, parseScreenWhen(opts.screen));
  // A terminal in raw mode does not turn "\n" into "\r\n": the output does it, as QEMU's stdio does.
  const out = new OutputWriter(input.interactive && process.stdout.isTTY === true);
  // With --json stderr carries exactly one JSON object, so no progress lines.
  const progress = new ProgressLine(opts.progress !== false && !json, path);
  out.beforeWrite = () => progress.clear();
  const recorder = new Recorder(machine, {
    path,
    image,
    imageName: kernel.split(/[\\/]/).pop() ?? kernel,
    cmdline,
    modules: modules.map((m) => ({ string: m.string, bytes: m.data.length, sha256: createHash("sha256").update(m.data).digest("hex") })),
    commandLine: ["ttd", ...process.argv.slice(2)],
    maxSteps,
    onSerial: (b) => {
      out.push(b);
      progress.guestLine.push(b);
    },
    onDebugConsole: (b) => {
      out.push(b);
      progress.guestLine.push(b);
    },
    onProgress: (p) => {
      out.flush();
      progress.show(p);
    },
    onCreated: () => {
      if (isDefault) setLatest(path);
    },
    // The guest waits for input: what it printed so far (a prompt without a newline) must show.
    inputs: input.feed !== null ? { waitForInput: () => (out.flush(), input.waitForInput()) } : undefined,
    extraMeta: { ...input.meta, ...(rtc !== null ? { rtc_start: rtc.toISOString() } : {}) },
  });
  input.start(machine, () => recorder.requestStop("stopped with Ctrl-A x"));
  const onSignal = () => recorder.requestStop();
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  let result;
  try {
    result = await recorder.run();
  } catch (e) {
    progress.clear();
    out.flush();
    // The output was checked and locked, so this is the folder changing under us (removed, made
    // read-only, full): still one line naming the file.
    if (fsErrorCode(e) !== undefined) throw new UsageError(`${path}: cannot write the trace: ${fsProblem(e)}`);
    throw e;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
  out.flush();
  progress.clear();
  process.stdout.write(screen.text());
  const shown = isDefault ? relative(process.cwd(), path) : path;
  const status = exitCodeFor({ reason: result.reason, steps: result.steps, detail: result.detail, exitStatus: result.exitStatus ?? undefined });
  const unimpl = machine.cpu.firstUnimplemented;
  if (json) {
    const summary = {
      kernel,
      trace: shown,
      reason: result.reason,
      detail: result.detail,
      exitStatus: result.exitStatus ?? null,
      steps: result.steps,
      seconds: Number(result.seconds.toFixed(3)),
      stepsPerSecond: Math.round(result.steps / Math.max(result.seconds, 1e-9)),
      fileBytes: result.fileBytes,
      unimplemented: unimpl,
      status,
    };
    process.stderr.write(JSON.stringify(summary) + "\n");
  } else {
    const mips = result.steps / Math.max(result.seconds, 1e-9) / 1e6;
    const lines = [
      `ttd: stopped: ${result.reason} (${result.detail})`,
      `ttd: recorded ${groupDigits(result.steps)} steps in ${result.seconds.toFixed(2)} s (${mips.toFixed(1)} million steps/s)`,
      `ttd: trace ${shown}: ${formatBytes(result.fileBytes)}, ${(result.fileBytes / Math.max(result.steps, 1)).toFixed(3)} bytes/step`,
    ];
    if (unimpl !== null) lines.push(`ttd: first unimplemented instruction: ${unimpl} (raised #UD in the guest)`);
    process.stderr.write(lines.join("\n") + "\n");
  }
  process.exitCode = status;
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
  constructor(private readonly crlf = false) {}
  push(b: number): void {
    if (this.crlf && b === 10) {
      this.buf[this.n++] = 13;
      if (this.n === this.buf.length) this.flush();
    }
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
 * Progress on stderr: one line rewritten in place on a terminal (cut to its width); otherwise a line
 * every few seconds (so logs of long recordings show it is alive without flooding them). Each names the
 * latest line of the guest's output, which tells where a long boot is even when stdout goes to a file.
 */
class ProgressLine {
  readonly guestLine = new LatestLine();
  private readonly tty: boolean;
  private shown = false;
  private lastPrinted = 0;
  /** Whether a progress line has named a guest line yet. */
  private guestShown = false;
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
    // On a terminal the rate over the last update; in a log over the interval since the last line,
    // which comes every 5 seconds, and early once when the guest prints its first line (a kernel may
    // be silent for billions of steps: the log then shows at once that it started talking).
    const guest = this.guestLine.text();
    const firstWords = guest !== "" && !this.guestShown;
    if (!this.tty && p.seconds - this.lastPrinted < 5 && !firstWords) return;
    this.guestShown ||= guest !== "";
    const dt = p.seconds - this.lastSeconds;
    const rate = dt > 0 ? (p.steps - this.lastSteps) / dt : 0;
    this.lastSteps = p.steps;
    this.lastSeconds = p.seconds;
    const text = `ttd: recording: ${groupDigits(p.steps)} steps, ${(rate / 1e6).toFixed(1)} million steps/s, trace ${formatBytes(p.fileBytes)}`;
    const said = guest === "" ? "" : ` | guest: ${guest}`;
    if (this.tty) {
      // A line longer than the terminal would wrap, and "\r" would then rewrite only its last row.
      process.stderr.write(`\r\x1b[K${fitWidth(text + said, (process.stderr.columns ?? 80) - 1)}`);
      this.shown = true;
    } else {
      this.lastPrinted = p.seconds;
      process.stderr.write(`${text} (${this.path})${fitWidth(said, 200)}\n`);
    }
  }

  clear(): void {
    if (this.shown) {
      process.stderr.write("\r\x1b[K");
      this.shown = false;
    }
  }
}

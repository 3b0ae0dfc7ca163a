/** `ttd run`: boot a kernel, stream its serial output, report why and when it stopped. */
import { RUN_COMPILE_THRESHOLD } from "../cpu/jit/block-cache.js";
import type { Command } from "commander";
import { collect, machineForKernel, readModules } from "./load-kernel.js";
import { parsePositiveInt } from "./errors.js";
import { reportErrorsAsJson } from "./json-errors.js";
import { runToEnd, exitCodeFor, describeStop } from "./run-loop.js";
import { DEFAULT_MEMORY_MIB } from "../machine/machine.js";
import { DISK_OPTION_HELP, openDisks, type DiskCliOptions } from "./disk-options.js";
import { NO_SCREEN_OPTION_HELP, parseScreenWhen, ScreenReport, SCREEN_OPTION_HELP } from "./screen-output.js";
import { addInputOptions, INPUT_HELP, openInput, parseRtc, type InputCliOptions } from "./input-options.js";

export function registerRun(program: Command): void {
  const command = addInputOptions(program
    .command("run")
    .description("boot a multiboot i386 kernel or a Linux bzImage and run it until it exits, halts or triple-faults (QEMU's -kernel, -initrd, -append, -m, -hda, -hdb are accepted)")
    .argument("<kernel>", "multiboot kernel (ELF32 or a.out kludge) or Linux bzImage, told apart by content")
    .option("--max-steps <n>", "stop after this many steps (instructions plus interrupt deliveries)")
    .option("--memory <MiB>", `guest RAM in MiB (default ${DEFAULT_MEMORY_MIB})`)
    .option("--cmdline <text>", "kernel command line, also spelled --append: a multiboot kernel sees '<kernel> <text>', a Linux kernel '<text>' (as under QEMU's -append)", "")
    .option("--module <file>", "multiboot module, repeatable; text after a space is passed with it ('--module \"init.elf arg\"'); --initrd A,B adds modules A and B (for a Linux kernel: --initrd FILE, its one initrd)", collect, [])
    .option("--hda <file>", DISK_OPTION_HELP.hda)
    .option("--hdb <file>", DISK_OPTION_HELP.hdb)
    .option("--drive <spec>", DISK_OPTION_HELP.drive, collect)
    .option("--interpret", "interpret every instruction (no block compilation; slower, for cross-checking)")
    .option("--json", "print the end-of-run summary as one JSON object on stderr")
    .option("--screen", SCREEN_OPTION_HELP)
    .option("--no-screen", NO_SCREEN_OPTION_HELP))
    .addHelpText(
      "after",
      `
Serial output (COM1) and the 0xe9 debug console go to stdout as the guest writes them; the summary
goes to stderr.

${INPUT_HELP}

Exit status:
  odd values  the guest wrote V to isa-debug-exit (port 0xf4): status is (V << 1) | 1, as in QEMU
  0           the guest halted with interrupts disabled, or powered off (ACPI S5)
  2           bad input (missing file, not an ELF, not i386, no multiboot header, does not fit; a
              bzImage older than boot protocol 2.02, a 64-bit kernel, an initrd that does not fit
              below initrd_addr_max or in RAM, a command line longer than cmdline_size);
              with --json the error is a JSON object on stderr too
  4           --max-steps reached
  6           triple fault (or a reset through port 0x92 or 0xcf9)
  130         interrupted (Ctrl-C, or Ctrl-A x at a terminal)

A Linux bzImage (boot protocol 2.02 or later) is entered at its 32-bit entry point with a zero page
that holds the e820 memory map, the command line (--append), the initrd (--initrd FILE, at the top of
RAM as QEMU places it) and an 80x25 VGA text screen. scripts/fetch-debian-linux.sh fetches Debian's
i386 kernel and builds a busybox initrd into ~/.cache/ttd-debian (see README.md, "Linux").

Examples:
  ttd run src/kernel/build/idle-fixed.elf
  ttd run src/kernel/build/idle-fixed.elf --input-file src/kernel/config.h --rtc 2026-01-01T00:00:00
  ttd run src/kernel/build/idle-bug.elf --max-steps 5000000 --json
  ttd run src/guests/linux-hello/build/hello.bzImage --append 'console=ttyS0 quiet' --initrd src/kernel/config.h
  ttd run -kernel src/guests/linux-hello/build/hello.bzImage -append console=ttyS0 -m 64M`,
    )
    .action((kernel: string, opts: RunCliOptions) => run(kernel, opts));
  reportErrorsAsJson(command);
}

type RunCliOptions = DiskCliOptions & InputCliOptions & {
  maxSteps?: string;
  memory?: string;
  cmdline: string;
  module: string[];
  interpret?: boolean;
  json?: boolean;
  screen?: boolean;
};

async function run(kernel: string, opts: RunCliOptions): Promise<void> {
  const maxSteps = opts.maxSteps !== undefined ? parsePositiveInt(opts.maxSteps, "--max-steps") : undefined;
  const memoryMiB = opts.memory !== undefined ? parsePositiveInt(opts.memory, "--memory", 3072) : DEFAULT_MEMORY_MIB;
  const modules = readModules(opts.module, memoryMiB * 1048576);
  const screenWhen = parseScreenWhen(opts.screen);
  const rtc = opts.rtc !== undefined ? parseRtc(opts.rtc) : null;
  const input = openInput(opts);
  const opened = openDisks(opts);
  let machine;
  try {
    machine = machineForKernel(kernel, { memoryMiB, append: opts.cmdline, modules, compile: !opts.interpret, compileThreshold: RUN_COMPILE_THRESHOLD, disks: opened.disks }).machine;
  } catch (e) {
    opened.close();
    throw e;
  }
  if (rtc !== null) machine.setRtcStart(rtc);
  const screen = new ScreenReport(machine, screenWhen);
  // A terminal in raw mode does not turn "\n" into "\r\n": the output does it, as QEMU's stdio does.
  const out = new SerialWriter(input.interactive && process.stdout.isTTY === true);
  machine.onSerial = (b) => out.push(b);
  machine.onDebugConsole = (b) => out.push(b);
  const started = performance.now();
  const stop = { requested: false, detail: "stopped with Ctrl-A x" };
  input.start(machine, () => (stop.requested = true));
  let result;
  try {
    result = await runToEnd(machine, { maxSteps, onChunk: () => out.flush(), waitForInput: () => input.waitForInput(), stop });
  } finally {
    input.close();
    opened.close();
  }
  out.flush();
  process.stdout.write(screen.text());
  const seconds = (performance.now() - started) / 1000;
  const status = exitCodeFor(result);
  const summary = {
    kernel,
    reason: result.reason,
    detail: result.detail,
    exitStatus: result.exitStatus ?? null,
    steps: result.steps,
    seconds: Number(seconds.toFixed(3)),
    stepsPerSecond: Math.round(result.steps / Math.max(seconds, 1e-9)),
    unimplemented: machine.cpu.firstUnimplemented,
    status,
  };
  if (opts.json) process.stderr.write(JSON.stringify(summary) + "\n");
  else process.stderr.write(describeStop(machine, result, seconds) + "\n");
  process.exitCode = status;
}

/** Buffers guest output and writes it in chunks (one write per line or per run slice, not per byte). */
class SerialWriter {
  private buf = new Uint8Array(4096);
  private n = 0;
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
    process.stdout.write(this.buf.slice(0, this.n));
    this.n = 0;
  }
}

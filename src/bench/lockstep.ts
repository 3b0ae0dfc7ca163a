/**
 * node dist/bench/lockstep.js <kernel.elf> [--steps N|all] [--eflags [MASK]] [--context K] [--all-code] [--icount] [--no-cache]
 *
 * Runs the kernel in ttd and compares it, instruction by instruction, with QEMU's single-step log;
 * prints the first divergence with the instructions leading to it. Exit status 0: no divergence,
 * 1: a divergence, 2: bad usage or QEMU/ELF problems.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { Elf32 } from "../elf/elf32.js";
import { Machine } from "../machine/machine.js";
import { parseFlags } from "./args.js";
import { ImageCode } from "./disasm.js";
import { formatAdopted, formatDivergence, runLockstep } from "./lockstep-core.js";
import { findQemu, loadQemuTrace, QEMU_MISSING } from "./qemu-log.js";

/**
 * EFLAGS bits compared by --eflags without a mask: CF PF ZF SF IF DF. OF and AF are left out because
 * common instructions leave them undefined (OF after multi-bit shifts, AF after logic operations)
 * and QEMU's choice there is not the hardware's truth; pass a mask to include them.
 */
const DEFAULT_EFLAGS_MASK = 0x06c5;

const USAGE = "usage: node dist/bench/lockstep.js <kernel.elf> [--steps N|all] [--eflags [MASK]] [--context K] [--all-code] [--icount] [--no-cache]\n" +
  "  --steps      instructions to compare from the entry (default 400000; all: the whole run)\n" +
  "  --eflags     compare EFLAGS too, under MASK (default 0x6c5: CF PF ZF SF IF DF)\n" +
  "  --context    instructions shown before a divergence (default 12)\n" +
  "  --all-code   log code outside the image's executable segments too (slower)\n" +
  "  --icount     run QEMU with -icount shift=0,sleep=off (timer interrupts then land where ttd's do)\n" +
  "  --no-cache   record QEMU's log again instead of using the cached one";

interface Args {
  elf: string;
  steps: number;
  eflagsMask: number;
  context: number;
  cache: boolean;
  allCode: boolean;
  icount: boolean;
}

/** The arguments, or null for --help. */
function parseArgs(argv: string[]): Args | null {
  let steps = 400_000;
  let eflagsMask = 0;
  let context = 12;
  let cache = true;
  let allCode = false;
  let icount = false;
  const parsed = parseFlags(argv, {
    operand: "kernel",
    values: {
      "--steps": (v) => {
        steps = v === "all" ? Infinity : Number(v);
        if (!(steps > 0) || (Number.isFinite(steps) && !Number.isInteger(steps))) throw new Error(`--steps: not a positive integer: ${v}`);
      },
      "--context": (v) => {
        context = Number(v);
        if (!Number.isInteger(context) || context < 0) throw new Error("--context: not a count");
      },
    },
    optional: {
      "--eflags": {
        takes: (next) => /^(0x)?[0-9a-f]+$/i.test(next),
        set: (v) => { eflagsMask = v === undefined ? DEFAULT_EFLAGS_MASK : Number(v.startsWith("0x") ? v : `0x${v}`); },
      },
    },
    switches: {
      "--no-cache": () => { cache = false; },
      "--all-code": () => { allCode = true; },
      "--icount": () => { icount = true; },
    },
  });
  if (parsed.help) return null;
  return { elf: parsed.operand!, steps, eflagsMask, context, cache, allCode, icount };
}

async function main(): Promise<number> {
  let args: Args | null;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`lockstep: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args === null) {
    console.log(USAGE);
    return 0;
  }
  if (!fs.existsSync(args.elf)) {
    console.error(`lockstep: ${args.elf}: no such file`);
    return 2;
  }
  const bytes = new Uint8Array(fs.readFileSync(args.elf));
  let elf: Elf32;
  try {
    elf = new Elf32(bytes);
  } catch (err) {
    console.error(`lockstep: ${args.elf}: ${(err as Error).message}`);
    return 2;
  }
  if (!findQemu()) {
    console.error(`lockstep: ${QEMU_MISSING}`);
    return 2;
  }
  const log = (line: string): void => console.error(line);
  const { trace, fromCache } = await loadQemuTrace(args.elf, {
    maxRecords: args.steps,
    cacheDir: args.cache ? undefined : null,
    filterToImage: !args.allCode,
    icount: args.icount,
    log,
  });
  if (fromCache) log(`QEMU trace of ${path.basename(args.elf)} from the cache: ${trace.count} records`);
  const machine = Machine.fromElf(bytes);
  const started = performance.now();
  // A progress counter only on a terminal; in a log it would be noise.
  const tty = process.stderr.isTTY === true;
  const result = runLockstep(machine, trace, {
    eflagsMask: args.eflagsMask,
    onProgress: tty ? (n) => process.stderr.write(`\r${n} instructions match`) : undefined,
    progressInterval: 250_000,
  });
  if (tty) process.stderr.write("\r\x1b[K");
  const seconds = (performance.now() - started) / 1000;
  console.log(formatAdopted(result.adopted));
  if (result.divergence) {
    console.log(formatDivergence(result.divergence, new ImageCode(elf), args.context));
    return 1;
  }
  const whole = trace.complete && result.compared === trace.count ? " (the whole run)" : "";
  console.log(
    `no divergence: ${result.compared} instructions${whole} match QEMU` +
      (result.events ? `, ${result.events} interrupt/exception deliveries stepped over` : "") +
      ` (${seconds.toFixed(1)} s)`,
  );
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    (code) => { process.exitCode = code; },
    (err: unknown) => {
      console.error(`lockstep: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 2;
    },
  );
}

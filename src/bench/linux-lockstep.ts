/**
 * node dist/bench/linux-lockstep.js <bzImage> [--initrd FILE] [--append TEXT] [--memory MiB]
 *   [--instructions N] [--records N|all] [--no-addresses] [--json]
 *
 * Runs a Linux kernel in ttd and under QEMU 7.2 in lockstep from its 32-bit entry
 * (linux-lockstep-core.ts) and prints the result, or the first divergence with the instructions
 * leading to it; progress goes to stderr. Exit status 0: no divergence, 1: a divergence, 2: bad usage
 * or a QEMU problem.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { parseFlags } from "./args.js";
import { lockstepLinux, type LinuxLockstepOptions, type LinuxLockstepReport } from "./linux-lockstep-core.js";
import { findQemu, QEMU_MISSING } from "./qemu-log.js";

const USAGE =
  "usage: node dist/bench/linux-lockstep.js <bzImage> [--initrd FILE] [--append TEXT] [--memory MiB] [--instructions N] [--records N|all] [--no-addresses] [--json]\n" +
  "  --initrd        the initial ramdisk, as QEMU's -initrd\n" +
  "  --append        the kernel command line (default: console=ttyS0 panic=-1 nokaslr)\n" +
  "  --memory        guest RAM in MiB (default 256)\n" +
  "  --instructions  instructions to compare from the 32-bit entry (default 100000000)\n" +
  "  --records       QEMU register records to spend on them (default 8000000; all: every instruction)\n" +
  "  --no-addresses  do not compare every instruction's address (no QEMU plugin, no C compiler needed)\n" +
  "  --json          the report as JSON";

type Args = LinuxLockstepOptions & { json: boolean };

/** The arguments, or null for --help. */
function parseArgs(argv: string[]): Args | null {
  const o = { initrd: undefined as string | undefined, cmdline: "console=ttyS0 panic=-1 nokaslr", memoryMiB: 256, instructions: 100_000_000, recordBudget: 8_000_000, everyAddress: true, json: false };
  const count = (v: string, name: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`${name}: not a positive integer: ${v}`);
    return n;
  };
  const parsed = parseFlags(argv, {
    operand: "kernel",
    values: {
      "--initrd": (v) => { o.initrd = v; },
      "--append": (v) => { o.cmdline = v; },
      "--memory": (v, a) => { o.memoryMiB = count(v, a); },
      "--instructions": (v, a) => { o.instructions = count(v, a); },
      "--records": (v, a) => { o.recordBudget = v === "all" ? Infinity : count(v, a); },
    },
    switches: {
      "--no-addresses": () => { o.everyAddress = false; },
      "--json": () => { o.json = true; },
    },
  });
  if (parsed.help) return null;
  return { vmlinuz: parsed.operand!, ...o };
}

/** The report as JSON: the plan's ranges as QEMU's -dfilter text. */
function reportJson(r: LinuxLockstepReport): string {
  const { plan, ...rest } = r;
  return JSON.stringify({ ...rest, plan: plan === null ? null : { ...plan, logged: plan.logged.toDfilter() } }, null, 2);
}

function reportText(r: LinuxLockstepReport): string {
  const n = (v: number) => v.toLocaleString("en-US");
  const lines = [
    `adopted QEMU's loader registers at the entry: ${r.adopted.map((a) => a.name).join(", ") || "none"}; ` +
      `${n(r.firmwareBytesDiffering)} bytes of memory below 1 MiB taken from QEMU`,
  ];
  if (r.plan !== null) {
    lines.push(`registers logged at ${r.plan.loggedAddresses} of the ${r.plan.executedAddresses} addresses run (every one run at most ${n(r.plan.hottestLogged)} times)`);
  }
  if (r.divergenceText !== null) {
    lines.push(r.divergenceText);
  } else {
    lines.push(
      `no divergence: ${n(r.result.instructions)} instructions, ${n(r.result.addresses)} of them with QEMU's address, ` +
        `registers at ${n(r.result.compared)} (${(r.seconds.entryState + r.seconds.profile + r.seconds.lockstep).toFixed(0)} s)`,
    );
  }
  return lines.join("\n");
}

async function main(): Promise<number> {
  let args: Args | null;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`linux-lockstep: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args === null) {
    console.log(USAGE);
    return 0;
  }
  for (const f of [args.vmlinuz, args.initrd]) {
    if (f !== undefined && !fs.existsSync(f)) {
      console.error(`linux-lockstep: ${f}: no such file`);
      return 2;
    }
  }
  if (!findQemu()) {
    console.error(`linux-lockstep: ${QEMU_MISSING}`);
    return 2;
  }
  const r = await lockstepLinux({ ...args, log: (line) => console.error(line) });
  console.log(args.json ? reportJson(r) : reportText(r));
  return r.divergenceText === null ? 0 : 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    (code) => { process.exitCode = code; },
    (err: unknown) => {
      console.error(`linux-lockstep: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 2;
    },
  );
}

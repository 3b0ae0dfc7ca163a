/**
 * npm run bench [-- --runs N] [--only SECTION] [--timeout SECONDS] [--guest NAME]...
 *
 * Prints speed tables measured against peers in the same run. Sections are listed in SECTIONS; the
 * recorder and query benchmarks add theirs there. Timings are printed, never asserted. The linux
 * section (Debian's kernel booted to /init, several minutes per run) runs only with --only linux.
 *
 * The guests are the repository's workload guests (src/guests/workload/build): the emulator section
 * runs r30, pg-r10, fpu-r10 (x87 arithmetic), r300 and r1000, the others record r30. `--guest` (repeatable) runs only the named
 * workload guests, in every section (`--guest r1` for a quick check). TTD_PROBE_DIR, when set, gives
 * the emulator section the folder's probe-*.elf images instead.
 */
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { emulatorSection } from "./emulators.js";
import { traceSection } from "./trace-bench.js";
import { querySection } from "./query-bench.js";
import { linuxSection } from "./linux-bench.js";
import { startupSection } from "./startup-bench.js";
import { parseFlags } from "./args.js";
import { renderTable, type BenchContext, type BenchSection } from "./harness.js";
import { defaultTraceGuest, emulatorGuests, workloadByName, type BenchGuest } from "./guests.js";

const SECTIONS: BenchSection[] = [emulatorSection, traceSection, querySection, startupSection, linuxSection];

const USAGE = `usage: npm run bench -- [--runs N] [--only SECTION] [--timeout SECONDS] [--guest NAME]...
guests: the workload guests in src/guests/workload/build (NAME: r1, r10, r30, r300, r1000, pg-r10, fpu-r10);
TTD_PROBE_DIR=DIR runs DIR's probe-*.elf in the emulator section instead
sections: ${SECTIONS.map((s) => `${s.name} (${s.description})`).join("; ")}`;

async function main(): Promise<number> {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const repoRoot = path.resolve(here, "../..");
  let runs = 3;
  let only: string | null = null;
  let timeoutMs = 600_000;
  const chosen: BenchGuest[] = [];
  const parsed = parseFlags(process.argv.slice(2), {
    values: {
      "--runs": (v) => {
        runs = Number(v);
        if (!Number.isInteger(runs) || runs < 1) throw new Error("--runs: not a positive integer");
      },
      "--only": (v) => {
        only = v;
        if (!SECTIONS.some((s) => s.name === v)) throw new Error(`--only: no section named ${v}`);
      },
      "--timeout": (v) => {
        timeoutMs = Number(v) * 1000;
        if (!(timeoutMs > 0)) throw new Error("--timeout: not a number of seconds");
      },
      "--guest": (v) => { chosen.push(workloadByName(repoRoot, v)); },
    },
  });
  if (parsed.help) {
    console.log(USAGE);
    return 0;
  }
  const ctx: BenchContext = {
    repoRoot,
    guests: chosen.length > 0 ? chosen : emulatorGuests(repoRoot, process.env.TTD_PROBE_DIR || undefined),
    traceGuest: chosen[0] ?? defaultTraceGuest(repoRoot),
    runs,
    timeoutMs,
    log: (line) => console.error(line),
  };
  for (const section of SECTIONS) {
    if (only ? section.name !== only : section.onlyWhenNamed === true) continue;
    console.error(`== ${section.name}: ${section.description}`);
    const tables = await section.run(ctx);
    for (const t of tables) console.log(`\n${renderTable(t)}`);
  }
  return 0;
}

main().then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    console.error(`bench: ${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    process.exitCode = 2;
  },
);

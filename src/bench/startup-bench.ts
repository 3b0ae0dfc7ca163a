/**
 * Start-up of the query commands, as a user meets it: whole `ttd` processes on the demo bundle
 * (traces/idle-bug.ttdb) next to `node -e 0` (Node itself) and `ttd --version` (the command line
 * and nothing else), measured paired: every round runs each command once, in an order that rotates,
 * so a change in the machine's load falls on all of them alike. CPU time (all threads) is reported
 * with wall time; on a busy machine it is the steadier of the two.
 *
 * The target: `ttd why-write --chain` on the demo at most 2x `node -e 0`. `ttd info` should take
 * about as long on a long trace (the query section's cached recording) as on the demo.
 *
 * The bundle is extracted into a cache folder of the benchmark's own, by a first run of each command
 * that is not counted (later runs reuse the extraction, as they do for a user).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { best, fmtCount, measurePaired, PAIRED_COLUMNS, pairedRows, type BenchContext, type PairedCommand, type BenchSection, type BenchTable } from "./harness.js";
import { cachedTrace } from "./query-bench.js";
import { Trace } from "../trace/trace.js";
import { openRecording } from "../bundle/open.js";
import { NO_BUNDLE_ENV } from "../cli/cli-bundle.js";

/** The demo's question, as README and `ttd demo` ask it. */
const QUESTION = "ksIdleThread->tcbArch.tcbContext.registers[Error]";
const TARGET_RATIO = 2;

async function runStartupBench(ctx: BenchContext): Promise<BenchTable[]> {
  const cli = path.join(ctx.repoRoot, "dist/cli/main.js");
  const demo = path.join(ctx.repoRoot, "traces/idle-bug.ttdb");
  const long = await cachedTrace(ctx, ctx.traceGuest.path);
  const t = Trace.open(long.path);
  const longSteps = t.steps;
  t.close();
  const cache = fs.mkdtempSync(path.join(os.tmpdir(), "ttd-startup-bench-"));
  const rounds = Math.max(7, ctx.runs);
  const load = os.loadavg()[0];
  try {
    const rec = openRecording(demo, { cacheDir: cache });
    const demoSteps = rec.trace.steps;
    rec.close();
    const whyArgs = [cli, "why-write", QUESTION, "--trace", demo, "--at", "fault", "--chain"];
    const commands: PairedCommand[] = [
      { label: "node -e 0 (Node itself)", args: ["-e", "0"] },
      { label: "ttd --version (no command)", args: [cli, "--version"] },
      { label: "ttd why-write --chain, demo", args: whyArgs },
      { label: "the same from the modules (TTD_NO_BUNDLE=1)", args: whyArgs, env: { [NO_BUNDLE_ENV]: "1" } },
      { label: "ttd explain, demo", args: [cli, "explain", demo] },
      { label: `ttd info, demo (${fmtCount(demoSteps)} steps)`, args: [cli, "info", demo] },
      { label: `ttd info, ${ctx.traceGuest.image} (${fmtCount(longSteps)} steps)`, args: [cli, "info", long.path] },
    ];
    const times = await measurePaired(ctx, commands, rounds, { ...process.env, TTD_CACHE_DIR: cache });
    const [node, , why, whyModules, , infoDemo, infoLong] = times;
    const whyRatio = best(why.cpu) / best(node.cpu);
    const wallRatio = best(why.wall) / best(node.wall);
    return [
      {
        title: "Start-up of query commands: whole processes, paired, ms",
        columns: PAIRED_COLUMNS,
        rows: pairedRows(times, node),
        notes: [
          `why-write --chain on the demo: ${whyRatio.toFixed(2)}x node -e 0 in CPU, ${wallRatio.toFixed(2)}x in wall time (target <= ${TARGET_RATIO}x): ${whyRatio <= TARGET_RATIO ? "ok" : "MISSED"}.`,
          `The single-file build (src/cli/cli-bundle.ts) takes why-write from ${(1000 * best(whyModules.cpu)).toFixed(0)} ms of CPU to ${(1000 * best(why.cpu)).toFixed(0)} ms.`,
          `ttd info on ${fmtCount(longSteps)} steps takes ${(best(infoLong.cpu) / best(infoDemo.cpu)).toFixed(2)}x the CPU of the demo's ${fmtCount(demoSteps)} (flat: about 1x).`,
          `${rounds} rounds after one uncounted run of each; question: ${QUESTION} --at fault.`,
          `Load average when the section started: ${load.toFixed(2)} on ${os.cpus().length} CPUs.`,
        ],
      },
    ];
  } finally {
    fs.rmSync(cache, { recursive: true, force: true });
  }
}

export const startupSection: BenchSection = {
  name: "startup",
  description: "whole ttd query processes on the demo bundle next to node -e 0, paired; ttd info on a short and a long trace",
  run: runStartupBench,
};

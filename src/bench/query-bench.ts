/**
 * Backward queries on a long trace: workload-r30 (about 103M steps), recorded once and cached under
 * the system's temporary folder by the image's hash. Measures in this process the time of a why-write
 * query (the location already resolved), of its causal chain, and of their parts, the first query of a
 * fresh process apart from the later ones (its code is not yet optimised by V8 and its guest code not
 * yet compiled by the replay machine); then the whole `ttd why-write` process, next to `ttd --version`
 * (the same process doing no query) so the share of start-up is visible; and breakpoint searches
 * over the whole trace. Prints; asserts nothing.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fmtCount, measurePaired, median, PAIRED_COLUMNS, pairedRows, timeProcess, type BenchContext, type BenchSection, type BenchTable } from "./harness.js";
import { openRecording } from "../bundle/open.js";
import { Trace } from "../trace/trace.js";
import { QueryContext } from "../query/context.js";
import { resolveLocation, type Location } from "../query/location.js";
import { explainWrite, whyWrite } from "../query/why-write.js";
import { explainChain } from "../query/chain.js";
import { StepWindow } from "../query/step-window.js";
import { Machine } from "../machine/machine.js";
import { ReplayTarget } from "../gdb/replay-target.js";

/** The headline location: an element the Shell sort rewrites in every round. */
const HEADLINE = "keys[17]";
/** More locations, for spread: the sort's far end and a byte the prime sieve writes. */
const OTHERS = ["keys[4399]", "composite[30011]"];
/** Question steps per location: the end, and points spread over the second half of the run. */
const POINTS = 8;
const QUERY_TARGET_MS = 20;
const CHAIN_TARGET_MS = 100;

type MemoryLocation = Location & { kind: "memory" };

/** The cached trace of `elf`, recorded with the CLI when missing or unusable. */
export async function cachedTrace(ctx: BenchContext, elf: string): Promise<{ path: string; recorded: boolean; seconds: number }> {
  const sha = createHash("sha256").update(fs.readFileSync(elf)).digest("hex");
  const dir = path.join(os.tmpdir(), "ttd-query-bench");
  fs.mkdirSync(dir, { recursive: true });
  const tracePath = path.join(dir, `${path.basename(elf, ".elf")}-${sha.slice(0, 16)}.trace`);
  if (fs.existsSync(tracePath)) {
    try {
      const t = Trace.open(tracePath);
      const ok = t.complete && t.info().image.sha256 === sha;
      t.close();
      if (ok) return { path: tracePath, recorded: false, seconds: 0 };
    } catch {
      // unreadable: record it again
    }
  }
  const { image, expect } = ctx.traceGuest;
  ctx.log(`query: recording ${image} into ${tracePath}`);
  const partial = `${tracePath}.${process.pid}.tmp`;
  const cli = path.join(ctx.repoRoot, "dist/cli/main.js");
  const rec = await timeProcess(process.execPath, [cli, "record", elf, "-o", partial, "--force", "--no-progress"], { timeoutMs: ctx.timeoutMs });
  if (rec.timedOut || (expect !== null && !rec.stdout.includes(expect)) || !fs.existsSync(partial)) {
    fs.rmSync(partial, { force: true });
    throw new Error(`ttd record ${image} failed: ${rec.stderr.trim() || rec.spawnError || "no trace"}`);
  }
  fs.renameSync(partial, tracePath);
  return { path: tracePath, recorded: true, seconds: rec.seconds };
}

function ms(f: () => unknown): number {
  const t = performance.now();
  f();
  return performance.now() - t;
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
}

const f1 = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : "n/a");
const status = (v: number, target: number) => (v <= target ? "ok" : "MISSED");

export async function runQueryBench(ctx: BenchContext): Promise<BenchTable[]> {
  const image = ctx.traceGuest.image;
  const elf = ctx.traceGuest.path;
  if (!fs.existsSync(elf)) throw new Error(`${elf}: no such file (run npm run build:guests)`);
  const cached = await cachedTrace(ctx, elf);
  const load = os.loadavg()[0];

  // ---- in this process ---------------------------------------------------------------------------
  const recording = openRecording(cached.path);
  const q = QueryContext.fromRecording(recording);
  const trace = q.trace;
  const steps = trace.steps;
  const points = [steps];
  for (let i = 0; i < POINTS - 1; i++) points.push(Math.floor(steps * (0.5 + (0.5 * i) / POINTS)));

  const resolveAt = (expr: string, at: number): MemoryLocation => {
    const loc = resolveLocation(q, expr, at);
    if (loc.kind !== "memory") throw new Error(`${expr} is not memory`);
    return loc;
  };

  // The first query of the process, as a CLI run pays it.
  const firstLoc = resolveAt(HEADLINE, steps);
  const coldQuery = ms(() => whyWrite(q, firstLoc, steps));
  const firstWrite = trace.lastWrite({ address: firstLoc.address, size: firstLoc.size }, steps)!;
  const coldChain = ms(() => explainChain(q, firstWrite, new StepWindow(trace, firstWrite.step + 1)));

  const query: number[] = [], chain: number[] = [], resolve: number[] = [];
  const headQuery: number[] = [], headChain: number[] = [];
  const lastWrite: number[] = [], describe: number[] = [], state: number[] = [], window: number[] = [];
  let chainLinks = 0;
  for (let run = 0; run < ctx.runs; run++) {
    for (const expr of [HEADLINE, ...OTHERS]) {
      for (const at of points) {
        let loc!: MemoryLocation;
        resolve.push(ms(() => (loc = resolveAt(expr, at))));
        const t = ms(() => whyWrite(q, loc, at));
        query.push(t);
        const w = trace.lastWrite({ address: loc.address, size: loc.size }, at);
        if (w === null) continue;
        let links = 0;
        const c = ms(() => (links = explainChain(q, w, new StepWindow(trace, w.step + 1)).length));
        chain.push(c);
        chainLinks = Math.max(chainLinks, links);
        if (expr === HEADLINE) {
          headQuery.push(t);
          headChain.push(c);
          // The parts of a query, each from where the one before left the replay machine.
          state.push(ms(() => trace.stateAt(at).readLinear(loc.address, loc.size)));
          lastWrite.push(ms(() => trace.lastWrite({ address: loc.address, size: loc.size }, at)));
          describe.push(ms(() => explainWrite(q, w, [0, loc.size], null)));
          window.push(ms(() => new StepWindow(trace, w.step + 1).record(w.step)));
        }
      }
    }
  }
  const breakpoints = await breakpointTable(ctx, trace, elf);
  recording.close();

  const qMed = median(headQuery), cMed = median(chain);
  const inProcess: BenchTable = {
    title: `why-write on ${image} (${fmtCount(steps)} steps, trace ${cached.recorded ? `recorded in ${cached.seconds.toFixed(1)} s` : "cached"}), in-process ms`,
    columns: ["measure", "median", "p90", "target", "status"],
    rows: [
      [`why-write query, ${HEADLINE} (${headQuery.length} questions)`, f1(qMed), f1(pct(headQuery, 0.9)), `<= ${QUERY_TARGET_MS}`, status(qMed, QUERY_TARGET_MS)],
      [`why-write query, all locations (${query.length})`, f1(median(query)), f1(pct(query, 0.9)), "", ""],
      [`chain, ${HEADLINE} (up to ${chainLinks} links)`, f1(median(headChain)), f1(pct(headChain, 0.9)), `<= ${CHAIN_TARGET_MS}`, status(median(headChain), CHAIN_TARGET_MS)],
      [`chain, all locations (${chain.length})`, f1(cMed), f1(pct(chain, 0.9)), `<= ${CHAIN_TARGET_MS}`, status(cMed, CHAIN_TARGET_MS)],
      ["first query of the process", f1(coldQuery), "", "", ""],
      ["first chain of the process", f1(coldChain), "", "", ""],
      ["  part: resolve the expression", f1(median(resolve)), f1(pct(resolve, 0.9)), "", ""],
      ["  part: value at the step (stateAt)", f1(median(state)), f1(pct(state, 0.9)), "", ""],
      ["  part: trace.lastWrite", f1(median(lastWrite)), f1(pct(lastWrite, 0.9)), "", ""],
      ["  part: describe the write (describeStep)", f1(median(describe)), f1(pct(describe, 0.9)), "", ""],
      ["  part: chain's first step window", f1(median(window)), f1(pct(window, 0.9)), "", ""],
    ],
    notes: [
      `Questions: ${[HEADLINE, ...OTHERS].join(", ")} at the end and ${POINTS - 1} steps over the run's second half, ${ctx.runs} run(s).`,
      `Load average when the section started: ${load.toFixed(2)} on ${os.cpus().length} CPUs (timings on a busy machine are inflated).`,
    ],
  };

  // ---- whole processes ---------------------------------------------------------------------------
  const cli = path.join(ctx.repoRoot, "dist/cli/main.js");
  const times = await measurePaired(ctx, [
    { label: "node -e 0 (Node itself)", args: ["-e", "0"] },
    { label: "ttd --version (start-up, no query)", args: [cli, "--version"] },
    { label: `ttd why-write '${HEADLINE}'`, args: [cli, "why-write", HEADLINE, "--trace", cached.path] },
    { label: `ttd why-write '${HEADLINE}' --chain`, args: [cli, "why-write", HEADLINE, "--trace", cached.path, "--chain"] },
    { label: `ttd history '${HEADLINE}' --limit 50`, args: [cli, "history", HEADLINE, "--trace", cached.path, "--limit", "50"] },
  ], Math.max(3, ctx.runs));
  const processes: BenchTable = {
    title: `Whole process on ${image}, paired, ms`,
    columns: PAIRED_COLUMNS,
    rows: pairedRows(times, times[0]),
    notes: ["The difference between a query command and `ttd --version` is the query's own cost in a cold process; the startup section does the same on the demo bundle."],
  };
  return [inProcess, breakpoints, processes];
}

/** Steps re-executed one at a time by the step-by-step method, for its rate. */
const STEPWISE_STEPS = 1_000_000;

/**
 * Breakpoint searches over the whole trace: Trace.findInstruction (compiled speed, the CPU stopping
 * before the breakpoint's EIP) against running the same image in a fresh Machine (what `ttd run`
 * does) and against re-executing a step at a time (the way a search looks at every state otherwise);
 * then gdb's reverse-continue from the end to a breakpoint on the guest's first instruction, the
 * farthest one there is.
 */
async function breakpointTable(ctx: BenchContext, trace: Trace, elf: string): Promise<BenchTable> {
  const steps = trace.steps;
  const never = 0x1; // no code there: the search covers the whole trace
  const search: number[] = [];
  const run: number[] = [];
  for (let i = 0; i < ctx.runs; i++) {
    ctx.log(`query: breakpoint search over ${fmtCount(steps)} steps (${i + 1})`);
    search.push(ms(() => trace.findInstruction([never], trace.startStep, steps, "last")));
    const m = Machine.fromElf(new Uint8Array(fs.readFileSync(elf)));
    run.push(ms(() => m.run({ maxSteps: steps })));
  }
  const stepwiseMs = ms(() => {
    const from = Math.floor(steps / 2);
    trace.stateAt(from);
    for (let s = from + 1; s <= from + STEPWISE_STEPS; s++) trace.stateAt(s);
  });
  const entry = trace.stateAt(trace.startStep).regs.eip >>> 0;
  const gdb: number[] = [];
  let stop = -1;
  for (let i = 0; i < ctx.runs; i++) {
    const target = new ReplayTarget(trace, steps);
    target.insertBreakpoint("sw", entry);
    const t0 = performance.now();
    stop = (await target.continue("backward")).step;
    gdb.push(performance.now() - t0);
  }
  // ESP sits still through the workload's call-free loops (sort, sieve, CRC): from the middle of the
  // run its last change is up to a few hundred thousand steps back.
  const regAt = Math.floor(steps / 2);
  const regTimes: number[] = [];
  let regDistance = 0;
  for (let i = 0; i < ctx.runs; i++) {
    const t0 = performance.now();
    const change = trace.lastRegisterChange("esp", regAt);
    regTimes.push(performance.now() - t0);
    regDistance = change === null ? regAt : regAt - change.step;
  }
  // The usual question: a register's last change before a random step (a few steps to ~100k back).
  const eaxTimes: number[] = [];
  for (let i = 0; i < 50; i++) {
    const at = 1 + Math.floor(((i * 0x9e3779b1) >>> 0) / 2 ** 32 * (steps - 1));
    const t0 = performance.now();
    trace.lastRegisterChange("eax", at);
    eaxTimes.push(performance.now() - t0);
  }
  const rate = (msv: number, n: number) => `${(n / msv / 1000).toFixed(1)}M steps/s`;
  const searchBest = Math.min(...search), runBest = Math.min(...run);
  return {
    title: `Breakpoint and register searches on ${ctx.traceGuest.image} (${fmtCount(steps)} steps), in-process`,
    columns: ["measure", "best ms", "rate", "ratio"],
    rows: [
      ["Trace.findInstruction, whole trace, never hit", f1(searchBest), rate(searchBest, steps), `${(runBest / searchBest).toFixed(2)}x of a plain run`],
      ["plain run of the image (Machine.run, as ttd run)", f1(runBest), rate(runBest, steps), "1.00x"],
      [`step at a time (stateAt(s + 1)), ${fmtCount(STEPWISE_STEPS)} steps`, f1(stepwiseMs), rate(stepwiseMs, STEPWISE_STEPS), `${(stepwiseMs / STEPWISE_STEPS / (searchBest / steps)).toFixed(1)}x slower than the search`],
      [`gdb reverse-continue from the end to the entry (stopped at step ${stop})`, f1(Math.min(...gdb)), rate(Math.min(...gdb), steps), ""],
      [`lastRegisterChange("esp") at step ${fmtCount(regAt)} (${fmtCount(regDistance)} steps back)`, f1(Math.min(...regTimes)), rate(Math.min(...regTimes), regDistance), ""],
      [`lastRegisterChange("eax") at 50 spread steps: median (p90 ${f1(pct(eaxTimes, 0.9))})`, f1(median(eaxTimes)), "", ""],
    ],
    notes: [
      "The search and the plain run execute the same steps; the search also restores keyframes at slice boundaries.",
      "gdb's backward search works in windows growing from 2,048 steps to 16M, each re-executed from its keyframe.",
    ],
  };
}

export const querySection: BenchSection = {
  name: "query",
  description: "why-write and its chain on the recorded workload guest (r30 unless --guest), in-process and as whole ttd processes",
  run: runQueryBench,
};

/**
 * Emulator speed: `ttd run`, v86 (interpreter and JIT) and QEMU (TCG, a reference) on the workload
 * guests (src/bench/guests.ts), each as a whole process, with ttd's speed as a ratio to each peer.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { fmtCount, fmtRatio, timeProcess, type BenchContext, type BenchSection, type BenchTable, type ProcessRun } from "./harness.js";
import { findQemu, qemuBaseArgs } from "./qemu-log.js";
import type { V86RunResult } from "./v86-runner.js";

interface EngineRun {
  seconds: number;
  /** Instructions retired, as the engine counts them; null when it cannot say. */
  instructions: number | null;
  serial: string;
  /** Why the run does not count, or undefined. */
  error?: string;
}

interface Engine {
  id: string;
  label: string;
  /** Null when usable, else why not. */
  unavailable(ctx: BenchContext): string | null;
  run(ctx: BenchContext, elfPath: string): Promise<EngineRun>;
}

function failure(run: ProcessRun, what: string): string | undefined {
  if (run.spawnError) return `${what} could not start: ${run.spawnError}`;
  if (run.timedOut) return `${what} did not finish in time`;
  if (run.signal) return `${what} was killed by ${run.signal}`;
  return undefined;
}

function firstLine(s: string): string {
  return s.trim().split("\n").find((l) => l.trim() !== "")?.trim() ?? "";
}

/**
 * The instruction count in `ttd run`'s summary: a number next to "steps" or "instructions"
 * ("34,045,911 steps", "steps: 34045911", "instructions retired 34045911").
 */
export function parseTtdSteps(summary: string): number | null {
  const after = /\b(?:steps|instructions)(?:\s+retired)?\s*[:=]?\s*([\d][\d,_]*)/i.exec(summary);
  const before = /([\d][\d,_]*)\s+(?:steps|instructions)\b/i.exec(summary);
  const m = before ?? after;
  if (!m) return null;
  const n = Number(m[1].replace(/[,_]/g, ""));
  return Number.isFinite(n) ? n : null;
}

/** `ttd run`, compiling hot code (the default) or, `interpret`, with `--interpret`. */
function ttdEngine(interpret: boolean): Engine {
  return {
    id: interpret ? "ttd-interpret" : "ttd",
    label: interpret ? "ttd run --interpret" : "ttd run",
    unavailable(ctx) {
      const cli = path.join(ctx.repoRoot, "dist/cli/main.js");
      return fs.existsSync(cli) ? null : `${path.relative(ctx.repoRoot, cli)} is not built (does \`ttd run\` exist yet?)`;
    },
    async run(ctx, elfPath) {
      const cli = path.join(ctx.repoRoot, "dist/cli/main.js");
      const r = await timeProcess(process.execPath, [cli, "run", elfPath, ...(interpret ? ["--interpret"] : [])], { timeoutMs: ctx.timeoutMs });
      let error = failure(r, "ttd run");
      if (!error && r.exitCode === 2) error = `ttd run refused the image: ${firstLine(r.stderr)}`;
      const instructions = parseTtdSteps(r.stderr);
      if (!error && instructions === null) error = `no step count in ttd run's summary: ${JSON.stringify(r.stderr.trim().slice(0, 200))}`;
      return { seconds: r.seconds, instructions, serial: r.stdout, error };
    },
  };
}

function v86(jit: boolean): Engine {
  const runner = path.join(path.dirname(fileURLToPath(import.meta.url)), "v86-runner.js");
  return {
    id: jit ? "v86-jit" : "v86",
    label: jit ? "v86 JIT" : "v86 interpreter",
    unavailable() {
      return fs.existsSync(runner) ? null : `${runner} is missing (run the build)`;
    },
    async run(ctx, elfPath) {
      const r = await timeProcess(process.execPath, [runner, elfPath, jit ? "--jit" : "--interp"], { timeoutMs: ctx.timeoutMs, ipc: true });
      const res = r.message as V86RunResult | undefined;
      let error = failure(r, "v86");
      if (!error && !res) error = `v86 runner reported nothing: ${firstLine(r.stderr)}`;
      if (!error && res && res.stop !== "exit") error = `v86 stopped with an error: ${firstLine(res.error ?? "")}`;
      return { seconds: r.seconds, instructions: res?.instructions ?? null, serial: res?.serial ?? "", error };
    },
  };
}

const qemu: Engine = {
  id: "qemu",
  label: "qemu TCG",
  unavailable() {
    return findQemu() ? null : "qemu-system-i386 not installed (apt-get install -y qemu-system-x86)";
  },
  async run(ctx, elfPath) {
    const r = await timeProcess(findQemu()!, [...qemuBaseArgs(elfPath), "-accel", "tcg"], { timeoutMs: ctx.timeoutMs });
    let error = failure(r, "qemu");
    // isa-debug-exit makes QEMU exit with (value << 1) | 1; anything even is QEMU failing.
    if (!error && (r.exitCode === null || (r.exitCode & 1) === 0)) error = `qemu exited with status ${r.exitCode}: ${firstLine(r.stderr)}`;
    return { seconds: r.seconds, instructions: null, serial: r.stdout, error };
  },
};

export const ENGINES: Engine[] = [ttdEngine(false), ttdEngine(true), v86(false), v86(true), qemu];
/** The peers ttd's speed is given against. */
const PEERS = ENGINES.filter((e) => !e.id.startsWith("ttd"));

interface Measured {
  engine: Engine;
  /** Fastest successful run, or null. */
  best: EngineRun | null;
  /** Why there is no measurement. */
  problem?: string;
}

/**
 * Runs every engine `ctx.runs` times on one image, round-robin so that load from elsewhere on the
 * machine falls on all engines alike, and keeps each engine's fastest run. An engine that fails or
 * prints the wrong line is dropped from the remaining rounds.
 */
async function measureAll(ctx: BenchContext, elfPath: string, known: string | null): Promise<Measured[]> {
  // A guest whose line is not known beforehand must print on every engine what it printed on ttd.
  let expect = known;
  const results: Measured[] = ENGINES.map((engine) => {
    const why = engine.unavailable(ctx);
    return why ? { engine, best: null, problem: `unavailable: ${why}` } : { engine, best: null };
  });
  for (let i = 0; i < ctx.runs; i++) {
    for (const m of results) {
      if (m.problem) continue;
      const r = await m.engine.run(ctx, elfPath);
      if (r.error) {
        m.best = null;
        m.problem = r.error;
        continue;
      }
      if (expect === null && m.engine.id === "ttd") expect = firstLine(r.serial);
      if (expect === null || !r.serial.split(/\r?\n/).includes(expect)) {
        m.best = null;
        m.problem = `wrong serial output: ${JSON.stringify(r.serial.slice(0, 120))}, expected ${expect === null ? "ttd's line (ttd printed none)" : JSON.stringify(expect)}`;
        continue;
      }
      ctx.log(`  ${m.engine.label}: ${r.seconds.toFixed(2)} s${r.instructions !== null ? `, ${fmtCount(r.instructions)} instructions` : ""}`);
      if (!m.best || r.seconds < m.best.seconds) m.best = r;
    }
  }
  return results;
}

export const emulatorSection: BenchSection = {
  name: "emulators",
  description: "ttd run against v86 (interpreter, JIT) and QEMU TCG on the workload guests",
  async run(ctx) {
    const main: BenchTable = {
      title: `Emulator speed (whole processes, fastest of ${ctx.runs} run${ctx.runs === 1 ? "" : "s"})`,
      columns: ["image", "engine", "instructions", "seconds", "MIPS", "ttd vs this"],
      rows: [],
      notes: [],
    };
    const summary: BenchTable = {
      title: "ttd speed relative to its peers (ttd MIPS / peer MIPS; targets: 1.00x v86 JIT, 0.50x QEMU; --interpret 1.00x v86 interpreter)",
      columns: ["image", ...PEERS.map((e) => `vs ${e.label}`), "--interpret vs v86 interpreter"],
      rows: [],
      notes: [],
    };
    const problems = new Set<string>();
    let borrowed = false;
    for (const guest of ctx.guests) {
      const elfPath = guest.path;
      if (!fs.existsSync(elfPath)) {
        main.rows.push([guest.image, "(missing)", "", "", "", ""]);
        problems.add(`${elfPath}: no such file`);
        continue;
      }
      ctx.log(`${guest.image}:`);
      const results = await measureAll(ctx, elfPath, guest.expect);
      // QEMU cannot count instructions without icount (which slows it down): it is credited with the
      // count of the same guest run from ttd, or from v86 when ttd is unavailable.
      const reference = results.find((r) => r.best?.instructions != null)?.best?.instructions ?? null;
      const mips = (r: Measured): number | null => {
        if (!r.best) return null;
        const n = r.best.instructions ?? reference;
        return n === null ? null : n / r.best.seconds / 1e6;
      };
      const ttdMips = mips(results[0]);
      const of = (id: string) => results.find((r) => r.engine.id === id)!;
      const interpretMips = mips(of("ttd-interpret"));
      const v86InterpreterMips = mips(of("v86"));
      const ratios: string[] = [];
      for (const r of results) {
        if (!r.best) {
          const state = r.problem?.startsWith("unavailable") ? "unavailable" : "failed";
          main.rows.push([guest.image, `${r.engine.label} (${state}, see below)`, "", "", "", ""]);
          problems.add(`${r.engine.label}: ${r.problem}`);
          if (!r.engine.id.startsWith("ttd")) ratios.push("n/a");
          continue;
        }
        const m = mips(r);
        const ratio = r.engine.id.startsWith("ttd") || ttdMips === null || m === null ? null : ttdMips / m;
        if (r.best.instructions === null) borrowed = true;
        main.rows.push([
          guest.image,
          r.engine.label + (r.best.instructions === null ? " *" : ""),
          fmtCount(r.best.instructions ?? reference),
          r.best.seconds.toFixed(3),
          m === null ? "n/a" : m.toFixed(1),
          r.engine.id.startsWith("ttd") ? "" : fmtRatio(ratio),
        ]);
        if (!r.engine.id.startsWith("ttd")) ratios.push(fmtRatio(ratio));
      }
      const interpretRatio = interpretMips === null || v86InterpreterMips === null ? null : interpretMips / v86InterpreterMips;
      summary.rows.push([guest.image, ...ratios, fmtRatio(interpretRatio)]);
    }
    main.notes.push(
      "seconds: wall time of the whole process, spawn to exit (startup included); MIPS: millions of instructions per second.",
      "ttd vs this: ttd run's MIPS divided by this engine's (above 1.00x, ttd is faster); ttd run --interpret is ttd with block compilation off.",
    );
    if (borrowed) main.notes.push("* QEMU does not count instructions; it is credited with ttd's (else v86's) count for the same guest, and its time includes SeaBIOS.");
    for (const p of problems) main.notes.push(`! ${p}`);
    return [main, summary];
  },
};

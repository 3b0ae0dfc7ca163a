/**
 * The benchmark harness: sections (emulator speed now; recorder and queries later) each produce
 * tables, measured against peers in the same run and printed as ratios. Nothing here asserts a time.
 */
import { spawn } from "node:child_process";
import type { BenchGuest } from "./guests.js";
import { groupDigits } from "../text/group-digits.js";

export interface BenchContext {
  /** The repository root (where package.json and dist/ are). */
  repoRoot: string;
  /** The emulator section's guests, in order (src/bench/guests.ts). */
  guests: BenchGuest[];
  /** The guest the recorder and query sections record. */
  traceGuest: BenchGuest;
  /** Timed runs per measurement; the fastest is reported. */
  runs: number;
  /** Limit for one process run. */
  timeoutMs: number;
  /** Progress output (stderr). */
  log(line: string): void;
}

export interface BenchTable {
  title: string;
  columns: string[];
  /** Cells as printed; columns whose cells look numeric are right-aligned. */
  rows: string[][];
  notes: string[];
}

export interface BenchSection {
  /** Short name for --only. */
  name: string;
  description: string;
  /** Run only when named with --only (a section that takes many minutes). */
  onlyWhenNamed?: boolean;
  run(ctx: BenchContext): Promise<BenchTable[]>;
}

export function renderTable(t: BenchTable): string {
  const all = [t.columns, ...t.rows];
  const widths = t.columns.map((_, c) => Math.max(...all.map((r) => (r[c] ?? "").length)));
  const numeric = t.columns.map((_, c) => t.rows.length > 0 && t.rows.every((r) => /^[\d.,x%-]*$|^n\/a$/.test(r[c] ?? "")));
  const fmt = (r: string[]): string =>
    r.map((cell, c) => (numeric[c] ? (cell ?? "").padStart(widths[c]) : (cell ?? "").padEnd(widths[c]))).join("  ").trimEnd();
  const lines = [t.title, fmt(t.columns), widths.map((w) => "-".repeat(w)).join("  "), ...t.rows.map(fmt)];
  for (const n of t.notes) lines.push(n);
  return lines.join("\n");
}

export interface ProcessRun {
  /** Wall time of the whole process, spawn to exit. */
  seconds: number;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** Message received over IPC, for children started with `ipc: true`. */
  message?: unknown;
  /** Set when the process could not be started. */
  spawnError?: string;
  /** CPU seconds (user and system, every thread) of a Node process run with `cpu: true`, else null. */
  cpuSeconds: number | null;
}

/** The module `timeProcess(..., { cpu: true })` preloads into the Node process it runs (report-cpu.ts). */
const CPU_REPORTER = new URL("./report-cpu.js", import.meta.url).href;

/**
 * Runs a command to its end, timing it from spawn to exit. With `cpu`, the command is Node: it runs
 * with report-cpu.ts preloaded, which hands back the CPU time the process used.
 */
export function timeProcess(
  command: string,
  args: string[],
  opts: { timeoutMs: number; ipc?: boolean; cwd?: string; cpu?: boolean; env?: NodeJS.ProcessEnv },
): Promise<ProcessRun> {
  return new Promise((resolve) => {
    const start = process.hrtime.bigint();
    const child = spawn(command, opts.cpu ? ["--import", CPU_REPORTER, ...args] : args, {
      cwd: opts.cwd,
      env: opts.env,
      stdio: opts.ipc ? ["ignore", "pipe", "pipe", "ipc"] : opts.cpu ? ["ignore", "pipe", "pipe", "pipe"] : ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let cpuReport = "";
    if (opts.cpu) {
      const fd3 = child.stdio[3] as NodeJS.ReadableStream | null;
      fd3?.setEncoding("utf8");
      fd3?.on("data", (s: string) => { cpuReport += s; });
    }
    let message: unknown;
    let timedOut = false;
    let spawnError: string | undefined;
    child.stdout?.setEncoding("latin1");
    child.stdout?.on("data", (s: string) => { stdout += s; });
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (s: string) => { stderr += s; });
    child.on("message", (m) => { message = m; });
    child.on("error", (err) => { spawnError = err.message; });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, opts.timeoutMs);
    child.on("close", (exitCode, signal) => {
      clearTimeout(timer);
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const m = /^(\d+) (\d+)$/m.exec(cpuReport);
      const cpuSeconds = m !== null ? (Number(m[1]) + Number(m[2])) / 1e6 : null;
      resolve({ seconds, exitCode, signal, stdout, stderr, timedOut, message, spawnError, cpuSeconds });
    });
  });
}

/** "12,345,678" */
export function fmtCount(n: number | null): string {
  return n === null ? "n/a" : groupDigits(Math.round(n));
}

export function fmtRatio(r: number | null): string {
  return r === null || !Number.isFinite(r) ? "n/a" : `${r.toFixed(2)}x`;
}

// ---- Whole processes measured paired ----------------------------------------------------------

export interface PairedCommand {
  label: string;
  /** Arguments to Node (the script first). */
  args: string[];
  /** Variables added to the environment of this command only. */
  env?: NodeJS.ProcessEnv;
}

export interface PairedTimes {
  label: string;
  wall: number[];
  cpu: number[];
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

export const best = (xs: number[]): number => Math.min(...xs);

/**
 * Runs every command `rounds` times, each round all of them in a rotated order, after one uncounted
 * run of each; returns wall and CPU seconds per command, in the order given.
 */
export async function measurePaired(ctx: BenchContext, commands: PairedCommand[], rounds: number, env?: NodeJS.ProcessEnv): Promise<PairedTimes[]> {
  const out = commands.map((c) => ({ label: c.label, wall: [] as number[], cpu: [] as number[] }));
  const run = async (i: number) => {
    const own = commands[i].env === undefined ? env : { ...(env ?? process.env), ...commands[i].env };
    const r = await timeProcess(process.execPath, commands[i].args, { timeoutMs: ctx.timeoutMs, cwd: ctx.repoRoot, cpu: true, env: own });
    if (r.exitCode !== 0 || r.cpuSeconds === null) throw new Error(`${commands[i].label} exited ${r.exitCode}: ${r.stderr.trim() || r.spawnError || "no CPU report"}`);
    return r;
  };
  for (let i = 0; i < commands.length; i++) await run(i);
  for (let round = 0; round < rounds; round++) {
    ctx.log(`whole processes: round ${round + 1} of ${rounds}`);
    for (let k = 0; k < commands.length; k++) {
      const i = (k + round) % commands.length;
      const r = await run(i);
      out[i].wall.push(r.seconds);
      out[i].cpu.push(r.cpuSeconds!);
    }
  }
  return out;
}

const ms = (s: number) => (s * 1000).toFixed(0);

/** Rows of a paired table: best and median wall and CPU milliseconds, and the ratio to `reference`'s best. */
export function pairedRows(times: PairedTimes[], reference: PairedTimes): string[][] {
  const ratio = (t: PairedTimes) => `${(best(t.cpu) / best(reference.cpu)).toFixed(2)}x`;
  return times.map((t) => [t.label, ms(best(t.wall)), ms(median(t.wall)), ms(best(t.cpu)), ms(median(t.cpu)), ratio(t)]);
}

export const PAIRED_COLUMNS = ["command", "wall best", "wall median", "CPU best", "CPU median", "CPU vs node"];

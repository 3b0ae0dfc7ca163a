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
}

/** Runs a command to its end, timing it from spawn to exit. */
export function timeProcess(
  command: string,
  args: string[],
  opts: { timeoutMs: number; ipc?: boolean; cwd?: string },
): Promise<ProcessRun> {
  return new Promise((resolve) => {
    const start = process.hrtime.bigint();
    const child = spawn(command, args, {
      cwd: opts.cwd,
      stdio: opts.ipc ? ["ignore", "pipe", "pipe", "ipc"] : ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
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
      resolve({ seconds, exitCode, signal, stdout, stderr, timedOut, message, spawnError });
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

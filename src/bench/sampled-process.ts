/** Whole-process runs of ttd (node) with their memory sampled: the recorder and Linux benchmarks' runner. */
import * as fs from "node:fs";
import { spawn } from "node:child_process";

export interface Sampled {
  seconds: number;
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** Peak resident set (bytes): the kernel's high-water mark when seen, else the largest sample. */
  peakRss: number;
  /** Largest RSS sample in the first and the second half of the run. */
  firstHalfRss: number;
  secondHalfRss: number;
  timedOut: boolean;
}

function readRss(pid: number): { rss: number; hwm: number } | null {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(s)?.[1] ?? 0) * 1024;
    return { rss: kb("VmRSS"), hwm: kb("VmHWM") };
  } catch {
    return null;
  }
}

/** Runs a process to its end, sampling its memory every 10 ms. */
export function runSampled(args: string[], timeoutMs: number): Promise<Sampled> {
  return new Promise((resolve) => {
    const start = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "", stderr = "";
    child.stdout.setEncoding("latin1").on("data", (s: string) => (stdout += s));
    child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    const samples: { t: number; rss: number }[] = [];
    let hwm = 0;
    const poll = setInterval(() => {
      if (child.pid === undefined) return;
      const r = readRss(child.pid);
      if (r === null) return;
      samples.push({ t: Number(process.hrtime.bigint() - start) / 1e9, rss: r.rss });
      hwm = Math.max(hwm, r.hwm);
    }, 10);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("close", (exitCode) => {
      clearInterval(poll);
      clearTimeout(timer);
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const half = seconds / 2;
      const max = (xs: { rss: number }[]) => xs.reduce((m, x) => Math.max(m, x.rss), 0);
      resolve({
        seconds,
        exitCode,
        stdout,
        stderr,
        peakRss: Math.max(hwm, max(samples)),
        firstHalfRss: max(samples.filter((s) => s.t < half)),
        secondHalfRss: max(samples.filter((s) => s.t >= half)),
        timedOut,
      });
    });
  });
}


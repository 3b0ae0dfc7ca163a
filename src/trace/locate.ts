/**
 * Where traces go when no file is named: `.ttd/` in the current directory, one file per recording
 * (`<kernel>-<n>.trace`), and a `latest` symbolic link to the newest, which later commands open when
 * no trace is given (as rr does with its latest-trace).
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { TraceError } from "./errors.js";
import { TraceLock, tryLockTrace } from "./output-lock.js";

export const TRACE_DIR = ".ttd";
export const LATEST = "latest";
export const TRACE_SUFFIX = ".trace";

/**
 * Claims a new, unused path `.ttd/<kernel>-<n>.trace` under `cwd` (the folder is created) and returns
 * its lock. Parallel recordings never get the same name: each name is taken by creating its lock
 * atomically, and a name whose trace already exists is skipped. Creating the folder or the lock can
 * fail (read-only folder, ...): those errors are thrown with their `code`.
 */
export function claimNewTracePath(kernelPath: string, cwd = process.cwd()): TraceLock {
  const dir = join(cwd, TRACE_DIR);
  mkdirSync(dir, { recursive: true });
  const stem = basename(kernelPath).replace(/\.elf$/i, "").replace(/[^A-Za-z0-9._-]/g, "_") || "kernel";
  let n = highestNumber(dir, stem) + 1;
  for (let tries = 0; tries < 10_000; tries++, n++) {
    const path = join(dir, `${stem}-${n}${TRACE_SUFFIX}`);
    const lock = tryLockTrace(path);
    if (!(lock instanceof TraceLock)) continue;
    // A name can be free of locks yet taken by a finished trace recorded since the folder was read.
    if (["", "-wal", "-shm", "-journal"].some((s) => existsSync(path + s))) {
      lock.release();
      continue;
    }
    return lock;
  }
  throw new TraceError(`${dir}: no free trace name for ${stem}`);
}

/** The highest n of `<stem>-<n>.trace` (or of its side files and locks) in `dir`; 0 if none. */
function highestNumber(dir: string, stem: string): number {
  let max = 0;
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(`${stem}-`)) continue;
    const m = /^(\d+)\.trace(?:-wal|-shm|-journal|\.lock)?$/.exec(name.slice(stem.length + 1));
    if (m === null) continue;
    const n = Number(m[1]);
    if (Number.isSafeInteger(n) && n > max) max = n;
  }
  return max;
}

/** Points `.ttd/latest` (under the trace's folder) at `tracePath`. */
export function setLatest(tracePath: string): void {
  const dir = dirname(resolve(tracePath));
  const link = join(dir, LATEST);
  const tmp = join(dir, `.${LATEST}.${process.pid}`);
  try {
    symlinkSync(basename(tracePath), tmp);
  } catch {
    // No symbolic links here (some file systems): a one-line file naming the trace instead.
    writeFileSync(tmp, basename(tracePath) + "\n");
  }
  renameSync(tmp, link);
}

/**
 * The trace a command should open: `arg` when given, else what `.ttd/latest` names. Throws a
 * TraceError when nothing is given and there is no latest trace.
 */
export function resolveTracePath(arg: string | undefined, cwd = process.cwd()): string {
  if (arg !== undefined && arg !== "") return arg;
  const link = join(cwd, TRACE_DIR, LATEST);
  let st;
  try {
    st = lstatSync(link);
  } catch {
    throw new TraceError(`no trace given and no ${join(TRACE_DIR, LATEST)} in ${cwd}: record one with 'ttd record <kernel.elf>' or name a trace file`);
  }
  let target: string;
  if (st.isSymbolicLink()) target = readlinkSync(link);
  else target = readFileSync(link, "utf8").trim();
  const path = resolve(dirname(link), target);
  if (!existsSync(path)) throw new TraceError(`${join(TRACE_DIR, LATEST)} names ${target}, which no longer exists`);
  return path;
}

/** Removes a trace file and its SQLite side files (for --force). */
export function removeTraceFiles(path: string): void {
  for (const suffix of ["", "-wal", "-shm", "-journal"]) {
    try {
      unlinkSync(path + suffix);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
  }
}

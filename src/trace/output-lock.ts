/**
 * A recording's claim on the trace it writes: a `<trace>.lock` file next to it, created atomically
 * before the trace and removed once the trace is finalized. It holds the recorder's pid and host.
 *
 * Existence checks alone are racy: two recordings started together both see `idle-bug-3.trace` free,
 * and `--force` would delete a trace another recording is still writing. With the lock, each recording
 * claims a name with one atomic create (link(2), or O_EXCL where links are not supported), and a trace
 * whose lock names a live process is never replaced. A recording that died without cleaning up
 * (kill -9, a crash) leaves a lock naming a pid that no longer runs: that lock is stale and is taken over.
 */
import { closeSync, linkSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";

export const LOCK_SUFFIX = ".lock";

/** Who holds a trace's lock. */
export interface LockOwner {
  pid: number;
  host: string;
  /** A random token telling two holders with the same pid apart (a reused pid, or this process twice). */
  token: string;
}

export function lockPathFor(tracePath: string): string {
  return tracePath + LOCK_SUFFIX;
}

/** A held lock; release() removes it (only if it is still ours). */
export class TraceLock {
  private released = false;
  private readonly onExit = () => this.release();

  constructor(
    readonly tracePath: string,
    readonly owner: LockOwner,
  ) {
    // Removed even when the process ends through an uncaught error; only kill -9 leaves it behind.
    process.on("exit", this.onExit);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    process.off("exit", this.onExit);
    const lock = lockPathFor(this.tracePath);
    const current = readOwner(lock);
    if (current !== null && current.token !== this.owner.token) return;
    try {
      unlinkSync(lock);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
  }
}

/** The owner written in a lock file, or null when there is none (or it cannot be read as one). */
export function readOwner(lockPath: string): LockOwner | null {
  let text: string;
  try {
    text = readFileSync(lockPath, "utf8");
  } catch {
    return null;
  }
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
    if (typeof o.pid === "number" && Number.isInteger(o.pid) && o.pid > 0 && typeof o.host === "string" && typeof o.token === "string") {
      return { pid: o.pid, host: o.host, token: o.token };
    }
  } catch {
    // not JSON: treated as an owner nobody can check, below
  }
  return null;
}

/** True unless the owner is known to be gone: a process of this host that no longer exists. */
export function ownerAlive(owner: LockOwner): boolean {
  if (owner.host !== hostname()) return true; // another machine (a shared folder): cannot tell, assume it runs
  if (owner.pid === process.pid) return true;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

/** The live recording writing `tracePath`, or null when none is. */
export function liveWriter(tracePath: string): LockOwner | null {
  const owner = readOwner(lockPathFor(tracePath));
  return owner !== null && ownerAlive(owner) ? owner : null;
}

/**
 * Takes the lock of `tracePath`: the held lock, or the live owner when another recording holds it.
 * A stale lock (its process is gone) is taken over. File-system errors (no such folder, permission
 * denied, read-only) are thrown as they come, with their `code`.
 */
export function tryLockTrace(tracePath: string): TraceLock | LockOwner {
  const lock = lockPathFor(tracePath);
  const owner: LockOwner = { pid: process.pid, host: hostname(), token: randomBytes(8).toString("hex") };
  for (let attempt = 0; attempt < 5; attempt++) {
    if (createExclusive(lock, JSON.stringify(owner) + "\n")) return new TraceLock(tracePath, owner);
    const holder = readOwner(lock);
    if (holder === null) {
      // Unreadable or vanished: a lock is only ever written whole (see createExclusive), so this one
      // was either just released (retry) or is not ours to judge (report it as held, by nobody known).
      if (!exists(lock)) continue;
      return { pid: 0, host: "", token: "" };
    }
    if (ownerAlive(holder)) return holder;
    breakStale(lock, holder);
  }
  throw Object.assign(new Error(`${lock}: could not take the lock (it keeps changing hands)`), { code: "EBUSY" });
}

function exists(path: string): boolean {
  try {
    closeSync(openSync(path, "r"));
    return true;
  } catch {
    return false;
  }
}

/**
 * Creates `path` holding `text`, only if it does not exist; false if it does. The content is written
 * to a private file first and linked into place, so no reader ever sees a half-written lock; on file
 * systems without hard links it falls back to O_EXCL creation.
 */
function createExclusive(path: string, text: string): boolean {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  writeFileSync(tmp, text, { flag: "wx", mode: 0o644 });
  try {
    linkSync(tmp, path);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return false;
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "EXDEV") throw e;
  } finally {
    unlinkSync(tmp);
  }
  let fd: number;
  try {
    fd = openSync(path, "wx", 0o644);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw e;
  }
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Removes a stale lock without racing another process doing the same: the lock is moved aside
 * atomically, and if what was moved is not the stale one (someone took over in between), it is put back.
 */
function breakStale(lock: string, stale: LockOwner): void {
  const aside = `${lock}.${process.pid}.stale`;
  try {
    renameSync(lock, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
    throw e;
  }
  const moved = readOwner(aside);
  if (moved !== null && moved.token !== stale.token) {
    try {
      linkSync(aside, lock);
    } catch {
      // a third process holds the name now; the one moved aside loses it, as if it had just ended
    }
  }
  unlinkSync(aside);
}

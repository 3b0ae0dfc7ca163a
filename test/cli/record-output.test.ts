/**
 * `ttd record` and its output file: an output it cannot create is one line with exit status 2 (never a
 * stack trace); parallel recordings without -o get distinct names; a trace another recording is
 * writing is never replaced, even with --force; a lock left by a killed recording is taken over.
 * Everything runs the compiled CLI in real processes, several at once where the point is concurrency.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { hostname } from "node:os";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { beforeAll, describe, expect, test } from "vitest";
import { buildGuest, canBuildGuests, CLI, kernel, requireBuiltCli, sleep, tmpDir, ttd } from "../trace/helpers.js";
import { liveWriter, lockPathFor, TraceLock, tryLockTrace } from "../../src/trace/output-lock.js";

beforeAll(() => requireBuiltCli());

const IDLE_BUG = kernel("idle-bug.elf");
/** idle-bug ends through isa-debug-exit with status 35. */
const IDLE_BUG_STATUS = 35;
const IDLE_BUG_STEPS = 85_331;

/** One line on stderr starting with "ttd: ", nothing on stdout, exit status 2: the form of bad input. */
function expectOneLine(r: { status: number | null; stdout: string; stderr: string }, message: RegExp): void {
  expect(r.status, r.stderr).toBe(2);
  expect(r.stdout).toBe("");
  const lines = r.stderr.trimEnd().split("\n");
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^ttd: /);
  expect(lines[0]).toMatch(message);
}

/**
 * Runs the CLI so that file permissions apply: as root every folder is writable, so root runs it as
 * the unprivileged user `nobody` (uid 65534) when that user can read the CLI. Null when neither works.
 */
const unprivileged: { uid?: number; gid?: number } | null = (() => {
  if (process.getuid === undefined || process.getuid() !== 0) return {};
  const probe = spawnSync(process.execPath, [CLI, "--version"], { uid: 65534, gid: 65534, encoding: "utf8" });
  return probe.status === 0 ? { uid: 65534, gid: 65534 } : null;
})();

/** A temporary folder the unprivileged user can enter (mkdtemp makes it private to its owner). */
function sharedTmpDir(): string {
  const d = tmpDir();
  fs.chmodSync(d, 0o755);
  return d;
}

function ttdAs(user: { uid?: number; gid?: number }, args: string[], cwd: string) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: "utf8", timeout: 120_000, ...user });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("an output ttd record cannot create: one line, exit status 2", () => {
  test("-o into a folder that does not exist", () => {
    const dir = tmpDir();
    const out = path.join(dir, "missing", "x.trace");
    const r = ttd(["record", IDLE_BUG, "-o", out, "--no-progress"], { cwd: dir });
    expectOneLine(r, new RegExp(`${out.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: cannot create the trace: no such folder`));
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test("-o below a file", () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, "plain"), "x");
    const r = ttd(["record", IDLE_BUG, "-o", "plain/x.trace"], { cwd: dir });
    expectOneLine(r, /plain\/x\.trace: cannot create the trace: a parent is not a folder/);
  });

  test.skipIf(unprivileged === null)("-o into a read-only folder, and the default .ttd/ in a read-only folder", () => {
    const dir = sharedTmpDir();
    const ro = path.join(dir, "ro");
    fs.mkdirSync(ro, { mode: 0o555 });
    fs.chmodSync(ro, 0o555);
    const named = ttdAs(unprivileged!, ["record", IDLE_BUG, "-o", "ro/x.trace"], dir);
    expectOneLine(named, /ro\/x\.trace: cannot create the trace: permission denied/);
    const dflt = ttdAs(unprivileged!, ["record", IDLE_BUG], ro);
    expectOneLine(dflt, /\/ro\/\.ttd: cannot create the trace folder or a trace in it: permission denied/);
    // --json: the same error as one JSON object on stderr, still status 2.
    const json = ttdAs(unprivileged!, ["record", IDLE_BUG, "--json"], ro);
    expect(json.status).toBe(2);
    const obj = JSON.parse(json.stderr) as { reason: string; error: string; status: number; kernel: string };
    expect(obj).toMatchObject({ reason: "bad-input", status: 2, kernel: IDLE_BUG });
    expect(obj.error).toMatch(/permission denied/);
    expect(fs.readdirSync(ro)).toEqual([]);
  });
});

describe("concurrent recordings", () => {
  /** Starts `ttd record` and resolves with its status and stderr when it ends. */
  function recordAsync(args: string[], cwd: string): Promise<{ status: number | null; stderr: string }> {
    const child = spawn(process.execPath, [CLI, "record", ...args], { cwd, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    return new Promise((resolve) => child.on("close", (status) => resolve({ status, stderr })));
  }

  test("parallel recordings without -o each get their own numbered trace", async () => {
    const cwd = tmpDir();
    const n = 3;
    const results = await Promise.all(Array.from({ length: n }, () => recordAsync([IDLE_BUG, "--no-progress"], cwd)));
    for (const r of results) expect(r.status, r.stderr).toBe(IDLE_BUG_STATUS);
    const names = results.map((r) => /trace (\.ttd\/\S+\.trace):/.exec(r.stderr)?.[1]);
    expect(new Set(names).size).toBe(n);
    const files = fs.readdirSync(path.join(cwd, ".ttd")).sort();
    expect(files).toEqual([...Array.from({ length: n }, (_, i) => `idle-bug-${i + 1}.trace`), "latest"].sort());
    for (const name of names) {
      const info = JSON.parse(ttd(["info", name!, "--json"], { cwd }).stdout) as { steps: number; complete: boolean };
      expect(info).toMatchObject({ steps: IDLE_BUG_STEPS, complete: true });
    }
  }, 120_000);

  describe.skipIf(!canBuildGuests)("a trace being written", () => {
    /** Starts recording the never-ending guest into `out` and returns once its trace has committed steps. */
    async function startLong(out: string, cwd: string): Promise<{ child: ChildProcess; ended: Promise<number | null> }> {
      const child = spawn(process.execPath, [CLI, "record", buildGuest("forever"), "-o", out, "--no-progress"], { cwd, stdio: ["ignore", "ignore", "pipe"] });
      const ended = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
      const deadline = Date.now() + 60_000;
      while (!(fs.existsSync(out) && fs.existsSync(lockPathFor(out)) && fs.statSync(out).size > 0)) {
        if (Date.now() > deadline) throw new Error("the recording never started");
        await sleep(20);
      }
      return { child, ended };
    }

    test("--force is refused while another recording writes the trace; the recording goes on intact", async () => {
      const cwd = tmpDir();
      const out = path.join(cwd, "live.trace");
      const { child, ended } = await startLong(out, cwd);
      try {
        for (const extra of [[], ["--force"]]) {
          const r = ttd(["record", IDLE_BUG, "-o", out, ...extra], { cwd });
          expectOneLine(r, new RegExp(`live\\.trace: another recording \\(pid ${child.pid}\\) is writing it`));
        }
        const json = ttd(["record", IDLE_BUG, "-o", out, "--force", "--json"], { cwd });
        expect(json.status).toBe(2);
        expect(JSON.parse(json.stderr)).toMatchObject({ reason: "bad-input", status: 2 });
        expect(fs.existsSync(out)).toBe(true);
        expect(liveWriter(out)?.pid).toBe(child.pid);
      } finally {
        child.kill("SIGINT");
      }
      expect(await ended).toBe(130);
      // The first recording finalized its own trace and released the lock.
      const info = JSON.parse(ttd(["info", out, "--json"]).stdout) as { complete: boolean; end: { reason: string } };
      expect(info.complete).toBe(true);
      expect(info.end.reason).toBe("interrupted");
      expect(fs.existsSync(lockPathFor(out))).toBe(false);
    }, 120_000);

    test("a lock left by a killed recording is stale: --force replaces that trace", async () => {
      const cwd = tmpDir();
      const out = path.join(cwd, "killed.trace");
      const { child, ended } = await startLong(out, cwd);
      child.kill("SIGKILL");
      await ended;
      expect(fs.existsSync(lockPathFor(out))).toBe(true);
      expectOneLine(ttd(["record", IDLE_BUG, "-o", out], { cwd }), /killed\.trace: already exists; use --force/);
      const r = ttd(["record", IDLE_BUG, "-o", out, "--force", "--no-progress"], { cwd });
      expect(r.status, r.stderr).toBe(IDLE_BUG_STATUS);
      expect(JSON.parse(ttd(["info", out, "--json"]).stdout)).toMatchObject({ steps: IDLE_BUG_STEPS, complete: true });
      expect(fs.existsSync(lockPathFor(out))).toBe(false);
    }, 120_000);
  });
});

describe("the output lock", () => {
  test("held once: a second claim sees the live owner; released, it can be taken again", () => {
    const out = path.join(tmpDir(), "a.trace");
    const first = tryLockTrace(out);
    expect(first).toBeInstanceOf(TraceLock);
    const second = tryLockTrace(out);
    expect(second).not.toBeInstanceOf(TraceLock);
    expect((second as { pid: number }).pid).toBe(process.pid);
    (first as TraceLock).release();
    expect(fs.existsSync(lockPathFor(out))).toBe(false);
    const third = tryLockTrace(out);
    expect(third).toBeInstanceOf(TraceLock);
    (third as TraceLock).release();
  });

  test("a lock naming a process that has ended is taken over", () => {
    const out = path.join(tmpDir(), "b.trace");
    const gone = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
    const stale = { pid: Number(gone.stdout), host: hostname(), token: "dead" };
    fs.writeFileSync(lockPathFor(out), JSON.stringify(stale));
    expect(liveWriter(out)).toBeNull();
    const lock = tryLockTrace(out);
    expect(lock).toBeInstanceOf(TraceLock);
    expect(JSON.parse(fs.readFileSync(lockPathFor(out), "utf8")).pid).toBe(process.pid);
    (lock as TraceLock).release();
  });
});

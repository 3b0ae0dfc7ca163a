/**
 * `ttd gdbserver` as users run it (the compiled CLI): open the shipped demo bundle, print a gdb
 * command line that works when pasted, exit with --once; bad input gives one line and status 2.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { REPO, tmpDir } from "./helpers.js";

const CLI = path.join(REPO, "dist/cli/main.js");
const BUNDLE = path.join(REPO, "traces/idle-bug.ttdb");
const hasGdb = spawnSync("gdb", ["--version"], { stdio: "ignore" }).status === 0;

/** The CLI tests run the compiled ttd; `npm test` builds first. Stale output would test old code. */
function requireBuilt(): void {
  for (const src of ["src/cli/gdbserver.ts", ...fs.readdirSync(path.join(REPO, "src/gdb")).filter((f) => f.endsWith(".ts")).map((f) => `src/gdb/${f}`)]) {
    const js = path.join(REPO, "dist", src.slice(4).replace(/\.ts$/, ".js"));
    if (!fs.existsSync(js) || fs.statSync(js).mtimeMs < fs.statSync(path.join(REPO, src)).mtimeMs) {
      throw new Error(`${js} is missing or older than ${src}: run 'npm run build' first`);
    }
  }
}

let dir: string;
let env: NodeJS.ProcessEnv;

beforeAll(() => {
  requireBuilt();
  dir = tmpDir();
  // Bundle extraction and the ELF written for gdb go under the test's own folder.
  env = { ...process.env, TTD_CACHE_DIR: path.join(dir, "cache"), TMPDIR: dir };
});

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** Starts the server and resolves with the gdb command line it prints. */
function startServer(args: string[]): Promise<{ child: ChildProcess; gdbLine: string; out: () => string; exit: Promise<number | null> }> {
  const child = spawn(process.execPath, [CLI, "gdbserver", ...args], { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const exit = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no gdb command line printed:\n${out}`)), 30_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /^ {2}(gdb .*)$/m.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        resolve({ child, gdbLine: m[1], out: () => out, exit });
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    child.on("error", reject);
  });
}

describe("ttd gdbserver", () => {
  it.skipIf(!hasGdb)("serves a bundle; the printed gdb command works as pasted, sources included", async () => {
    const { gdbLine, out, exit } = await startServer([BUNDLE, "--once"]);
    expect(gdbLine).toMatch(/^gdb -ex 'set architecture i386' -ex 'directory .*sources' -ex 'target remote 127\.0\.0\.1:\d+' \S+idle-bug\.elf$/);
    // Paste it, with batch mode in front and a few commands after.
    const cmd = gdbLine.replace(/^gdb /, "gdb -batch -nx ") + " -ex 'reverse-stepi' -ex 'list idle_thread' -ex 'continue'";
    const gdb = spawnSync("sh", ["-c", cmd], { cwd: dir, env, encoding: "utf8", timeout: 60_000 });
    const text = gdb.stdout + gdb.stderr;
    expect(text).toContain("No more reverse-execution history.");
    // The source came from the bundle: gdb runs in an empty folder.
    expect(text).toMatch(/__asm__ volatile\("hlt"\);/);
    expect(text).toMatch(/machine_exit/);
    expect(await exit).toBe(0);
    expect(out()).toMatch(/client 127\.0\.0\.1:\d+ connected/);
  });

  it.skipIf(!hasGdb)("monitor explain prints ttd explain's narrative: the crash back to its root", async () => {
    const { gdbLine, exit } = await startServer([BUNDLE, "--once"]);
    const cmd = gdbLine.replace(/^gdb /, "gdb -batch -nx ") + " -ex 'monitor explain' -ex 'monitor help'";
    const gdb = spawnSync("sh", ["-c", cmd], { cwd: dir, env, encoding: "utf8", timeout: 60_000 });
    const text = gdb.stdout + gdb.stderr;
    expect(text).toContain("Crash: #GP(0x200) at step 61,891: `iret` in restore_user_context+0x3e");
    expect(text).toContain("Root: step 61,750, `push %ebp` in idle_thread at src/kernel/idle.c:29");
    expect(text).toContain("monitor explain [here]");
    expect(await exit).toBe(0);
  });

  it("bad input: one line naming it, status 2", () => {
    const run = (args: string[]) => spawnSync(process.execPath, [CLI, "gdbserver", ...args], { cwd: dir, env, encoding: "utf8" });
    const missing = run([path.join(dir, "nope.trace")]);
    expect(missing.status).toBe(2);
    expect(missing.stderr.trim()).toBe(`ttd: ${path.join(dir, "nope.trace")}: no such file`);
    const none = run([]);
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/no trace given/);
    const port = run([BUNDLE, "--port", "70000"]);
    expect(port.status).toBe(2);
    expect(port.stderr).toMatch(/--port expects a TCP port/);
    const at = run([BUNDLE, "--at", "x"]);
    expect(at.status).toBe(2);
    expect(at.stderr).toMatch(/--at expects a step from 0 to \d+/);
  });

  it("a port in use is refused with the port named", async () => {
    const first = await startServer([BUNDLE]);
    const port = /target remote 127\.0\.0\.1:(\d+)/.exec(first.gdbLine)![1];
    const second = spawnSync(process.execPath, [CLI, "gdbserver", BUNDLE, "--port", port], { cwd: dir, env, encoding: "utf8" });
    expect(second.status).toBe(2);
    expect(second.stderr).toContain(`port ${port} on 127.0.0.1 is already in use`);
    first.child.kill("SIGINT");
    expect(await first.exit).toBe(0);
  });
});

/**
 * `ttd run` / `ttd record` input from outside, from the command line: a piped script and
 * --input-file give the same run; binary junk is delivered as bytes (COM1) or dropped where no key
 * types it (keyboard), never a crash; bad input is one line and status 2.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import { CLI, requireBuiltCli, tmpDir, ttd } from "../trace/helpers.js";
import { buildCGuest, canBuildC } from "../machine/c-guests.js";

const SCRIPT = "sum 1 2 39\nrev abc\nquit\n";

function ttdWithStdin(args: string[], stdin: string | Buffer | "devnull"): { status: number | null; stdout: string; stderr: string } {
  const input = stdin === "devnull" ? fs.openSync("/dev/null", "r") : "pipe";
  // A real pipe(2) on stdin, as a shell pipeline gives (node's own stdio pipes are sockets).
  const r = stdin === "devnull"
    ? spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", stdio: [input, "pipe", "pipe"], timeout: 120_000 })
    : spawnSync("sh", ["-c", `exec "$0" "$@" < "$TTD_IN"`, process.execPath, CLI, ...args], {
        encoding: "utf8", timeout: 120_000, env: { ...process.env, TTD_IN: writeTemp(stdin) },
      });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

let tmp = "";
function writeTemp(data: string | Buffer): string {
  const p = path.join(tmp, `stdin-${Math.random().toString(36).slice(2)}`);
  fs.writeFileSync(p, data);
  return p;
}

describe.skipIf(!canBuildC)("input options of run and record", () => {
  let elf = "";
  beforeAll(() => {
    requireBuiltCli();
    tmp = tmpDir();
    elf = buildCGuest("input-shell");
  });

  test("stdin as a file and --input-file: the same output, the same steps; --rtc sets the clock", () => {
    const file = writeTemp(SCRIPT + "");
    const a = ttd(["run", elf, "--input-file", file, "--json"]);
    const b = ttdWithStdin(["run", elf, "--json"], SCRIPT);
    expect(a.stdout).toContain("sum=42\n");
    expect(a.stdout).toContain("cba\n");
    expect(b.stdout).toBe(a.stdout);
    expect(JSON.parse(b.stderr).steps).toBe(JSON.parse(a.stderr).steps);
    expect(a.status).toBe(1); // quit: isa-debug-exit 0
    const date = ttd(["run", elf, "--input-file", writeTemp("date\nquit\n"), "--rtc", "2031-02-03T04:05:06"]);
    expect(date.stdout).toContain("2031-02-03 04:05:06\n");
  }, 120_000);

  test("a pipe that is slow to write: the bytes enter at the same steps", () => {
    const r = spawnSync("sh", ["-c", `(sleep 0.3; printf 'sum 1 2 39\\n'; sleep 0.3; printf 'rev abc\\nquit\\n') | exec "$0" "$@"`, process.execPath, CLI, "run", elf, "--json"], { encoding: "utf8", timeout: 120_000 });
    const fast = ttd(["run", elf, "--input-file", writeTemp(SCRIPT), "--json"]);
    expect(r.stdout).toBe(fast.stdout);
    expect(JSON.parse(r.stderr).steps).toBe(JSON.parse(fast.stderr).steps);
  }, 120_000);

  test("binary junk is delivered as bytes, never a crash (COM1 and keyboard)", () => {
    const junk = Buffer.alloc(1000);
    let x = 12345;
    for (let i = 0; i < junk.length; i++) junk[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
    const file = writeTemp(junk);
    for (const extra of [[], ["--input", "keyboard"]]) {
      const r = ttd(["record", elf, "--input-file", file, "--max-steps", "1000000", "-o", path.join(tmp, `junk${extra.length}.trace`), "--no-progress", ...extra]);
      expect(r.stderr).not.toMatch(/^\s+at /m);
      expect([1, 4]).toContain(r.status);
      const info = ttd(["info", path.join(tmp, `junk${extra.length}.trace`), "--json"]);
      expect(JSON.parse(info.stdout).input.events).toBeGreaterThan(0);
    }
  }, 180_000);

  test("bad input: a missing input file, --input keyboard with no usable stdin, a bad --input or --rtc", () => {
    const missing = ttd(["record", elf, "--input-file", path.join(tmp, "no-such-input"), "-o", path.join(tmp, "x.trace")]);
    expect(missing.status).toBe(2);
    expect(missing.stderr.trim().split("\n")).toHaveLength(1);
    expect(missing.stderr).toMatch(/no-such-input: no such file \(--input-file\)/);
    expect(fs.existsSync(path.join(tmp, "x.trace"))).toBe(false);

    const kbd = ttdWithStdin(["run", elf, "--input", "keyboard"], "devnull");
    expect(kbd.status).toBe(2);
    expect(kbd.stderr.trim()).toBe("ttd: --input keyboard: stdin is not a terminal, a pipe or a file; give --input-file");

    const where = ttd(["run", elf, "--input", "mouse"]);
    expect(where.status).toBe(2);
    expect(where.stderr).toMatch(/--input mouse: must be com1, keyboard or none/);
    const rtc = ttd(["run", elf, "--rtc", "yesterday"]);
    expect(rtc.status).toBe(2);
    expect(rtc.stderr).toMatch(/--rtc yesterday: not a time/);
    const delay = ttd(["run", elf, "--input-delay", "0", "--input-file", writeTemp("x")]);
    expect(delay.status).toBe(2);
  }, 120_000);
});

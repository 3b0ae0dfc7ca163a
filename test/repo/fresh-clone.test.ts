/**
 * SLOW (several minutes: `npm ci`, which may compile better-sqlite3, then a build and a test subset).
 *
 * The repository is self-contained: a clone of the committed HEAD, made into a temporary folder that
 * holds nothing else (so no sibling folder can be read by accident), installs with `npm ci`, builds,
 * runs `ttd demo` and a fast subset of the suites (guests, CLI, demo bundles, sources), and nothing
 * it prints names a path outside the clone: not this checkout, not a sibling folder. The suites'
 * temporary files go to a folder inside the temporary one, and afterwards the clone's tracked files
 * are unchanged and nothing was written beside it.
 *
 * Set TTD_SKIP_FRESH_CLONE=1 to skip it while iterating locally; CI runs it.
 */
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const REPO = path.resolve(fileURLToPath(new URL("../..", import.meta.url)));

/** The suites run inside the clone: quick ones that touch the workload guests, the CLI and the demo. */
const SUBSET = [
  "test/guests/workload.test.ts",
  "test/cli/run.test.ts",
  "test/symbols/workload.test.ts",
  "test/bundle/sources-near-elf.test.ts",
  "test/bundle/samples.test.ts",
];

function git(args: string[], cwd: string): SpawnSyncReturns<string> {
  return spawnSync("git", args, { cwd, encoding: "utf8" });
}

function whySkip(): string | null {
  if (process.env.TTD_SKIP_FRESH_CLONE) return "TTD_SKIP_FRESH_CLONE is set";
  const r = git(["rev-parse", "HEAD"], REPO);
  if (r.error) return "git is not installed";
  if (r.status !== 0) return `${REPO} is not a git checkout`;
  return null;
}

const skip = whySkip();
const title = skip === null ? "a fresh clone (slow)" : `a fresh clone (slow; SKIPPED: ${skip})`;

describe.skipIf(skip !== null)(title, () => {
  let outer = "", clone = "", tmp = "";
  const env: NodeJS.ProcessEnv = {};
  beforeAll(() => {
    outer = fs.mkdtempSync(path.join(os.tmpdir(), "ttd-fresh-clone-"));
    clone = path.join(outer, "ttd");
    tmp = path.join(outer, "tmp");
    // The environment of a new user: nothing pointing at other guests, temporary files kept here.
    Object.assign(env, process.env, { TMPDIR: tmp, TTD_CACHE_DIR: path.join(tmp, "ttd-cache"), CI: "1" });
    for (const k of Object.keys(env)) if (k.startsWith("VITEST") || k.startsWith("TTD_") || k === "NODE_OPTIONS") delete env[k];
    env.TTD_CACHE_DIR = path.join(tmp, "ttd-cache");
  });
  afterAll(() => {
    if (outer !== "") fs.rmSync(outer, { recursive: true, force: true });
  });

  const output: string[] = [];
  function run(cmd: string, args: string[], timeoutMs: number): SpawnSyncReturns<string> {
    const r = spawnSync(cmd, args, { cwd: clone, env, encoding: "utf8", timeout: timeoutMs, maxBuffer: 1 << 28, killSignal: "SIGKILL" });
    output.push(`$ ${cmd} ${args.join(" ")}\n${r.stdout ?? ""}${r.stderr ?? ""}`);
    return r;
  }
  const tail = (r: SpawnSyncReturns<string>) => `${r.error ?? ""}\n${(r.stdout ?? "").slice(-3000)}\n${(r.stderr ?? "").slice(-3000)}`;

  it("clones the committed HEAD into a folder with nothing beside it", () => {
    const head = git(["rev-parse", "HEAD"], REPO).stdout.trim();
    fs.mkdirSync(tmp);
    const c = git(["clone", "--quiet", "--no-checkout", "--no-hardlinks", REPO, clone], outer);
    expect(c.status, c.stderr).toBe(0);
    const co = git(["checkout", "--quiet", "--detach", head], clone);
    expect(co.status, co.stderr).toBe(0);
    expect(fs.readdirSync(outer).sort()).toEqual(["tmp", "ttd"]);
    expect(fs.existsSync(path.join(outer, "shared"))).toBe(false);
  });

  it("installs with npm ci", () => {
    // Usually a few minutes; compiling better-sqlite3 on a busy machine can take much longer.
    const r = run("npm", ["ci", "--no-audit", "--no-fund"], 2_700_000);
    expect(r.status, tail(r)).toBe(0);
  }, 2_760_000);

  it("builds, and ttd demo answers from the clone", () => {
    const b = run("npm", ["run", "build"], 300_000);
    expect(b.status, tail(b)).toBe(0);
    const d = run(process.execPath, ["dist/cli/main.js", "demo"], 300_000);
    expect(d.status, tail(d)).toBe(0);
    expect(d.stdout).toContain("The demo kernel crashed");
    expect(d.stdout).toContain("traces/idle-bug.ttdb");
    expect(d.stdout).toMatch(/idle\.c:29/);
  }, 660_000);

  it("passes a fast subset of the suites", () => {
    const r = run(process.execPath, ["node_modules/vitest/vitest.mjs", "run", ...SUBSET, "--maxWorkers=1"], 1_800_000);
    expect(r.status, tail(r)).toBe(0);
    const all = `${r.stdout}${r.stderr}`.replace(/\x1b\[[0-9;]*m/g, "");
    expect(all).toMatch(new RegExp(`Test Files\\s+${SUBSET.length} passed`));
    expect(all).not.toMatch(/skipped/i);
  }, 1_860_000);

  it("printed no path outside the clone and left nothing beside it", () => {
    const text = output.join("\n");
    // Not this checkout, nor anything beside it (its parent folder), nor a relative path climbing out.
    // (The parent is left out when it is the home or root folder, which npm's own messages may name.)
    const parent = path.dirname(REPO);
    const forbidden = parent === os.homedir() || parent === path.parse(parent).root ? [REPO] : [REPO, parent + path.sep];
    for (const p of forbidden) expect(text.includes(p), `the output names ${p}`).toBe(false);
    expect(text).not.toMatch(/(^|[\s'"`(])\.\.\/[A-Za-z]/m);
    expect(fs.readdirSync(outer).sort()).toEqual(["tmp", "ttd"]);
    const changed = git(["status", "--porcelain", "--untracked-files=no"], clone);
    expect(changed.stdout, "tracked files changed by the build or the tests").toBe("");
  });
});

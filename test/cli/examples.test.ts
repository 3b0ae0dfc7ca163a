/**
 * Every example in README.md and in each command's --help runs as written. Examples are the `ttd ...`
 * lines of README's code blocks and the indented `ttd ...` lines of the help texts. Each source's
 * examples run in order (a later one may use what an earlier one recorded) through `sh -c`, in a
 * fresh folder holding what a clone has at those paths (src/kernel, src/guests/linux-hello and
 * traces/), with `ttd` on PATH as `npm link` puts it: a user pasting them from the clone's root gets
 * the same.
 *
 * gdbserver examples are started and stopped (they serve until Ctrl-C); tui examples need a terminal,
 * so they must get as far as asking for one: the recording opened and --at parsed. Everything else
 * must end with status 0, or for run and record, a status the guest chose (not 1 or 2).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { spawn, spawnSync } from "node:child_process";
import { beforeAll, describe, expect, test } from "vitest";
import { CLI, REPO, requireBuiltCli, tmpDir } from "../trace/helpers.js";

beforeAll(() => requireBuiltCli());

/** The `ttd` commands in a README's code blocks (fenced, or indented four spaces), in order. */
function readmeExamples(markdown: string): string[] {
  const commands: string[] = [];
  let fenced = false;
  for (const line of markdown.split("\n")) {
    if (/^```/.test(line)) {
      fenced = !fenced;
      continue;
    }
    const code = fenced ? line : /^ {4}/.test(line) ? line.slice(4) : null;
    if (code === null) continue;
    // A line may chain commands (`npm install && npx ttd demo`): the ttd ones are examples.
    for (const part of code.split("&&").map((p) => p.trim())) if (/^(npx )?ttd\s/.test(part)) commands.push(part.replace(/^npx /, ""));
  }
  return commands;
}

/** The indented `ttd ...` lines of a help text, in order. */
function helpExamples(help: string): string[] {
  return help.split("\n").filter((l) => /^\s+ttd\s/.test(l)).map((l) => l.trim());
}

/** A folder laid out as a clone is at the paths examples name, plus `bin/ttd` as `npm link` makes it. */
function freshClone(): { dir: string; env: NodeJS.ProcessEnv } {
  const dir = tmpDir();
  fs.cpSync(path.join(REPO, "src", "kernel"), path.join(dir, "src", "kernel"), { recursive: true });
  fs.cpSync(path.join(REPO, "traces"), path.join(dir, "traces"), { recursive: true });
  fs.cpSync(path.join(REPO, "src", "guests", "linux-hello"), path.join(dir, "src", "guests", "linux-hello"), { recursive: true });
  const bin = path.join(dir, ".bin");
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(bin, "ttd"), `#!/bin/sh\nexec '${process.execPath}' '${CLI}' "$@"\n`, { mode: 0o755 });
  fs.mkdirSync(path.join(dir, ".tmp"));
  const env = {
    ...process.env,
    PATH: `${bin}${path.delimiter}${process.env.PATH ?? ""}`,
    // Bundles extract and gdbserver writes the image for gdb inside the folder, not in the user's cache.
    TTD_CACHE_DIR: path.join(dir, ".cache"),
    TMPDIR: path.join(dir, ".tmp"),
  };
  return { dir, env };
}

interface Outcome {
  ok: boolean;
  why: string;
}

const TTY_REQUIRED = "ttd: tui: needs an interactive terminal (stdin and stdout must be a TTY)";

/** Runs one example as a shell would and judges it (see the file comment). */
async function runExample(example: string, cwd: string, env: NodeJS.ProcessEnv): Promise<Outcome> {
  const command = /^ttd\s+(\S+)/.exec(example)?.[1] ?? "";
  if (command === "gdbserver") return serveAndStop(example, cwd, env);
  const r = spawnSync("sh", ["-c", example], { cwd, env, encoding: "utf8", timeout: 180_000, maxBuffer: 1 << 28, stdio: ["ignore", "pipe", "pipe"] });
  const said = `status ${r.status}${r.signal ? ` (signal ${r.signal})` : ""}; stderr: ${r.stderr.slice(0, 2000)}`;
  if (/^\s+at .+:\d+:\d+\)?$/m.test(r.stderr)) return { ok: false, why: `a stack trace: ${said}` };
  if (command === "tui") {
    // Without a terminal it must fail for that reason alone, after opening the recording and --at.
    return r.status === 2 && r.stderr.trim() === TTY_REQUIRED ? { ok: true, why: "" } : { ok: false, why: said };
  }
  if (command === "run" || command === "record") {
    return r.status !== null && r.status !== 1 && r.status !== 2 ? { ok: true, why: "" } : { ok: false, why: said };
  }
  return r.status === 0 ? { ok: true, why: "" } : { ok: false, why: said };
}

/** Starts a gdbserver example, waits for the gdb command line it prints, stops it with Ctrl-C (status 0). */
function serveAndStop(example: string, cwd: string, env: NodeJS.ProcessEnv): Promise<Outcome> {
  // exec: the signal goes to ttd itself, not to the shell around it.
  const child = spawn("sh", ["-c", `exec ${example}`], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => {
    out += d.toString();
    if (/^ {2}gdb .*target remote /m.test(out)) child.kill("SIGINT");
  });
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
  return new Promise((resolve) =>
    child.on("close", (status, signal) => {
      clearTimeout(timer);
      const served = /^ {2}gdb .*target remote /m.test(out);
      resolve(served && status === 0 ? { ok: true, why: "" } : { ok: false, why: `status ${status} ${signal ?? ""}; output: ${out.slice(0, 2000)}` });
    }),
  );
}

/** Runs examples in order in one fresh clone; the ones that failed, with why. */
async function runAll(examples: string[]): Promise<string[]> {
  const { dir, env } = freshClone();
  const failed: string[] = [];
  for (const example of examples) {
    const o = await runExample(example, dir, env);
    if (!o.ok) failed.push(`${example}\n    ${o.why}`);
  }
  return failed;
}

function help(args: string[]): string {
  const r = spawnSync(process.execPath, [CLI, ...args, "--help"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ttd ${args.join(" ")} --help: status ${r.status}\n${r.stderr}`);
  return r.stdout;
}

/** The command names `ttd --help` lists (so a new command's examples are run without editing this file). */
function commandNames(): string[] {
  const text = help([]);
  const list = text.slice(text.indexOf("Commands:")).split(/\n\s*\n/)[0];
  return [...list.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)].map((m) => m[1]).filter((c) => c !== "help");
}

describe("examples as users paste them", () => {
  test("the runner catches broken examples (so the checks below can fail)", async () => {
    const broken = [
      "ttd print no_such_symbol --trace traces/idle-bug.ttdb",
      "ttd info traces/no-such.ttdb",
      "ttd record src/kernel/build/no-such.elf",
      "ttd tui traces/idle-bug.ttdb --at 99999999",
      "ttd gdbserver traces/no-such.ttdb",
      "ttd log traces/idle-bug.ttdb --count 3 (a comment a shell cannot parse)",
    ];
    const failed = await runAll(broken);
    expect(failed.map((f) => f.split("\n")[0])).toEqual(broken);
    // And a working one passes.
    expect(await runAll(["ttd info traces/idle-bug.ttdb"])).toEqual([]);
  }, 300_000);

  test("README.md", async () => {
    const examples = readmeExamples(fs.readFileSync(path.join(REPO, "README.md"), "utf8"));
    expect(examples.length).toBeGreaterThanOrEqual(6);
    expect(examples).toContain("ttd demo");
    const failed = await runAll(examples);
    expect(failed, failed.join("\n")).toEqual([]);
  }, 600_000);

  const commands = commandNames();
  test("ttd --help lists every command", () => {
    expect(commands).toEqual(expect.arrayContaining(["demo", "run", "record", "info", "log", "why-write", "history", "print", "tui", "gdbserver", "pack"]));
  });

  test.each([[""], ...commands.map((c) => [c])])("ttd %s --help", async (command) => {
    const examples = helpExamples(help(command === "" ? [] : [command]));
    expect(examples.length, `no examples in ttd ${command} --help`).toBeGreaterThan(0);
    const failed = await runAll(examples);
    expect(failed, failed.join("\n")).toEqual([]);
  }, 600_000);
});

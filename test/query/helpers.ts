/** Shared fixtures for the query tests: guests, recording through the real CLI, opening traces. */
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { openRecording, type Recording } from "../../src/bundle/open.js";
import { QueryContext } from "../../src/query/context.js";
import { testTmpDir } from "../tmp-dirs.js";

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(here, "../..");
export const CLI = path.join(REPO, "dist/cli/main.js");
export const FIXTURES = path.join(here, "fixtures");

export const kernel = (name: string) => path.join(REPO, "src/kernel/build", name);
export const fixture = (name: string) => path.join(FIXTURES, name);

/** A fresh temporary directory, removed when the test file has finished (see tmp-dirs.ts). */
export function tmpDir(): string {
  return testTmpDir("ttd-query-test-");
}

/**
 * The CLI tests run the compiled `ttd`. `npm test` builds first; when a suite runs alone against an
 * older build, fail clearly instead of testing stale code.
 */
export function requireBuiltCli(): void {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' first`);
  // The query layer and the commands that print it (other commands change under other work).
  const sources = [
    ...fs.readdirSync(path.join(REPO, "src/query")).filter((x) => x.endsWith(".ts")).map((f) => `query/${f}`),
    "cli/why-write.ts", "cli/history.ts", "cli/open-recording.ts", "cli/step-option.ts", "cli/errors.ts",
  ];
  for (const rel of sources) {
    const src = path.join(REPO, "src", rel);
    const js = path.join(REPO, "dist", rel.replace(/\.ts$/, ".js"));
    if (!fs.existsSync(js) || fs.statSync(js).mtimeMs < fs.statSync(src).mtimeMs) {
      throw new Error(`dist is older than src/${rel}: run 'npm run build' first`);
    }
  }
}

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the compiled CLI from the repository root (so source files are found by their DWARF paths). */
export function ttd(args: string[], opts: { cwd?: string } = {}): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: opts.cwd ?? REPO, encoding: "utf8", timeout: 120_000, maxBuffer: 1 << 28 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs the CLI and parses its one JSON line; fails the test with stderr when the command failed. */
export function ttdJson<T>(args: string[]): T {
  const r = ttd([...args, "--json"]);
  if (r.status !== 0) throw new Error(`ttd ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** Records `elf` with `ttd record` (and `args`, e.g. --input-file) into a fresh temporary file; returns the trace's path. */
export function record(elf: string, args: string[] = []): string {
  const out = path.join(tmpDir(), `${path.basename(elf, ".elf")}.trace`);
  const r = ttd(["record", elf, "-o", out, ...args]);
  if (!fs.existsSync(out)) throw new Error(`ttd record ${elf} made no trace (exit ${r.status}): ${r.stderr}`);
  return out;
}

/** Opens a trace as the commands do, with sources looked up from the repository root. */
export function open(tracePath: string): { recording: Recording; ctx: QueryContext } {
  const recording = openRecording(tracePath, { cwd: REPO });
  return { recording, ctx: QueryContext.fromRecording(recording) };
}

/** The 1-based number of the first line of `file` containing `text` (throws when absent). */
export function lineOf(file: string, text: string, after = 0): number {
  const lines = fs.readFileSync(file, "utf8").split("\n");
  for (let i = after; i < lines.length; i++) if (lines[i].includes(text)) return i + 1;
  throw new Error(`${file}: no line containing ${JSON.stringify(text)}`);
}

/**
 * Field names of a JSON object as docs/queries.md documents them: the first column of the table
 * under the heading `#### <title>`. Tests compare them with real output, so docs and code agree.
 */
export function documentedFields(title: string): string[] {
  const lines = fs.readFileSync(path.join(REPO, "docs/queries.md"), "utf8").split("\n");
  const at = lines.findIndex((l) => l.trim() === `#### ${title}`);
  if (at < 0) throw new Error(`docs/queries.md has no heading '#### ${title}'`);
  const fields: string[] = [];
  let i = at + 1;
  while (i < lines.length && !lines[i].startsWith("|")) i++;
  for (i += 2; i < lines.length && lines[i].startsWith("|"); i++) {
    const m = /^\|\s*`([A-Za-z]+)`/.exec(lines[i]);
    if (m) fields.push(m[1]);
  }
  if (fields.length === 0) throw new Error(`docs/queries.md: no fields under '#### ${title}'`);
  return fields.sort();
}

/** Sorted keys of a JSON object (for comparing with documentedFields). */
export function keysOf(o: unknown): string[] {
  return Object.keys(o as object).sort();
}

/** A little-endian number from a JSON hex string such as "0xe0103461". */
export function num(hexString: string | null): number {
  if (hexString === null) throw new Error("expected a value, got null");
  return Number(hexString);
}

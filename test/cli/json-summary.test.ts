/**
 * `--json` on `run` and `record`: the summary is one JSON object on stderr on every path, bad input
 * included (exit status still 2).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import { kernel, requireBuiltCli, tmpDir, ttd } from "../trace/helpers.js";

beforeAll(() => requireBuiltCli());

const IDLE_BUG = kernel("idle-bug.elf");

/** stderr must be exactly one JSON object (one line), which is returned. */
function stderrJson(r: { stderr: string }): Record<string, unknown> {
  const lines = r.stderr.trimEnd().split("\n");
  expect(lines, r.stderr).toHaveLength(1);
  return JSON.parse(lines[0]) as Record<string, unknown>;
}

describe.each(["run", "record"])("ttd %s --json", (command) => {
  const badInputs: [string, (dir: string) => string[], RegExp][] = [
    ["a missing kernel", (dir) => [path.join(dir, "nope.elf")], /nope\.elf: no such file/],
    ["a file that is not an ELF", (dir) => { const p = path.join(dir, "text.elf"); fs.writeFileSync(p, "hello\n"); return [p]; }, /text\.elf: .*not an ELF/],
    ["a bad option value", () => [IDLE_BUG, "--max-steps", "lots"], /--max-steps expects a positive integer, got 'lots'/],
    ["an unknown option", () => [IDLE_BUG, "--bogus"], /unknown option '--bogus'/],
    ["no kernel at all", () => [], /missing required argument 'kernel'/],
  ];
  for (const [what, args, message] of badInputs) {
    test(`${what}: one JSON object on stderr, exit status 2`, () => {
      const dir = tmpDir();
      const r = ttd([command, ...args(dir), "--json"], { cwd: dir });
      expect(r.status).toBe(2);
      expect(r.stdout).toBe("");
      const obj = stderrJson(r);
      expect(obj.reason).toBe("bad-input");
      expect(obj.status).toBe(2);
      expect(obj.error).toMatch(message);
      // The same input without --json: the plain line.
      const plain = ttd([command, ...args(dir)], { cwd: dir });
      expect(plain.status).toBe(2);
      expect(plain.stderr).toMatch(message);
      expect(() => JSON.parse(plain.stderr)).toThrow();
    });
  }
});

describe("ttd record --json", () => {
  test("the summary: the same steps and guest status as run --json, the trace written, no progress lines", () => {
    const dir = tmpDir();
    const run = stderrJson(ttd(["run", IDLE_BUG, "--json"]));
    const r = ttd(["record", IDLE_BUG, "-o", "t.trace", "--json"], { cwd: dir });
    expect(r.status).toBe(35);
    const obj = stderrJson(r);
    expect(obj).toMatchObject({ kernel: IDLE_BUG, trace: "t.trace", reason: "exit", exitStatus: 35, steps: run.steps, status: 35, unimplemented: null });
    expect(run.status).toBe(35);
    expect(obj.fileBytes).toBe(fs.statSync(path.join(dir, "t.trace")).size);
    const info = JSON.parse(ttd(["info", "t.trace", "--json"], { cwd: dir }).stdout) as { steps: number };
    expect(info.steps).toBe(run.steps);
  });

  test("an existing output is bad input, as JSON", () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, "t.trace"), "precious");
    const r = ttd(["record", IDLE_BUG, "-o", "t.trace", "--json"], { cwd: dir });
    expect(r.status).toBe(2);
    expect(stderrJson(r)).toMatchObject({ reason: "bad-input", error: "t.trace: already exists; use --force to overwrite it", kernel: IDLE_BUG });
    expect(fs.readFileSync(path.join(dir, "t.trace"), "utf8")).toBe("precious");
  });
});

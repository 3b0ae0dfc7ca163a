/**
 * Every command's --help (and `ttd --help`) has an "Exit status" section saying what each status means
 * for that command; and tui reports a bad recording or --at before it asks for a terminal.
 */
import * as path from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import { REPO, requireBuiltCli, tmpDir, ttd } from "../trace/helpers.js";

beforeAll(() => requireBuiltCli());

describe("exit statuses in --help", () => {
  /** The lines of the "Exit status" part of a help text (up to the next blank line). */
  function exitSection(help: string): string {
    const at = help.search(/^Exit status/m);
    expect(at, help).toBeGreaterThanOrEqual(0);
    return help.slice(at).split(/\n\s*\n/)[0];
  }

  test.each([
    [[], [/\b0 when/, /\b2 for bad input/, /\b1 for an internal error/]],
    [["demo"], [/\b0 when the answer is printed/, /\b2 for bad input/]],
    [["run"], [/\b0 +the guest halted/, /\b2 +bad input/, /\b4 +--max-steps/, /\b6 +triple fault/, /\b130 +interrupted/]],
    [["record"], [/\b0 +the guest halted/, /\b2 +bad input/, /another recording is writing/, /\b130 +interrupted/]],
    [["log"], [/\b0 when/, /\b2 for bad input/]],
    [["why-write"], [/\b0 when answered/, /\b2 for bad input/]],
    [["history"], [/\b0 when listed/, /\b2 for bad input/]],
    [["print"], [/\b0 when printed/, /\b2 for bad/]],
    [["tui"], [/\b0 after q/, /\b2 for bad input/, /not a terminal/]],
    [["gdbserver"], [/\b0 after Ctrl-C/, /\b2 for bad input/]],
    [["pack"], [/\b0 when packed/, /\b2 for bad input/]],
    [["explain"], [/\b0 when explained/, /\b2 for bad input/]],
    [["diff"], [/\b0 when compared/, /\b2 for bad input/, /--context that is not a positive number/]],
    [["screen"], [/\b0 when printed/, /\b2 for bad input/]],
    [["find-output"], [/\b0 when found/, /\b3 when the text was never printed/, /\b2 for bad input/]],
  ])("ttd %s --help", (cmd, expected) => {
    const r = ttd([...cmd, "--help"]);
    expect(r.status).toBe(0);
    const section = exitSection(r.stdout);
    for (const re of expected) expect(section).toMatch(re);
  });

  test("tui checks the recording and --at before it asks for a terminal", () => {
    const bundle = path.join(REPO, "traces", "idle-bug.ttdb");
    const env = { cwd: tmpDir() };
    const past = ttd(["tui", bundle, "--at", "99999999"], env);
    expect(past.status).toBe(2);
    expect(past.stderr).toMatch(/--at 99999999: step out of range/);
    const ok = ttd(["tui", bundle, "--at", "fault"], env);
    expect(ok.status).toBe(2);
    expect(ok.stderr.trim()).toBe("ttd: tui: needs an interactive terminal (stdin and stdout must be a TTY)");
  });
});

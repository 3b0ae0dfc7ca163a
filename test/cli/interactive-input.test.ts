/**
 * Typing into a recording, in a real terminal: `ttd record` of the input-shell guest in a detached
 * tmux session, keys sent with send-keys (to COM1, and to the keyboard with --input keyboard),
 * Ctrl-A h for help, Ctrl-A x to stop; then the trace is complete and `ttd find-output` finds the
 * typed command's answer at a step after the keys entered.
 */
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { CLI, requireBuiltCli, tmpDir, ttd } from "../trace/helpers.js";
import { buildCGuest, canBuildC } from "../machine/c-guests.js";

const SOCKET = `ttd-input-test-${process.pid}`;
const hasTmux = (() => {
  try {
    execFileSync("tmux", ["-V"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

function tmux(...args: string[]): string {
  return execFileSync("tmux", ["-L", SOCKET, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

async function waitFor(session: string, re: RegExp, timeoutMs = 30_000): Promise<string> {
  const end = Date.now() + timeoutMs;
  let s = "";
  while (Date.now() < end) {
    s = tmux("capture-pane", "-p", "-t", session);
    if (re.test(s)) return s;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`screen never matched ${re}:\n${s}`);
}

describe.skipIf(!hasTmux || !canBuildC)("interactive input in a terminal", () => {
  let dir: string;
  let elf: string;
  beforeAll(() => {
    requireBuiltCli();
    dir = tmpDir();
    elf = buildCGuest("input-shell");
  });
  afterAll(() => {
    try {
      tmux("kill-server");
    } catch {
      // no server left
    }
  });

  for (const [name, extra, command, answer] of [
    ["COM1", [], "sum 40 2", "sum=42"],
    ["keyboard", ["--input", "keyboard"], "rev Hello!", "!olleH"],
  ] as const) {
    test(`${name}: type a command, Ctrl-A x, then find its output in the trace`, async () => {
      const session = `s-${name}`;
      const trace = path.join(dir, `${name}.trace`);
      const cmd = [process.execPath, CLI, "record", elf, "-o", trace, "--no-progress", ...extra].map((a) => JSON.stringify(a)).join(" ");
      tmux("new-session", "-d", "-s", session, "-x", "100", "-y", "30", "-c", dir, `${cmd}; echo "EXITED $?"; sleep 60`);
      await waitFor(session, /shell ready\s*\n\$/); // (capture-pane drops the prompt's trailing space)
      tmux("send-keys", "-t", session, "C-a", "h");
      await waitFor(session, /Ctrl-A x +stop/);
      tmux("send-keys", "-t", session, "-l", command);
      tmux("send-keys", "-t", session, "Enter");
      await waitFor(session, new RegExp(answer.replace(/[!$]/g, "\\$&")));
      tmux("send-keys", "-t", session, "C-a", "x");
      const s = await waitFor(session, /EXITED \d+/);
      expect(s).toMatch(/EXITED 130/);
      expect(s).toMatch(/stopped: interrupted \(stopped with Ctrl-A x\)/);

      const info = ttd(["info", trace, "--json"]);
      expect(info.status).toBe(0);
      const parsed = JSON.parse(info.stdout) as { complete: boolean; input: { source: string; device: string; events: number } };
      expect(parsed.complete).toBe(true);
      expect(parsed.input.source).toBe("terminal");
      expect(parsed.input.device).toBe(name === "COM1" ? "com1" : "keyboard");
      expect(parsed.input.events).toBe(command.length + 1);

      const found = ttd(["find-output", answer, trace, "--json"]);
      expect(found.status, found.stderr).toBe(0);
      const m = JSON.parse(found.stdout) as { found: boolean; matches: { step: number; line: string }[] };
      expect(m.found).toBe(true);
      expect(m.matches[0].line).toBe(answer);
      // The answer came after the last key entered, and the screen at that step is the replay's.
      const log = ttd(["log", trace, "--output", "--json"]);
      const inputs = log.stdout.trim().split("\n").map((l) => JSON.parse(l) as { step?: number; input?: boolean }).filter((r) => r.input);
      expect(inputs.length).toBe(command.length + 1);
      expect(m.matches[0].step).toBeGreaterThan(inputs[inputs.length - 1].step!);
    }, 120_000);
  }
});

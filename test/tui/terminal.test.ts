/**
 * End to end in a real terminal: the built `ttd tui` in a detached tmux session, driven with
 * send-keys and read with capture-pane.
 */
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, expect, test } from "vitest";
import { HELP } from "../../src/tui/view-model.js";
import { CLI, ROOT, recordDemo, removeDemo } from "./helpers.js";
import { WORKLOAD, workload } from "../guests.js";

let SESSION = "tui";
// A server of our own (-L), so the test neither sees nor disturbs any other tmux sessions.
const SOCKET = `ttd-tui-test-${process.pid}`;
let tracePath: string;

function tmux(...args: string[]): string {
  return execFileSync("tmux", ["-L", SOCKET, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function screen(): string {
  return tmux("capture-pane", "-p", "-t", SESSION);
}

/** Polls the screen until `re` matches (the UI answers asynchronously), or fails showing the screen. */
async function waitFor(re: RegExp, timeoutMs = 20_000, pollMs = 100): Promise<string> {
  const end = Date.now() + timeoutMs;
  let s = "";
  while (Date.now() < end) {
    s = screen();
    if (re.test(s)) return s;
    await new Promise((r) => setTimeout(r, pollMs));
  }
  throw new Error(`screen never matched ${re}:\n${s}`);
}

test("ttd tui --help lists every key the help overlay lists", () => {
  const out = execFileSync(process.execPath, [CLI, "tui", "--help"], { encoding: "utf8" });
  // The key column: two spaces, then keys up to the two-space gap before the description.
  const keyColumn = new Set<string>();
  for (const m of out.matchAll(/^ {2}(\S(?:\S| (?! ))*) {2,}\S/gm)) for (const k of m[1].split(/ \/ | /)) keyColumn.add(k);
  for (const [keys] of HELP) for (const k of keys.split(/ \/ | /)) expect(keyColumn, `key ${k}`).toContain(k);
});

beforeAll(() => {
  tracePath = recordDemo();
});

afterAll(() => {
  try {
    tmux("kill-server");
  } catch {
    // already gone (the test quit it)
  }
  removeDemo(tracePath);
});

test("ttd tui in tmux: --at 100, three reverse steps, why-write of the idle TCB's Error slot", async () => {
  tmux("new-session", "-d", "-s", SESSION, "-x", "100", "-y", "30", "-c", ROOT, `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} tui ${JSON.stringify(tracePath)} --at 100`);
  let s = await waitFor(/step 100 \/ /);
  expect(s).toMatch(/eax +0x[0-9a-f]{8}/);
  expect(s).toMatch(/eip +0x[0-9a-f]{8}/);
  expect(s).toMatch(/esp +0x[0-9a-f]{8}/);

  for (let i = 0; i < 3; i++) {
    tmux("send-keys", "-t", SESSION, "p");
    await waitFor(new RegExp(`step ${99 - i} / `));
  }
  s = await waitFor(/step 97 \/ /);
  expect(s).toContain("reverse-stepped to 97");

  tmux("send-keys", "-t", SESSION, "w");
  await waitFor(/why-write \(expression or address/);
  tmux("send-keys", "-t", SESSION, "-l", "ksIdleThread->tcbArch.tcbContext.registers[Error]");
  await waitFor(/registers\[Error\]/);
  tmux("send-keys", "-t", SESSION, "Enter");
  s = await waitFor(/Last written at step/);
  expect(s).toMatch(/interrupted code: idle_thread\+0x[0-9a-f]+/);
  expect(s).toMatch(/idle_thread +src\/kernel\/idle\.c:29 +push %ebp/);
  expect(s).toMatch(/j: jump to step/);

  // j goes to the writing step: the timer interrupt that pushed into the Error slot.
  tmux("send-keys", "-t", SESSION, "j");
  s = await waitFor(/jumped to the writing step/);
  expect(s).toMatch(/interrupt 157 \(0x9d\) +\| +idle_thread\+0x[0-9a-f]+ +\| +src\/kernel\/idle\.c:\d+/);

  // q quits: the command ends, and with it the tmux session.
  tmux("send-keys", "-t", SESSION, "q");
  const end = Date.now() + 10_000;
  let alive = true;
  while (alive && Date.now() < end) {
    try {
      tmux("has-session", "-t", SESSION);
      await new Promise((r) => setTimeout(r, 100));
    } catch {
      alive = false;
    }
  }
  expect(alive).toBe(false);
}, 60_000);

test("a long reverse-continue shows progress in the real terminal and Esc cancels it", async () => {
  // workload-r30 runs about 103M steps of long call-free loops: a backward search for a never-hit
  // breakpoint, even at the search's compiled speed, takes about half a second, drawn as it goes.
  // The screen is polled often to see it.
  const elf = workload("workload-r30.elf");
  expect(WORKLOAD["workload-r30.elf"].steps).toBeGreaterThan(100_000_000);
  const workloadTrace = recordDemo(elf);
  SESSION = "tui-workload";
  try {
    tmux("new-session", "-d", "-s", SESSION, "-x", "100", "-y", "30", "-c", ROOT, `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} tui ${JSON.stringify(workloadTrace)} --at end`);
    let s = await waitFor(/step ([0-9,]+) \/ \1 /);
    const end = /step ([0-9,]+) \//.exec(s)![1];
    tmux("send-keys", "-t", SESSION, "b");
    await waitFor(/breakpoint \(function/);
    tmux("send-keys", "-t", SESSION, "-l", "0x1");
    tmux("send-keys", "-t", SESSION, "Enter");
    await waitFor(/breakpoint at 0x1/);
    tmux("send-keys", "-t", SESSION, "r");
    s = await waitFor(/reverse-continue: searching, step [0-9,]+ \(\d+%\); Esc cancels/, 20_000, 10);
    expect(s).toMatch(/\|  reverse-continue\.\.\./);
    tmux("send-keys", "-t", SESSION, "Escape");
    s = await waitFor(/reverse-continue cancelled; still at step/);
    expect(s).toContain(`step ${end} / ${end}`);
    tmux("send-keys", "-t", SESSION, "q");
  } finally {
    removeDemo(workloadTrace);
  }
}, 60_000);

/**
 * The screen in small terminals, on the shipped demo bundle: the why-write answer folds at word
 * boundaries, the prompt keeps the end of what is typed in view, the status line keeps the fault, stack
 * names keep both the variable and the element, a terminal below the minimum is told so (and the screen
 * comes back when it grows), and a step out of range is refused with the range named.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { join } from "node:path";
import { render } from "ink-testing-library";
import { openRecordingArg, type Recording } from "../../src/bundle/open.js";
import { DebuggerViewModel } from "../../src/tui/view-model.js";
import { App, Screen } from "../../src/tui/app.js";
import { MIN_COLUMNS, MIN_ROWS, fitStatus, inputTail, shortenPath, wrapWords } from "../../src/tui/fit-text.js";
import { ROOT } from "./helpers.js";

const BUNDLE = join(ROOT, "traces", "idle-bug.ttdb");
const plain = (s: string | undefined) => (s ?? "").replace(/\x1b\[[0-9;]*m/g, "");
const words = (lines: string[]) => lines.join(" ").split(/\s+/).filter((w) => w !== "");

let rec: Recording;
let faultStep: number;
beforeAll(() => {
  rec = openRecordingArg(BUNDLE, { cwd: ROOT });
  faultStep = rec.trace.events().find((e) => e.kind === "fault")!.step;
});
afterAll(() => rec?.close());

function type(vm: DebuggerViewModel, text: string): void {
  for (const c of text) vm.key(c);
}

describe("the screen at 80 columns", () => {
  test("the why-write answer folds between words, never inside one", async () => {
    const vm = new DebuggerViewModel(rec, faultStep);
    vm.key("w");
    type(vm, "ksIdleThread->tcbArch.tcbContext.registers[Error] @ fault");
    vm.key("", { return: true });
    await vm.idle();
    const answer = vm.view.answer!;
    expect(answer.lines.some((l) => l.length > 80)).toBe(true);
    const r = render(<Screen view={vm.view} columns={80} rows={40} />);
    const lines = plain(r.lastFrame()).split("\n");
    r.unmount();
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(80);
    // The panel's rows, between its header and the timeline, hold the answer's words whole and in order.
    const from = lines.findIndex((l) => l.startsWith("why-write   j: jump")) + 1;
    const to = lines.findIndex((l) => l.startsWith("["));
    const shown = words(lines.slice(from, to));
    const expected = words(answer.lines).slice(0, shown.length);
    expect(shown.length).toBeGreaterThan(40);
    expect(shown).toEqual(expected);
  });

  test("the prompt shows the end of a long expression being typed", () => {
    const vm = new DebuggerViewModel(rec, faultStep);
    vm.key("w");
    const typed = "ksIdleThread->tcbArch.tcbContext.registers[Error] @ fault";
    type(vm, typed);
    const r = render(<Screen view={vm.view} columns={80} rows={24} />);
    const prompt = plain(r.lastFrame()).split("\n")[1];
    r.unmount();
    expect(prompt.length).toBeLessThanOrEqual(80);
    expect(prompt).toMatch(/^why-write \(expression or address \[@ step\]\): …[^ ]*registers\[Error\] @ fault ?$/);
    // All of it is there when it fits.
    expect(inputTail(typed, typed.length)).toBe(typed);
  });

  test("the status line keeps the fault", () => {
    const vm = new DebuggerViewModel(rec, faultStep);
    expect(vm.view.stepKind).toMatch(/^fault 13 /);
    const r = render(<Screen view={vm.view} columns={80} rows={24} />);
    const status = plain(r.lastFrame()).split("\n")[0];
    r.unmount();
    expect(status.length).toBeLessThanOrEqual(80);
    expect(status).toContain(`step ${faultStep.toLocaleString("en-US")} / `);
    expect(status).toContain(vm.view.stepKind!);
    // With room, every part is there, the source path whole.
    const wide = render(<Screen view={vm.view} columns={140} rows={24} />);
    expect(plain(wide.lastFrame()).split("\n")[0]).toMatch(/fault 13 .*\| +restore_user_context\+0x[0-9a-f]+ +\| +src\/kernel\/thread\.c:\d+ ?$/);
    wide.unmount();
  });

  test("stack names keep the variable's start and the element's end", () => {
    const vm = new DebuggerViewModel(rec, faultStep);
    const r = render(<Screen view={vm.view} columns={80} rows={24} />);
    const lines = plain(r.lastFrame()).split("\n");
    r.unmount();
    let checked = 0;
    for (const w of vm.view.stack) {
      const name = w.points ?? w.name;
      if (name === null) continue;
      const head = `${(w.address >>> 0).toString(16).padStart(8, "0")} `;
      const row = lines.find((l) => l.includes(head));
      if (row === undefined) continue;
      const shown = row.slice(row.indexOf(head) + 18).trimEnd();
      const last = /(?:->|\.)?([^.>]*)$/.exec(name)![1];
      expect(shown.endsWith(last), `${shown} for ${name}`).toBe(true);
      expect(shown.slice(0, 3)).toBe(name.slice(0, 3));
      checked++;
    }
    expect(checked).toBeGreaterThan(5);
    expect(shortenPath("ksIdleThread->tcbArch.tcbContext.registers[10]", 26)).toBe("ksIdleThread…registers[10]");
    expect(shortenPath("ksIdleThread->tcbArch.tcbContext.registers[10]", 21)).toBe("ksIdleT…registers[10]");
    expect(shortenPath("ksIdleThread->tcbArch.tcbContext.registers[10]", 15)).toBe("…registers[10]");
    // Never the half of a `->` before the ellipsis.
    expect(shortenPath("ksIdleThread->tcbArch.tcbContext.registers[10]", 27)).toBe("ksIdleThread…registers[10]");
    expect(shortenPath("idle_thread_with_a_long_name+0x11", 12)).toBe("idle_thread…");
  });
});

describe("a terminal below the minimum", () => {
  test("at 50x12 says it is too small, in its own width, and comes back when resized", async () => {
    const vm = new DebuggerViewModel(rec, faultStep);
    const r = render(<App vm={vm} />);
    const stdout = r.stdout as unknown as { columns: number; rows: number; emit(e: string): void };
    const resize = async (columns: number, rows: number) => {
      Object.defineProperty(stdout, "columns", { value: columns, configurable: true });
      Object.defineProperty(stdout, "rows", { value: rows, configurable: true });
      stdout.emit("resize");
    };
    // Ink throttles redraws: poll the last frame until it shows what is expected (or give up).
    const frame = async (re: RegExp) => {
      const end = Date.now() + 5000;
      while (!re.test(plain(r.lastFrame())) && Date.now() < end) await new Promise((res) => setTimeout(res, 20));
      return plain(r.lastFrame());
    };
    await resize(50, 12);
    let f = await frame(/too small/);
    expect(f).toContain(`Terminal too small: 50x12.`);
    expect(f).toContain(`needs at least ${MIN_COLUMNS}x${MIN_ROWS}`);
    const lines = f.split("\n");
    expect(lines.length).toBeLessThanOrEqual(12);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(50);
    await resize(100, 30);
    f = await frame(/Disassembly/);
    expect(f).not.toContain("too small");
    expect(f).toContain("Disassembly");
    expect(f.split("\n").length).toBeLessThanOrEqual(30);
    r.unmount();
  });
});

describe("going to a step", () => {
  test("a step beyond the trace is refused with the range named, and the position stays", () => {
    const vm = new DebuggerViewModel(rec, faultStep);
    vm.key("g");
    type(vm, "99999999");
    vm.key("", { return: true });
    expect(vm.view.step).toBe(faultStep);
    const range = `${rec.trace.startStep.toLocaleString("en-US")} to ${rec.trace.steps.toLocaleString("en-US")}`;
    expect(vm.view.message).toBe(`go to: step 99,999,999 is out of range: this trace has steps ${range}; still at step ${faultStep.toLocaleString("en-US")}`);
    // The last step itself is in range.
    vm.key("g");
    type(vm, String(rec.trace.steps));
    vm.key("", { return: true });
    expect(vm.view.step).toBe(rec.trace.steps);
    // why-write's `@ STEP` is checked the same way.
    vm.key("w");
    type(vm, "ksCurThread @ 99999999");
    vm.key("", { return: true });
    expect(vm.view.message).toBe(`why-write: step 99,999,999 is out of range: this trace has steps ${range}`);
  });
});

describe("fitting text", () => {
  test("wrapWords breaks at spaces, indents continuations, and cuts only words wider than a row", () => {
    expect(wrapWords("  alpha beta gamma delta", 12)).toEqual(["  alpha beta", "      gamma", "      delta"]);
    expect(wrapWords("short", 12)).toEqual(["short"]);
    expect(wrapWords("abcdefghijklmnopqrstuvwxyz", 10)).toEqual(["abcdefghij", "    klmnop", "    qrstuv", "    wxyz"]);
    for (const row of wrapWords("x ".repeat(50) + "y".repeat(30), 20)) expect(row.length).toBeLessThanOrEqual(20);
  });

  test("fitStatus cuts the path to its file name before cutting the line", () => {
    const parts = [{ text: "step 1 / 9" }, { text: "fault 13" }, { text: "f+0x1" }, { text: "src/kernel/thread.c:300", path: true }];
    expect(fitStatus(parts, 80)).toBe(" step 1 / 9  |  fault 13  |  f+0x1  |  src/kernel/thread.c:300 ");
    expect(fitStatus(parts, 55)).toBe(" step 1 / 9  |  fault 13  |  f+0x1  |  thread.c:300 ");
    expect(fitStatus(parts, 50)).toBe(" step 1 / 9  |  fault 13  |  f+0x1  |  thread.c:3…");
    expect(fitStatus(parts, 30)).toBe(" step 1 / 9  |  fault 13  |  …");
  });
});

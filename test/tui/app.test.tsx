/** The Ink screen with ink-testing-library: what it shows, keys reaching the view model, 80x24. */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { render } from "ink-testing-library";
import { openRecordingArg, type Recording } from "../../src/bundle/open.js";
import { DebuggerViewModel } from "../../src/tui/view-model.js";
import { App, Screen } from "../../src/tui/app.js";
import { ROOT, recordDemo, removeDemo } from "./helpers.js";

let rec: Recording;
let tracePath: string;
let faultStep: number;

beforeAll(() => {
  tracePath = recordDemo();
  rec = openRecordingArg(tracePath, { cwd: ROOT });
  faultStep = rec.trace.events().find((e) => e.kind === "fault")!.step;
});
afterAll(() => {
  rec?.close();
  removeDemo(tracePath);
});

const settle = () => new Promise((r) => setTimeout(r, 30));
// Colours and inverse video are not part of what these tests read.
const plain = (s: string | undefined) => (s ?? "").replace(/\x1b\[[0-9;]*m/g, "");

describe("App", () => {
  test("shows the status line, registers, disassembly, source and stack", async () => {
    const vm = new DebuggerViewModel(rec, faultStep);
    const r = render(<App vm={vm} columns={100} rows={30} />);
    const f = plain(r.lastFrame());
    expect(f).toContain(`step ${faultStep.toLocaleString("en-US")} / ${rec.trace.steps.toLocaleString("en-US")}`);
    expect(f).toMatch(/restore_user_context\+0x[0-9a-f]+ +\| +src\/kernel\/thread\.c:\d+/);
    expect(f).toMatch(/> 0x[0-9a-f]+ +iret/);
    expect(f).toMatch(/eax +0x[0-9a-f]{8}/);
    expect(f).toContain("Source src/kernel/thread.c");
    expect(f).toMatch(/e010f628 00000008 .*registers\[10\]/);
    r.unmount();
  });

  test("keys go to the view model and the screen follows", async () => {
    const vm = new DebuggerViewModel(rec, 100);
    const r = render(<App vm={vm} columns={100} rows={30} />);
    for (let i = 0; i < 3; i++) {
      r.stdin.write("p");
      await settle();
    }
    expect(plain(r.lastFrame())).toMatch(/^ step 97 \/ /);
    r.stdin.write("?");
    await settle();
    expect(plain(r.lastFrame())).toContain("previous step (reverse)");
    r.stdin.write("\x1b");
    await settle();
    r.stdin.write("w");
    await settle();
    r.stdin.write("0xe010f624 @ fault");
    await settle();
    expect(plain(r.lastFrame())).toContain("why-write (expression or address [@ step]): 0xe010f624 @ fault");
    r.stdin.write("\r");
    await settle();
    const f = plain(r.lastFrame());
    expect(f).toContain("Last written at step");
    expect(f).toMatch(/idle_thread +src\/kernel\/idle\.c:29 +push %ebp/);
    r.unmount();
  });

  test("fits 80x24: no line wider than 80, at most 24 lines, every panel present", () => {
    const vm = new DebuggerViewModel(rec, faultStep);
    const r = render(<Screen view={vm.view} columns={80} rows={24} />);
    const lines = plain(r.lastFrame()).split("\n");
    expect(lines.length).toBeLessThanOrEqual(24);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(80);
    const f = lines.join("\n");
    for (const title of ["Disassembly", "Source", "Registers", "Stack", "events"]) expect(f).toContain(title);
    r.rerender(<Screen view={vm.view} columns={120} rows={40} />);
    const wide = plain(r.lastFrame()).split("\n");
    expect(wide.length).toBeGreaterThan(24);
    expect(wide.length).toBeLessThanOrEqual(40);
    r.unmount();
  });

  test("source that cannot be found is said to be missing", () => {
    const noSources = { ...rec, sources: { lines: () => null } } as unknown as Recording;
    const vm = new DebuggerViewModel(noSources, faultStep);
    const r = render(<Screen view={vm.view} columns={100} rows={30} />);
    expect(plain(r.lastFrame())).toContain("source not available (src/kernel/thread.c)");
    r.unmount();
  });
});

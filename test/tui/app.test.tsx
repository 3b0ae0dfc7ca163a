/** The Ink screen with ink-testing-library: what it shows, keys reaching the view model, 80x24. */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { render } from "ink-testing-library";
import { openRecordingArg, type Recording } from "../../src/bundle/open.js";
import { DebuggerViewModel, HELP } from "../../src/tui/view-model.js";
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
/** Ink throttles redraws: poll the last frame until it matches (or give up and return it). */
async function frameMatching(r: ReturnType<typeof render>, re: RegExp, timeoutMs = 3000): Promise<string> {
  const end = Date.now() + timeoutMs;
  let f = plain(r.lastFrame());
  while (!re.test(f) && Date.now() < end) {
    await new Promise((res) => setTimeout(res, 20));
    f = plain(r.lastFrame());
  }
  return f;
}
// Colours and inverse video are not part of what these tests read.
const plain = (s: string | undefined) => (s ?? "").replace(/\x1b\[[0-9;]*m/g, "");

describe("App", () => {
  test("shows the status line, registers, disassembly, source and stack", async () => {
    const vm = new DebuggerViewModel(rec, faultStep);
    const r = render(<App vm={vm} columns={100} rows={30} />);
    const f = plain(r.lastFrame());
    expect(f).toContain(`step ${faultStep.toLocaleString("en-US")} / ${rec.trace.steps.toLocaleString("en-US")}`);
    // The fault comes right after the position; at 100 columns the source path is cut to its file name.
    expect(f).toMatch(/^ step [0-9,]+ \/ [0-9,]+ +\| +fault 13 \(0xd\) error 0x200 +\| +restore_user_context\+0x[0-9a-f]+ +\| +thread\.c:\d+/);
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
    expect(await frameMatching(r, /^ step 97 \/ /)).toMatch(/^ step 97 \/ /);
    r.stdin.write("?");
    expect(await frameMatching(r, /previous step \(reverse\)/)).toContain("previous step (reverse)");
    r.stdin.write("\x1b");
    await settle();
    r.stdin.write("w");
    await settle();
    r.stdin.write("0xe010f624 @ fault");
    await settle();
    expect(await frameMatching(r, /0xe010f624 @ fault/)).toContain("why-write (expression or address [@ step]): 0xe010f624 @ fault");
    r.stdin.write("\r");
    await vm.idle();
    const f = await frameMatching(r, /Last written at step/);
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
    for (const title of ["Disassembly", "Source", "Registers", "Locals", "Stack", "events"]) expect(f).toContain(title);
    // At the faulting iret restore_user_context's r has no location.
    expect(f).toContain("r = <optimised out>");
    // The help overlay lists every key even at 80x24.
    vm.key("?");
    r.rerender(<Screen view={vm.view} columns={80} rows={24} />);
    const help = plain(r.lastFrame());
    for (const [k] of HELP) expect(help).toContain(`  ${k} `);
    vm.key("", { escape: true });
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

  test("a long search shows progress, redraws on its own and Esc cancels it", async () => {
    const vm = new DebuggerViewModel(rec, rec.trace.steps, { unitsPerSlice: 1, breakpointSliceSteps: 2000 });
    const r = render(<App vm={vm} columns={100} rows={30} />);
    for (const k of ["b", "0x1", "\r"]) {
      r.stdin.write(k);
      await settle();
    }
    r.stdin.write("r");
    let f = await frameMatching(r, /reverse-continue: searching/);
    expect(f).toMatch(/reverse-continue: searching, step [0-9,]+ \(\d+%\); Esc cancels/);
    expect(f).toMatch(/\|  reverse-continue\.\.\./);
    r.stdin.write("\x1b");
    f = await frameMatching(r, /cancelled/);
    expect(f).toContain("reverse-continue cancelled; still at step");
    expect(f).toMatch(new RegExp(`^ step ${rec.trace.steps.toLocaleString("en-US")} / `));
    // Left to run, the end arrives with no key pressed: the view model's change listener redraws.
    r.stdin.write("r");
    await vm.idle();
    f = await frameMatching(r, /behind: at the start/);
    expect(f).toContain("no breakpoint or watched write behind: at the start");
    expect(f).toMatch(/^ step 0 \/ /);
    r.unmount();
  });

  test("help lists every key; the stack selection, watch prompt and bookmark list show", async () => {
    const vm = new DebuggerViewModel(rec, faultStep);
    const r = render(<App vm={vm} columns={100} rows={30} />);
    const press = async (k: string) => {
      r.stdin.write(k);
      await settle();
    };
    await press("?");
    let f = await frameMatching(r, /cancel a running search/);
    for (const k of ["o / O", "l / L", "W", "Up / Down", "M", "step over a call", "cancel a running search"]) expect(f).toContain(k);
    await press("\x1b");
    await press("\x1b[B");
    f = await frameMatching(r, /selected/);
    expect(f).toContain("Stack (w: who wrote the selected word)");
    expect(f).toMatch(/stack word 0xe010f628 \(.*registers\[10\]\) selected/);
    await press("\x1b");
    await press("W");
    expect(await frameMatching(r, /watch \(/)).toContain("watch (expression or address):");
    await press("\x1b");
    await press("m");
    await press("screen-mark");
    await press("\r");
    await press("M");
    f = await frameMatching(r, /Bookmarks/);
    expect(f).toContain("Bookmarks   Up/Down: select   Enter: jump   Esc: close");
    expect(f).toMatch(new RegExp(`> +${faultStep.toLocaleString("en-US")}  screen-mark`));
    r.unmount();
  });
});

/**
 * The TUI's Screen panel (key v): the guest's VGA text screen as it was at the current step, cursor
 * included. Recorded from the VGA test guest (test/machine/guests/vga-text.c); moving in time
 * changes what the panel shows exactly at the steps that wrote the character and moved the cursor.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { render } from "ink-testing-library";
import { openRecordingArg, type Recording } from "../../src/bundle/open.js";
import { DebuggerViewModel } from "../../src/tui/view-model.js";
import { App } from "../../src/tui/app.js";
import { buildCGuest, canBuildC } from "../machine/c-guests.js";
import { ROOT, recordDemo, removeDemo } from "./helpers.js";

let rec: Recording;
let tracePath: string | undefined;

const plain = (s: string | undefined) => (s ?? "").replace(/\x1b\[[0-9;]*m/g, "");
async function frameMatching(r: ReturnType<typeof render>, re: RegExp, timeoutMs = 3000): Promise<string> {
  const end = Date.now() + timeoutMs;
  let f = plain(r.lastFrame());
  while (!re.test(f) && Date.now() < end) {
    await new Promise((res) => setTimeout(res, 20));
    f = plain(r.lastFrame());
  }
  return f;
}

describe.skipIf(!canBuildC)("Screen panel", () => {
  beforeAll(() => {
    tracePath = recordDemo(buildCGuest("vga-text"));
    rec = openRecordingArg(tracePath, { cwd: ROOT });
  });
  afterAll(() => {
    rec?.close();
    removeDemo(tracePath);
  });

  test("the view model shows the screen of the current step only while the panel is open", () => {
    const trace = rec.trace;
    const vm = new DebuggerViewModel(rec, trace.steps);
    expect(vm.view.screen).toBeNull();
    vm.key("v");
    const end = vm.view.screen!;
    expect(end.lines[0].trimEnd()).toBe("Hello from the VGA text screen");
    expect(end.cursor).toEqual({ row: 5, column: 7 });
    // The step that wrote 'H' (with attribute 0x1f) to the top-left cell: before it the cell is blank.
    const h = trace.lastWrite({ address: 0xb8000, size: 1, space: "physical" }, trace.steps)!;
    vm.goTo(h.step);
    expect(vm.view.screen!.lines[0][0]).toBe(" ");
    vm.goTo(h.step + 1);
    expect(vm.view.screen!.lines[0][0]).toBe("H");
    // The cursor moves at the OUT that writes its low byte (a word write to 0x3d4 carries it).
    const outs = trace.portIo(0x3d4, 0, trace.steps).filter((p) => p.direction === "out" && p.size === 2 && (p.value & 0xff) === 0x0f);
    expect(outs.length).toBeGreaterThan(0);
    vm.goTo(outs[0].step);
    // Only the high byte (0x01) is in yet: cell 0x100 is row 3, column 16.
    expect(vm.view.screen!.cursor).toEqual({ row: 3, column: 16 });
    vm.goTo(outs[0].step + 1);
    expect(vm.view.screen!.cursor).toEqual({ row: 5, column: 7 });
    vm.key("v");
    expect(vm.view.screen).toBeNull();
  });

  test("v opens and closes the panel in the terminal UI, and it follows time travel", async () => {
    const vm = new DebuggerViewModel(rec, rec.trace.steps);
    const r = render(<App vm={vm} columns={100} rows={32} />);
    r.stdin.write("v");
    let f = await frameMatching(r, /VGA screen at step/);
    expect(f).toContain("Hello from the VGA text screen");
    expect(f).toContain("╔══╗ ☺ ▒█");
    expect(f).toContain("cursor row 6, column 8");
    r.stdin.write("<");
    f = await frameMatching(r, /VGA screen at step 0 /);
    expect(f).toContain("VGA screen at step 0 (cursor row 1, column 1)");
    expect(f).not.toContain("Hello from");
    r.stdin.write("v");
    f = await frameMatching(r, /Disassembly/);
    expect(f).not.toContain("VGA screen at step");
    r.unmount();
  });
});

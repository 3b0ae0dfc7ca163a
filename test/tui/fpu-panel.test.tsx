/**
 * The TUI's FPU panel (key f): the x87 and SSE registers at the current step, on the shipped demo
 * bundle (a kernel that never touches the FPU: every register keeps its power-on value), sharing the
 * body with the Screen panel (opening one closes the other).
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { join } from "node:path";
import { render } from "ink-testing-library";
import { openRecordingArg, type Recording } from "../../src/bundle/open.js";
import { DebuggerViewModel } from "../../src/tui/view-model.js";
import { Screen } from "../../src/tui/app.js";
import { ROOT } from "./helpers.js";

const BUNDLE = join(ROOT, "traces", "idle-bug.ttdb");
const plain = (s: string | undefined) => (s ?? "").replace(/\x1b\[[0-9;]*m/g, "");

let rec: Recording;
beforeAll(() => {
  rec = openRecordingArg(BUNDLE, { cwd: ROOT });
});
afterAll(() => rec?.close());

describe("FPU panel", () => {
  test("f toggles the panel; v and f replace each other", () => {
    const vm = new DebuggerViewModel(rec, 100);
    expect(vm.view.fpu).toBeNull();
    vm.key("f");
    const regs = vm.view.fpu!.registers;
    expect(regs.map((r) => r.name)).toEqual([
      "st0", "st1", "st2", "st3", "st4", "st5", "st6", "st7",
      "fcw", "fsw", "ftw", "fop", "fip", "fcs", "fdp", "fds", "mxcsr",
      "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
    ]);
    expect(regs.find((r) => r.name === "fcw")!.value).toBe("037f");
    expect(regs.every((r) => !r.changed)).toBe(true);
    vm.key("v");
    expect(vm.view.fpu).toBeNull();
    expect(vm.view.screen).not.toBeNull();
    vm.key("f");
    expect(vm.view.screen).toBeNull();
    vm.key("f");
    expect(vm.view.fpu).toBeNull();
  });

  test("the panel draws ST(i), the control registers and XMM within 80 columns", () => {
    const vm = new DebuggerViewModel(rec, 100);
    vm.key("f");
    const r = render(<Screen view={vm.view} columns={80} rows={24} />);
    const frame = plain(r.lastFrame());
    r.unmount();
    expect(frame).toContain("x87 / SSE registers at step 100");
    expect(frame).toMatch(/ st0 +empty +0000:0000000000000000/);
    expect(frame).toMatch(/ fcw 037f +fsw 0000 +ftw ffff +fop 000/);
    expect(frame).toMatch(/ mxcsr 00001f80/);
    expect(frame).toMatch(/ xmm7 +00000000 /);
    for (const l of frame.split("\n")) expect(l.length).toBeLessThanOrEqual(80);
  });
});

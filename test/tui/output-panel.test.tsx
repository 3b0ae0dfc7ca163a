/**
 * The TUI's Output panel (key t): what the guest had printed when the current step began, on the
 * shipped demo bundle. Moving in time grows and shrinks it exactly at the steps that printed.
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

describe("Output panel", () => {
  test("shows the output printed before the current step, byte for byte at the printing steps", () => {
    const trace = rec.trace;
    const out = trace.output();
    const text = Buffer.from(out.map((o) => o.byte)).toString("latin1").replace(/\r/g, "");
    const vm = new DebuggerViewModel(rec, trace.steps);
    expect(vm.view.output).toBeNull();
    vm.key("t");
    const end = vm.view.output!;
    expect(end.printed).toBe(out.length);
    expect(end.total).toBe(out.length);
    expect(end.lines.join("\n")).toBe(text.split("\n").slice(-end.lines.length).join("\n"));
    // The step that printed the tenth byte: before it nine bytes show, after it ten.
    const tenth = out[9];
    vm.goTo(tenth.step);
    expect(vm.view.output!.printed).toBe(9);
    vm.goTo(tenth.step + 1);
    expect(vm.view.output!.printed).toBe(10);
    expect(vm.view.output!.lines.join("\n")).toBe(text.slice(0, 10));
    vm.goTo(0);
    expect(vm.view.output!.lines).toEqual([""]);
    // v, f and t replace each other.
    vm.key("f");
    expect(vm.view.output).toBeNull();
    vm.key("t");
    vm.key("t");
    expect(vm.view.output).toBeNull();
    expect(vm.view.fpu).toBeNull();
  });

  test("draws the last lines with a header that counts the bytes", () => {
    const vm = new DebuggerViewModel(rec, rec.trace.steps);
    vm.key("t");
    const r = render(<Screen view={vm.view} columns={80} rows={24} />);
    const frame = plain(r.lastFrame());
    r.unmount();
    const total = rec.trace.output().length.toLocaleString("en-US");
    expect(frame).toContain(`Output before step ${rec.trace.steps.toLocaleString("en-US")} (${total} of ${total} bytes)`);
    const lastLine = vm.view.output!.lines.filter((l) => l !== "").pop()!;
    expect(frame).toContain(lastLine.slice(0, 60));
  });
});

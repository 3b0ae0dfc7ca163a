/**
 * `ttd diff`: the demo kernel's bug and fixed recordings (two images) part at the first entry to
 * idle_thread, `push %ebp` on one side and `hlt` on the other, although their banners differ earlier
 * (a data-dependent loop count is not a divergence); two builds of a crashing guest of our own part
 * where guest_main takes a different scenario; one image recorded twice agrees step for step.
 */
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { diffRecordings } from "../../src/query/diff.js";
import type { Recording } from "../../src/bundle/open.js";
import { fixture, lineOf, open, record, REPO, requireBuiltCli, ttd } from "./helpers.js";

const opened: Recording[] = [];
const ctxOf = (p: string) => {
  const o = open(p);
  opened.push(o.recording);
  return o.ctx;
};
afterAll(() => {
  for (const r of opened) r.close();
});
beforeAll(() => requireBuiltCli());

describe("ttd diff", () => {
  test("the demo pair parts at the first entry to idle_thread: push %ebp against the naked hlt", () => {
    const d = diffRecordings(ctxOf(path.join(REPO, "traces/idle-bug.ttdb")), ctxOf(path.join(REPO, "traces/idle-fixed.ttdb")));
    expect(d.alignment).toBe("source");
    const a = d.divergence!.a!, b = d.divergence!.b!;
    expect(a.code.function).toBe("idle_thread");
    expect(a.code.disasm).toBe("push %ebp");
    expect(`${a.code.file}:${a.code.line}`).toBe("src/kernel/idle.c:29");
    expect(b.code.function).toBe("idle_thread");
    expect(b.code.disasm).toBe("hlt");
    expect(d.common!.a.code.function).toBe("restore_user_context");
    expect(d.common!.b.code.function).toBe("restore_user_context");
    // The banners differ long before: reported as output, not as the divergence.
    expect(d.output!.a!.step).toBeLessThan(a.step);
  });

  test("the CLI prints both sides (exit 0); --json has both sides", () => {
    const r = ttd(["diff", "traces/idle-bug.ttdb", "traces/idle-fixed.ttdb"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("First divergence: control flow");
    expect(r.stdout).toMatch(/A step 61,750 +idle_thread +src\/kernel\/idle\.c:29 +push %ebp/);
    const j = JSON.parse(ttd(["diff", "traces/idle-bug.ttdb", "traces/idle-fixed.ttdb", "--json"]).stdout);
    expect(j.divergence.a.line).toBe(29);
    expect(j.divergence.b.disasm).toBe("hlt");
    const bad = ttd(["diff", "traces/idle-bug.ttdb", "nope.trace"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
  });

  test("two builds of one guest part in guest_main where the scenarios differ", () => {
    const d = diffRecordings(ctxOf(record(fixture("faults-null.elf"))), ctxOf(record(fixture("faults-de.elf"))));
    const a = d.divergence!.a!, b = d.divergence!.b!;
    const src = fixture("faults.c");
    expect(a.code.function).toBe("guest_main");
    expect(a.code.line).toBe(lineOf(src, "build_list(3);"));
    expect(b.code.function).toBe("guest_main");
    expect(b.code.line).toBe(lineOf(src, "item_count = count_items();"));
  });

  test("one image recorded twice agrees step for step", () => {
    const x = record(fixture("faults-ud.elf")), y = record(fixture("faults-ud.elf"));
    const d = diffRecordings(ctxOf(x), ctxOf(y));
    expect(d.alignment).toBe("step");
    expect(d.divergence).toBeNull();
    expect(d.output).toBeNull();
    const r = ttd(["diff", x, y]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("The executions agree over all");
  });
});

/**
 * Answers that are not a write (never-written memory from the image or from zeroed RAM), the register
 * form (`$esp`), and bad input: an expression that does not evaluate (exit 2, the failing part
 * underlined), steps out of range, and history's own option errors. Nothing is printed on stdout
 * when the input is bad.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { resolveLocation, LocationError } from "../../src/query/location.js";
import { whyWrite } from "../../src/query/why-write.js";
import { history, HistoryError } from "../../src/query/history.js";
import type { Recording } from "../../src/bundle/open.js";
import type { QueryContext } from "../../src/query/context.js";
import { documentedFields, fixture, kernel, keysOf, open, record, requireBuiltCli, ttd, ttdJson } from "./helpers.js";

let bugTrace = "";
let overrunTrace = "";
const opened: Recording[] = [];
let overrun: QueryContext;

beforeAll(() => {
  requireBuiltCli();
  bugTrace = record(kernel("idle-bug.elf"));
  overrunTrace = record(fixture("overrun.elf"));
  const o = open(overrunTrace);
  opened.push(o.recording);
  overrun = o.ctx;
});

afterAll(() => {
  for (const r of opened) r.close();
});

/** A file-backed byte of the overrun image that nothing writes (the multiboot header's flags). */
const IMAGE_ADDRESS = "0x100004";
/** RAM outside the image that the overrun guest never touches. */
const ZERO_ADDRESS = "0x200000";

describe("never-written memory", () => {
  test("library: image or zero, and no writes", () => {
    for (const [text, source] of [[IMAGE_ADDRESS, "image"], [ZERO_ADDRESS, "zero"]] as const) {
      const loc = resolveLocation(overrun, text, overrun.trace.steps);
      if (loc.kind !== "memory") throw new Error("not memory");
      const a = whyWrite(overrun, loc, overrun.trace.steps, { chain: true });
      expect(a.writes).toEqual([]);
      expect(a.chain).toEqual([]);
      expect(a.neverWritten).toEqual([{ bytes: [0, 4], source }]);
      const h = history(overrun, loc);
      expect(h.writes).toEqual([]);
      expect(h.source).toBe(source);
    }
  });

  test("CLI: the answer says where the value came from", () => {
    const img = ttd(["why-write", IMAGE_ADDRESS, "--trace", overrunTrace]);
    expect(img.status).toBe(0);
    expect(img.stdout).toContain("Never written before step");
    expect(img.stdout).toContain("comes from the loaded image");
    const zero = ttdJson<{ writes: unknown[]; neverWritten: { bytes: number[]; source: string }[]; value: string }>(["why-write", ZERO_ADDRESS, "--trace", overrunTrace]);
    expect(zero.writes).toEqual([]);
    expect(zero.value).toBe("0x0");
    expect(zero.neverWritten).toEqual([{ bytes: [0, 4], source: "zero" }]);
    for (const nw of zero.neverWritten) expect(keysOf(nw)).toEqual(documentedFields("neverWritten"));
    const h = ttd(["history", ZERO_ADDRESS, "--trace", overrunTrace]);
    expect(h.status).toBe(0);
    expect(h.stdout).toContain("it holds the zero the machine started with");
  });

  test("a partly written location lists the writers and the never-written bytes", () => {
    // packets_done (4 bytes) is incremented as a whole; the 4 bytes after it are never written.
    const j = ttdJson<{ writes: { bytes: number[]; disasm: string }[]; neverWritten: { bytes: number[]; source: string }[] }>(["why-write", "packets_done", "--size", "8", "--trace", overrunTrace]);
    expect(j.writes.map((w) => w.bytes)).toEqual([[0, 4]]);
    expect(j.writes[0].disasm).toMatch(/^inc/);
    expect(j.neverWritten).toEqual([{ bytes: [4, 8], source: "zero" }]);
  });
});

describe("registers: why-write '$esp'", () => {
  test("the last step that changed ESP before the timer interrupt is push %ebp in idle_thread", () => {
    const { recording, ctx } = open(bugTrace);
    opened.push(recording);
    const fault = ctx.trace.events().find((e) => e.kind === "fault")!;
    const irq = ctx.trace.events(0, fault.step).filter((e) => e.kind === "interrupt" && e.vector === 157).pop()!;
    expect(resolveLocation(ctx, "$esp", irq.step)).toEqual({ kind: "register", register: "esp", expression: "$esp" });
    type R = { register: string; step: number; value: string; change: Record<string, unknown> };
    const j = ttdJson<R>(["why-write", "$esp", "--trace", bugTrace, "--at", String(irq.step)]);
    expect(keysOf(j)).toEqual(documentedFields("why-write on a register"));
    expect(keysOf(j.change)).toEqual(documentedFields("why-write on a register: change"));
    expect(j.register).toBe("esp");
    expect(j.step).toBe(irq.step);
    expect(j.change).toMatchObject({ kind: "instruction", disasm: "push %ebp", function: "idle_thread", file: "src/kernel/idle.c" });
    expect(Number(j.change.before) - 4).toBe(Number(j.change.after));
    expect(j.value).toBe(j.change.after);
    // The library's register search agrees.
    const c = ctx.trace.lastRegisterChange("esp", irq.step)!;
    expect(c.step).toBe(j.change.step);
    const text = ttd(["why-write", "$esp", "--trace", bugTrace, "--at", String(irq.step)]);
    expect(text.stdout).toContain(`Last changed at step ${c.step}`);
    expect(text.stdout).toContain("by `push %ebp`");
  });
});

describe("bad input: exit 2, one clear message, nothing on stdout", () => {
  test("an expression that does not evaluate is underlined where it fails", () => {
    const expr = "ksIdleThread->tcbArch.nosuch";
    for (const cmd of ["why-write", "history"]) {
      const r = ttd([cmd, expr, "--trace", bugTrace]);
      expect(r.status).toBe(2);
      expect(r.stdout).toBe("");
      const lines = r.stderr.trimEnd().split("\n");
      expect(lines[0]).toMatch(/^ttd: no member `nosuch` in `struct arch_tcb`$/);
      expect(lines[1]).toBe(expr);
      expect(lines[2].indexOf("^")).toBe(expr.indexOf("nosuch"));
      expect(lines[2].trim()).toBe("^".repeat("nosuch".length));
    }
    // The library raises the same as a LocationError with the underline.
    const { recording, ctx } = open(bugTrace);
    opened.push(recording);
    expect(() => resolveLocation(ctx, "no_such_global + 4", ctx.trace.steps)).toThrow(LocationError);
    try {
      resolveLocation(ctx, "no_such_global + 4", ctx.trace.steps);
    } catch (e) {
      // The expression, then carets under the unknown name.
      expect((e as LocationError).underline).toBe("no_such_global + 4\n" + "^".repeat("no_such_global".length));
    }
  });

  test("--at out of range or not a step", () => {
    const far = ttd(["why-write", "0xe010f624", "--trace", bugTrace, "--at", "999999999"]);
    expect(far.status).toBe(2);
    expect(far.stdout).toBe("");
    expect(far.stderr).toMatch(/--at 999999999: step out of range \(the trace covers steps 0\.\.\d+\)/);
    const junk = ttd(["why-write", "0xe010f624", "--trace", bugTrace, "--at", "soon"]);
    expect(junk.status).toBe(2);
    expect(junk.stderr).toMatch(/--at expects a step number/);
  });

  test("history: steps out of range or reversed, a register, a bad limit", () => {
    const cases: [string[], RegExp][] = [
      [["--to", "999999999"], /--to 999999999: step out of range/],
      [["--from", "50", "--to", "10"], /--from 50 \(step 50\) is after --to 10/],
      [["--limit", "0"], /--limit must be between 1 and/],
      [["--from", "later"], /--from expects a step number, 'start', 'end' or 'fault'/],
    ];
    for (const [args, message] of cases) {
      const r = ttd(["history", "*ret_slot", "--trace", overrunTrace, ...args]);
      expect(r.status, args.join(" ")).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(message);
    }
    const reg = ttd(["history", "$esp", "--trace", overrunTrace]);
    expect(reg.status).toBe(2);
    expect(reg.stderr).toMatch(/history lists memory writes; .* ttd why-write '\$esp' --at <step>/);
    // The library checks its own arguments too.
    const loc = resolveLocation(overrun, "*ret_slot", overrun.trace.steps);
    if (loc.kind !== "memory") throw new Error("not memory");
    expect(() => history(overrun, loc, { from: 10, to: 5 })).toThrow(HistoryError);
    expect(() => history(overrun, loc, { to: overrun.trace.steps + 1 })).toThrow(/out of range/);
  });

  test("a trace that does not exist", () => {
    const r = ttd(["history", "0x100000", "--trace", "/nonexistent/x.trace"]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/x\.trace/);
  });
});

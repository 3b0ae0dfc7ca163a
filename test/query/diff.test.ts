/**
 * `ttd diff`: the demo kernel's bug and fixed recordings (two images) part at the first entry to
 * idle_thread, `push %ebp` on one side and `hlt` on the other, although their banners differ earlier
 * (a data-dependent loop count is not a divergence); two builds of a crashing guest of our own part
 * where guest_main takes a different scenario; two builds of a guest that differ in one constant stored
 * to a global (which sits at another address) part at that store, by the variable's name, and control
 * flow never does; one image recorded twice agrees step for step; one
 * image recorded twice with different serial input parts at the first read of the UART's receive
 * buffer that returns another byte, the input that put it there is named, and control flow parts
 * later only when the inputs make the guest run other code; given boot modules that differ in a byte,
 * at the first load of it, or at the first store of it when a copy moves it memory to memory.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { diffRecordings } from "../../src/query/diff.js";
import type { Recording } from "../../src/bundle/open.js";
import { documentedFields, fixture, keysOf, lineOf, open, record, REPO, requireBuiltCli, tmpDir, ttd } from "./helpers.js";
import { buildCGuest, canBuildC } from "../machine/c-guests.js";
import { buildGuest } from "../trace/helpers.js";

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
    expect(keysOf(j)).toEqual(documentedFields("diff: the answer"));
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

  test("two builds that differ in one constant stored to a global: a data divergence naming the variable, both values, steps and lines", () => {
    // builds.c with QUEUE_DEPTH 8 and 16: `config` (and `events`) sit 0x20 bytes higher in the second build.
    const ca = ctxOf(record(fixture("builds-a.elf"))), cb = ctxOf(record(fixture("builds-b.elf")));
    const configA = ca.symbols!.variable("config")!.address!, configB = cb.symbols!.variable("config")!.address!;
    expect(configB).not.toBe(configA);
    const d = diffRecordings(ca, cb, { context: 3 });
    expect(d.alignment).toBe("source");
    const div = d.divergence!;
    expect(div.what).toBe("data: the same source line stores another value to config.depth");
    expect(div.store).toEqual({ address: configA + 8, addressB: configB + 8, size: 4, a: 8, b: 16, variable: "config.depth" });
    const line = lineOf(fixture("builds.c"), "config.depth = QUEUE_DEPTH;");
    for (const s of [div.a!, div.b!]) {
      expect(s.code.function).toBe("configure");
      expect(s.code.line).toBe(line);
      expect(s.code.sourceText).toContain("config.depth = QUEUE_DEPTH;");
    }
    expect(div.a!.code.disasm).toBe(`movl $8, 0x${(configA + 8).toString(16)}`);
    expect(div.b!.code.disasm).toBe(`movl $0x10, 0x${(configB + 8).toString(16)}`);
    // The stores before it agree: `config.counter = &events` stores two numbers that name `events`.
    expect(d.common!.a.code.line).toBe(lineOf(fixture("builds.c"), "config.counter = &events;"));
    expect(d.common!.a.step).toBeLessThan(div.a!.step);
    // The rest of the run takes the same lines; the output is the same.
    expect(d.flow).toBeNull();
    expect(d.flowSearch).toEqual({ steps: ca.trace.steps - div.a!.step, complete: true });
    expect(d.output).toBeNull();
    // A bounded walk says where it stopped (at the first source visit past the bound).
    const bounded = diffRecordings(ca, cb, { flowSearchSteps: 10 }).flowSearch!;
    expect(bounded.complete).toBe(false);
    expect(bounded.steps).toBeGreaterThanOrEqual(10);

    const text = ttd(["diff", ca.trace.path, cb.trace.path]);
    expect(text.status).toBe(0);
    expect(text.stdout).toContain("First divergence: data: the same source line stores another value to config.depth");
    expect(text.stdout).toMatch(new RegExp(`A step ${div.a!.step} +configure\\+0x[0-9a-f]+ +test/query/fixtures/builds\\.c:${line} +movl \\$8,`));
    expect(text.stdout).toMatch(new RegExp(`B step ${div.b!.step} +configure\\+0x[0-9a-f]+ +test/query/fixtures/builds\\.c:${line} +movl \\$0x10,`));
    expect(text.stdout).toContain(`It stores 0x8 on A, 0x10 on B to config.depth (4 bytes at 0x${(configA + 8).toString(16)} on A, 0x${(configB + 8).toString(16)} on B).`);
    expect(text.stdout).toContain("Control flow never parts: the two executions run the same source lines to the end.");
    const j = JSON.parse(ttd(["diff", ca.trace.path, cb.trace.path, "--json"]).stdout);
    expect(j.divergence.store).toEqual({ address: `0x${(configA + 8).toString(16)}`, addressB: `0x${(configB + 8).toString(16)}`, size: 4, a: "0x8", b: "0x10", variable: "config.depth" });
    expect(j.divergence.a.line).toBe(line);
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

describe.skipIf(!canBuildC)("ttd diff of one guest given different input: serial bytes, a boot module", () => {
  // The input-shell guest (test/machine/guests/input-shell.c) reads COM1 in its receive interrupt.
  let dir: string;
  let elf: string;
  const withInput = (name: string, text: string) => {
    const file = path.join(dir, `${name}.txt`);
    fs.writeFileSync(file, text);
    return record(elf, ["--input-file", file]);
  };
  beforeAll(() => {
    dir = tmpDir();
    elf = buildCGuest("input-shell");
  });

  test("one byte typed differently: the first read of the receive buffer that differs, the input, no control-flow divergence", () => {
    const script = "sum 1 2 39\nquit\n";
    const a = withInput("a", script), b = withInput("b", script.replace("39", "38"));
    const d = diffRecordings(ctxOf(a), ctxOf(b));
    expect(d.alignment).toBe("step");
    const div = d.divergence!;
    expect(div.what).toMatch(/^data: EAX differs/);
    expect(div.a!.registers).toEqual([{ name: "eax", value: 0x39 }]);
    expect(div.b!.registers).toEqual([{ name: "eax", value: 0x38 }]);
    // The step before read COM1's receive buffer: the last common point, an `in`.
    expect(div.source).toEqual({ step: div.a!.step - 1, kind: "port", address: 0x3f8, size: 1, a: 0x39, b: 0x38 });
    expect(d.common!.a.step).toBe(div.a!.step - 1);
    expect(d.common!.a.code.disasm).toBe("in %dx, %al");
    expect(d.common!.a.code.symbol).toMatch(/^uart_irq\+/);
    // The sums differ, the code that computes and prints them does not: to the end of the run.
    expect(d.flow).toBeNull();
    expect(d.flowSearch).toEqual({ steps: ctxOf(a).trace.steps - div.a!.step, complete: true });
    // A bounded walk says where it stopped.
    expect(diffRecordings(ctxOf(a), ctxOf(b), { flowSearchSteps: 100 }).flowSearch).toEqual({ steps: 100, complete: false });
    // The input itself: the tenth byte, entered at the same step on both sides.
    expect(d.input!.index).toBe(script.indexOf("9"));
    expect(d.input!.a).toEqual({ step: d.input!.b!.step, device: "com1", data: [0x39] });
    expect(d.input!.b!.data).toEqual([0x38]);
    expect(d.input!.a!.step).toBeLessThan(d.common!.a.step);
    // The echo of that byte is the first output that differs.
    expect(String.fromCharCode(d.output!.a!.byte, d.output!.b!.byte)).toBe("98");

    const text = ttd(["diff", a, b]);
    expect(text.status).toBe(0);
    expect(text.stdout).toContain(`The values come from step ${(div.a!.step - 1).toLocaleString("en-US")}, the step before: it read 0x39 from port 0x3f8 on A, 0x38 on B.`);
    expect(text.stdout).toContain("Control flow never parts");
    expect(text.stdout).toMatch(/Input differs at input 10: A took 0x39 "9" on com1 at step [\d,]+, B took 0x38 "8" on com1/);
    const j = JSON.parse(ttd(["diff", a, b, "--json"]).stdout);
    expect(j.divergence.source).toEqual({ step: div.a!.step - 1, kind: "port", address: "0x3f8", size: 1, a: "0x39", b: "0x38" });
    expect(j.flow).toBeNull();
    expect(j.flowSearch.complete).toBe(true);
    expect(j.input.index).toBe(9);
  });

  test("another command: the first differing byte read, then control flow parts", () => {
    const a = withInput("sum", "sum 1 2 39\nquit\n"), b = withInput("rev", "rev abc\nquit\n");
    const d = diffRecordings(ctxOf(a), ctxOf(b));
    expect(d.divergence!.source).toMatchObject({ kind: "port", address: 0x3f8, a: "s".charCodeAt(0), b: "r".charCodeAt(0) });
    expect(d.input!.index).toBe(0);
    const flow = d.flow!;
    expect(flow.what).toMatch(/^control flow/);
    expect(flow.a!.step).toBe(flow.b!.step);
    expect(flow.a!.step).toBeGreaterThan(d.divergence!.a!.step);
    expect(flow.a!.code.eip).not.toBe(flow.b!.code.eip);
    expect(d.flowSearch).toEqual({ steps: flow.a!.step - d.divergence!.a!.step, complete: true });
    expect(ttd(["diff", a, b]).stdout).toContain("Then: control flow");
  });

  test("the same text on COM1 and on the keyboard: an event divergence, the receive interrupt against the keyboard's", () => {
    const script = path.join(dir, "same.txt");
    fs.writeFileSync(script, "sum 1 2 39\nquit\n");
    const a = record(elf, ["--input-file", script]), b = record(elf, ["--input-file", script, "--input", "keyboard"]);
    const d = diffRecordings(ctxOf(a), ctxOf(b));
    const div = d.divergence!;
    expect(div.what).toMatch(/^an event/);
    expect(div.a!.step).toBe(div.b!.step);
    expect([div.a!.kind, div.b!.kind]).toEqual(["interrupt", "interrupt"]);
    // input-shell.c programs the PIC at vector 0x20: IRQ 4 (COM1) and IRQ 1 (the keyboard).
    expect([div.a!.vector, div.b!.vector]).toEqual([0x24, 0x21]);
    expect(d.input!.index).toBe(0);
    expect([d.input!.a!.device, d.input!.b!.device]).toEqual(["com1", "keyboard"]);
    // The shell echoes what it was given: the same text either way.
    expect(d.output).toBeNull();
  });

  test("a boot module with one byte changed: the first load that differs is named by address", () => {
    // test/machine/guests/modules.c prints the first bytes of each module it was handed.
    const guest = buildCGuest("modules");
    const module = path.join(dir, "module.bin");
    fs.writeFileSync(module, "hello module\n");
    const a = record(guest, ["--module", module]);
    fs.writeFileSync(module, "hellO module\n");
    const b = record(guest, ["--module", module]);
    const d = diffRecordings(ctxOf(a), ctxOf(b));
    expect(d.input).toBeNull();
    const source = d.divergence!.source!;
    expect(source.kind).toBe("memory");
    expect(String.fromCharCode(source.a, source.b)).toBe("oO");
    expect(source.size).toBe(1);
    // The byte read is the module's fifth, where the loader put it.
    const state = ctxOf(a).trace.stateAt(source.step);
    expect(String.fromCharCode(...state.readLinear(source.address - 4, 5)!)).toBe("hello");
  });

  test("a copy of the module (rep movsb): the first divergence is the store of the byte that differs", () => {
    const guest = buildGuest("copy-module");
    const module = path.join(dir, "copied.bin");
    fs.writeFileSync(module, "hello module\n");
    const a = record(guest, ["--module", module]);
    fs.writeFileSync(module, "hellO module\n");
    const b = record(guest, ["--module", module]);
    const d = diffRecordings(ctxOf(a), ctxOf(b), { context: 3 });
    const div = d.divergence!;
    expect(div.what).toBe("data: the same store writes another value");
    expect(div.a!.code.disasm).toMatch(/^rep movsb/);
    expect(div.a!.registers).toEqual([]);
    const copy = ctxOf(a).symbols!.variable("copy")!.address!;
    // `copy` is a label with no size (test/trace/guests/copy-module.S): no variable covers the byte.
    expect(div.store).toEqual({ address: copy + 4, addressB: copy + 4, size: 1, a: "o".charCodeAt(0), b: "O".charCodeAt(0), variable: null });
    // This very step read the module's byte: the source is its own load, by the module's address.
    expect(div.source).toMatchObject({ step: div.a!.step, kind: "memory", size: 1, a: "o".charCodeAt(0), b: "O".charCodeAt(0) });
    // Three common points before it, the copy's earlier iterations, oldest first.
    expect(d.context.map((c) => c.a.step)).toEqual([div.a!.step - 3, div.a!.step - 2, div.a!.step - 1]);
    expect(d.common).toEqual(d.context[2]);
    // The registers part at the load of the copy; control flow never does.
    expect(d.flow).toBeNull();
    const text = ttd(["diff", a, b, "--context", "3"]);
    expect(text.stdout).toContain("Last 3 common points, oldest first:");
    expect(text.stdout).toContain(`It stores 0x6f on A, 0x4f on B (1 byte at 0x${(copy + 4).toString(16)}).`);
    expect(text.stdout).toMatch(/The values come from step [\d,]+, this step: it read 0x6f from memory at 0x[0-9a-f]+ \(1 byte\) on A, 0x4f on B\./);
    const j = JSON.parse(ttd(["diff", a, b, "--json", "--context", "2"]).stdout);
    expect(j.context).toHaveLength(2);
    expect(j.divergence.store).toEqual({ address: `0x${(copy + 4).toString(16)}`, addressB: `0x${(copy + 4).toString(16)}`, size: 1, a: "0x6f", b: "0x4f", variable: null });
    const bad = ttd(["diff", a, b, "--context", "0"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
  });
});

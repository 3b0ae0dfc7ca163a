/**
 * why-write on a compute guest built by another toolchain setup (the probe, clang -O2 with the sort
 * inlined into its caller): `arr[17]` was last written by insertion_sort's shifting store, at its
 * source line in probe.c, with the index register that chose the element.
 */
import * as fs from "node:fs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { resolveLocation } from "../../src/query/location.js";
import { whyWrite } from "../../src/query/why-write.js";
import { history } from "../../src/query/history.js";
import type { Recording } from "../../src/bundle/open.js";
import type { QueryContext } from "../../src/query/context.js";
import { lineOf, open, probe, record, requireBuiltCli, ttdJson } from "./helpers.js";

const PROBE_C = probe("probe.c");
let trace = "";
let recording: Recording;
let ctx: QueryContext;

beforeAll(() => {
  requireBuiltCli();
  trace = record(probe("probe-r1.elf"));
  ({ recording, ctx } = open(trace));
});

afterAll(() => recording?.close());

describe("probe-r1: arr[17]", () => {
  test("last written by insertion_sort's store, at its line in probe.c", () => {
    const end = ctx.trace.steps;
    const loc = resolveLocation(ctx, "arr[17]", end);
    expect(loc.kind).toBe("memory");
    if (loc.kind !== "memory") return;
    const arr = ctx.symbols!.variable("arr")!;
    expect(loc.address).toBe(arr.address! + 17 * 4);
    expect(loc.size).toBe(4);

    const a = whyWrite(ctx, loc, end, { chain: true, depth: 3 });
    expect(a.writes).toHaveLength(1);
    const w = a.writes[0];
    expect(w.writer.kind).toBe("instruction");
    const code = w.writer.code;
    // insertion_sort has no code of its own at -O2: the store is inlined into probe_main.
    expect(code.function).toBe("insertion_sort");
    expect(code.symbol).toMatch(/^probe_main\+0x[0-9a-f]+$/);
    expect(code.file!.endsWith("probe.c")).toBe(true);
    expect(code.line).toBe(lineOf(PROBE_C, "a[j + 1] = a[j]"));
    // A 4-byte store indexed by a register scaled by 4 (`a[j + 1]`).
    expect(code.disasm).toMatch(/^mov %e[a-z]{2}, 0x[0-9a-f]+\(,%e[a-z]{2},4\)$/);
    expect(w.size).toBe(4);
    expect(w.address).toBe(loc.address);
    // Nothing wrote it afterwards: the value at the end is what that store wrote.
    const v = a.value!;
    expect((v[0] | (v[1] << 8) | (v[2] << 16) | (v[3] << 24)) >>> 0).toBe(w.newValue);

    // The chain: the index register held 17 (the element), and a loop step changed it last.
    const index = /,%(e[a-z]{2}),4\)$/.exec(code.disasm)![1];
    expect(a.chain[0]).toMatchObject({ kind: "address", register: index, after: 17 });
    expect(a.chain[1].register).toBe(index);
    expect(a.chain[1].after).toBe(17);
    expect(a.chain[1].code?.function).toBe("insertion_sort");
  });

  test("the last write history lists is the same step", () => {
    const loc = resolveLocation(ctx, "arr[17]", ctx.trace.steps);
    if (loc.kind !== "memory") throw new Error("not memory");
    const last = whyWrite(ctx, loc, ctx.trace.steps).writes[0];
    const h = history(ctx, loc, { from: Math.max(0, last.step - 200_000) });
    expect(h.writes.length).toBeGreaterThan(0);
    expect(h.writes[h.writes.length - 1].step).toBe(last.step);
    expect(h.writes[h.writes.length - 1].newValue).toBe(last.newValue);
  });

  test("ttd why-write 'arr[17]' --json agrees", () => {
    const j = ttdJson<{ writes: { kind: string; function: string; file: string; line: number; symbol: string }[] }>(["why-write", "arr[17]", "--trace", trace]);
    expect(j.writes).toHaveLength(1);
    expect(j.writes[0]).toMatchObject({ kind: "instruction", function: "insertion_sort", line: lineOf(PROBE_C, "a[j + 1] = a[j]") });
    expect(j.writes[0].file.endsWith("probe.c")).toBe(true);
    expect(fs.existsSync(PROBE_C)).toBe(true);
  });
});

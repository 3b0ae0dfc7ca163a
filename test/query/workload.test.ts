/**
 * why-write on a compute guest whose DWARF names a build folder that does not exist here (the
 * workload guest, clang -O2 with the Shell sort inlined into its caller): `keys[17]` was last written
 * by the sort's shifting store, at its source line in workload.c, through a base register and an
 * index register that the sort's inner loop stepped down.
 */
import * as fs from "node:fs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { resolveLocation } from "../../src/query/location.js";
import { whyWrite } from "../../src/query/why-write.js";
import { history } from "../../src/query/history.js";
import type { Recording } from "../../src/bundle/open.js";
import type { QueryContext } from "../../src/query/context.js";
import type { Registers } from "../../src/trace/registers.js";
import { WORKLOAD_BUILD_PATH, WORKLOAD_SOURCE, workload } from "../guests.js";
import { lineOf, open, record, requireBuiltCli, ttdJson } from "./helpers.js";

const SHIFTING_STORE = "v[j] = v[j - gap]";
let trace = "";
let recording: Recording;
let ctx: QueryContext;

beforeAll(() => {
  requireBuiltCli();
  trace = record(workload("workload-r1.elf"));
  ({ recording, ctx } = open(trace));
});

afterAll(() => recording?.close());

describe("workload-r1: keys[17]", () => {
  test("last written by shell_sort's shifting store, at its line in workload.c", () => {
    const end = ctx.trace.steps;
    const loc = resolveLocation(ctx, "keys[17]", end);
    expect(loc.kind).toBe("memory");
    if (loc.kind !== "memory") return;
    const keys = ctx.symbols!.variable("keys")!;
    expect(loc.address).toBe(keys.address! + 17 * 4);
    expect(loc.size).toBe(4);

    const a = whyWrite(ctx, loc, end, { chain: true, depth: 3 });
    expect(a.writes).toHaveLength(1);
    const w = a.writes[0];
    expect(w.writer.kind).toBe("instruction");
    const code = w.writer.code;
    // shell_sort has no code of its own at -O2: the store is inlined into workload_main.
    expect(code.function).toBe("shell_sort");
    expect(code.symbol).toMatch(/^workload_main\+0x[0-9a-f]+$/);
    expect(code.file).toBe(`${WORKLOAD_BUILD_PATH}/workload.c`);
    expect(code.line).toBe(lineOf(WORKLOAD_SOURCE, SHIFTING_STORE));
    // A 4-byte store to a base register plus an index register scaled by 4 (`v[j]`, j relative to i).
    const operands = /^mov %e[a-z]{2}, \(%(e[a-z]{2}),%(e[a-z]{2}),4\)$/.exec(code.disasm);
    expect(operands, code.disasm).not.toBeNull();
    const [, base, index] = operands!;
    expect(w.size).toBe(4);
    expect(w.address).toBe(loc.address);
    // Nothing wrote it afterwards: the value at the end is what that store wrote.
    const v = a.value!;
    expect((v[0] | (v[1] << 8) | (v[2] << 16) | (v[3] << 24)) >>> 0).toBe(w.newValue);

    // The chain: the index register (negative: j counts down from i) and the base at the store make
    // the address; the inner loop's step (j -= gap, gap 1 in the last pass) changed the index last.
    const regs = ctx.trace.stateAt(w.step).regs;
    const indexValue = regs[index as keyof Registers] as number;
    expect(a.chain[0]).toMatchObject({ kind: "address", register: index, after: indexValue >>> 0 });
    expect(indexValue | 0).toBeLessThan(0);
    expect(((regs[base as keyof Registers] as number) + 4 * (indexValue | 0)) >>> 0).toBe(loc.address);
    expect(a.chain[1]).toMatchObject({ kind: "change", register: index, after: indexValue >>> 0 });
    expect(((a.chain[1].before! - a.chain[1].after!) | 0)).toBe(1);
    expect(a.chain[1].code?.function).toBe("shell_sort");
    // At -O2 the decrement is attributed to the inner loop's condition or to its own line.
    expect([lineOf(WORKLOAD_SOURCE, "while (j >= gap"), lineOf(WORKLOAD_SOURCE, "j -= gap")]).toContain(a.chain[1].code?.line);
  });

  test("the last write history lists is the same step", () => {
    const loc = resolveLocation(ctx, "keys[17]", ctx.trace.steps);
    if (loc.kind !== "memory") throw new Error("not memory");
    const last = whyWrite(ctx, loc, ctx.trace.steps).writes[0];
    const h = history(ctx, loc, { from: Math.max(0, last.step - 200_000) });
    expect(h.writes.length).toBeGreaterThan(0);
    expect(h.writes[h.writes.length - 1].step).toBe(last.step);
    expect(h.writes[h.writes.length - 1].newValue).toBe(last.newValue);
  });

  test("ttd why-write 'keys[17]' --json agrees", () => {
    const j = ttdJson<{ writes: { kind: string; function: string; file: string; line: number; symbol: string }[] }>(["why-write", "keys[17]", "--trace", trace]);
    expect(j.writes).toHaveLength(1);
    expect(j.writes[0]).toMatchObject({ kind: "instruction", function: "shell_sort", line: lineOf(WORKLOAD_SOURCE, SHIFTING_STORE) });
    expect(j.writes[0].file).toBe(`${WORKLOAD_BUILD_PATH}/workload.c`);
    // The line table's folder is the build machine's: it does not exist here.
    expect(fs.existsSync(WORKLOAD_BUILD_PATH)).toBe(false);
  });
});

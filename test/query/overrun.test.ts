/**
 * A guest of our own with a stack smash (fixtures/overrun.c): a byte-copy loop runs past a 16-byte
 * buffer and over its caller's return address. why-write on the return-address slot names the copying
 * store (one step per byte) and its function; the chain leads from the store's index register to the
 * loop counter's increment; history lists the calls that pushed the return address and then the four
 * byte stores, and replaying them reproduces the value.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { resolveLocation } from "../../src/query/location.js";
import { whyWrite } from "../../src/query/why-write.js";
import { history } from "../../src/query/history.js";
import type { Recording } from "../../src/bundle/open.js";
import type { QueryContext } from "../../src/query/context.js";
import { documentedFields, fixture, keysOf, lineOf, open, record, requireBuiltCli, tmpDir, ttd, ttdJson } from "./helpers.js";

const OVERRUN_C = fixture("overrun.c");
const COPY_LINE = () => lineOf(OVERRUN_C, "dst[i] = src[i];");
const LOOP_LINE = () => lineOf(OVERRUN_C, "for (u32 i = 0; i < n; i++)");

let trace = "";
let recording: Recording;
let ctx: QueryContext;
let landed = 0;

beforeAll(() => {
  requireBuiltCli();
  trace = record(fixture("overrun.elf"));
  ({ recording, ctx } = open(trace));
  landed = ctx.symbols!.functionNamed("landed")!.entry;
});

afterAll(() => recording?.close());

function slot(at: number) {
  const loc = resolveLocation(ctx, "*ret_slot", at);
  if (loc.kind !== "memory") throw new Error("*ret_slot is not memory");
  return loc;
}

describe("overrun guest", () => {
  test("the guest really returned into its payload", () => {
    const out = ctx.trace.output().map((o) => String.fromCharCode(o.byte)).join("");
    expect(out).toBe("overrun: parse_packet returned into its payload\n");
    const info = ctx.trace.info();
    expect(info.end?.exitStatus).toBe((0x10 << 1) | 1);
  });

  test("why-write on the return-address slot names copy_bytes' store, one step per byte", () => {
    const end = ctx.trace.steps;
    const loc = slot(end);
    expect(loc.size).toBe(4);
    const a = whyWrite(ctx, loc, end);
    const v = a.value!;
    // The smashed return address is landed(): the payload's words.
    expect((v[0] | (v[1] << 8) | (v[2] << 16) | (v[3] << 24)) >>> 0).toBe(landed);
    expect(a.neverWritten).toEqual([]);
    // Four byte stores, most recent first, byte 3 down to byte 0, each owning its byte.
    expect(a.writes.map((w) => w.bytes)).toEqual([[3, 4], [2, 3], [1, 2], [0, 1]]);
    for (let i = 0; i < 4; i++) {
      const w = a.writes[i];
      expect(w.size).toBe(1);
      expect(w.address).toBe(loc.address + 3 - i);
      expect(w.newValue).toBe((landed >>> (8 * (3 - i))) & 0xff);
      expect(w.writer.kind).toBe("instruction");
      expect(w.writer.code.function).toBe("copy_bytes");
      expect(w.writer.code.file).toBe("test/query/fixtures/overrun.c");
      expect(w.writer.code.line).toBe(COPY_LINE());
      expect(w.writer.code.sourceText?.trim()).toBe("dst[i] = src[i];");
      if (i > 0) expect(w.step).toBeLessThan(a.writes[i - 1].step);
    }
    // One instruction made all four: the loop's store.
    expect(new Set(a.writes.map((w) => w.writer.code.eip)).size).toBe(1);
    expect(a.writes[0].writer.code.disasm).toMatch(/^mov %[a-d]l, \(%e[a-z]{2}(,%e[a-z]{2})?\)$/);
  });

  test("--chain: the index register formed the address, and the loop counter's increment set it", () => {
    const end = ctx.trace.steps;
    const loc = slot(end);
    const a = whyWrite(ctx, loc, end, { chain: true, depth: 4 });
    const store = a.writes[0];
    const [addr, inc] = a.chain;
    expect(addr.kind).toBe("address");
    expect(addr.step).toBe(store.step);
    const buffer = ctx.trace.stateAt(store.step).regs;
    // The register followed is the one that moves from iteration to iteration: the loop index i.
    // The byte it addressed is buffer + i, so i is the slot's offset from the buffer start.
    const reg = addr.register!;
    expect(["eax", "ecx", "edx", "ebx", "esi", "edi"]).toContain(reg);
    expect(buffer[reg as "eax"]).toBe(addr.after);
    expect(addr.text).toMatch(/\(with E[A-Z]{2}=0x[0-9a-f]+\)/);
    // The previous change of that register: the loop counter's increment, one earlier than now.
    expect(inc.kind).toBe("change");
    expect(inc.register).toBe(reg);
    expect(inc.after).toBe(addr.after);
    expect(inc.before! + 1).toBe(inc.after);
    expect(inc.code?.disasm).toMatch(new RegExp(`^(inc %${reg}|add \\$1, %${reg})$`));
    expect(inc.code?.function).toBe("copy_bytes");
    expect(inc.code?.line).toBe(LOOP_LINE());
    expect(inc.step).toBeLessThan(store.step);
    // Further back, the same increment once per earlier byte.
    expect(a.chain[2].code?.eip).toBe(inc.code?.eip);
    expect(a.chain[2].after).toBe(inc.before);
  });

  test("ttd why-write '*ret_slot' --chain: text and JSON", () => {
    const r = ttd(["why-write", "*ret_slot", "--trace", trace, "--chain", "--depth", "3"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`Last written (bytes 3..3) at step`);
    expect(r.stdout).toMatch(/by `mov %[a-d]l, \(%e[a-z]{2},%e[a-z]{2}\)` in copy_bytes\+0x[0-9a-f]+:/);
    expect(r.stdout).toContain(`test/query/fixtures/overrun.c:${COPY_LINE()}`);
    expect(r.stdout).toContain(`test/query/fixtures/overrun.c:${LOOP_LINE()}`);
    expect(r.stdout).toContain("depth limit reached");
    const j = ttdJson<{ writes: Record<string, unknown>[]; chain: Record<string, unknown>[] }>(["why-write", "*ret_slot", "--trace", trace, "--chain", "--depth", "3"]);
    expect(j.writes.map((w) => w.bytes)).toEqual([[3, 4], [2, 3], [1, 2], [0, 1]]);
    for (const w of j.writes) expect(keysOf(w)).toEqual(documentedFields("write"));
    expect(j.chain.map((l) => l.kind)).toEqual(["address", "change", "change", "limit"]);
  });

  test("history: the calls that pushed the return address, then the four byte stores; replaying them gives the value", () => {
    const end = ctx.trace.steps;
    const loc = slot(end);
    const h = history(ctx, loc);
    expect(h.truncated).toBe(false);
    expect(h.from).toBe(ctx.trace.startStep);
    expect(h.to).toBe(end);
    const kinds = h.writes.map((w) => `${w.writer.code.function}:${w.writer.code.disasm.split(" ")[0]}:${w.bytes.join("-")}`);
    expect(kinds).toEqual(["guest_main:call:0-4", "guest_main:call:0-4", "copy_bytes:mov:0-1", "copy_bytes:mov:1-2", "copy_bytes:mov:2-3", "copy_bytes:mov:3-4"]);
    for (let i = 1; i < h.writes.length; i++) expect(h.writes[i].step).toBeGreaterThan(h.writes[i - 1].step);
    // Apply every write to the bytes at `from`: each write's old value is what is there, and the
    // result is the value at `to`.
    const bytes = Array.from(h.before!);
    for (const w of h.writes) {
      for (let b = w.bytes[0]; b < w.bytes[1]; b++) {
        const shift = 8 * (loc.address + b - w.address);
        expect(bytes[b]).toBe((w.oldValue >>> shift) & 0xff);
        bytes[b] = (w.newValue >>> shift) & 0xff;
      }
    }
    expect(bytes).toEqual(Array.from(h.after!));
    // The second call's push is what the overrun destroyed: a return into guest_main.
    const ret = h.writes[1].newValue;
    expect(ctx.symbols!.functionAt(ret)?.function.name).toBe("guest_main");
  });

  test("ttd history --json: documented fields; --from/--to narrow; --limit truncates", () => {
    type H = { count: number; truncated: boolean; from: number; to: number; before: string; after: string; source: string | null; writes: { step: number; disasm: string }[]; location: unknown };
    const all = ttdJson<H>(["history", "*ret_slot", "--trace", trace]);
    expect(keysOf(all)).toEqual(documentedFields("history: the answer"));
    expect(keysOf(all.location)).toEqual(documentedFields("location"));
    for (const w of all.writes) expect(keysOf(w)).toEqual(documentedFields("write"));
    expect(all.count).toBe(6);
    expect(all.truncated).toBe(false);
    expect(all.source).toBeNull();
    expect(Number(all.after)).toBe(landed);
    const steps = all.writes.map((w) => w.step);

    const two = ttdJson<H>(["history", "*ret_slot", "--trace", trace, "--limit", "2"]);
    expect(two.truncated).toBe(true);
    expect(two.writes.map((w) => w.step)).toEqual(steps.slice(0, 2));

    const mid = ttdJson<H>(["history", "*ret_slot", "--trace", trace, "--from", String(steps[2]), "--to", String(steps[4])]);
    expect(mid.writes.map((w) => w.step)).toEqual(steps.slice(2, 4));
    expect([mid.from, mid.to]).toEqual([steps[2], steps[4]]);

    const text = ttd(["history", "*ret_slot", "--trace", trace, "--limit", "2"]);
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/2\+ writes/);
    expect(text.stdout).toContain(`more writes after step ${steps[1].toLocaleString("en-US")} (raise --limit, or start --from ${steps[1] + 1})`);
  });
});

/** The committed ELF is what build.sh makes from the committed sources (with the same compiler). */
const clang = spawnSync("clang", ["--version"], { encoding: "utf8" });
const sameCompiler = clang.status === 0 && /clang version 14\.0\.6/.test(clang.stdout) && spawnSync("ld.lld", ["--version"]).status === 0;
describe.skipIf(!sameCompiler)("overrun fixture build", () => {
  test("build.sh reproduces the committed overrun.elf byte for byte", () => {
    const out = path.join(tmpDir(), "overrun.elf");
    const r = spawnSync("sh", [fixture("build.sh"), out], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(Buffer.compare(fs.readFileSync(out), fs.readFileSync(fixture("overrun.elf")))).toBe(0);
  });
});

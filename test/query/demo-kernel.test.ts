/**
 * The question ttd exists for, end to end on the demo kernels: who last wrote the idle thread's
 * `registers[Error]`, and why there. On the buggy image the answer is the CPU pushing the idle EIP
 * during the timer interrupt, one word low because `push %ebp` in idle_thread moved ESP; on the fixed
 * image the same question has an ordinary answer (the entry stub's error-code push, with ESP where the
 * idle context puts it). Both through the library and through the compiled CLI.
 */
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { resolveLocation } from "../../src/query/location.js";
import { whyWrite, type WhyWriteAnswer } from "../../src/query/why-write.js";
import { history } from "../../src/query/history.js";
import type { ChainLink } from "../../src/query/chain.js";
import type { Recording } from "../../src/bundle/open.js";
import type { QueryContext } from "../../src/query/context.js";
import { documentedFields, kernel, keysOf, lineOf, num, open, record, REPO, requireBuiltCli, ttd, ttdJson } from "./helpers.js";

const EXPR = "ksIdleThread->tcbArch.tcbContext.registers[Error]";
const IDLE_C = path.join(REPO, "src/kernel/idle.c");
const TRAPS_S = path.join(REPO, "src/kernel/traps.S");

/** The line of idle_thread's opening brace in the buggy (first) definition: where its prologue sits. */
const idleOpenLine = () => lineOf(IDLE_C, "void idle_thread(void)") + 1;

let bugTrace = "";
let fixedTrace = "";
const opened: Recording[] = [];

function ctxOf(trace: string): QueryContext {
  const { recording, ctx } = open(trace);
  opened.push(recording);
  return ctx;
}

function ask(ctx: QueryContext, at: number): { answer: WhyWriteAnswer; address: number } {
  const loc = resolveLocation(ctx, EXPR, at);
  if (loc.kind !== "memory") throw new Error(`${EXPR} resolved to a register`);
  return { answer: whyWrite(ctx, loc, at, { chain: true }), address: loc.address };
}

beforeAll(() => {
  requireBuiltCli();
  bugTrace = record(kernel("idle-bug.elf"));
  fixedTrace = record(kernel("idle-fixed.elf"));
});

afterAll(() => {
  for (const r of opened) r.close();
});

describe("idle-bug: why-write registers[Error] at the crash", () => {
  test("the CPU pushed the idle EIP there while delivering vector 157", () => {
    const ctx = ctxOf(bugTrace);
    const fault = ctx.trace.events().find((e) => e.kind === "fault");
    expect(fault).toBeDefined();
    const { answer, address } = ask(ctx, fault!.step);
    expect(answer.location.size).toBe(4);
    // Named through the ksIdleThread pointer, as it was at the crash (Error is registers[9]).
    expect(answer.location.name).toBe("ksIdleThread->tcbArch.tcbContext.registers[9]");
    expect(answer.writes).toHaveLength(1);
    expect(answer.neverWritten).toEqual([]);
    const w = answer.writes[0];
    expect(w.bytes).toEqual([0, 4]);
    expect(w.address).toBe(address);
    expect(w.writer.kind).toBe("cpu");
    if (w.writer.kind !== "cpu") return;
    expect(w.writer.activity).toBe("interrupt");
    expect(w.writer.vector).toBe(157);
    expect(w.writer.framePart).toBe("EIP");
    expect(w.writer.code.function).toBe("idle_thread");
    expect(w.writer.code.file).toBe("src/kernel/idle.c");
    // What was pushed is the interrupted instruction's address, and the trace's event agrees.
    expect(w.newValue).toBe(w.writer.code.eip);
    const ev = ctx.trace.events(w.step, w.step + 1);
    expect(ev.map((e) => [e.kind, e.vector, e.eip])).toEqual([["interrupt", 157, w.newValue]]);
    // Nothing wrote it again before the crash.
    expect(Array.from(answer.value!)).toEqual([w.newValue & 0xff, (w.newValue >>> 8) & 0xff, (w.newValue >>> 16) & 0xff, w.newValue >>> 24]);
  });

  test("the chain: ESP one word below the idle context, moved there by push %ebp in idle_thread", () => {
    const ctx = ctxOf(bugTrace);
    const fault = ctx.trace.events().find((e) => e.kind === "fault")!;
    const { answer, address } = ask(ctx, fault.step);
    const chain = answer.chain;
    const w = answer.writes[0];
    // 1. The frame went just below ESP: EFLAGS, CS, then EIP, so EIP sits 3 words under it.
    expect(chain[0]).toMatchObject({ kind: "address", step: w.step, register: "esp", after: address + 12 });
    expect(chain[0].valueName).toBe("ksIdleThread->tcbArch.tcbContext.registers[12]");
    // 2. The last step that moved ESP before the interrupt: idle_thread's prologue.
    const push = chain[1];
    expect(push.kind).toBe("change");
    expect(push.register).toBe("esp");
    expect(push.code?.disasm).toBe("push %ebp");
    expect(push.code?.function).toBe("idle_thread");
    expect(push.code?.file).toBe("src/kernel/idle.c");
    expect(push.code?.line).toBe(idleOpenLine());
    expect(push.code?.sourceText?.trim()).toBe("{");
    expect(push.step).toBeLessThan(w.step);
    expect([push.before, push.after]).toEqual([address + 16, address + 12]);
    // 3. Before it, iret in restore_user_context had left ESP at registers[13], where it belongs.
    const iret = chain[2];
    expect(iret.code?.disasm).toBe("iret");
    expect(iret.code?.function).toBe("restore_user_context");
    expect(iret.after).toBe(address + 16);
    expect(iret.valueName).toBe("ksIdleThread->tcbArch.tcbContext.registers[13]");
    // Each link is older than the one above it.
    for (let i = 1; i < chain.length; i++) expect(chain[i].step).toBeLessThanOrEqual(chain[i - 1].step);
  });

  test("ttd why-write --chain (text) names the interrupt, the EIP push and push %ebp at idle.c", () => {
    const r = ttd(["why-write", EXPR, "--trace", bugTrace, "--at", "fault", "--chain"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("by the CPU delivering an external interrupt, vector 157 (0x9d), pushing the EIP of the interrupted code");
    expect(r.stdout).toMatch(/ESP 0x[0-9a-f]+ \(&ksIdleThread->tcbArch\.tcbContext\.registers\[13\]\) -> 0x[0-9a-f]+ \(&ksIdleThread->tcbArch\.tcbContext\.registers\[12\]\) \(-4\) by `push %ebp` in idle_thread/);
    expect(r.stdout).toContain(`idle_thread  src/kernel/idle.c:${idleOpenLine()}  push %ebp`);
  });

  test("ttd why-write --json has the documented fields and the same answer", () => {
    type Json = { location: Record<string, unknown>; step: number; value: string; writes: Record<string, unknown>[]; neverWritten: unknown[]; chain: Record<string, unknown>[] };
    const j = ttdJson<Json>(["why-write", EXPR, "--trace", bugTrace, "--at", "fault", "--chain"]);
    expect(keysOf(j)).toEqual(documentedFields("why-write: the answer"));
    expect(keysOf(j.location)).toEqual(documentedFields("location"));
    expect(j.location).toMatchObject({ expression: EXPR, size: 4, name: "ksIdleThread->tcbArch.tcbContext.registers[9]" });
    expect(j.writes).toHaveLength(1);
    for (const w of j.writes) expect(keysOf(w)).toEqual(documentedFields("write"));
    expect(j.writes[0]).toMatchObject({ kind: "interrupt", vector: 157, framePart: "EIP", function: "idle_thread", file: "src/kernel/idle.c", bytes: [0, 4], size: 4 });
    expect(j.writes[0].new).toBe(j.writes[0].eip);
    expect(j.value).toBe(j.writes[0].new);
    const linkFields = documentedFields("chain link");
    for (const l of j.chain) {
      const expected = l.kind === "stack-walk" ? linkFields : linkFields.filter((f) => f !== "count" && f !== "firstStep");
      expect(keysOf(l)).toEqual(expected);
    }
    expect(j.chain[0]).toMatchObject({ kind: "address", register: "esp", explains: "address of the write" });
    expect(num(j.chain[0].after as string)).toBe(num(j.location.address as string) + 12);
    const push = j.chain.find((l) => l.disasm === "push %ebp");
    expect(push).toMatchObject({ kind: "change", register: "esp", function: "idle_thread", file: "src/kernel/idle.c", line: idleOpenLine() });
    // The same step the library found.
    const ctx = ctxOf(bugTrace);
    const fault = ctx.trace.events().find((e) => e.kind === "fault")!;
    expect(j.step).toBe(fault.step);
    expect(push!.step).toBe(ask(ctx, fault.step).answer.chain[1].step);
  });
});

describe("idle-bug: history of registers[Error]", () => {
  test("oldest first, ending with the EIP push why-write names; replaying the writes gives the value at the crash", () => {
    const ctx = ctxOf(bugTrace);
    const fault = ctx.trace.events().find((e) => e.kind === "fault")!;
    const loc = resolveLocation(ctx, EXPR, fault.step);
    if (loc.kind !== "memory") throw new Error("not memory");
    const all = history(ctx, loc, { to: fault.step });
    expect(all.writes.length).toBeGreaterThan(1);
    const last = all.writes[all.writes.length - 1];
    const ww = ask(ctx, fault.step).answer.writes[0];
    expect([last.step, last.newValue, last.writer.kind]).toEqual([ww.step, ww.newValue, "cpu"]);
    for (let i = 1; i < all.writes.length; i++) expect(all.writes[i].step).toBeGreaterThanOrEqual(all.writes[i - 1].step);
    // The first writes are the boot code clearing .bss through the physical address, before paging
    // is on: the location's linear address is not RAM then, yet the writes are to its frame.
    expect(ctx.trace.stateAt(all.writes[0].step).readLinear(loc.address, 4)).toBeNull();
    expect(all.writes[0].address).not.toBe(loc.address);
    // From the first write made with paging on, replay the rest.
    const first = all.writes.find((w) => ctx.trace.stateAt(w.step).readLinear(loc.address, 4) !== null)!;
    const h = history(ctx, loc, { from: first.step, to: fault.step });
    expect(h.writes.map((w) => w.step)).toEqual(all.writes.filter((w) => w.step >= first.step).map((w) => w.step));
    const bytes = Array.from(h.before!);
    for (const w of h.writes) {
      for (let b = w.bytes[0]; b < w.bytes[1]; b++) {
        const shift = 8 * (loc.address + b - w.address);
        expect(bytes[b]).toBe((w.oldValue >>> shift) & 0xff);
        bytes[b] = (w.newValue >>> shift) & 0xff;
      }
    }
    expect(bytes).toEqual(Array.from(h.after!));
  });

  test("ttd history --to fault (text)", () => {
    const r = ttd(["history", EXPR, "--trace", bugTrace, "--to", "fault"]);
    expect(r.status).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toBe(EXPR);
    expect(lines[2]).toMatch(/^  steps 0\.\.[\d,]+: \(unmapped\) -> 0x[0-9a-f]+, \d+ writes$/);
    expect(lines[lines.length - 2]).toMatch(/by the CPU delivering an external interrupt, vector 157 \(0x9d\), pushing the EIP of the interrupted code$/);
    expect(lines[lines.length - 1]).toMatch(/interrupted code: idle_thread\+0x[0-9a-f]+ src\/kernel\/idle\.c:\d+/);
  });
});

describe("idle-fixed: the same question answers differently", () => {
  test("no crash: --at fault is refused (exit 2)", () => {
    const r = ttd(["why-write", EXPR, "--trace", fixedTrace, "--at", "fault"]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/--at fault: the trace has no faulting instruction/);
  });

  test("registers[Error] was last written by the entry stub's error-code push, with ESP where the idle context puts it", () => {
    const ctx = ctxOf(fixedTrace);
    expect(ctx.trace.events().some((e) => e.kind === "fault")).toBe(false);
    const end = ctx.trace.steps;
    const { answer, address } = ask(ctx, end);
    expect(answer.writes).toHaveLength(1);
    const w = answer.writes[0];
    expect(w.writer.kind).toBe("instruction");
    expect(w.writer.code.disasm).toBe("push $0");
    expect(w.writer.code.function).toBe("int_157");
    expect(w.writer.code.file).toBe("src/kernel/traps.S");
    expect(w.writer.code.line).toBe(lineOf(TRAPS_S, "INT_HANDLER 157"));
    expect(w.newValue).toBe(0);

    const chain = answer.chain;
    // The push stored just below ESP = &registers[10].
    expect(chain[0]).toMatchObject({ kind: "address", register: "esp", after: address + 4 });
    // ESP got there by the CPU delivering vector 157 from the idle loop: three words from registers[13].
    expect(chain[1].kind).toBe("change");
    expect(chain[1].text).toMatch(/the CPU delivering vector 157/);
    expect(chain[1].code?.function).toBe("idle_thread");
    expect([chain[1].before, chain[1].after]).toEqual([address + 16, address + 4]);
    // And registers[13] is where iret left the idle thread: nothing in between moved ESP.
    expect(chain[2].code?.disasm).toBe("iret");
    expect(chain[2].after).toBe(address + 16);
    // The culprit of the buggy image is absent.
    expect(chain.some((l: ChainLink) => l.code?.disasm === "push %ebp")).toBe(false);
  });

  test("the CLI agrees: push $0 in int_157, no push %ebp in the chain", () => {
    const j = ttdJson<{ writes: { disasm: string; function: string; kind: string }[]; chain: { disasm: string | null }[] }>(["why-write", EXPR, "--trace", fixedTrace, "--chain"]);
    expect(j.writes.map((w) => [w.kind, w.disasm, w.function])).toEqual([["instruction", "push $0", "int_157"]]);
    expect(j.chain.length).toBeGreaterThan(2);
    expect(j.chain.map((l) => l.disasm)).not.toContain("push %ebp");
  });
});

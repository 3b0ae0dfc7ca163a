/**
 * `ttd explain`: from a crash, with no location named, to the root. The demo kernel's recording must
 * lead from the iret's #GP(0x200) to idle_thread's `push %ebp`; four crashing guests of our own
 * (fixtures/faults.c: a stack smash, a NULL pointer, a corrupted function pointer, a divide by zero)
 * must each end at the store or the instruction that caused it, named by function and source line;
 * a segment load's #NP (test/trace/guests/bad-selector.S) at the store that put the selector there;
 * an `lss`'s #SS and an `int $0x80`'s #TS (the ring-0 stack selector in the TSS) at the constant
 * argument the bad selector came from, with the fault and error code QEMU 7.2 raises.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { explain, ExplainError, type Explanation } from "../../src/query/explain.js";
import type { Recording } from "../../src/bundle/open.js";
import type { QueryContext } from "../../src/query/context.js";
import { documentedFields, fixture, keysOf, lineOf, open, record, REPO, requireBuiltCli, tmpDir, ttd, ttdJson } from "./helpers.js";
import { buildGuest, canBuildGuests } from "../trace/helpers.js";
import { hasQemu, runQemu } from "../machine/c-guests.js";

const FAULTS_C = fixture("faults.c");
const opened: Recording[] = [];

function openTrace(p: string): QueryContext {
  const { recording, ctx } = open(p);
  opened.push(recording);
  return ctx;
}

afterAll(() => {
  for (const r of opened) r.close();
});

const rootOf = (e: Explanation) => e.links[e.root];

describe("the demo kernel's crash", () => {
  let ctx: QueryContext;
  let e: Explanation;
  beforeAll(() => {
    requireBuiltCli();
    ctx = openTrace(path.join(REPO, "traces/idle-bug.ttdb"));
    e = explain(ctx);
  });

  test("the crash is the iret's #GP(0x200) in restore_user_context", () => {
    expect(e.crash?.vector).toBe(13);
    expect(e.crash?.errorCode).toBe(0x200);
    expect(e.code.disasm).toBe("iret");
    expect(e.code.function).toBe("restore_user_context");
  });

  test("its input is CS = 0x202 popped from the idle thread's saved context", () => {
    expect(e.input?.role).toBe("CS");
    expect(e.input?.value).toBe(0x202);
    expect(e.links[0].text).toContain("ksIdleThread->tcbArch.tcbContext.registers[11]");
  });

  test("that word holds EFLAGS pushed by the timer interrupt while idle, one word low", () => {
    const w = e.links[1];
    expect(w.kind).toBe("write");
    expect(w.text).toContain("vector 157");
    expect(w.text).toContain("EFLAGS = 0x202");
    expect(w.text).toContain("read that word as CS");
    expect(w.text).toContain("4 bytes below");
    expect(w.code?.function).toBe("idle_thread");
  });

  test("the root is push %ebp at idle.c:29, which moved ESP below the context's top", () => {
    const r = rootOf(e);
    expect(r.code?.disasm).toBe("push %ebp");
    expect(r.code?.function).toBe("idle_thread");
    expect(r.code?.file).toBe("src/kernel/idle.c");
    expect(r.code?.line).toBe(29);
    expect(r.text).toContain("registers[13]");
    expect(r.text).toContain("registers[12]");
    expect(e.conclusion).toMatch(/^root: step 61,750, `push %ebp` in idle_thread at src\/kernel\/idle\.c:29/);
  });

  test("the CLI prints the narrative; --json has the documented fields; a trace without a fault is refused", () => {
    const r = ttd(["explain", "traces/idle-bug.ttdb"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Crash: #GP\(0x200\) at step 61,891: `iret` in restore_user_context\+0x3e/);
    expect(r.stdout).toContain("<- root");
    expect(r.stdout).toContain("Root: step 61,750, `push %ebp` in idle_thread at src/kernel/idle.c:29");
    const j = ttdJson<{ step: number; crash: { vector: number; errorCode: string }; links: { kind: string; root: boolean; line: number | null; code: { line: number } | null }[]; root: number; conclusion: string }>(["explain", "traces/idle-bug.ttdb"]);
    expect(j.step).toBe(61891);
    expect(j.crash.errorCode).toBe("0x200");
    expect(j.links[j.root].root).toBe(true);
    expect(j.links[j.root].code?.line).toBe(29);
    expect(keysOf(j)).toEqual(documentedFields("explain: the answer"));
    for (const l of j.links) expect(keysOf(l)).toEqual(documentedFields("explain link"));
    // The nested objects as the table describes them.
    const full = j as unknown as Record<string, Record<string, unknown>>;
    expect(keysOf(full.crash)).toEqual(["eip", "errorCode", "reason", "step", "vector"]);
    expect(keysOf(full.code)).toEqual(["disasm", "eip", "file", "function", "line", "symbol"]);
    expect(keysOf(full.input)).toEqual(["role", "subject", "text", "value"]);
    expect(full.input.subject).toEqual({ kind: "memory", address: "0xe010f62c", size: 4, step: 61891 });
    expect(full.input.value).toBe("0x202");
    const none = ttd(["explain", "traces/idle-fixed.ttdb"]);
    expect(none.status).toBe(2);
    expect(none.stderr.trim().split("\n")).toHaveLength(1);
    expect(none.stderr).toContain("no fault");
  });

  test("--at a step that is not a fault names the call that entered its function", () => {
    const kprintfStep = 61000;
    const at = explain(ctx, { at: kprintfStep });
    expect(at.crash).toBeNull();
    expect(at.code.function).toBe("kprintf");
    expect(rootOf(at).code?.disasm).toMatch(/^call .*<kprintf>$/);
    expect(() => explain(ctx, { at: 61891 })).not.toThrow();
    expect(explain(ctx, { at: 61892 }).crash?.step).toBe(61891);
  });

  test("--depth bounds the trail (a limit link, no root); --at fault is the default; --at end explains the last step", () => {
    const short = explain(ctx, { depth: 2 });
    expect(short.links).toHaveLength(4);
    expect(short.links[3].kind).toBe("limit");
    expect(short.root).toBe(-1);
    expect(short.conclusion).toBe("the trail is longer than --depth");
    expect(rootOf(explain(ctx, { depth: 3 })).code?.disasm).toBe("push %ebp");
    const cut = ttd(["explain", "traces/idle-bug.ttdb", "--depth", "2"]);
    expect(cut.status).toBe(0);
    expect(cut.stdout).toContain("depth limit reached (raise it with --depth)");
    expect(cut.stdout).not.toContain("<- root");
    // --at fault: the same crash and root (only the reason it was chosen reads differently).
    const rootLine = (out: string) => out.split("\n").find((l) => l.startsWith("Root:"));
    expect(rootLine(ttd(["explain", "traces/idle-bug.ttdb", "--at", "fault"]).stdout)).toBe(rootLine(ttd(["explain", "traces/idle-bug.ttdb"]).stdout));
    // The run ends in the kernel's exit path: the last step is an out to isa-debug-exit, in the
    // function halt() called.
    const end = ttd(["explain", "traces/idle-bug.ttdb", "--at", "end"]);
    expect(end.status).toBe(0);
    expect(end.stdout).toMatch(/^At: step 85,330: `out %eax, \$0xf4` in machine_exit/);
    expect(end.stdout).toMatch(/Called from halt\+0x[0-9a-f]+ at src\/kernel\/fault\.c:\d+/);
    expect(ttd(["explain", "traces/idle-bug.ttdb", "--depth", "0"]).status).toBe(2);
  });

  test("a trace with no fault and no --at is an ExplainError", () => {
    const fixed = openTrace(path.join(REPO, "traces/idle-fixed.ttdb"));
    expect(() => explain(fixed)).toThrow(ExplainError);
  });
});

describe("crashing guests of our own", () => {
  const traces: Record<string, string> = {};
  beforeAll(() => {
    requireBuiltCli();
    for (const k of ["smash", "null", "ud", "de", "null-noidt", "ss", "ts"]) traces[k] = record(fixture(`faults-${k}.elf`));
  });

  test("stack smash: ret into the payload; the root is the copy loop's store over the return address", () => {
    const e = explain(openTrace(traces.smash));
    expect(e.crash?.vector).toBe(14);
    expect(e.crash?.eip).toBe(0x41414141);
    expect(e.input?.role).toBe("return address");
    expect(e.links[0].text).toContain("`ret`");
    const r = rootOf(e);
    expect(r.code?.function).toBe("copy_bytes");
    expect(r.code?.line).toBe(lineOf(FAULTS_C, "dst[i] = src[i];"));
    expect(r.text).toContain("overwriting");
    expect(e.conclusion).toContain("wrote over the return address pushed by `call");
    expect(e.conclusion).toContain("<parse_name>");
  });

  test("NULL pointer: the read through 0 came from nodes[1].next, which build_list set to 0", () => {
    const e = explain(openTrace(traces.null));
    expect(e.crash?.vector).toBe(14);
    expect(e.code.function).toBe("third_value");
    expect(e.input?.subject).toMatchObject({ kind: "register", register: "eax" });
    expect(e.links.some((l) => l.text.includes("&nodes[1].next"))).toBe(true);
    const r = rootOf(e);
    expect(r.code?.function).toBe("build_list");
    expect(r.code?.line).toBe(lineOf(FAULTS_C, "nodes[n - 1].next = 0;"));
    expect(e.conclusion).toContain("constant");
  });

  test("with no IDT the run ends in a triple fault; explain starts from the #PF and reads its address from the operand", () => {
    const ctx = openTrace(traces["null-noidt"]);
    expect(ctx.trace.info().end?.reason).toBe("triple-fault");
    const e = explain(ctx);
    expect(e.crash?.vector).toBe(14);
    expect(e.code.function).toBe("third_value");
    // The faults delivering it overwrote CR2 (with an IDT address): the operand names 0x0.
    expect(e.links[0].text).toContain("accessed 0x0 ");
    expect(rootOf(e).code?.line).toBe(lineOf(FAULTS_C, "nodes[n - 1].next = 0;"));
  });

  test("corrupted function pointer: #UD on data bytes; the root is the loop store that ran past the slots", () => {
    const e = explain(openTrace(traces.ud));
    expect(e.crash?.vector).toBe(6);
    expect(e.links[0].text).toContain("&table.handler");
    const r = rootOf(e);
    expect(r.code?.function).toBe("fill_slots");
    expect(r.code?.line).toBe(lineOf(FAULTS_C, "table.slots[i] = value;"));
    expect(e.conclusion).toContain("ran past the end of table.slots");
  });

  test("divide by zero: the divisor item_count was stored from count_items' zero", () => {
    const e = explain(openTrace(traces.de));
    expect(e.crash?.vector).toBe(0);
    expect(e.code.function).toBe("average");
    expect(e.input?.role).toBe("divisor");
    expect(e.input?.value).toBe(0);
    expect(e.links.some((l) => l.kind === "write" && l.text.includes("&item_count") && l.code?.line === lineOf(FAULTS_C, "item_count = count_items();"))).toBe(true);
    expect(rootOf(e).code?.function).toBe("count_items");
  });

  test("#SS: lss of a context whose SS names a stack segment not present; the root is the slot number passed to init_context", () => {
    const e = explain(openTrace(traces.ss));
    expect(e.crash?.vector).toBe(12);
    expect(e.crash?.errorCode).toBe(0x30);
    expect(e.code.disasm).toMatch(/^lss /);
    expect(e.input).toMatchObject({ role: "SS", value: 0x30 });
    expect(e.links[0].text).toContain("read SS = 0x30 from");
    expect(e.links[0].text).toContain("(&worker.ss)");
    expect(e.links[0].text).toContain("GDT entry 6 is a writable data segment, DPL 0, not present");
    // init_context computed it (slot << 3) and stored it in the context.
    const store = e.links.find((l) => l.kind === "write" && l.code?.function === "init_context");
    expect(store?.code?.line).toBe(lineOf(FAULTS_C, "c->ss = (u16)(slot << 3);"));
    expect(e.links.some((l) => l.kind === "change" && l.code?.disasm === "shl $3, %eax")).toBe(true);
    const r = rootOf(e);
    expect(r.code?.function).toBe("guest_main");
    expect(r.code?.line).toBe(lineOf(FAULTS_C, "init_context(&worker, &worker_stack[256], SPARE_STACK_SLOT);"));
    expect(r.code?.disasm).toBe("push $6");
    expect(e.conclusion).toContain("the store wrote a constant");
  });

  test("#TS: int $0x80 from ring 3 loads SS0 from the TSS, which tss_init filled with the stack's address (swapped arguments)", () => {
    const ctx = openTrace(traces.ts);
    expect(ctx.trace.info().end?.reason).toBe("triple-fault");
    const e = explain(ctx);
    const top = ctx.symbols!.variable("kernel_stack")!.address! + 4096;
    expect(e.crash?.vector).toBe(10);
    expect(e.crash?.errorCode).toBe(top & 0xfffc);
    expect(e.code.disasm).toBe("int $0x80");
    expect(e.input).toMatchObject({ role: "SS0", value: top & 0xffff });
    expect(e.links[0].text).toContain("`int $0x80` entered ring 0 from ring 3");
    expect(e.links[0].text).toContain("(&tss.ss0)");
    expect(e.links[0].text).toContain("lies beyond the GDT's limit");
    const store = e.links[1];
    expect(store.kind).toBe("write");
    expect(store.code?.function).toBe("tss_init");
    expect(store.code?.line).toBe(lineOf(FAULTS_C, "tss.ss0 = ss0;"));
    // The value is the stack's top: past the end of kernel_stack, where the next variable begins.
    expect(e.links[2].text).toMatch(/-> 0x[0-9a-f]+ \(&idt\[0\]\.off_lo, or the end of kernel_stack\) by `mov 0xc\(%ebp\), %eax`/);
    const r = rootOf(e);
    expect(r.code?.function).toBe("guest_main");
    expect(r.code?.line).toBe(lineOf(FAULTS_C, "tss_init(SEL_KDATA, (u32)&kernel_stack[1024]);"));
    expect(r.code?.disasm).toBe(`push $0x${top.toString(16)}`);
    expect(e.conclusion).toContain("the store wrote a constant");
  });

  test.skipIf(!hasQemu)("#SS and #TS: QEMU 7.2 raises the same first exception with the same error code", () => {
    for (const [k, end] of [["ss", "exit"], ["ts", "triple-fault"]]) {
      const log = path.join(tmpDir(), `${k}-int.log`);
      runQemu(fixture(`faults-${k}.elf`), ["-d", "int,cpu_reset", "-D", log]);
      const qemu = fs.readFileSync(log, "utf8");
      // `-d int` logs each delivery: `v=` vector, `e=` error code, `i=1` for `int n` (the system call itself);
      // `-d cpu_reset` logs a triple fault.
      const first = /^\s*\d+: v=([0-9a-f]+) e=([0-9a-f]+) i=0 /m.exec(qemu);
      expect(first, `${k}: no exception in QEMU's log`).not.toBeNull();
      const ctx = openTrace(traces[k]);
      const crash = explain(ctx).crash!;
      expect([crash.vector, crash.errorCode]).toEqual([parseInt(first![1], 16), parseInt(first![2], 16)]);
      expect(ctx.trace.info().end?.reason).toBe(end);
      expect(qemu.includes("Triple fault")).toBe(end === "triple-fault");
    }
  });
});

describe.skipIf(!canBuildGuests)("a segment load: #NP", () => {
  test("the selector DS was loaded with came from memory a store loop ran into; that store is the root", () => {
    // test/trace/guests/bad-selector.S: fill_slots stores 0x18 into three slots of two, over saved_ds.
    const ctx = openTrace(record(buildGuest("bad-selector")));
    expect(ctx.trace.info().end?.reason).toBe("triple-fault");
    const e = explain(ctx);
    expect(e.crash?.vector).toBe(11);
    expect(e.crash?.errorCode).toBe(0x18);
    expect(e.code.disasm).toBe("mov %ebx, %ds");
    expect(e.input).toMatchObject({ role: "selector", value: 0x18 });
    expect(e.links[0].text).toContain("loaded selector 0x18 from EBX");
    expect(e.links.some((l) => l.text.includes("&saved_ds"))).toBe(true);
    const r = rootOf(e);
    expect(r.code?.symbol).toMatch(/^fill_slots\+/);
    expect(r.code?.disasm).toBe("mov %ax, (%edi)");
    expect(e.conclusion).toContain("ran past the end of slots");
  });
});

/** The committed guests are what build-faults.sh makes from faults.c and builds.c (with the same compiler). */
const clang = spawnSync("clang", ["--version"], { encoding: "utf8" });
const sameCompiler = clang.status === 0 && /clang version 14\.0\.6/.test(clang.stdout) && spawnSync("ld.lld", ["--version"]).status === 0;
describe.skipIf(!sameCompiler)("crashing guests' build", () => {
  test("build-faults.sh reproduces the committed faults-*.elf and builds-*.elf byte for byte", () => {
    const out = tmpDir();
    const r = spawnSync("sh", [fixture("build-faults.sh"), out], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    for (const k of ["smash", "null", "ud", "de", "null-noidt", "ss", "ts"].map((x) => `faults-${x}`).concat("builds-a", "builds-b")) {
      expect(Buffer.compare(fs.readFileSync(path.join(out, `${k}.elf`)), fs.readFileSync(fixture(`${k}.elf`))), k).toBe(0);
    }
  });
});

/**
 * The expression evaluator on the fixture kernels, against the memory their ELF images load (and an
 * overlay standing in for "memory at step N"), plus the error messages and spans the CLI underlines.
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { describe, expect, it } from "vitest";
import { DebugInfo } from "../../src/symbols/debug-info.js";
import { ImageContext, type EvalContext } from "../../src/symbols/eval-context.js";
import { ExpressionError } from "../../src/symbols/expr-error.js";
import { ExpressionEvaluator, evaluateExpression, watchLocation } from "../../src/symbols/expr-eval.js";
import { typeName } from "../../src/symbols/types.js";
import { FIXTURE_ELFS, fixture } from "./images.js";

/** The image's memory with some bytes overwritten, and a register file: a machine state at some step. */
class FakeMachine implements EvalContext {
  private readonly image: ImageContext;
  private readonly writes = new Map<number, number>();
  regs: Record<string, number> = { eax: 0x11223344, ebx: 0xb0b0, ecx: 3, edx: 4, esi: 5, edi: 6, ebp: 0x1ff0, esp: 0x1fe8, eip: 0x100000, eflags: 0x202, cs: 8, ss: 0x10 };
  reads: [number, number][] = [];

  constructor(di: DebugInfo) {
    this.image = new ImageContext(di.elf);
  }

  write32(address: number, value: number): void {
    for (let i = 0; i < 4; i++) this.writes.set(address + i, (value >>> (8 * i)) & 0xff);
  }

  readMemory(address: number, size: number): Uint8Array {
    this.reads.push([address, size]);
    const out = new Uint8Array(size);
    for (let i = 0; i < size; i++) {
      const w = this.writes.get(address + i);
      out[i] = w !== undefined ? w : this.image.readMemory(address + i, 1)[0];
    }
    return out;
  }

  register(name: string): number {
    const v = this.regs[name];
    if (v === undefined) throw new Error(`no ${name} in this state`);
    return v;
  }
}

function failure(di: DebugInfo, expr: string, ctx: EvalContext): ExpressionError {
  try {
    evaluateExpression(di, expr, ctx);
  } catch (e) {
    if (e instanceof ExpressionError) return e;
    throw e;
  }
  throw new Error(`${expr} did not fail`);
}

describe.each(FIXTURE_ELFS.map((p) => [basename(p), p]))("%s", (_name, path) => {
  const di = DebugInfo.fromElf(new Uint8Array(readFileSync(path)), { strict: true });
  const ev = new ExpressionEvaluator(di);
  const m = new FakeMachine(di);
  const val = (e: string, ctx: EvalContext = m) => ev.evaluate(e, ctx);
  const addr = (name: string) => di.variable(name)!.address!;

  it("follows ksCurThread->tcbArch.tcbContext.registers[Error] through memory", () => {
    const r = val("ksCurThread->tcbArch.tcbContext.registers[Error]");
    expect(r.value).toBe(0xdeadbeefn);
    expect(r.address).toBe(addr("initThread") + 512 + 9 * 4);
    expect(r.size).toBe(4);
    expect(typeName(r.type)).toBe("word_t");
    expect(watchLocation(r)).toEqual({ kind: "memory", address: r.address, size: 4 });
  });

  it("reads pointers from the state it is given, not from the image", () => {
    const state = new FakeMachine(di);
    state.write32(addr("ksCurThread"), addr("ksIdleThreadTCB") + 0x400);
    const r = ev.evaluate("ksCurThread->tcbArch.tcbContext.registers[Error]", state);
    expect(r.address).toBe(addr("ksIdleThreadTCB") + 0x624);
    expect(r.value).toBe(0x12345678n);
    expect(ev.evaluate("ksCurThread->tcbArch.tcbContext.registers[NextIP]", state).value).toBe(0x00100010n);
  });

  it("casts to named types and pointers", () => {
    const p = val("(tcb_t *)ksIdleThreadTCB");
    expect(typeName(p.type)).toBe("tcb_t *");
    expect(p.value).toBe(BigInt(addr("ksIdleThreadTCB")));
    expect(p.address).toBeUndefined();
    // A pointer value designates what it points to.
    expect(watchLocation(p)).toEqual({ kind: "memory", address: addr("ksIdleThreadTCB"), size: val("sizeof(tcb_t)").value && Number(val("sizeof(tcb_t)").value) });
    expect(val("((tcb_t *)(ksIdleThreadTCB + 0x400))->tcbArch.tcbContext.registers[Error]").value).toBe(0x12345678n);
    expect(val("((struct tcb *)ksIdleThread)->tcbArch.tcbContext.registers[Error]").value).toBe(0x12345678n);
    expect(val("(unsigned char)0x1ff").value).toBe(0xffn);
    expect(val("(signed char)0x80").value).toBe(-128n);
    expect(val("(unsigned long long)-1").value).toBe(0xffffffffffffffffn);
    expect(val("(_Bool)42").value).toBe(1n);
    expect(typeName(val("(const volatile word_t *)0x10").type)).toBe("const volatile word_t *");
    expect(val("*(word_t *)&initThread.tcbState.blockingObject").value).toBe(42n);
  });

  it("indexes arrays and pointers with element scaling", () => {
    expect(val("matrix[2][3]").value).toBe(12n);
    expect(val("matrix[1]").address).toBe(addr("matrix") + 16);
    expect(val("*(matrix[1] + 2)").value).toBe(7n);
    expect(val("&matrix[1][1] - &matrix[0][0]").value).toBe(5n);
    expect(val("runQueue[0]").value).toBe(BigInt(addr("initThread")));
    expect(val("runQueue[0]->tcbFault.raw").value).toBe(0xcafef00dn);
    expect(val("arr + 17").value).toBe(BigInt(addr("arr") + 68));
    expect(val("&arr[17]").value).toBe(BigInt(addr("arr") + 68));
    expect(val("*(arr + 17)").address).toBe(addr("arr") + 68);
    expect(val("(&arr[20] - 3)").value).toBe(BigInt(addr("arr") + 68));
    expect(val("ksCurThread + 1").value).toBe(BigInt(addr("initThread") + Number(val("sizeof(tcb_t)").value)));
    expect(val("initThread.tcbName[1]").value).toBe(BigInt("n".charCodeAt(0)));
  });

  it("handles unary operators, & and *", () => {
    expect(val("&initThread").value).toBe(BigInt(addr("initThread")));
    expect(typeName(val("&initThread").type)).toBe("tcb_t *");
    expect(val("*ksCurThread").address).toBe(addr("initThread"));
    expect(val("*&ksTicks").address).toBe(addr("ksTicks"));
    expect(val("-Error").value).toBe(BigInt.asUintN(32, -9n));
    expect(val("~0").value).toBe(-1n);
    expect(val("-(int)Error").value).toBe(-9n);
    expect(val("*matrix").address).toBe(addr("matrix"));
  });

  it("reads bitfields, signed members, unions and 64-bit values", () => {
    expect(val("initThread.tcbState.tsType").value).toBe(1n);
    expect(val("initThread.tcbState.blockingIPCBadge").value).toBe(0x1234567n);
    expect(val("initThread.tcbState.delta").value).toBe(-3n);
    expect(val("initThread.tcbState.flags").value).toBe(5n);
    expect(val("initThread.tcbPriority").value).toBe(-2n);
    expect(val("initThread.tcbTime").value).toBe(0x123456789abcdefn);
    expect(val("initThread.tcbFault.halves.hi").value).toBe(0xcafen);
    expect(val("initThread.tcbFault.bytes[0]").value).toBe(0x0dn);
    expect(val("irqState.vector").value).toBe(0x9dn);
    expect(val("irqState.raw[0]").value).toBe(0x9dn);
    expect(val("irqState.masked").value).toBe(1n);
    expect(val("irqState.deadline").value).toBe(-5n);
    const bf = val("initThread.tcbState.blockingIPCBadge");
    expect([bf.address, bf.bitOffset, bf.bitSize]).toEqual([addr("initThread") + 580, 4, 28]);
  });

  it("evaluates enum constants, literals and integer arithmetic as C does", () => {
    expect(val("Error").value).toBe(9n);
    expect(val("Error * 4 + 0x600").value).toBe(0x624n);
    expect(val("ThreadState_IdleThreadState").value).toBe(7n);
    expect(val("lastState").value).toBe(7n);
    expect(val("010").value).toBe(8n);
    expect(val("0x10 - 0x20").value).toBe(BigInt.asIntN(32, -16n));
    expect(val("0xffffffff + 1").value).toBe(0n);
    expect(val("7 / 2").value).toBe(3n);
    expect(val("-7 % 3").value).toBe(-1n);
    expect(val("1ULL + 0xffffffff").value).toBe(0x100000000n);
    expect(val("sizeof initThread.tcbArch").value).toBe(512n + 68n);
    expect(val("sizeof(enum _register)").value).toBe(4n);
    expect(val("sizeof(unsigned short)").value).toBe(2n);
  });

  it("reads registers, and sub-registers from their 32-bit parent", () => {
    expect(val("$eax").value).toBe(0x11223344n);
    expect(val("$ax").value).toBe(0x3344n);
    expect(val("$ah").value).toBe(0x33n);
    expect(val("$al").value).toBe(0x44n);
    expect(val("$esp + 4").value).toBe(0x1fecn);
    expect(val("$pc").value).toBe(0x100000n);
    expect(watchLocation(val("$esp"))).toEqual({ kind: "register", name: "esp", base: "esp" });
    expect(watchLocation(val("$ah"))).toEqual({ kind: "register", name: "ah", base: "eax" });
    expect(val("*(word_t *)ksCurThread").address).toBe(addr("initThread"));
  });

  it("resolves function names, symbol+offset and raw addresses", () => {
    const entry = di.functionNamed("idle_thread")!.entry;
    const f = val("idle_thread");
    expect(f.function?.name).toBe("idle_thread");
    expect(val("idle_thread + 3").value).toBe(BigInt(entry + 3));
    expect(val("&idle_thread").value).toBe(BigInt(entry));
    expect(watchLocation(val("0xe0142628"))).toEqual({ kind: "memory", address: 0xe0142628, size: 4 });
    expect(watchLocation(val("0xe0142628"), 8)).toEqual({ kind: "memory", address: 0xe0142628, size: 8 });
    expect(watchLocation(val("ksIdleThreadTCB + 0x624"))).toEqual({ kind: "memory", address: addr("ksIdleThreadTCB") + 0x624, size: 1 });
    expect(val("schedule::rounds").address).toBe(di.variable("rounds", "schedule")!.address);
  });

  it("can skip reading the value and only locate it", () => {
    const state = new FakeMachine(di);
    const r = ev.evaluate("arr", state, { read: false });
    expect(r.bytes).toBeUndefined();
    expect(r.size).toBe(16384);
    expect(state.reads).toEqual([]);
  });

  it("keeps the location when the final read fails", () => {
    const r = val("*mmioWindow");
    expect(r.address).toBe(0xfee00000);
    expect(r.readError).toMatch(/cannot read 4 byte\(s\) at 0xfee00000/);
    expect(watchLocation(r)).toEqual({ kind: "memory", address: 0xfee00000, size: 4 });
  });

  it("reports errors with the span of the failing part", () => {
    const cases: [string, RegExp, string][] = [
      ["foo + 1", /^unknown name `foo`$/, "foo"],
      ["ksCurThread->bar", /^no member `bar` in `struct tcb`$/, "bar"],
      ["initThread.tcbArch.nope", /^no member `nope` in `struct arch_tcb`$/, "nope"],
      ["ksTicks->x", /^`ksTicks` is not a pointer$/, "ksTicks"],
      ["*ksTicks", /^`ksTicks` is not a pointer$/, "ksTicks"],
      ["initThread->tcbState", /^`initThread` is not a pointer \(use `\.`\)$/, "initThread"],
      ["ksCurThread.tcbState", /^`ksCurThread` is a pointer \(use `->`\)$/, "ksCurThread"],
      ["ksTicks[2]", /neither an array nor a pointer/, "ksTicks"],
      ["arr[initThread]", /^index `initThread` is not an integer$/, "initThread"],
      ["(foo_t *)ksCurThread", /^unknown type `foo_t`$/, "foo_t *"],
      ["(struct nope *)0", /^unknown type `struct nope`$/, "struct nope *"],
      ["&Error", /has no address/, "Error"],
      ["&$eax", /address of register/, "$eax"],
      ["$foo", /^unknown register `\$foo`$/, "$foo"],
      ["$cr3", /register `\$cr3` is unavailable/, "$cr3"],
      ["5 / (Error - 9)", /division by zero/, "(Error - 9)"],
      ["initThread + 1", /`initThread` is not an integer/, "initThread"],
      ["tcb_t", /is a type, not a value/, "tcb_t"],
      ["rotate::x", /no static variable `x` in function `rotate`|unknown function `rotate`/, ""],
      ["nofunc::x", /^unknown function `nofunc`$/, "nofunc"],
      ["ksCurThread->", /expected a member name after `->`/, ""],
      ["matrix[1", /expected `]` to close the index/, ""],
      ["1 2", /unexpected `2` after the expression/, "2"],
      ["", /empty expression/, ""],
      ["0x", /malformed hexadecimal/, ""],
      ["09", /invalid digit in octal/, "09"],
      ["a # b", /unexpected character `#`/, "#"],
    ];
    for (const [expr, message, span] of cases) {
      const e = failure(di, expr, m);
      expect(e.message, expr).toMatch(message);
      if (span !== "") expect(expr.slice(e.start, e.end), expr).toBe(span);
      expect(e.start).toBeGreaterThanOrEqual(0);
      expect(e.end).toBeGreaterThan(e.start);
    }
  });

  it("underlines the failing span under the expression", () => {
    const e = failure(di, "ksCurThread->foo", m);
    expect(e.underline("ksCurThread->foo")).toBe("ksCurThread->foo\n             ^^^");
  });

  it("refuses to locate a value with no address", () => {
    expect(() => watchLocation(val("initThread.tcbArch.tcbContext.registers[Error] + initThread.tcbState.tsType"))).not.toThrow();
    const noAddr = { ...val("initThread.tcbState"), address: undefined };
    expect(() => watchLocation(noAddr)).toThrow(ExpressionError);
  });
});

describe("a static image without registers or DWARF", () => {
  const di = DebugInfo.fromElf(new Uint8Array(readFileSync(fixture("nodebug.elf"))));
  const ctx = new ImageContext(di.elf);

  it("evaluates ELF symbols as bytes, and casts through them", () => {
    const init = di.variable("initThread")!.address!;
    expect(evaluateExpression(di, "initThread + 0x224", ctx).value).toBe(BigInt(init + 0x224));
    expect(evaluateExpression(di, "*(unsigned int *)(initThread + 0x224)", ctx).value).toBe(0xdeadbeefn);
    expect(() => evaluateExpression(di, "(tcb_t *)initThread", ctx)).toThrow(/unknown type `tcb_t`/);
    expect(() => evaluateExpression(di, "Error", ctx)).toThrow(/unknown name `Error`/);
  });

  it("says registers have no value in a static image", () => {
    expect(() => evaluateExpression(di, "$eip", ctx)).toThrow(/no value in the static image/);
  });
});

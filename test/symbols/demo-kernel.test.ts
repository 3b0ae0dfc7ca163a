/**
 * The symbol layer on the demo kernel images (src/kernel/build), when they have been built: the names
 * and layout the why-write question relies on. Skipped while the images do not exist.
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { describe, expect, it } from "vitest";
import { DebugInfo } from "../../src/symbols/debug-info.js";
import { ImageContext } from "../../src/symbols/eval-context.js";
import { evaluateExpression, watchLocation } from "../../src/symbols/expr-eval.js";
import { typeName } from "../../src/symbols/types.js";
import { KERNEL_ELFS } from "./images.js";

describe.skipIf(KERNEL_ELFS.length === 0).each(KERNEL_ELFS.map((p) => [basename(p), p]))("demo kernel %s", (_name, path) => {
  const di = DebugInfo.fromElf(new Uint8Array(readFileSync(path)), { strict: true });
  const ctx = new ImageContext(di.elf);

  it("knows the idle TCB, the thread pointers and the register enum", () => {
    expect(di.hasLines).toBe(true);
    expect(typeName(di.variable("ksIdleThreadTCB")!.type)).toBe("char[2048]");
    expect(typeName(di.variable("ksCurThread")!.type)).toBe("tcb_t *");
    expect(di.enumerator("Error")?.value).toBe(9n);
    expect(di.enumerator("NextIP")?.value).toBe(10n);
  });

  it("locates the idle thread's registers[Error] at object + 0x624", () => {
    const base = di.variable("ksIdleThreadTCB")!.address!;
    const r = evaluateExpression(di, "((tcb_t *)(ksIdleThreadTCB + 0x400))->tcbArch.tcbContext.registers[Error]", ctx);
    expect(watchLocation(r)).toEqual({ kind: "memory", address: base + 0x624, size: 4 });
    expect(di.symbolize(base + 0x624)).toBe("ksIdleThreadTCB+0x624");
  });

  it("maps idle_thread to its source file", () => {
    const f = di.functionNamed("idle_thread")!;
    expect(f.declFile).toMatch(/idle\.c$/);
    expect(di.sourceAt(f.entry)!.file).toMatch(/idle\.c$/);
    expect(di.functionAt(f.entry + 1)).toMatchObject({ function: { name: "idle_thread" }, offset: 1 });
  });
});

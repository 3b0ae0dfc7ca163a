/** Value and type printing: gdb-style structs, arrays with folded runs, enums by name, strings, bitfields. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { C_CHAR, C_INT, C_UCHAR, C_UINT, pointerTo } from "../../src/symbols/c-types.js";
import { DebugInfo } from "../../src/symbols/debug-info.js";
import { ImageContext } from "../../src/symbols/eval-context.js";
import { evaluateExpression } from "../../src/symbols/expr-eval.js";
import { formatValue } from "../../src/symbols/format.js";
import { declare, typeName, type CType, type EnumType, type StructType } from "../../src/symbols/types.js";
import { FIXTURE_ELFS } from "./images.js";

const le = (...words: number[]): Uint8Array => {
  const b = new Uint8Array(words.length * 4);
  words.forEach((w, i) => new DataView(b.buffer).setUint32(i * 4, w >>> 0, true));
  return b;
};

describe("formatValue", () => {
  it("prints integers signed or unsigned, in decimal or hex", () => {
    expect(formatValue(C_INT, le(-5))).toBe("-5");
    expect(formatValue(C_UINT, le(-5))).toBe("4294967291");
    expect(formatValue(C_UINT, le(0xdeadbeef), { hex: true })).toBe("0xdeadbeef");
    expect(formatValue(C_CHAR, Uint8Array.of(65))).toBe("65 'A'");
    expect(formatValue(C_CHAR, Uint8Array.of(0xff))).toBe("-1 '\\377'");
  });

  it("prints enums by enumerator name, or the number when none matches", () => {
    const e: EnumType = { kind: "enum", name: "_register", size: 4, underlying: C_UINT, signed: false, declaration: false, enumerators: [{ name: "Error", value: 9n }, { name: "NextIP", value: 10n }] };
    expect(formatValue(e, le(9))).toBe("Error");
    expect(formatValue(e, le(42))).toBe("42");
  });

  it("prints pointers in hex with the symbol they point at", () => {
    const p = pointerTo(C_INT);
    expect(formatValue(p, le(0x1000), { symbolize: (a) => (a === 0x1000 ? "arr" : undefined) })).toBe("0x1000 <arr>");
    expect(formatValue(p, le(0))).toBe("0x0");
    const fp = pointerTo({ kind: "function", returnType: C_INT, params: [C_INT], variadic: false, prototyped: true });
    expect(formatValue(fp, le(0x2000), { symbolize: () => "handler" })).toBe("(int (*)(int)) 0x2000 <handler>");
  });

  it("folds runs of equal elements and caps long arrays", () => {
    const a: CType = { kind: "array", element: C_UINT, count: 14, lowerBound: 0 };
    expect(formatValue(a, le(1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7))).toBe("{1, 2, 0 <repeats 11 times>, 7}");
    const big: CType = { kind: "array", element: C_UINT, count: 5, lowerBound: 0 };
    expect(formatValue(big, le(1, 2, 3, 4, 5), { maxElements: 3 })).toBe("{1, 2, 3, ...}");
  });

  it("prints char arrays as string literals", () => {
    const s: CType = { kind: "array", element: C_CHAR, count: 8, lowerBound: 0 };
    expect(formatValue(s, new TextEncoder().encode("init\0\0\0\0"))).toBe('"init"');
    expect(formatValue(s, Uint8Array.of(104, 105, 0, 120, 0, 0, 0, 10))).toBe('"hi\\0x\\0\\0\\0\\n"');
    const u: CType = { kind: "array", element: C_UCHAR, count: 2, lowerBound: 0 };
    expect(formatValue(u, Uint8Array.of(9, 200))).toBe('"\\t\\310"');
    // Long ones stop at maxElements characters, as gdb's print elements.
    const big: CType = { kind: "array", element: C_CHAR, count: 300, lowerBound: 0 };
    const bytes = new Uint8Array(300).fill(0x61);
    expect(formatValue(big, bytes)).toBe(`"${"a".repeat(200)}"...`);
    expect(formatValue(big, bytes, { maxElements: 5 })).toBe('"aaaaa"...');
    bytes[3] = 0;
    expect(formatValue(big, bytes, { maxElements: 5 })).toBe('"aaa\\0a"...');
  });

  it("prints structs with nested members, bitfields and anonymous unions, inline or indented", () => {
    const inner: StructType = { kind: "union", name: undefined, size: 4, declaration: false, members: [{ name: "w", type: C_UINT, offset: 0 }] };
    const s: StructType = {
      kind: "struct", name: "x", size: 12, declaration: false, members: [
        { name: "kind", type: C_UINT, offset: 0, bitOffset: 0, bitSize: 4 },
        { name: "rest", type: C_INT, offset: 0, bitOffset: 4, bitSize: 28 },
        { name: undefined, type: inner, offset: 4 },
        { name: "p", type: pointerTo(C_INT), offset: 8 },
      ],
    };
    const bytes = le((0x0ffffffe << 4) | 7, 0x42, 0);
    expect(formatValue(s, bytes)).toBe("{kind = 7, rest = -2, {w = 66}, p = 0x0}");
    expect(formatValue(s, bytes, { indent: 2 })).toBe("{\n  kind = 7,\n  rest = -2,\n  {\n    w = 66\n  },\n  p = 0x0\n}");
  });
});

describe("type names", () => {
  it("spells declarators as C does", () => {
    const fn: CType = { kind: "function", returnType: C_INT, params: [C_INT, C_CHAR], variadic: false, prototyped: true };
    const arr = (element: CType, count: number): CType => ({ kind: "array", element, count, lowerBound: 0 });
    expect(typeName(pointerTo(fn))).toBe("int (*)(int, char)");
    expect(typeName(arr(pointerTo(fn), 2))).toBe("int (*[2])(int, char)");
    expect(typeName(pointerTo(arr(C_INT, 4)))).toBe("int (*)[4]");
    expect(typeName(arr(arr(C_INT, 4), 3))).toBe("int[3][4]");
    expect(typeName(arr(pointerTo(C_CHAR), 2))).toBe("char *[2]");
    expect(typeName({ kind: "const", target: pointerTo(C_CHAR) })).toBe("char *const");
    expect(typeName(pointerTo({ kind: "const", target: C_CHAR }))).toBe("const char *");
    expect(typeName({ kind: "const", target: arr({ kind: "const", target: C_CHAR }, 3) })).toBe("const char[3]");
    expect(typeName({ kind: "function", returnType: { kind: "void" }, params: [], variadic: false, prototyped: true })).toBe("void (void)");
    expect(typeName({ kind: "function", returnType: C_INT, params: [C_INT], variadic: true, prototyped: true })).toBe("int (int, ...)");
    expect(declare(arr(C_INT, 4), "x")).toBe("int x[4]");
    expect(declare(pointerTo(fn), "handler")).toBe("int (*handler)(int, char)");
  });
});

describe.each(FIXTURE_ELFS.map((p) => [p]))("printing the fixture's data (%s)", (path) => {
  const di = DebugInfo.fromElf(new Uint8Array(readFileSync(path)));
  const ctx = new ImageContext(di.elf);
  const show = (expr: string): string => {
    const r = evaluateExpression(di, expr, ctx);
    return formatValue(r.type, r.bytes!, { symbolize: (a) => di.symbolize(a), complete: (t) => di.complete(t), bitOffset: r.bitOffset, bitSize: r.bitSize });
  };

  it("prints structs, enums, arrays and pointers from the image", () => {
    expect(show("initThread.tcbState")).toBe("{tsType = 1, blockingIPCBadge = 19088743, blockingObject = 42, delta = -3, flags = 5 '\\005'}");
    expect(show("initThread.tcbArch.tcbContext.registers")).toBe("{0, 17, 0, 0, 0, 0, 0, 0, 0, 3735928559, 1048592, 0, 514, 0, 0, 0, 0}");
    expect(show("initThread.tcbName")).toBe('"init"');
    expect(show("lastState")).toBe("ThreadState_IdleThreadState");
    expect(show("runQueue")).toBe(`{0x${di.variable("initThread")!.address!.toString(16)} <initThread>, 0x0, 0x0, 0x0}`);
    expect(show("matrix")).toBe("{{1, 2, 3, 4}, {5, 6, 7, 8}, {9, 10, 11, 12}}");
    expect(show("arr")).toBe("{0 <repeats 4096 times>}");
    expect(show("irqState")).toBe("{masked = true, {vector = 157, raw = \"\\235\"}, deadline = -5}");
    expect(show("initThread.tcbState.delta")).toBe("-3");
  });
});

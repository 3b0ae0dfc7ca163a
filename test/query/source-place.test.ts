/**
 * How answers name where code is: with DWARF lines, `file:line` or a marked gap; with a symbol table
 * or System.map alone (no lines anywhere), just the symbol, not "(no source line)" on every line.
 */
import { describe, expect, test } from "vitest";
import { codePlace, sourcePlace } from "../../src/query/render.js";
import type { CodeRef } from "../../src/query/context.js";

const code = (over: Partial<CodeRef>): CodeRef => ({
  eip: 0xc1234567, symbol: "do_timer+0x1a", function: "do_timer", file: null, line: null, linesKnown: false, sourceText: null, disasm: "add dword ptr [jiffies], 1", ...over,
});

describe("source places", () => {
  test("symbols with lines: file:line, a file without a line, or a marked gap", () => {
    expect(codePlace(code({ linesKnown: true, file: "kernel/time/timekeeping.c", line: 2291 }))).toBe("do_timer+0x1a  kernel/time/timekeeping.c:2291");
    expect(sourcePlace(code({ linesKnown: true, file: "kernel/time/timekeeping.c" }))).toBe("kernel/time/timekeeping.c (no line)");
    expect(codePlace(code({ linesKnown: true }))).toBe("do_timer+0x1a  (no source line)");
  });

  test("symbols without any lines (a System.map): the symbol alone", () => {
    expect(sourcePlace(code({}))).toBe("");
    expect(codePlace(code({}))).toBe("do_timer+0x1a");
    expect(codePlace(code({ symbol: null, function: null }))).toBe("0xc1234567");
  });
});

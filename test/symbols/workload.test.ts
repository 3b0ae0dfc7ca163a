/**
 * The workload guests (clang 14 -O2, DWARF 5, built under a folder that does not exist here): what
 * the why-write example on `keys[17]` needs from the symbol layer.
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { describe, expect, it } from "vitest";
import { Elf32 } from "../../src/elf/elf32.js";
import { DebugInfo } from "../../src/symbols/debug-info.js";
import { ImageContext } from "../../src/symbols/eval-context.js";
import { evaluateExpression, watchLocation } from "../../src/symbols/expr-eval.js";
import { WORKLOAD_BUILD_PATH, WORKLOAD_SOURCE } from "../guests.js";
import { WORKLOAD_ELFS } from "./images.js";

const lineOf = (text: string): number => readFileSync(WORKLOAD_SOURCE, "utf8").split("\n").findIndex((l) => l.includes(text)) + 1;

describe.each(WORKLOAD_ELFS.map((p) => [basename(p), p]))("workload %s", (_name, path) => {
  const bytes = new Uint8Array(readFileSync(path));
  const di = DebugInfo.fromElf(bytes, { strict: true });
  const elf = new Elf32(bytes);
  const sym = (n: string) => elf.symbols().find((s) => s.name === n)!;

  it("locates keys[17] and names it back", () => {
    const r = evaluateExpression(di, "keys[17]", new ImageContext(di.elf));
    expect(watchLocation(r)).toEqual({ kind: "memory", address: sym("keys").value + 68, size: 4 });
    expect(di.dataAt(sym("keys").value + 68)?.path).toBe("keys[17]");
    expect(di.dataAt(sym("composite").value + 100)?.path).toBe("composite[100]");
  });

  it("maps the Shell sort's shifting store (workload.c) to code inside workload_main, where it was inlined", () => {
    const line = lineOf("v[j] = v[j - gap]");
    const stores = di.addressesForLine("workload.c", line);
    expect(stores.length).toBeGreaterThan(0);
    for (const a of stores) {
      expect(di.functionAt(a)?.function.name).toBe("workload_main");
      expect(di.sourceAt(a)).toMatchObject({ line, file: `${WORKLOAD_BUILD_PATH}/workload.c` });
    }
  });

  it("names the assembly entry from the ELF symbols and its line from entry.S", () => {
    expect(di.symbolize(sym("_start").value + 2)).toBe("_start+0x2");
    expect(di.sourceAt(sym("_start").value)!.file).toBe(`${WORKLOAD_BUILD_PATH}/entry.S`);
  });

  it("reads DWARF 5", () => {
    const info = elf.section(".debug_info")!;
    const version = new DataView(elf.sectionData(info).buffer, elf.sectionData(info).byteOffset).getUint16(4, true);
    expect(version).toBe(5);
  });
});

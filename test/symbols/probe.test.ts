/**
 * The probe guests (shared bench images, clang 14 -O2, DWARF 5): what the why-write example on
 * `arr[17]` needs from the symbol layer. Skipped when the shared images are not present.
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { describe, expect, it } from "vitest";
import { Elf32 } from "../../src/elf/elf32.js";
import { DebugInfo } from "../../src/symbols/debug-info.js";
import { ImageContext } from "../../src/symbols/eval-context.js";
import { evaluateExpression, watchLocation } from "../../src/symbols/expr-eval.js";
import { PROBE_ELFS } from "./images.js";

describe.skipIf(PROBE_ELFS.length === 0).each(PROBE_ELFS.map((p) => [basename(p), p]))("probe %s", (_name, path) => {
  const bytes = new Uint8Array(readFileSync(path));
  const di = DebugInfo.fromElf(bytes, { strict: true });
  const elf = new Elf32(bytes);
  const sym = (n: string) => elf.symbols().find((s) => s.name === n)!;

  it("locates arr[17] and names it back", () => {
    const r = evaluateExpression(di, "arr[17]", new ImageContext(di.elf));
    expect(watchLocation(r)).toEqual({ kind: "memory", address: sym("arr").value + 68, size: 4 });
    expect(di.dataAt(sym("arr").value + 68)?.path).toBe("arr[17]");
    expect(di.dataAt(sym("sieve").value + 100)?.path).toBe("sieve[100]");
  });

  it("maps the insertion sort's shifting store (probe.c:21) to code inside probe_main, where it was inlined", () => {
    const stores = di.addressesForLine("probe.c", 21);
    expect(stores.length).toBeGreaterThan(0);
    for (const a of stores) {
      expect(di.functionAt(a)?.function.name).toBe("probe_main");
      expect(di.sourceAt(a)).toMatchObject({ line: 21 });
      expect(di.sourceAt(a)!.file).toMatch(/probe\.c$/);
    }
  });

  it("names the assembly entry from the ELF symbols and its line from boot.S", () => {
    expect(di.symbolize(sym("_start").value + 2)).toBe("_start+0x2");
    expect(di.sourceAt(sym("_start").value)!.file).toMatch(/boot\.S$/);
  });
});

/**
 * The flags the SDM leaves undefined, against QEMU 7.2: guests/arith-flags.c runs the shifts and
 * rotates, SHLD/SHRD, MUL/IMUL, DIV/IDIV, BSF/BSR, the bit tests, the logic operations and the BCD
 * adjustments over a grid of operands and incoming flags and prints every result with all six
 * arithmetic flags; ttd must print what QEMU prints, line for line, under the interpreter and with
 * compiled blocks. Needs clang and ld.lld, and QEMU for the comparison.
 */
import { describe, expect, it } from "vitest";
import { buildCGuest, canBuildC, hasQemu, runQemu, runTtd } from "../machine/c-guests.js";

/** Per instruction: how many lines differ from QEMU's, and the first that does. */
function differences(want: string, got: string): string[] {
  const w = want.split("\n"), g = got.split("\n");
  const out: string[] = [];
  let op = "", n = 0, total = 0, first = "";
  const flush = () => {
    if (n > 0) out.push(`${op}: ${n} of ${total} lines differ, first: qemu ${first}`);
    n = 0;
    total = 0;
  };
  for (let i = 0; i < Math.max(w.length, g.length); i++) {
    if (w[i]?.startsWith("op ")) {
      flush();
      op = w[i].slice(3);
      if (g[i] !== w[i]) return [...out, `line ${i}: qemu ${w[i]}, ttd ${g[i]}`];
      continue;
    }
    total++;
    if (w[i] !== g[i]) {
      if (n++ === 0) first = `${w[i]}, ttd ${g[i]} (case ${total})`;
    }
  }
  flush();
  return out;
}

describe.skipIf(!canBuildC)("arithmetic flags, undefined ones included, against QEMU 7.2", () => {
  it.skipIf(!hasQemu)("prints what QEMU prints, interpreted and compiled", () => {
    const elf = buildCGuest("arith-flags");
    const qemu = runQemu(elf);
    expect(qemu.stdout.endsWith("done\n"), "QEMU ran the whole guest").toBe(true);
    for (const compile of [false, true]) {
      const ttd = runTtd(elf, { compile });
      expect(differences(qemu.stdout, ttd.serial).join("\n"), compile ? "compiled" : "interpreted").toBe("");
    }
  }, 300_000);
});

/**
 * Host-independent x87 checks: cases the hardware oracle ran on a real x87 (fixtures/x87-golden.json,
 * written by hardware-oracle.test.ts with X87_WRITE_GOLDEN=1), replayed in ttd, so hosts without gcc
 * or an x87 still check every operation against the hardware's bits.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createMachine } from "../cpu/harness.js";
import { EBX, ESP } from "../../src/cpu/constants.js";
import { OPS, snippet } from "./snippets.js";

const CODE = 0x10000, DATA = 0x20000;
const rows = JSON.parse(readFileSync(new URL("./fixtures/x87-golden.json", import.meta.url), "utf8")) as [string, string, string, string][];
const bytesOf = (h: string) => Uint8Array.from(h.match(/../g) ?? [], (x) => parseInt(x, 16));
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

describe("x87 against recorded hardware results", () => {
  it(`gives the hardware's bits in ${rows.length} recorded cases`, () => {
    const m = createMachine(1 << 20, { compile: false });
    const failures: string[] = [];
    for (const [name, head, memory, want] of rows) {
      const op = OPS.find((o) => o.name === name);
      expect(op, name).toBeDefined();
      const code = snippet(op!.core, op!.onlyB);
      const data = new Uint8Array(128);
      data.set(bytesOf(head), 0);
      data.set(bytesOf(memory), 96);
      m.mem.u8.set(code, CODE);
      m.mem.u8.set(data, DATA);
      m.cpu.fpu.reset();
      m.cpu.eip = CODE;
      m.cpu.regs[EBX] = DATA;
      m.cpu.regs[ESP] = 0x8000;
      const end = CODE + code.length - 1;
      for (let n = 0; m.cpu.eip !== end && n < 200; n++) m.cpu.step();
      const got = hex(m.mem.u8.subarray(DATA + 48, DATA + 112));
      if (got !== want) failures.push(`${name} ${head} ${memory}\n want ${want}\n got  ${got}`);
    }
    expect(failures.slice(0, 5).join("\n")).toBe("");
  });
});

// The block compiler against the interpreter: random machine code (biased towards the opcodes the
// compiler handles) run from identical states must leave identical registers, flags, memory, step
// counts and fault state. Faults, MMIO writes and page boundaries are all exercised, because random
// addresses land anywhere.
import { describe, expect, it } from "vitest";
import { makeProgram, rng, runBoth } from "./harness.js";

describe("block compiler matches the interpreter", () => {
  it("on 1200 random programs", () => {
    let mismatches = 0;
    let first = "";
    for (let seed = 1; seed <= 1200; seed++) {
      const { a, b } = runBoth(makeProgram(rng(seed), 256), seed, 400);
      if (a !== b) {
        mismatches++;
        if (first === "") first = `seed ${seed}:\n interp   ${a}\n compiled ${b}`;
      }
    }
    expect(first).toBe("");
    expect(mismatches).toBe(0);
  });
});

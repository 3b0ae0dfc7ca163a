// The block compiler against the interpreter: random machine code (biased towards the opcodes the
// compiler handles) run from identical states must leave identical registers, flags, memory, step
// counts and fault state. Faults, MMIO writes and page boundaries are all exercised, because random
// addresses land anywhere.
import { describe, expect, it } from "vitest";
import { CpuStop } from "../../src/cpu/cpu.js";
import { finalState, makeProgram, rng, setup } from "./harness.js";

function runBoth(seed: number, steps: number): { a: string; b: string } {
  const program = makeProgram(rng(seed), 256);
  const a = setup(false, program, seed);
  const b = setup(true, program, seed);
  for (const cpu of [a, b]) {
    // Run in slices of varying length so blocks meet step limits at many places.
    const slices = rng(seed + 7);
    while (cpu.steps < steps && !cpu.halted && cpu.stopReason === CpuStop.None) cpu.run(Math.min(steps, cpu.steps + 1 + (slices() % 37)));
  }
  return { a: finalState(a), b: finalState(b) };
}

describe("block compiler matches the interpreter", () => {
  it("on 1200 random programs", () => {
    let mismatches = 0;
    let first = "";
    for (let seed = 1; seed <= 1200; seed++) {
      const { a, b } = runBoth(seed, 400);
      if (a !== b) {
        mismatches++;
        if (first === "") first = `seed ${seed}:\n interp   ${a}\n compiled ${b}`;
      }
    }
    expect(first).toBe("");
    expect(mismatches).toBe(0);
  });
});

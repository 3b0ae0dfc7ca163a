// The block compiler against the interpreter: random machine code (biased towards the opcodes the
// compiler handles) run from identical states must leave identical registers, flags, memory, step
// counts and fault state. Faults, MMIO writes and page boundaries are all exercised, because random
// addresses land anywhere.
import { describe, expect, it } from "vitest";
import { disagreements, makeProgram } from "./harness.js";

describe("block compiler matches the interpreter", () => {
  it("on 1200 random programs", () => {
    const { count, first } = disagreements(1200, (next) => makeProgram(next, 256), 400);
    expect(first).toBe("");
    expect(count).toBe(0);
  });
});

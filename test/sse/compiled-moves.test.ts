/**
 * The block compiler's SSE moves and PXOR against the interpreter: random programs mixing the compiled
 * 128-bit moves (every prefix, register and memory forms, aligned or not) with random bytes (so the
 * vector table's other instructions, faults and page crossings come too) must leave identical general
 * registers, flags, memory, XMM registers, MXCSR and step counts. Some runs set CR0.TS or clear
 * CR4.OSFXSR so the availability faults happen inside blocks.
 */
import { describe, expect, it } from "vitest";
import { CpuStop, type CPU } from "../../src/cpu/cpu.js";
import { finalState, rng, setup } from "../jit/harness.js";

const MOVES = [[0x0f, 0x10], [0x0f, 0x11], [0x0f, 0x28], [0x0f, 0x29], [0x66, 0x0f, 0x28], [0x66, 0x0f, 0x6f], [0x66, 0x0f, 0x7f],
  [0xf3, 0x0f, 0x6f], [0xf3, 0x0f, 0x7f], [0x66, 0x0f, 0xef], [0xf3, 0x0f, 0x10], [0x0f, 0xef], [0x66, 0x0f, 0x10]];

function program(next: () => number, length: number): Uint8Array {
  const out: number[] = [];
  while (out.length < length) {
    const r = next() % 10;
    if (r < 6) {
      out.push(...MOVES[next() % MOVES.length]);
      // Register forms, [reg] and [reg+disp8] (random registers point into the data area).
      const kind = next() % 3;
      out.push(kind === 0 ? 0xc0 | (next() & 0x3f) : kind === 1 ? next() & 0x3f & ~0x05 | 0x00 : 0x40 | (next() & 0x3f));
      if ((out[out.length - 1] & 7) === 4) out.push(next() & 0xff);
      if (kind === 2) out.push(next() & 0xf0);
    } else if (r < 8) {
      // Move a register by 16 or 4 so addresses change alignment.
      out.push(0x83, 0xc0 | (next() % 8 === 4 ? 0 : next() % 8), next() % 2 === 0 ? 16 : 4);
    } else {
      out.push(next() & 0xff);
    }
  }
  return Uint8Array.from(out.slice(0, length));
}

function state(cpu: CPU): string {
  return finalState(cpu) + JSON.stringify({ xmm: Array.from(cpu.fpu.xmm), mxcsr: cpu.fpu.mxcsr, mm: Array.from(cpu.fpu.mant), ftw: cpu.fpu.ftw });
}

describe("compiled SSE moves match the interpreter", () => {
  it("on 300 random programs", () => {
    let first = "";
    let mismatches = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const code = program(rng(seed * 7919), 256);
      const runs = [false, true].map((compile) => {
        const cpu = setup(compile, code, seed);
        cpu.cr4 = seed % 10 === 0 ? 0 : 1 << 9;
        if (seed % 13 === 0) cpu.cr0 |= 8;
        for (let i = 0; i < 32; i++) cpu.fpu.xmm[i] = Math.imul(i + 1, 0x9e3779b1 ^ seed);
        const slices = rng(seed + 3);
        while (cpu.steps < 400 && !cpu.halted && cpu.stopReason === CpuStop.None) cpu.run(Math.min(400, cpu.steps + 1 + (slices() % 37)));
        return state(cpu);
      });
      if (runs[0] !== runs[1]) {
        mismatches++;
        if (first === "") first = `seed ${seed}:\n interp   ${runs[0]}\n compiled ${runs[1]}`;
      }
    }
    expect(first).toBe("");
    expect(mismatches).toBe(0);
  });
});

// A Jcc right after a flag-setting instruction reads its condition from the operands that instruction
// recorded (compile-block.ts, fusedCondition). Every such pair the compiler fuses, for every condition
// code, every operand size and operand values at the edges of each size (zero, one, the sign bit, all
// ones...), must branch exactly as the interpreter does.
import { describe, expect, it } from "vitest";
import { CpuStop } from "../../src/cpu/cpu.js";
import { setup } from "./harness.js";

/** Edge values: around zero, around the sign bit of each size, all ones, and a few in between. */
const VALUES = [0, 1, 2, 0x7f, 0x80, 0x81, 0xff, 0x100, 0x7fff, 0x8000, 0x8001, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0x80000001, 0xfffffffe, 0xffffffff, 0x12345678];

/** Flag-setting instructions on EAX and EBX (ModRM 0xd8: reg EBX, r/m EAX), with their operand size prefix. */
const PRODUCERS: { name: string; bytes: number[] }[] = [];
for (const [size, prefix, wide] of [["8", [], false], ["16", [0x66], true], ["32", [], true]] as const) {
  const w = wide ? 1 : 0;
  PRODUCERS.push(
    { name: `cmp ${size}`, bytes: [...prefix, 0x38 | w, 0xd8] },
    { name: `sub ${size}`, bytes: [...prefix, 0x28 | w, 0xd8] },
    { name: `add ${size}`, bytes: [...prefix, 0x00 | w, 0xd8] },
    { name: `and ${size}`, bytes: [...prefix, 0x20 | w, 0xd8] },
    { name: `or ${size}`, bytes: [...prefix, 0x08 | w, 0xd8] },
    { name: `xor ${size}`, bytes: [...prefix, 0x30 | w, 0xd8] },
    { name: `test ${size}`, bytes: [...prefix, 0x84 | w, 0xd8] },
    { name: `cmp ${size} imm8`, bytes: [...prefix, wide ? 0x83 : 0x80, 0xf8, 0x80] },
  );
  if (wide) PRODUCERS.push({ name: `inc ${size}`, bytes: [...prefix, 0x40] }, { name: `dec ${size}`, bytes: [...prefix, 0x48] });
}

/** producer; jcc +5 (short or near); mov $1, %esi; (target:) hlt */
function program(producer: number[], cc: number, near: boolean): Uint8Array {
  const jcc = near ? [0x0f, 0x80 | cc, 5, 0, 0, 0] : [0x70 | cc, 5];
  return Uint8Array.from([...producer, ...jcc, 0xbe, 1, 0, 0, 0, 0xf4]);
}

describe("fused compare-and-branch", () => {
  it("branches as the interpreter does for every producer, condition, size and edge value", () => {
    let cases = 0;
    const mismatches: string[] = [];
    for (const p of PRODUCERS) {
      for (let cc = 0; cc < 16; cc++) {
        const code = program(p.bytes, cc, cc % 2 === 1);
        // One machine of each kind per program (the code writes no memory), reset for every value pair.
        const cpus = [setup(false, code, 1), setup(true, code, 1)];
        const start = cpus[0].eip;
        for (const a of VALUES) {
          for (const b of [0, 1, 0x80, 0xff, 0x8000, 0xffff, 0x80000000, 0xffffffff, a]) {
            const states = cpus.map((cpu) => {
              cpu.eip = start;
              cpu.steps = 0;
              cpu.halted = false;
              cpu.setEflags(0x2);
              cpu.regs[0] = a | 0;
              cpu.regs[3] = b | 0;
              cpu.regs[6] = 0;
              while (!cpu.halted && cpu.stopReason === CpuStop.None && cpu.steps < 10) cpu.run(cpu.steps + 10);
              return JSON.stringify({ regs: Array.from(cpu.regs), eip: cpu.eip >>> 0, eflags: cpu.getEflags() & 0x8d5, steps: cpu.steps, halted: cpu.halted });
            });
            cases++;
            if (states[0] !== states[1] && mismatches.length < 5) mismatches.push(`${p.name}; j${cc.toString(16)} a=0x${a.toString(16)} b=0x${b.toString(16)}:\n  interpreted ${states[0]}\n  compiled    ${states[1]}`);
          }
        }
      }
    }
    expect(mismatches).toEqual([]);
    expect(cases).toBeGreaterThan(50_000);
  });
});

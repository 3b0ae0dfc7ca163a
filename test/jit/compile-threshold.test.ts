/**
 * Compiling only hot code (the replayer's compileThreshold): a block is compiled after its address
 * has been entered `threshold` times, and a machine that waits gives the same machine, step for step,
 * as one that compiles at once and one that only interprets.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { BlockCache } from "../../src/cpu/jit/block-cache.js";
import { Machine } from "../../src/machine/machine.js";
import { workload } from "../guests.js";

describe("compile threshold", () => {
  it("compiles a block on its threshold-th entry, and at once with threshold 0", () => {
    const mem = new Uint8Array(1 << 16);
    mem.set([0x40, 0x40, 0xc3], 0x1000); // inc eax; inc eax; ret
    const env = { tlb: new Int32Array(16), mem8: mem, mem32: new Int32Array(mem.buffer), segBase: new Int32Array(6), segFastRead: new Uint8Array(6), segFastWrite: new Uint8Array(6) };
    const lazy = new BlockCache(env, () => {}, 3);
    expect(lazy.lookup(0x1000, true, true)).toBeNull();
    expect(lazy.lookup(0x1000, true, true)).toBeNull();
    expect(lazy.lookup(0x1000, true, true)).toBeNull();
    const block = lazy.lookup(0x1000, true, true);
    expect(block).not.toBeNull();
    expect(lazy.lookup(0x1000, true, true)).toBe(block);
    expect(lazy.compiled).toBe(1);
    const eager = new BlockCache(env, () => {}, 0);
    expect(eager.lookup(0x1000, true, true)).not.toBeNull();
  });

  it("counts entries per address, and not at all where the caller cannot run a block", () => {
    const mem = new Uint8Array(1 << 16);
    mem.set([0x40, 0x40, 0xc3], 0x1000); // inc eax; inc eax; ret
    const env = { tlb: new Int32Array(16), mem8: mem, mem32: new Int32Array(mem.buffer), segBase: new Int32Array(6), segFastRead: new Uint8Array(6), segFastWrite: new Uint8Array(6) };
    const cache = new BlockCache(env, () => {}, 2);
    // Entries at the block's other instructions do not heat its first one.
    for (let i = 0; i < 5; i++) expect(cache.lookup(0x1001, true, true, false)).toBeNull();
    expect(cache.lookup(0x1002, true, true)).toBeNull();
    expect(cache.lookup(0x1002, true, true)).toBeNull();
    expect(cache.lookup(0x1000, true, true)).toBeNull();
    expect(cache.lookup(0x1000, true, true)).toBeNull();
    expect(cache.lookup(0x1000, true, true, false)).toBeNull();
    const block = cache.lookup(0x1000, true, true);
    expect(block).not.toBeNull();
    expect(cache.lookup(0x1000, true, true, false)).toBe(block);
    expect(cache.lookup(0x1001, true, true, false)).toBeNull();
    expect(cache.compiled).toBe(1);
  });

  it("runs workload-r1 to the same states as compiling at once and as interpreting", () => {
    const image = new Uint8Array(readFileSync(workload("workload-r1.elf")));
    const machines = [
      Machine.fromElf(image, { memoryMiB: 32, compileThreshold: 8 }),
      Machine.fromElf(image, { memoryMiB: 32 }),
      Machine.fromElf(image, { memoryMiB: 32, compile: false }),
    ];
    for (const cut of [1_000, 25_000, 400_000, 3_000_000, Infinity]) {
      const states = machines.map((m) => {
        m.run({ maxSteps: cut });
        return { steps: m.cpu.steps, state: JSON.stringify(m.saveState()), ram: Buffer.from(m.mem.u8.buffer) };
      });
      for (const s of states.slice(1)) {
        expect(s.steps).toBe(states[0].steps);
        expect(s.state).toBe(states[0].state);
        expect(Buffer.compare(s.ram, states[0].ram)).toBe(0);
      }
    }
    expect(machines[0].cpu.blocks!.compiled).toBeGreaterThan(0);
    expect(machines[0].cpu.blocks!.compiled).toBeLessThan(machines[1].cpu.blocks!.compiled);
  });

  it("a cache that empties itself when full runs workload-r1 to the same states", () => {
    const image = new Uint8Array(readFileSync(workload("workload-r1.elf")));
    const small = Machine.fromElf(image, { memoryMiB: 32, maxCompiledBlocks: 8 });
    const plain = Machine.fromElf(image, { memoryMiB: 32 });
    for (const cut of [25_000, 400_000, Infinity]) {
      const states = [small, plain].map((m) => {
        m.run({ maxSteps: cut });
        return { steps: m.cpu.steps, state: JSON.stringify(m.saveState()), ram: Buffer.from(m.mem.u8.buffer) };
      });
      expect(states[0].steps).toBe(states[1].steps);
      expect(states[0].state).toBe(states[1].state);
      expect(Buffer.compare(states[0].ram, states[1].ram)).toBe(0);
    }
    expect(small.cpu.blocks!.flushes).toBeGreaterThan(0);
    expect(plain.cpu.blocks!.flushes).toBe(0);
  });
});

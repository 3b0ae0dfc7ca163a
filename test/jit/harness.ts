/**
 * Shared by the block-compiler tests: a small protected-mode machine (flat GDT, an IDT whose every
 * vector halts) running a program from CODE, random programs biased towards compiled opcodes, and the
 * state both kinds of run are compared on.
 */
import { createHash } from "node:crypto";
import { CPU, CpuStop } from "../../src/cpu/cpu.js";
import { PhysicalMemory } from "../../src/machine/memory.js";

const MEM = 8 << 20;
const CODE = 0x100000;
const DATA = 0x300000;
const IDT = 0x1000;
const HANDLER = 0x2000;

/** Deterministic PRNG (xorshift32). */
export function rng(seed: number): () => number {
  let s = seed | 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
}

// Opcodes the compiler handles, weighted to appear often; random bytes fill in the rest.
const COMMON = [
  0x01, 0x03, 0x09, 0x0b, 0x21, 0x23, 0x29, 0x2b, 0x31, 0x33, 0x39, 0x3b, 0x00, 0x02, 0x28, 0x38, 0x05, 0x3d, 0x25,
  0x40, 0x43, 0x48, 0x4e, 0x50, 0x53, 0x58, 0x5b, 0x68, 0x6a, 0x69, 0x6b, 0x74, 0x75, 0x7c, 0x7f, 0x72, 0x76,
  0x80, 0x81, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8d, 0x90, 0x93, 0x98, 0x99, 0xa0, 0xa1, 0xa2, 0xa3, 0xa8, 0xa9,
  0xb0, 0xb3, 0xb8, 0xbb, 0xc0, 0xc1, 0xd0, 0xd1, 0xd3, 0xc6, 0xc7, 0xf6, 0xf7, 0xfe, 0xff, 0xeb, 0x66, 0x0f,
];
const TWO_BYTE = [0xaf, 0xb6, 0xb7, 0xbe, 0xbf, 0x44, 0x4f, 0x94, 0x9c, 0x84, 0x85, 0x8e, 0xc8, 0xcb, 0x1f, 0x31, 0xae];

export function makeProgram(next: () => number, length: number): Uint8Array {
  const out: number[] = [];
  while (out.length < length) {
    const r = next() % 100;
    if (r < 70) {
      const op = COMMON[next() % COMMON.length];
      out.push(op);
      if (op === 0x0f) out.push(TWO_BYTE[next() % TWO_BYTE.length]);
      // ModRM biased to register and [reg+disp8] forms, then random operand bytes.
      const mr = next() % 4 === 0 ? next() & 0xff : ((next() % 3 === 0 ? 0x40 : 0xc0) | (next() & 0x3f));
      out.push(mr);
      for (let i = next() % 5; i > 0; i--) out.push(next() & 0xff);
    } else {
      out.push(next() & 0xff);
    }
  }
  return Uint8Array.from(out.slice(0, length));
}

export function setup(compile: boolean, program: Uint8Array, seed: number): CPU {
  const mem = new PhysicalMemory(MEM);
  const next = rng(seed ^ 0x5bd1e995);
  for (let i = DATA; i < DATA + 0x10000; i++) mem.u8[i] = next() & 0xff;
  mem.u8.set(program, CODE);
  // IDT: every vector an interrupt gate to a handler that halts with interrupts off.
  for (let v = 0; v < 256; v++) {
    const a = IDT + v * 8;
    mem.u8[a] = HANDLER & 0xff;
    mem.u8[a + 1] = HANDLER >> 8;
    mem.u8[a + 2] = 0x08;
    mem.u8[a + 5] = 0x8e;
  }
  mem.u8[HANDLER] = 0xf4; // hlt
  // GDT with a flat code (0x08) and data (0x10) segment.
  const gdt = [0, 0, 0xffff, 0x00cf9a00, 0xffff, 0x00cf9200];
  const dv = new DataView(mem.u8.buffer);
  gdt.forEach((w, i) => dv.setUint32(0x500 + i * 4, w, true));
  const cpu = new CPU(mem, { read: () => 0xff, write: () => {} }, { compile });
  cpu.cr0 = 0x11;
  cpu.gdtBase = 0x500;
  cpu.gdtLimit = 23;
  cpu.idtBase = IDT;
  cpu.idtLimit = 0x7ff;
  cpu.eip = CODE;
  const regs = rng(seed);
  for (let r = 0; r < 8; r++) cpu.regs[r] = DATA + (regs() % 0x8000);
  return cpu;
}

export function finalState(cpu: CPU): string {
  const h = createHash("sha256").update(cpu.mmu.mem.u8).digest("hex");
  return JSON.stringify({
    regs: Array.from(cpu.regs), eip: cpu.eip >>> 0, eflags: cpu.getEflags() & 0x8d5, steps: cpu.steps, cr2: cpu.cr2,
    halted: cpu.halted, stop: cpu.stopReason, mem: h,
  });
}


/**
 * Runs `program` from the same state on an interpreting and a compiling CPU, in slices of varying
 * length (so blocks meet step limits at many places), for up to `steps` steps; returns both final states.
 */
export function runBoth(program: Uint8Array, seed: number, steps: number): { a: string; b: string } {
  const a = setup(false, program, seed);
  const b = setup(true, program, seed);
  for (const cpu of [a, b]) {
    const slices = rng(seed + 7);
    while (cpu.steps < steps && !cpu.halted && cpu.stopReason === CpuStop.None) cpu.run(Math.min(steps, cpu.steps + 1 + (slices() % 37)));
  }
  return { a: finalState(a), b: finalState(b) };
}

/**
 * Runs the programs `make` builds for seeds 1..`seeds` both ways (runBoth) and returns the number that
 * ended in different states, with the first one's two states.
 */
export function disagreements(seeds: number, make: (next: () => number) => Uint8Array, steps: number): { count: number; first: string } {
  let count = 0;
  let first = "";
  for (let seed = 1; seed <= seeds; seed++) {
    const { a, b } = runBoth(make(rng(seed)), seed, steps);
    if (a !== b) {
      count++;
      if (first === "") first = `seed ${seed}:\n interp   ${a}\n compiled ${b}`;
    }
  }
  return { count, first };
}

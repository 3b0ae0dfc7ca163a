/**
 * Trace.lastRegisterChange against the registers of every recorded state: for each general register
 * and its 16- and 8-bit parts (searched at compiled speed with a register watch) and for EFLAGS and
 * the segment registers (searched a step at a time), at many question steps, the answer must be the
 * last step whose execution changed the value, with the values before and after.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { Trace, type Registers } from "../../src/trace/trace.js";
import { blockWriteMask } from "../../src/trace/register-search.js";
import { kernel, lcg, recordInline, tmpDir } from "./helpers.js";
import { workload } from "../guests.js";

const READ: Record<string, (r: Registers) => number> = {
  eax: (r) => r.eax, ecx: (r) => r.ecx, edx: (r) => r.edx, ebx: (r) => r.ebx,
  esp: (r) => r.esp, ebp: (r) => r.ebp, esi: (r) => r.esi, edi: (r) => r.edi,
  cx: (r) => r.ecx & 0xffff, sp: (r) => r.esp & 0xffff,
  al: (r) => r.eax & 0xff, ah: (r) => (r.eax >>> 8) & 0xff, dh: (r) => (r.edx >>> 8) & 0xff, bl: (r) => r.ebx & 0xff,
  eflags: (r) => r.eflags, ss: (r) => r.ss, ds: (r) => r.ds,
};

interface Recorded {
  trace: Trace;
  /** Registers at every state 0..steps. */
  states: Registers[];
}

async function record(elf: string, maxSteps?: number): Promise<Recorded> {
  const out = `${tmpDir()}/t.trace`;
  await recordInline(elf, out, { memoryMiB: 32, keyframeSteps: 8192, chunkSteps: 4096, maxSteps });
  const trace = Trace.open(out);
  const states: Registers[] = [];
  const cursor = trace.cursor(trace.startStep);
  for (let rec = cursor.next(); rec !== null; rec = cursor.next()) states.push(rec.regs);
  states.push(trace.stateAt(trace.steps).regs);
  return { trace, states };
}

function expectedChange(states: Registers[], read: (r: Registers) => number, before: number) {
  for (let s = before - 1; s >= 0; s--) {
    const a = read(states[s]), b = read(states[s + 1]);
    if (a !== b) return { step: s, before: a, after: b };
  }
  return null;
}

describe.each([
  ["idle-bug.elf", () => kernel("idle-bug.elf"), undefined],
  ["idle-fixed.elf", () => kernel("idle-fixed.elf"), undefined],
  // Long call-free loops: ESP and EBP sit still for hundreds of thousands of steps.
  ["workload-r1.elf (first 600,000 steps)", () => workload("workload-r1.elf"), 600_000],
])("%s", (_name, elf, maxSteps) => {
  let r: Recorded;
  beforeAll(async () => {
    r = await record(elf(), maxSteps);
  }, 120_000);
  afterAll(() => r?.trace.close());

  test("every register, at random steps and the end, agrees with the recorded states", () => {
    const rand = lcg(3);
    const n = r.trace.steps;
    const points = [n, 1, 2, ...Array.from({ length: 25 }, () => 1 + Math.floor(rand() * n))];
    for (const [name, read] of Object.entries(READ)) {
      for (const at of points) {
        const want = expectedChange(r.states, read, at);
        const got = r.trace.lastRegisterChange(name, at);
        expect(got === null ? null : { step: got.step, before: got.before, after: got.after }, `${name} before step ${at}`).toEqual(want);
        if (got !== null) expect(got.register).toBe(name);
      }
    }
  });
});

test("what a block may write: pushes write ESP, a plain add only its destination, iret everything", () => {
  const mem = new Uint8Array(64);
  const at = (bytes: number[]) => {
    mem.fill(0x90);
    mem.set(bytes, 0);
    // The block's compiled part ends where the listed bytes end; the instruction there (a nop) counts too.
    return blockWriteMask(mem, { fn: () => {}, count: 0, physStart: 0, physEnd: bytes.length }, true);
  };
  expect(at([0x01, 0xd8])).toBe(1 << 0); // add %ebx,%eax
  expect(at([0x55])).toBe(1 << 4); // push %ebp
  expect(at([0x5d])).toBe((1 << 4) | (1 << 5)); // pop %ebp
  expect(at([0xf7, 0xe1])).toBe((1 << 0) | (1 << 2)); // mul %ecx: edx:eax
  expect(at([0xcf])).toBe(0xff); // iret
  expect(at([0xcd, 0x80])).toBe(0xff); // int $0x80
  expect(blockWriteMask(mem, { fn: () => {}, count: 0, physStart: 0, physEnd: 1 }, false)).toBe(0xff); // 16-bit code
});

/**
 * Memory writes as the trace answers them, against a reference: the same guest run in the interpreter
 * with an observer that keeps every write. The index must name exactly the (line, chunk, dword mask)
 * sets the reference implies; lastWrite and writesIn must give the reference's writes; and replaying
 * every recorded write onto the initial memory must give the final memory.
 */
import * as path from "node:path";
import Database from "better-sqlite3";
import { beforeAll, describe, expect, test } from "vitest";
import { Machine } from "../../src/machine/machine.js";
import type { CpuObserver, WriteCause } from "../../src/cpu/observer.js";
import { Trace, type MemoryWrite } from "../../src/trace/trace.js";
import { decodeEntries } from "../../src/trace/index-codec.js";
import { buildGuest, canBuildGuests, kernel, lcg, recordInline, tmpDir, type Recorded } from "./helpers.js";
import { workload } from "../guests.js";

const MEM = 32;
const CAUSES = ["instruction", "interrupt-frame", "task-state", "descriptor", "page-table"];

interface RefWrite {
  step: number;
  linear: number;
  physical: number;
  size: number;
  oldValue: number;
  newValue: number;
  cause: string;
  eip: number;
}

/** Every write of a run in the interpreter, with the old value read before the store. */
function referenceWrites(image: Uint8Array, steps: number): { writes: RefWrite[]; machine: Machine } {
  const m = Machine.fromElf(image, { memoryMiB: MEM, compile: false });
  const writes: RefWrite[] = [];
  const mem = m.mem.u8;
  const obs: CpuObserver = {
    onMemoryWrite(linear: number, physical: number, size: 1 | 2 | 4, value: number, cause: WriteCause) {
      const p = physical >>> 0;
      if (p >= mem.length) return;
      let old = 0;
      for (let i = size - 1; i >= 0; i--) old = old * 256 + mem[p + i];
      const mask = size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff;
      writes.push({ step: m.cpu.steps, linear: linear >>> 0, physical: p, size, oldValue: old, newValue: (value & mask) >>> 0, cause: CAUSES[cause], eip: m.cpu.instrEip >>> 0 });
    },
    onEvent() {},
    onPortIo() {},
  };
  m.cpu.observer = obs;
  m.cpu.mmu.observer = obs;
  m.run({ maxSteps: steps });
  expect(m.cpu.steps).toBe(steps);
  return { writes, machine: m };
}

function strip(w: MemoryWrite | null): RefWrite | null {
  if (w === null) return null;
  return { step: w.step, linear: w.linear, physical: w.physical, size: w.size, oldValue: w.oldValue, newValue: w.newValue, cause: w.cause, eip: w.eip };
}

function overlaps(w: RefWrite, lo: number, hi: number): boolean {
  return w.physical < hi && w.physical + w.size > lo;
}

describe.each([
  ...(canBuildGuests ? [{ name: "the writes guest", elf: () => buildGuest("writes"), maxSteps: undefined as number | undefined, chunkSteps: 256, keyframeSteps: 1024 }] : []),
  { name: "idle-bug", elf: () => kernel("idle-bug.elf"), maxSteps: undefined as number | undefined, chunkSteps: 2048, keyframeSteps: 16384 },
  { name: "workload-pg-r10 (first 2M steps)", elf: () => workload("workload-pg-r10.elf"), maxSteps: 2_000_000, chunkSteps: 8192, keyframeSteps: 65536 },
])("memory writes of $name", ({ elf, maxSteps, chunkSteps, keyframeSteps }) => {
  let rec: Recorded;
  let ref: RefWrite[];
  let final: Machine;
  let trace: Trace;

  beforeAll(async () => {
    rec = await recordInline(elf(), path.join(tmpDir(), "w.trace"), { memoryMiB: MEM, maxSteps, chunkSteps, keyframeSteps });
    const r = referenceWrites(rec.image, rec.result.steps);
    ref = r.writes;
    final = r.machine;
    trace = Trace.open(rec.path);
    return () => trace.close();
  }, 300_000);

  test("the trace counts every write the reference saw", () => {
    expect(trace.info().memoryWrites).toBe(ref.length);
  });

  test("the write index holds exactly the lines, chunks and dwords written", () => {
    const expected = new Map<string, number>();
    for (const w of ref) {
      for (let a = w.physical; a < w.physical + w.size; a++) {
        const key = `${a >>> 6}:${Math.floor(w.step / chunkSteps)}`;
        expected.set(key, (expected.get(key) ?? 0) | (1 << ((a >>> 2) & 15)));
      }
    }
    const db = new Database(rec.path, { readonly: true });
    const actual = new Map<string, number>();
    for (const row of db.prepare("SELECT line, first_chunk, entries FROM write_index").all() as { line: number; first_chunk: number; entries: Buffer }[]) {
      const chunks: number[] = [];
      const masks: number[] = [];
      decodeEntries(row.first_chunk, row.entries, chunks, masks);
      for (let i = 0; i < chunks.length; i++) {
        const key = `${row.line}:${chunks[i]}`;
        expect(actual.has(key), `duplicate entry ${key}`).toBe(false);
        actual.set(key, masks[i]);
      }
    }
    db.close();
    expect(actual.size).toBe(expected.size);
    for (const [k, v] of expected) expect(actual.get(k), k).toBe(v);
  });

  test("lastWrite gives the reference's last write, for random addresses and steps", () => {
    const rand = lcg(11);
    const written = [...new Set(ref.map((w) => w.physical & ~3))];
    for (let i = 0; i < 150; i++) {
      // Mostly addresses that were written, sometimes a neighbour byte or a never-written one.
      const base = written[Math.floor(rand() * written.length)];
      const addr = i % 10 === 9 ? 0x1f00000 + Math.floor(rand() * 0x1000) : base + Math.floor(rand() * 6) - 1;
      const size = [1, 2, 4, 8][Math.floor(rand() * 4)];
      const before = 1 + Math.floor(rand() * rec.result.steps);
      let expected: RefWrite | null = null;
      for (const w of ref) {
        if (w.step >= before) break;
        if (overlaps(w, addr, addr + size)) expected = w;
      }
      expect(strip(trace.lastWrite({ address: addr, size, space: "physical" }, before)), `0x${addr.toString(16)}+${size} before ${before}`).toEqual(expected);
    }
  }, 120_000);

  test("lastWrite on a linear address finds the same write as on its physical address", () => {
    const rand = lcg(12);
    const withPaging = ref.filter((w) => w.linear !== w.physical);
    // workload-pg identity-maps its memory: then take writes made with paging on.
    const pool = withPaging.length > 0 ? withPaging : ref.slice(ref.length >> 1);
    let checked = 0;
    for (let i = 0; i < 400 && checked < 30; i++) {
      const w = pool[Math.floor(rand() * pool.length)];
      const before = w.step + 1 + Math.floor(rand() * Math.min(1000, rec.result.steps - w.step));
      // The mapping may have changed since the write (the boot stub's identity page goes away).
      const st = trace.stateAt(before);
      if ((st.regs.cr0 & 0x80000000) === 0 || st.translate(w.linear) !== w.physical) continue;
      const lin = strip(trace.lastWrite({ address: w.linear, size: w.size }, before));
      const phys = strip(trace.lastWrite({ address: w.physical, size: w.size, space: "physical" }, before));
      expect(lin).toEqual(phys);
      expect(lin!.step).toBeGreaterThanOrEqual(w.step);
      checked++;
    }
    expect(checked).toBe(30);
  }, 120_000);

  test("writesIn gives every reference write to a range within a step range", () => {
    const rand = lcg(13);
    for (let i = 0; i < 30; i++) {
      const w = ref[Math.floor(rand() * ref.length)];
      const lo = (w.physical & ~0xff) >>> 0, hi = lo + 0x100;
      const a = Math.floor(rand() * rec.result.steps), b = Math.min(rec.result.steps, a + 1 + Math.floor(rand() * rec.result.steps / 4));
      const expected = ref.filter((x) => x.step >= a && x.step < b && overlaps(x, lo, hi));
      expect(trace.writesIn({ address: lo, size: 0x100, space: "physical" }, a, b).map(strip)).toEqual(expected);
    }
  }, 120_000);

  test("replaying every recorded write onto the initial memory gives the final memory", () => {
    const initial = Machine.fromElf(rec.image, { memoryMiB: MEM });
    const mem = initial.mem.u8;
    const all = trace.writesIn({ address: 0, size: mem.length, space: "physical" }, 0, rec.result.steps);
    expect(all.length).toBe(ref.length);
    for (const w of all) {
      let v = w.newValue;
      for (let i = 0; i < w.size; i++, v = Math.floor(v / 256)) mem[w.physical + i] = v & 0xff;
    }
    expect(Buffer.compare(Buffer.from(mem.buffer), Buffer.from(final.mem.u8.buffer))).toBe(0);
    const end = trace.stateAt(rec.result.steps);
    expect(Buffer.compare(Buffer.from(mem.buffer), Buffer.from(end.machine.mem.u8.buffer))).toBe(0);
  }, 120_000);
});

test("idle-bug's writes include push/pop and call frames, rep stos, interrupt frames and page-table bits", async () => {
  const rec = await recordInline(kernel("idle-bug.elf"), path.join(tmpDir(), "kinds.trace"), { memoryMiB: MEM });
  const trace = Trace.open(rec.path);
  try {
    const all = trace.writesIn({ address: 0, size: MEM << 20, space: "physical" }, 0, trace.steps);
    const causes = new Set(all.map((w) => w.cause));
    expect(causes).toContain("instruction");
    expect(causes).toContain("interrupt-frame");
    expect(causes).toContain("page-table");
    const end = trace.stateAt(trace.steps);
    const opcodeAt = (eip: number) => end.readLinear(eip, 2) ?? end.readPhysical(eip, 2);
    const ops = new Set(all.filter((w) => w.cause === "instruction").map((w) => Array.from(opcodeAt(w.eip)).map((b) => b.toString(16).padStart(2, "0")).join("")));
    expect([...ops].some((o) => o === "f3aa" || o === "f3ab"), "a rep stos wrote memory").toBe(true);
    expect([...ops].some((o) => o.startsWith("55")), "a push %ebp wrote memory").toBe(true);
    expect([...ops].some((o) => o.startsWith("e8")), "a call wrote its return address").toBe(true);
    // The interrupt frame of the timer interrupt: EFLAGS, CS, EIP pushed at the interrupt's step.
    const irq = trace.events().find((e) => e.kind === "interrupt")!;
    const frame = all.filter((w) => w.step === irq.step && w.cause === "interrupt-frame");
    expect(frame.map((w) => w.newValue)).toEqual([expect.any(Number), 0x8, irq.eip]);
  } finally {
    trace.close();
  }
}, 120_000);

describe.skipIf(!canBuildGuests)("the writes guest's tricky writes", () => {
  test("a page-crossing dword, a faulting rep stosb's partial bytes and its resumption", async () => {
    const rec = await recordInline(buildGuest("writes"), path.join(tmpDir(), "tricky.trace"), { memoryMiB: 16 });
    expect(rec.serial).toBe("ok\n");
    const trace = Trace.open(rec.path);
    try {
      const end = trace.steps;
      // movl $0xdeadbeef, 0x401ffe: bytes land in physical 0x305ffe-f and 0x302000-1.
      const cross = trace.writesIn({ address: 0x401ffe, size: 4 }, 0, end);
      expect(cross.map((w) => [w.linear, w.physical, w.newValue])).toEqual([
        [0x401ffe, 0x305ffe, 0xef], [0x401fff, 0x305fff, 0xbe], [0x402000, 0x302000, 0xad], [0x402001, 0x302001, 0xde],
      ]);
      // The rep stosb: 16 bytes before the fault (0x402ff0 -> 0x302ff0), then #PF, then 16 more at 0x303000.
      const fault = trace.events().find((e) => e.kind === "fault")!;
      expect(fault.vector).toBe(14);
      const before = trace.writesIn({ address: 0x302ff0, size: 16, space: "physical" }, 0, fault.step + 1);
      expect(before.length).toBe(16);
      expect(before.every((w) => w.newValue === 0x5a && w.cause === "instruction" && w.step <= fault.step)).toBe(true);
      const after = trace.writesIn({ address: 0x303000, size: 16, space: "physical" }, fault.step, end);
      expect(after.length).toBe(16);
      expect(after.every((w) => w.newValue === 0x5a && w.eip === before[0].eip)).toBe(true);
      // The handler's PTE write, and the CPU's dirty bit on the new page's PTE as the stosb resumes.
      const pte = trace.writesIn({ address: 0, size: 16 << 20, space: "physical" }, fault.step, end).filter((w) => w.cause === "page-table");
      expect(pte.some((w) => (w.newValue & 0x40) !== 0)).toBe(true);
      // Last write to the handler's target before the RMW add: int $0x80's handler.
      const add = trace.writesIn({ address: 0x200100, size: 4, space: "physical" }, 0, end);
      expect(add.map((w) => w.newValue)).toEqual([0x80, 0x85]);
      expect(trace.lastWrite({ address: 0x200100, size: 4 }, add[1].step)).toMatchObject({ step: add[0].step, newValue: 0x80, oldValue: 0 });
    } finally {
      trace.close();
    }
  });
});

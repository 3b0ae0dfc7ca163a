/**
 * ttd against QEMU, instruction by instruction: EIP and the eight general registers before every
 * instruction of the probe guests. QEMU's log is parsed once per ELF and cached (see qemu-log.ts),
 * so only the first run pays for QEMU's single-step logging.
 *
 * TTD_LOCKSTEP_STEPS overrides how many instructions of probe-pg-r10 are compared (default 400,000);
 * probe-r1 and the events fixture are compared over their whole runs (3.6 million and 3,000
 * instructions).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, test } from "vitest";
import { Elf32 } from "../../src/elf/elf32.js";
import { Machine } from "../../src/machine/machine.js";
import { ImageCode } from "../../src/bench/disasm.js";
import { formatDivergence, runLockstep } from "../../src/bench/lockstep-core.js";
import { findQemu, loadQemuTrace, QEMU_MISSING } from "../../src/bench/qemu-log.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const PROBE_DIR = process.env.TTD_PROBE_DIR ?? path.resolve(here, "../../../shared/bench/probe");
const PG_STEPS = Number(process.env.TTD_LOCKSTEP_STEPS ?? 400_000);

async function lockstep(elfPath: string, steps: number, icount = false): Promise<{ compared: number; complete: boolean; count: number; events: number }> {
  const image = path.basename(elfPath);
  const bytes = new Uint8Array(fs.readFileSync(elfPath));
  const { trace } = await loadQemuTrace(elfPath, { maxRecords: steps, icount });
  const machine = Machine.fromElf(bytes);
  const result = runLockstep(machine, trace);
  if (result.divergence) {
    throw new Error(`${image}:\n${formatDivergence(result.divergence, trace, new ImageCode(new Elf32(bytes)))}`);
  }
  return { compared: result.compared, complete: trace.complete, count: trace.count, events: result.events };
}

describe("lockstep against QEMU", () => {
  beforeAll(() => {
    if (!findQemu()) throw new Error(`${QEMU_MISSING}; the lockstep tests need it (CI installs it)`);
  });

  test("probe-r1: every instruction of the whole run matches QEMU", async () => {
    const r = await lockstep(path.join(PROBE_DIR, "probe-r1.elf"), Infinity);
    expect(r.complete).toBe(true);
    expect(r.count).toBeGreaterThan(3_600_000);
    expect(r.compared).toBe(r.count);
  }, 900_000);

  // With -icount shift=0 QEMU's clock, like ttd's, is one nanosecond per instruction, so the local
  // APIC timer fires on the same instructions: the demo kernels then compare whole, through every
  // timer interrupt, sysenter/sysexit, iret to ring 3 and (in the bug image) the #GP 0x200 iret.
  for (const name of ["idle-fixed", "idle-bug"]) {
    test(`demo kernel ${name}: the whole run, interrupts included, matches QEMU in icount mode`, async () => {
      const r = await lockstep(path.resolve(here, `../../src/kernel/build/${name}.elf`), Infinity, true);
      expect(r.complete).toBe(true);
      expect(r.compared).toBe(r.count);
      expect(r.events).toBeGreaterThan(name === "idle-fixed" ? 100 : 1);
    }, 900_000);
  }

  test(`probe-pg-r10 (paging): the first ${PG_STEPS} instructions match QEMU`, async () => {
    const r = await lockstep(path.join(PROBE_DIR, "probe-pg-r10.elf"), PG_STEPS);
    expect(r.count).toBe(PG_STEPS);
    expect(r.compared).toBe(PG_STEPS);
  }, 900_000);

  test("events fixture: rep strings, exceptions, int n and timer interrupts out of hlt match QEMU", async () => {
    // fixtures/events.S: 6 deliveries are steps of their own in ttd (#DE, #UD, #GP, #PF, 2 timer
    // interrupts); int $0x80, int3 and into are delivered within their instruction's step.
    const r = await lockstep(path.join(here, "fixtures/events.elf"), Infinity);
    expect(r.complete).toBe(true);
    expect(r.compared).toBe(r.count);
    expect(r.events).toBe(6);
  }, 300_000);
});

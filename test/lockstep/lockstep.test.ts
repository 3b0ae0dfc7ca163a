/**
 * ttd against QEMU, instruction by instruction: EIP and the eight general registers before every
 * instruction of the workload guests. QEMU's log is parsed once per ELF and cached (see qemu-log.ts),
 * so only the first run pays for QEMU's single-step logging.
 *
 * TTD_LOCKSTEP_STEPS overrides how many instructions of workload-pg-r10 are compared (default
 * 400,000); workload-r1 and the events fixture are compared over their whole runs (3.4 million and
 * 3,000 instructions).
 *
 * Optional cross-check: with TTD_PROBE_DIR naming a folder of other multiboot guests built the same
 * way (probe-r1.elf, probe-pg-r10.elf), those are compared too; without it that part says it is skipped.
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
import { PROBE_DIR, WORKLOAD, workload } from "../guests.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const PG_STEPS = Number(process.env.TTD_LOCKSTEP_STEPS ?? 400_000);

async function lockstep(elfPath: string, steps: number, icount = false): Promise<{ compared: number; complete: boolean; count: number; events: number }> {
  const image = path.basename(elfPath);
  const bytes = new Uint8Array(fs.readFileSync(elfPath));
  const { trace } = await loadQemuTrace(elfPath, { maxRecords: steps, icount });
  const machine = Machine.fromElf(bytes);
  const result = runLockstep(machine, trace);
  if (result.divergence) {
    throw new Error(`${image}:\n${formatDivergence(result.divergence, new ImageCode(new Elf32(bytes)))}`);
  }
  return { compared: result.compared, complete: trace.complete, count: trace.count, events: result.events };
}

describe("lockstep against QEMU", () => {
  beforeAll(() => {
    if (!findQemu()) throw new Error(`${QEMU_MISSING}; the lockstep tests need it (CI installs it)`);
  });

  test("workload-r1: every instruction of the whole run matches QEMU", async () => {
    const r = await lockstep(workload("workload-r1.elf"), Infinity);
    expect(r.complete).toBe(true);
    // QEMU ran exactly as many instructions as ttd takes steps (test/guests.ts).
    expect(r.count).toBe(WORKLOAD["workload-r1.elf"].steps);
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

  test(`workload-pg-r10 (paging): the first ${PG_STEPS} instructions match QEMU`, async () => {
    const r = await lockstep(workload("workload-pg-r10.elf"), PG_STEPS);
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

const crossCheck =
  PROBE_DIR === null
    ? "cross-check on the guests in $TTD_PROBE_DIR (SKIPPED: TTD_PROBE_DIR is not set; it is optional)"
    : `cross-check on the guests in ${PROBE_DIR}`;

describe.skipIf(PROBE_DIR === null)(crossCheck, () => {
  beforeAll(() => {
    if (!findQemu()) throw new Error(`${QEMU_MISSING}; the lockstep tests need it (CI installs it)`);
  });

  test("probe-r1.elf: every instruction of the whole run matches QEMU", async () => {
    const elf = path.join(PROBE_DIR!, "probe-r1.elf");
    if (!fs.existsSync(elf)) throw new Error(`${elf}: no such file (TTD_PROBE_DIR must hold probe-r1.elf and probe-pg-r10.elf)`);
    const r = await lockstep(elf, Infinity);
    expect(r.complete).toBe(true);
    expect(r.compared).toBe(r.count);
  }, 900_000);

  test(`probe-pg-r10.elf (paging): the first ${PG_STEPS} instructions match QEMU`, async () => {
    const elf = path.join(PROBE_DIR!, "probe-pg-r10.elf");
    if (!fs.existsSync(elf)) throw new Error(`${elf}: no such file (TTD_PROBE_DIR must hold probe-r1.elf and probe-pg-r10.elf)`);
    const r = await lockstep(elf, PG_STEPS);
    expect(r.compared).toBe(PG_STEPS);
  }, 900_000);
});

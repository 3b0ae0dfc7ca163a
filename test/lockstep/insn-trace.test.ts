/**
 * QEMU's instruction-address plugin (src/bench/qemu-insn-trace.c) read alongside the register log
 * (streamQemuLog) and compared with ttd at every instruction, on the workload guest.
 */
import * as fs from "node:fs";
import { describe, expect, test } from "vitest";
import { Elf32 } from "../../src/elf/elf32.js";
import { Machine } from "../../src/machine/machine.js";
import { Lockstep } from "../../src/bench/lockstep-core.js";
import { insnTracePlugin, insnTracePluginArgs } from "../../src/bench/qemu-insn-trace.js";
import { findQemu, imageCodeRanges, isRepStringAt, QEMU_MISSING, qemuBaseArgs, streamQemuLog } from "../../src/bench/qemu-log.js";
import { workload } from "../guests.js";

describe("QEMU's address of every instruction", () => {
  test("workload-r1: the first 300,000 instructions, registers and addresses, streamed", async () => {
    if (!findQemu()) throw new Error(`${QEMU_MISSING} (CI installs it)`);
    const file = workload("workload-r1.elf");
    const bytes = new Uint8Array(fs.readFileSync(file));
    const elf = new Elf32(bytes);
    const m = Machine.fromElf(bytes);
    const records = 300_000;
    const l = new Lockstep(m, { limit: records, addresses: { isRepStringAt: (a) => isRepStringAt(m.mem.u8, a) } });
    const plugin = insnTracePlugin();
    let batches = 0;
    const r = await streamQemuLog(qemuBaseArgs(file, true), elf.entry, imageCodeRanges(elf), { maxRecords: records, icount: true }, (batch) => {
      batches++;
      return l.feed(batch);
    }, { pluginArgs: (fifo) => insnTracePluginArgs(plugin, fifo, elf.entry), consume: (a) => l.feedAddresses(a) });
    expect(l.result.divergence).toBeNull();
    expect(l.result.compared).toBe(records);
    // Every instruction is logged here, so each record has its address too.
    expect(l.result.addresses).toBe(records);
    expect(r.records).toBe(records);
    expect(batches).toBeGreaterThan(10);
  }, 180_000);
});

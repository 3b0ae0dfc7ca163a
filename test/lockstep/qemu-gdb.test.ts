/**
 * QEMU's state at a kernel's entry through its gdbstub (src/bench/qemu-gdb.ts), on a multiboot guest
 * whose entry state the multiboot specification and the image fix.
 */
import * as fs from "node:fs";
import { describe, expect, test } from "vitest";
import { Elf32, PT_LOAD } from "../../src/elf/elf32.js";
import { qemuStateAtEntry } from "../../src/bench/qemu-gdb.js";
import { findQemu, QEMU_MISSING, qemuBaseArgs } from "../../src/bench/qemu-log.js";
import { workload } from "../guests.js";

describe("QEMU at the entry, through its gdbstub", () => {
  test("workload-r1: the multiboot registers, and memory as loaded and as SeaBIOS left it", async () => {
    if (!findQemu()) throw new Error(`${QEMU_MISSING} (CI installs it)`);
    const file = workload("workload-r1.elf");
    const elf = new Elf32(new Uint8Array(fs.readFileSync(file)));
    const text = elf.programHeaders.find((p) => p.type === PT_LOAD && (p.flags & 1) !== 0)!;
    const q = await qemuStateAtEntry(qemuBaseArgs(file, true), elf.entry, [[text.paddr, text.paddr + text.filesz], [0x400, 0x500]]);
    expect(q.eip).toBe(elf.entry);
    expect(q.regs[0] >>> 0).toBe(0x2badb002); // EAX: the multiboot magic
    expect(q.regs[3]).toBeGreaterThan(0); // EBX: the multiboot information
    expect(q.eflags & 0x200).toBe(0); // interrupts off
    expect(q.memory.map((m) => m.start)).toEqual([text.paddr, 0x400]);
    expect(q.memory[0].bytes).toEqual(elf.bytes.subarray(text.offset, text.offset + text.filesz));
    // The BIOS data area: COM1's port in the first word, as SeaBIOS sets it.
    expect(q.memory[1].bytes[0] | (q.memory[1].bytes[1] << 8)).toBe(0x3f8);
  }, 120_000);

  test("an entry QEMU never reaches is an error (the guest ends first), not a wait", async () => {
    if (!findQemu()) throw new Error(`${QEMU_MISSING} (CI installs it)`);
    const file = workload("workload-r1.elf");
    await expect(qemuStateAtEntry(qemuBaseArgs(file, true), 0x7fff0000, [], { timeoutMs: 5000 })).rejects.toThrow(/closed its gdbstub connection before answering c|did not answer c in time/);
  }, 60_000);
});

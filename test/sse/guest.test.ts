/**
 * The vector-unit guest (guests/sse.c): its COM1 output under ttd, interpreted and compiled, must be
 * QEMU 7.2's byte for byte (-cpu Nehalem,+xsave,+xsaveopt: SSE2 and XSAVE, as ttd's CPUID says).
 * Needs clang and ld.lld; the QEMU comparison needs qemu-system-i386.
 */
import { writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { buildCGuest, canBuildC, hasQemu, runQemu, runTtd } from "../machine/c-guests.js";

const QEMU_CPU = ["-cpu", "Nehalem,+xsave,+xsaveopt"];

function build(): string {
  return buildCGuest("sse", {
    source: new URL("./guests/sse.c", import.meta.url).pathname,
    flags: ["-mno-sse", "-mno-mmx"],
  });
}

describe.skipIf(!canBuildC)("SSE guest", () => {
  it.skipIf(!hasQemu)("prints what QEMU 7.2 prints, interpreted and compiled", () => {
    const elf = build();
    const q = runQemu(elf, QEMU_CPU);
    const interpreted = runTtd(elf, { compile: false });
    const compiled = runTtd(elf);
    if (process.env.TTD_SSE_GUEST_DUMP) {
      writeFileSync("/tmp/ttd-sse-guest.qemu.txt", q.stdout);
      writeFileSync("/tmp/ttd-sse-guest.ttd.txt", interpreted.serial);
    }
    const lines = q.stdout.split("\n").length;
    console.log(`SSE guest: ${lines} lines, ${q.stdout.length} bytes compared with QEMU`);
    expect(q.status).toBe(1);
    expect(interpreted.serial).toBe(q.stdout);
    expect(compiled.serial).toBe(q.stdout);
    expect(interpreted.result.steps).toBe(compiled.result.steps);
  }, 120_000);
});

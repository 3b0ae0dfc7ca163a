/**
 * PAT and MTRRs in a running guest (guests/msrs.c): the guest programs them, spins across several
 * keyframes, reads them back and prints them with the CPUID bits seL4 checks; the output must be QEMU
 * 7.2's byte for byte, and a recording must restore the MSRs from its keyframes (a state re-executed
 * from a keyframe has the values the direct run has). Needs clang and ld.lld; QEMU when installed.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Machine } from "../../src/machine/machine.js";
import { Recorder } from "../../src/trace/recorder.js";
import { Trace } from "../../src/trace/trace.js";
import { buildCGuest, canBuildC } from "./c-guests.js";

const has = (tool: string) => spawnSync(tool, ["--version"], { stdio: "ignore" }).status === 0;
const EXPECTED = [
  "clflush=00000008 pat=00000001",
  "pat=00070106:00070106",
  "physbase0=00000000:00000006",
  "physmask0=00000000:f8000800",
  "fix64k=06060606:06060606",
  "deftype=00000000:00000c00",
  "",
].join("\n");

describe.skipIf(!canBuildC)("MSRs in a running guest", () => {
  let dir = "";
  let elf = "";
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "ttd-msrs-"));
    elf = buildCGuest("msrs");
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(!has("qemu-system-i386"))("prints what QEMU 7.2 prints", () => {
    const q = spawnSync(
      "qemu-system-i386",
      ["-display", "none", "-no-reboot", "-net", "none", "-monitor", "none", "-serial", "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-kernel", elf],
      { encoding: "utf8", timeout: 60_000 },
    );
    expect(q.stdout).toBe(EXPECTED);
  });

  it("runs to the expected output, and a recording restores the MSRs from its keyframes", async () => {
    const image = new Uint8Array(readFileSync(elf));
    const machine = Machine.fromElf(image, { memoryMiB: 16 });
    let out = "";
    const rec = new Recorder(machine, {
      path: join(dir, "msrs.trace"), image, imageName: "msrs.elf", keyframeSteps: 2000, chunkSteps: 500, threaded: false,
      onSerial: (b) => (out += String.fromCharCode(b)),
    });
    const result = await rec.run();
    expect(out).toBe(EXPECTED);
    expect(result.keyframes).toBeGreaterThan(4);
    const trace = Trace.open(join(dir, "msrs.trace"));
    try {
      const direct = Machine.fromElf(image, { memoryMiB: 16 });
      // Steps just after keyframes, in the spin loop (after the writes) and at the end.
      for (const step of [2001, 6000, 8001, result.steps - 1]) {
        direct.run({ maxSteps: step });
        while (direct.cpu.steps < step) direct.step();
        const replayed = trace.stateAt(step).machine.cpu.msrs.save();
        expect(replayed, `MSRs at step ${step}`).toEqual(direct.cpu.msrs.save());
      }
      expect(trace.stateAt(6000).machine.cpu.msrs.save().pat).toEqual([0x00070106, 0x00070106]);
      expect(trace.stateAt(0).machine.cpu.msrs.save().pat).toEqual([0x00070406, 0x00070406]);
    } finally {
      trace.close();
    }
  });
});

// The demo kernels under ttd's own machine must print what they print under QEMU (the same expected
// files the QEMU test checks), exit with the same status, and do so deterministically.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { Machine } from "../../src/machine/machine.js";
import { compareSerial, EXPECTED_EXIT_VALUE, imagePath, KERNEL_IMAGES, qemuExitStatus, readExpected } from "./serial-expect.js";

function runImage(image: string, compile = true) {
  const m = Machine.fromElf(new Uint8Array(readFileSync(image)), { compile });
  let out = "";
  m.onSerial = (b) => (out += String.fromCharCode(b));
  const result = m.run({ maxSteps: 50_000_000 });
  return { m, out, result };
}

describe("demo kernels under ttd", () => {
  for (const name of KERNEL_IMAGES) {
    it(`${name} prints the expected serial output and exits like under QEMU`, () => {
      const { out, result } = runImage(imagePath(name));
      const cmp = compareSerial(readExpected(name), out);
      expect(cmp.message).toBe("");
      expect(cmp.ok).toBe(true);
      expect(result.reason).toBe("exit");
      expect(result.exitStatus).toBe(qemuExitStatus(EXPECTED_EXIT_VALUE[name]));
    });

    it(`${name} runs identically interpreted and compiled`, () => {
      const a = runImage(imagePath(name), false);
      const b = runImage(imagePath(name), true);
      expect(a.out).toBe(b.out);
      expect(a.result.steps).toBe(b.result.steps);
      expect(Array.from(a.m.cpu.regs)).toEqual(Array.from(b.m.cpu.regs));
    });
  }

  it("idle-fixed takes at least 100 timer interrupts while idle", () => {
    const { out } = runImage(imagePath("idle-fixed"));
    const m = /ALL OK: \d+ IPC rounds, (\d+) timer interrupts taken while idle/.exec(out);
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThanOrEqual(100);
  });
});

/**
 * The x87 unit in recordings: the x87 guest recorded with many keyframes, then the FPU state at steps
 * between keyframes re-executed from the trace equals the direct run's, and the last write to a result
 * slot is found and disassembled as the instruction that stored it (`fstpt`).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Machine } from "../../src/machine/machine.js";
import { Recorder } from "../../src/trace/recorder.js";
import { Trace } from "../../src/trace/trace.js";
import { Elf32 } from "../../src/elf/elf32.js";
import { ImageCode } from "../../src/bench/disasm.js";
import { disassemble } from "../../src/disasm/disassembler.js";
import { buildCGuest, canBuildC } from "../machine/c-guests.js";
import { buildCases, header } from "./guest-cases.js";

describe.skipIf(!canBuildC)("x87 state in recordings", () => {
  const dir = mkdtempSync(join(tmpdir(), "ttd-x87-replay-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("re-executes to the direct run's FPU state and names the storing instruction", async () => {
    const { snippets, cases } = buildCases(1, 1);
    writeFileSync(join(dir, "x87-cases.h"), header(snippets, cases));
    const elf = buildCGuest("x87-cases", { includeDir: dir });
    const image = new Uint8Array(readFileSync(elf));
    const rec = new Recorder(Machine.fromElf(image, { memoryMiB: 16 }), {
      path: join(dir, "x87.trace"), image, imageName: "x87-cases.elf", keyframeSteps: 5000, chunkSteps: 1000, threaded: false,
    });
    const result = await rec.run();
    expect(result.keyframes).toBeGreaterThan(10);
    const trace = Trace.open(join(dir, "x87.trace"));
    try {
      const direct = Machine.fromElf(image, { memoryMiB: 16 });
      for (const step of [5003, 12_345, 30_001, result.steps - 1]) {
        direct.run({ maxSteps: step });
        while (direct.cpu.steps < step) direct.step();
        expect(trace.stateAt(step).machine.cpu.fpu.save(), `FPU at step ${step}`).toEqual(direct.cpu.fpu.save());
      }
      // The data block's ST0 slot (offset 48) was last written by the snippet's FSTPT.
      const block = new Elf32(image).symbols().find((s) => s.name === "block");
      expect(block).toBeDefined();
      const w = trace.lastWrite({ address: (block!.value + 48) >>> 0, size: 4 }, result.steps - 1);
      expect(w).not.toBeNull();
      const bytes = new ImageCode(new Elf32(image)).bytesAt(w!.eip, 15);
      expect(disassemble(bytes, w!.eip).text).toMatch(/^fstpt /);
    } finally {
      trace.close();
    }
  }, 300_000);
});

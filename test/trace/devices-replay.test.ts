/**
 * Keyframes carry the VGA registers, the 8042 with its keyboard and the A20 gate: a recording of
 * the VGA and 8042/A20 guests (test/machine/guests) replays to any step with exactly the state a
 * fresh run has there, across many keyframes, including steps where A20 is closed, and the screen
 * rebuilt at a step is the one the fresh run shows.
 */
import * as path from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import { Machine } from "../../src/machine/machine.js";
import { readTextScreen } from "../../src/machine/text-screen.js";
import { Trace } from "../../src/trace/trace.js";
import { buildCGuest, canBuildC } from "../machine/c-guests.js";
import { lcg, recordInline, tmpDir } from "./helpers.js";

const MEM = 16;

describe.skipIf(!canBuildC)("device state across keyframes", () => {
  let dir: string;
  beforeAll(() => {
    dir = tmpDir();
  });

  for (const guest of ["vga-text", "keyboard-a20"]) {
    test(`${guest}: stateAt(N) equals a fresh run to N`, async () => {
      const rec = await recordInline(buildCGuest(guest), path.join(dir, `${guest}.trace`), { memoryMiB: MEM, chunkSteps: 1024, keyframeSteps: 4096 });
      expect(rec.result.reason).toBe("exit");
      const trace = Trace.open(rec.path);
      try {
        const rand = lcg(11);
        const steps = new Set<number>([0, trace.steps]);
        while (steps.size < 60) steps.add(Math.floor(rand() * trace.steps));
        // The A20-closed stretches are short: take some of their steps on purpose.
        const scout = Machine.fromElf(rec.image, { memoryMiB: MEM });
        const closedSteps: number[] = [];
        while (scout.cpu.steps < trace.steps) {
          scout.step();
          if (!scout.a20Enabled()) closedSteps.push(scout.cpu.steps);
        }
        for (let i = 0; i < closedSteps.length; i += Math.max(1, Math.floor(closedSteps.length / 8))) steps.add(closedSteps[i]);
        const fresh = Machine.fromElf(rec.image, { memoryMiB: MEM });
        let closed = 0;
        for (const s of [...steps].sort((a, b) => a - b)) {
          while (fresh.cpu.steps < s) fresh.step();
          const st = trace.stateAt(s);
          expect(JSON.stringify(st.machine.saveState()), `state at step ${s}`).toBe(JSON.stringify(fresh.saveState()));
          expect(readTextScreen(st.machine.mem.u8, st.machine.vga)).toEqual(readTextScreen(fresh.mem.u8, fresh.vga));
          if (!fresh.a20Enabled()) closed++;
        }
        if (guest === "keyboard-a20") expect(closed).toBeGreaterThan(0);
      } finally {
        trace.close();
      }
    }, 300_000);
  }
});

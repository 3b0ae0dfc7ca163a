/**
 * Recordings of guests that use the I/O APIC (edge and level pins, remote IRR, EOI broadcast) and the
 * PIIX4 PM (ACPI enable, PM timer, power off) replay identically across keyframes: the state at any
 * step, restored from the nearest keyframe, equals a fresh run to that step, devices and RAM alike.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { Machine } from "../../src/machine/machine.js";
import { Trace } from "../../src/trace/trace.js";
import { recordInline, tmpDir } from "./helpers.js";
import { buildGuest, canBuild } from "../machine/firmware-guests.js";

const MEM = 32;

describe.skipIf(!canBuild)("firmware devices across keyframes", () => {
  let dir: string;
  beforeAll(() => {
    dir = tmpDir();
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const guest of ["ioapic", "poweroff"]) {
    test(`${guest}: every sampled step equals a fresh run`, async () => {
      const elf = buildGuest(guest);
      const rec = await recordInline(elf, path.join(dir, `${guest}.trace`), { memoryMiB: MEM, chunkSteps: 256, keyframeSteps: 1024 });
      expect(rec.result.reason).toBe(guest === "poweroff" ? "power-off" : "exit");
      const trace = Trace.open(rec.path);
      try {
        const end = trace.steps;
        const steps = new Set<number>([0, end, end - 1]);
        for (let s = 0; s < end; s += Math.max(1, Math.floor(end / 40))) steps.add(s);
        for (const e of trace.events()) for (const d of [-1, 0, 1]) steps.add(Math.min(end, Math.max(0, e.step + d)));
        const wanted = [...steps].sort((a, b) => b - a); // backwards: every visit restores a keyframe
        const states = new Map<number, string>();
        for (const s of wanted) states.set(s, JSON.stringify(trace.stateAt(s).machine.saveState()));
        const fresh = Machine.fromElf(rec.image, { memoryMiB: MEM, compile: false });
        for (const s of [...wanted].reverse()) {
          while (fresh.cpu.steps < s) fresh.step();
          expect(states.get(s), `state at step ${s}`).toBe(JSON.stringify(fresh.saveState()));
        }
        expect(JSON.parse(states.get(end)!).devices.ioapic).toBeDefined();
      } finally {
        trace.close();
      }
    }, 300_000);
  }
});

/**
 * Input from outside, recorded and replayed: the input-shell guest (test/machine/guests/input-shell.c)
 * gets a script through COM1 and through the 8042 keyboard while it halts, computes and prints, with a
 * 10 kHz timer running. The trace stores each input with its step; every replay (stateAt across
 * keyframes, a fresh machine fed the stored inputs step by step) is identical to the recording, and
 * the same script recorded twice enters at the same steps.
 */
import * as path from "node:path";
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, test } from "vitest";
import { Machine } from "../../src/machine/machine.js";
import { InputDevice } from "../../src/machine/input-feed.js";
import { LiveInputFeed } from "../../src/input/live-feed.js";
import { Recorder } from "../../src/trace/recorder.js";
import { RecordedInputs } from "../../src/trace/recorded-inputs.js";
import { Trace } from "../../src/trace/trace.js";
import { buildCGuest, canBuildC } from "../machine/c-guests.js";
import { lcg, tmpDir } from "./helpers.js";

const MEM = 16;
const SCRIPT = "sum 1 2 39\nspin\nrev hello world\nticks\ndate\nquit\n";
const RTC = new Date("2026-01-01T00:00:00Z");

async function recordWithInput(elf: string, out: string, device: InputDevice, delay = 500) {
  const image = new Uint8Array(readFileSync(elf));
  const machine = Machine.fromElf(image, { memoryMiB: MEM });
  machine.setRtcStart(RTC);
  const feed = new LiveInputFeed({ device, delay, waitsForSource: true });
  feed.push(new TextEncoder().encode(SCRIPT));
  feed.end();
  machine.inputFeed = feed;
  let serial = "";
  const rec = new Recorder(machine, {
    path: out, image, imageName: path.basename(elf), chunkSteps: 1024, keyframeSteps: 4096, threaded: false,
    onSerial: (b) => (serial += String.fromCharCode(b)),
    inputs: { waitForInput: async () => {} },
  });
  const result = await rec.run();
  return { result, serial, image };
}

describe.skipIf(!canBuildC)("input from outside, recorded and replayed", () => {
  let dir: string;
  let elf: string;
  beforeAll(() => {
    dir = tmpDir();
    elf = buildCGuest("input-shell");
  });

  for (const [name, device] of [["COM1", InputDevice.Com1], ["keyboard", InputDevice.Keyboard]] as const) {
    test(`${name}: the replay equals the recording at every step asked, output included`, async () => {
      const a = await recordWithInput(elf, path.join(dir, `${name}-a.trace`), device);
      expect(a.result.reason).toBe("exit");
      expect(a.serial).toContain("sum=42\n");
      expect(a.serial).toContain("dlrow olleh\n");
      expect(a.serial).toContain("2026-01-01 00:00:00\n");
      expect(a.serial).toMatch(/spun ticks=[1-9][0-9]*\n/);
      expect(a.serial).toContain("bye\n");

      // The same script again: the same steps, the same trace contents.
      const b = await recordWithInput(elf, path.join(dir, `${name}-b.trace`), device);
      expect(b.serial).toBe(a.serial);
      expect(b.result.steps).toBe(a.result.steps);

      const trace = Trace.open(path.join(dir, `${name}-a.trace`));
      const again = Trace.open(path.join(dir, `${name}-b.trace`));
      try {
        expect(trace.info().formatVersion).toBe(4);
        const inputs = trace.inputs();
        expect(inputs.length).toBeGreaterThanOrEqual(SCRIPT.length);
        expect(again.inputs()).toEqual(inputs);
        expect(inputs.every((i) => i.device === device)).toBe(true);
        // The output the trace holds is what the guest printed, byte for byte.
        expect(trace.output().map((o) => String.fromCharCode(o.byte)).join("")).toBe(a.serial);

        // A fresh machine fed the stored inputs, stepped forward, against stateAt in random order.
        const fresh = Machine.fromElf(a.image, { memoryMiB: MEM });
        fresh.setRtcStart(RTC);
        fresh.inputFeed = new RecordedInputs(inputs);
        let freshOut = "";
        fresh.onSerial = (c) => (freshOut += String.fromCharCode(c));
        const rand = lcg(7);
        const steps = new Set<number>([0, trace.steps, ...inputs.map((i) => i.step), ...inputs.map((i) => i.step + 1)]);
        while (steps.size < inputs.length * 2 + 40) steps.add(Math.floor(rand() * trace.steps));
        const sorted = [...steps].filter((s) => s <= trace.steps).sort((x, y) => x - y);
        const expected = new Map<number, string>();
        for (const s of sorted) {
          while (fresh.cpu.steps < s) fresh.step();
          expected.set(s, JSON.stringify({ state: fresh.saveState(), ram: Buffer.from(fresh.mem.u8.subarray(0x100000, 0x110000)).toString("base64") }));
        }
        expect(freshOut).toBe(a.serial.slice(0, freshOut.length));
        const shuffled = [...sorted].sort(() => rand() - 0.5);
        for (const s of shuffled) {
          const st = trace.stateAt(s);
          const got = JSON.stringify({ state: st.machine.saveState(), ram: Buffer.from(st.machine.mem.u8.subarray(0x100000, 0x110000)).toString("base64") });
          expect(got, `state at step ${s}`).toBe(expected.get(s));
        }
      } finally {
        trace.close();
        again.close();
      }
    }, 300_000);
  }
});

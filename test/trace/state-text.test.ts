/**
 * The keyframe state text reuses each device's text while its state is unchanged: it must always be
 * JSON.stringify(machine.saveState()) byte for byte, whatever changed in between.
 */
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { Machine } from "../../src/machine/machine.js";
import { StateText, sameJsonValue } from "../../src/trace/state-text.js";
import { kernel } from "./helpers.js";

describe("StateText", () => {
  test("equals JSON.stringify of the state at every slice of a run whose devices change", () => {
    const machine = Machine.fromElf(new Uint8Array(readFileSync(kernel("idle-bug.elf"))), { memoryMiB: 32 });
    const text = new StateText();
    let previous = "";
    let devicesChanged = 0;
    for (let slice = 1; slice <= 60; slice++) {
      const r = machine.run({ maxSteps: slice * 1500 });
      const state = machine.saveState();
      const expected = JSON.stringify(state);
      expect(text.text(state)).toBe(expected);
      // Twice on the same values (the cached texts are reused), then on a fresh save.
      expect(text.text(machine.saveState())).toBe(expected);
      const devices = JSON.stringify(state.devices);
      if (previous !== "" && devices !== previous) devicesChanged++;
      previous = devices;
      if (r.reason !== "max-steps") break;
    }
    expect(devicesChanged).toBeGreaterThan(0);
  });

  test("a device state changed in place is written again", () => {
    const regs = [1, 2, 3];
    const state = { cpu: { steps: 1 }, idleTicks: 0, exitStatus: null, devices: { pic: { regs }, pit: {}, apic: {}, uart: {}, cmos: {}, debugPorts: {} } };
    const text = new StateText();
    expect(text.text(state as never)).toBe(JSON.stringify(state));
    regs[1] = 7;
    expect(text.text(state as never)).toBe(JSON.stringify(state));
  });
});

describe("sameJsonValue", () => {
  test("plain data with the same text", () => {
    expect(sameJsonValue({ a: [1, 2, { b: "x" }], c: null }, { a: [1, 2, { b: "x" }], c: null })).toBe(true);
    expect(sameJsonValue([0], [-0])).toBe(true);
  });
  test("anything that could write a different text", () => {
    expect(sameJsonValue({ a: 1, b: 2 }, { b: 2, a: 1 })).toBe(false);
    expect(sameJsonValue({ a: 1 }, { a: 1, b: undefined })).toBe(false);
    expect(sameJsonValue([1, 2], [1, 2, 3])).toBe(false);
    expect(sameJsonValue([NaN], [NaN])).toBe(false);
    expect(sameJsonValue(new Uint8Array(2), new Uint8Array(2))).toBe(false);
    const o = { a: 1 };
    expect(sameJsonValue(o, o)).toBe(false);
    expect(sameJsonValue({ a: 1 }, { a: "1" })).toBe(false);
    expect(sameJsonValue([[1]], [[2]])).toBe(false);
  });
});

/**
 * Timers armed while the CPU runs, not from HLT (guests/timer-rearm.c): the local APIC timer re-armed
 * to an earlier deadline, and PIT channel 0 started in mode 0, each followed by a spin loop. The
 * machine plans its runs of steps up to the next device event it knows; an arming in the middle of one
 * must end it at the next instruction boundary, so the interrupt comes exactly when it is due, and on
 * the same step however the run is cut (slices, keyframes, a replay from a keyframe). Needs clang and
 * ld.lld; QEMU (in icount mode) when installed.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { Machine } from "../../src/machine/machine.js";
import { pitClocksAt, pitTickOfClock } from "../../src/machine/pit.js";
import { StepKind } from "../../src/cpu/observer.js";
import { Recorder } from "../../src/trace/recorder.js";
import { Trace } from "../../src/trace/trace.js";
import { buildCGuest, canBuildC, hasQemu, runQemu } from "./c-guests.js";
import { tmpDir } from "../trace/helpers.js";

/** The guest's constants (timer-rearm.c). */
const APIC_VECTOR = 0x40;
const APIC_NEAR = 5000;
const PIT_COUNT = 100;
const PIT_VECTOR = 0x20;

interface Run {
  serial: string;
  /** [vector, step] of every external interrupt delivered. */
  interrupts: [number, number][];
  /** The tick the APIC timer was last armed at, read when its interrupt came. */
  apicArmedAt: number;
  /** The tick of the last write to PIT channel 0's count (its high byte, which starts the count). */
  pitArmedAt: number;
  steps: number;
}

/** Watches a machine's interrupts and PIT count writes into `run`. */
function watch(machine: Machine, run: Run): void {
  machine.cpu.observer = {
    onMemoryWrite() {},
    onPortIo(port, _size, _value, isWrite) {
      if (isWrite && port === 0x40) run.pitArmedAt = machine.now();
    },
    onEvent(kind, step, vector) {
      if (kind !== StepKind.Interrupt) return;
      run.interrupts.push([vector, step]);
      if (vector === APIC_VECTOR) run.apicArmedAt = (machine.apic.saveState() as { timerBaseTick: number }).timerBaseTick;
    },
  };
}

function newMachine(image: Uint8Array, run: Run): Machine {
  const m = Machine.fromElf(image, { memoryMiB: 16 });
  m.onSerial = (b) => (run.serial += String.fromCharCode(b));
  watch(m, run);
  return m;
}

const emptyRun = (): Run => ({ serial: "", interrupts: [], apicArmedAt: -1, pitArmedAt: -1, steps: 0 });

/**
 * Runs the guest to its end in `maxSteps` slices of `slice` steps (Infinity: one run); with
 * `restoreEvery`, the machine is replaced at every multiple of it by a new one loaded from its saved
 * state and RAM, as a replay from a keyframe starts.
 */
function runGuest(image: Uint8Array, slice: number, restoreEvery = Infinity): Run {
  const run = emptyRun();
  let m = newMachine(image, run);
  for (;;) {
    const nextRestore = (Math.floor(m.cpu.steps / restoreEvery) + 1) * restoreEvery;
    const r = m.run({ maxSteps: Math.min(m.cpu.steps + slice, nextRestore, 10_000_000) });
    if (r.reason !== "max-steps") {
      expect(r.reason).toBe("exit");
      run.steps = r.steps;
      return run;
    }
    expect(r.steps).toBeLessThan(10_000_000);
    if (r.steps === nextRestore) {
      const state = JSON.parse(JSON.stringify(m.saveState()));
      const ram = m.mem.u8;
      m = newMachine(image, run);
      m.mem.u8.set(ram);
      m.loadState(state);
    }
  }
}

/** Where the guest's APIC loop was interrupted, in steps after the arming instruction (see timer-rearm.c). */
function apicStepsAfterArming(ecx: number, eipOffset: number): number {
  // The arming MOV, XOR ECX (+1), then per iteration k >= 1: INC (3k - 1), CMP (3k), JE (3k + 1).
  switch (eipOffset) {
    case 0: return 3 * (ecx + 1) - 1; // before INC of the next iteration
    case 1: return 3 * ecx; // before CMP
    case 8: return 3 * ecx + 1; // before JE
    default: throw new Error(`unexpected interrupted EIP +${eipOffset}`);
  }
}

function parseReport(serial: string, name: string): { ecx: number; eip: number } {
  const m = new RegExp(`^${name} ecx=([0-9a-f]{8}) eip=\\+([0-9a-f]{8})$`, "m").exec(serial);
  if (m === null) throw new Error(`no ${name} line in ${JSON.stringify(serial)}`);
  return { ecx: parseInt(m[1], 16), eip: parseInt(m[2], 16) };
}

describe.skipIf(!canBuildC)("timers armed while the CPU runs", () => {
  let elf = "";
  let image = new Uint8Array();
  let dir = "";
  beforeAll(() => {
    elf = buildCGuest("timer-rearm");
    image = new Uint8Array(readFileSync(elf));
    dir = tmpDir();
  });

  it("delivers each interrupt on the step its timer falls due", () => {
    const run = runGuest(image, Infinity);
    expect(run.interrupts.map(([v]) => v)).toEqual([APIC_VECTOR, PIT_VECTOR]);
    const [[, apicStep], [, pitStep]] = run.interrupts;
    // APIC: divide by 1, one cycle per tick; no HLT ran, so ticks are steps.
    expect(apicStep).toBe(run.apicArmedAt + APIC_NEAR);
    const apic = parseReport(run.serial, "apic");
    expect(apicStepsAfterArming(apic.ecx, apic.eip)).toBe(APIC_NEAR);
    // PIT mode 0: OUT rises PIT_COUNT clocks after the clock edge the count was written on.
    expect(pitStep).toBe(pitTickOfClock(pitClocksAt(run.pitArmedAt) + PIT_COUNT));
  });

  it("gives the same steps and output whatever slices and keyframes the run is cut into", () => {
    const whole = runGuest(image, Infinity);
    for (const [slice, restoreEvery] of [[997, Infinity], [1_000_000, 3001], [7919, 2500]]) {
      const cut = runGuest(image, slice, restoreEvery);
      expect({ serial: cut.serial, interrupts: cut.interrupts, steps: cut.steps }, `slices of ${slice}, restored every ${restoreEvery}`)
        .toEqual({ serial: whole.serial, interrupts: whole.interrupts, steps: whole.steps });
    }
  });

  it("a recording re-executed from its keyframes sees the interrupts on the recorded steps", async () => {
    const whole = runGuest(image, Infinity);
    const path = join(dir, "timer-rearm.trace");
    let serial = "";
    const rec = new Recorder(Machine.fromElf(image, { memoryMiB: 16 }), {
      path, image, imageName: "timer-rearm.elf", keyframeSteps: 3000, chunkSteps: 1000, threaded: false,
      onSerial: (b) => (serial += String.fromCharCode(b)),
    });
    const result = await rec.run();
    expect(serial).toBe(whole.serial);
    expect(result.steps).toBe(whole.steps);
    const trace = Trace.open(path);
    try {
      const direct = Machine.fromElf(image, { memoryMiB: 16 });
      // Just after each interrupt was delivered (its handler's first instruction), from a keyframe
      // before the timer was armed.
      for (const [vector, step] of whole.interrupts) {
        direct.run({ maxSteps: step + 1 });
        while (direct.cpu.steps < step + 1) direct.step();
        const replayed = trace.stateAt(step + 1).machine.cpu;
        expect({ eip: replayed.eip, regs: Array.from(replayed.regs) }, `vector 0x${vector.toString(16)}`)
          .toEqual({ eip: direct.cpu.eip, regs: Array.from(direct.cpu.regs) });
      }
    } finally {
      trace.close();
    }
  });

  it.skipIf(!hasQemu)("waits as long as QEMU in icount mode, apart from QEMU's two extra APIC steps", () => {
    const q = runQemu(elf, ["-icount", "shift=0,sleep=off"]);
    expect(q.status).toBe(1);
    const ours = runGuest(image, Infinity);
    const apic = parseReport(q.stdout, "apic");
    // QEMU 7.2 counts the arming instruction itself as executed when it reads its clock during it, and
    // fires a one-shot timer of count N after N + 1 cycles (its current count reads 0 for one cycle):
    // its interrupt comes two steps later than ttd's, whose clock during an instruction is the steps
    // retired before it and whose timer fires when the count reaches 0.
    expect(apicStepsAfterArming(apic.ecx, apic.eip)).toBe(APIC_NEAR + 2);
    // The PIT's clock is a grid on virtual time, and QEMU's firmware ran first: the same count of
    // 100 clocks, started at another phase of the grid, is within one clock (838 ns) of ttd's wait.
    const pitLoop = (r: { ecx: number }) => 3 * r.ecx;
    const [, [, pitStep]] = ours.interrupts;
    const ttdWait = pitStep - ours.pitArmedAt;
    expect(Math.abs(pitLoop(parseReport(q.stdout, "pit")) - ttdWait)).toBeLessThanOrEqual(pitTickOfClock(1) + 3);
  });
});

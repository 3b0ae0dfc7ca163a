import { beforeEach, describe, expect, it } from "vitest";
import { Pit, PIT_HZ, pitClocksAt, pitTickOfClock } from "../../src/machine/pit.js";

let tick = 0;
let levels: boolean[] = [];
let pit: Pit;

function program(channel: number, mode: number, count: number, rw = 3): void {
  pit.portWrite(0x43, 1, (channel << 6) | (rw << 4) | (mode << 1));
  if (rw & 1) pit.portWrite(0x40 + channel, 1, count & 0xff);
  if (rw & 2) pit.portWrite(0x40 + channel, 1, (count >> 8) & 0xff);
}

/** Latches and reads a channel's counter (word access mode). */
function readCounter(channel: number): number {
  pit.portWrite(0x43, 1, channel << 6);
  const lo = pit.portRead(0x40 + channel, 1);
  const hi = pit.portRead(0x40 + channel, 1);
  return lo | (hi << 8);
}

/** Advances the PIT to tick `t` as the machine does. */
function advance(t: number): void {
  tick = t;
  pit.advanceTo(t);
}

describe("PIT clock arithmetic", () => {
  it("maps ticks to PIT clock edges and back exactly", () => {
    expect(pitClocksAt(1_000_000_000)).toBe(PIT_HZ);
    expect(pitTickOfClock(1193)).toBe(999_848);
    expect(pitClocksAt(999_848)).toBe(1193);
    expect(pitClocksAt(999_847)).toBe(1192);
    for (const c of [0, 1, 2, 1193, 65536, PIT_HZ - 1, PIT_HZ, 5 * PIT_HZ + 17, 123_456_789_012]) {
      const t = pitTickOfClock(c);
      expect(pitClocksAt(t)).toBe(c);
      if (t > 0) expect(pitClocksAt(t - 1)).toBe(c - 1);
    }
    // Far beyond where t * 1193182 would lose precision in a double.
    const far = 9_000_000_000_000_123;
    expect(pitClocksAt(far)).toBe(9_000_000 * PIT_HZ + Math.floor((123 * PIT_HZ) / 1e9) + 0);
  });
});

describe("Pit", () => {
  beforeEach(() => {
    tick = 0;
    levels = [];
    pit = new Pit(() => tick, (l) => levels.push(l));
  });

  it("mode 2 raises IRQ 0 every N clocks at the exact tick of the edge", () => {
    program(0, 2, 1193);
    expect(levels).toEqual([true]); // OUT goes high when the mode is set
    const first = pit.nextEventTick();
    expect(first).toBe(pitTickOfClock(1193));
    advance(first - 1);
    expect(levels).toEqual([true, false]); // OUT low for the last clock of the period
    advance(first);
    expect(levels).toEqual([true, false, true]);
    const second = pit.nextEventTick();
    expect(second).toBe(pitTickOfClock(2 * 1193));
    advance(second);
    expect(levels).toEqual([true, false, true, false, true]);
    expect(pit.nextEventTick()).toBe(pitTickOfClock(3 * 1193));
  });

  it("mode 2 counts down from N and reloads", () => {
    tick = 5000;
    program(0, 2, 1000);
    const start = pitClocksAt(5000);
    tick = pitTickOfClock(start + 1);
    expect(readCounter(0)).toBe(999);
    tick = pitTickOfClock(start + 999);
    expect(readCounter(0)).toBe(1);
    tick = pitTickOfClock(start + 1000);
    expect(readCounter(0)).toBe(1000);
    tick = pitTickOfClock(start + 2500);
    expect(readCounter(0)).toBe(500);
  });

  it("collapses several missed periods into one edge and keeps the period grid", () => {
    program(0, 2, 100);
    advance(pitTickOfClock(1050));
    expect(levels).toEqual([true, false, true]);
    expect(pit.nextEventTick()).toBe(pitTickOfClock(1100));
  });

  it("mode 0 raises OUT once at terminal count and keeps counting through zero", () => {
    program(0, 0, 500);
    expect(levels).toEqual([]); // OUT was already low
    expect(pit.nextEventTick()).toBe(pitTickOfClock(500));
    advance(pitTickOfClock(500));
    expect(levels).toEqual([true]);
    expect(pit.nextEventTick()).toBe(Infinity);
    tick = pitTickOfClock(502);
    expect(readCounter(0)).toBe(0xfffe);
    // A new count restarts it with OUT low.
    program(0, 0, 10);
    expect(levels).toEqual([true, false]);
  });

  it("stops a mode 0 count while only its low byte has been written", () => {
    program(0, 0, 100);
    pit.portWrite(0x40, 1, 0x20);
    expect(pit.nextEventTick()).toBe(Infinity);
    tick = 1000;
    pit.portWrite(0x40, 1, 0x00);
    const start = pitClocksAt(1000);
    expect(pit.nextEventTick()).toBe(pitTickOfClock(start + 0x20));
  });

  it("mode 3 makes a square wave: high for ceil(N/2) clocks, low for floor(N/2)", () => {
    pit.portWrite(0x61, 1, 0x01); // gate channel 2 on
    program(2, 3, 101);
    const start = pitClocksAt(0);
    const out = (c: number) => {
      tick = pitTickOfClock(start + c);
      return (pit.portRead(0x61, 1) & 0x20) !== 0;
    };
    expect(out(0)).toBe(true);
    expect(out(50)).toBe(true);
    expect(out(51)).toBe(false);
    expect(out(100)).toBe(false);
    expect(out(101)).toBe(true);
    expect(out(152)).toBe(false);
  });

  it("mode 3 on channel 0 interrupts on each rising edge", () => {
    program(0, 3, 1000);
    expect(pit.nextEventTick()).toBe(pitTickOfClock(1000));
    advance(pitTickOfClock(500));
    expect(levels).toEqual([true, false]);
    advance(pitTickOfClock(1000));
    expect(levels).toEqual([true, false, true]);
  });

  it("gates channel 2 from port 0x61 and shows its output in bit 5 (calibration loop)", () => {
    pit.portWrite(0x61, 1, 0x00);
    program(2, 0, 2000);
    tick = pitTickOfClock(5000);
    expect(pit.portRead(0x61, 1) & 0x21).toBe(0); // gate low: not counting
    pit.portWrite(0x61, 1, 0x01);
    const start = pitClocksAt(tick);
    tick = pitTickOfClock(start + 1999);
    expect(pit.portRead(0x61, 1) & 0x21).toBe(0x01);
    tick = pitTickOfClock(start + 2000);
    expect(pit.portRead(0x61, 1) & 0x21).toBe(0x21);
  });

  it("pauses mode 0 while the gate is low", () => {
    pit.portWrite(0x61, 1, 0x01);
    program(2, 0, 1000);
    tick = pitTickOfClock(400);
    pit.portWrite(0x61, 1, 0x00);
    tick = pitTickOfClock(10_000);
    expect(readCounter(2)).toBe(600);
    pit.portWrite(0x61, 1, 0x01);
    tick = pitTickOfClock(10_599);
    expect(pit.portRead(0x61, 1) & 0x20).toBe(0);
    tick = pitTickOfClock(10_600);
    expect(pit.portRead(0x61, 1) & 0x20).toBe(0x20);
  });

  it("retriggers mode 1 on a gate rising edge", () => {
    program(2, 1, 300);
    expect(pit.portRead(0x61, 1) & 0x20).toBe(0x20); // waits high for a trigger
    pit.portWrite(0x61, 1, 0x01);
    tick = pitTickOfClock(299);
    expect(pit.portRead(0x61, 1) & 0x20).toBe(0);
    tick = pitTickOfClock(300);
    expect(pit.portRead(0x61, 1) & 0x20).toBe(0x20);
  });

  it("mode 4 strobes OUT low for one clock at terminal count", () => {
    program(0, 4, 50);
    expect(levels).toEqual([true]);
    expect(pit.nextEventTick()).toBe(pitTickOfClock(51));
    advance(pitTickOfClock(50));
    expect(levels).toEqual([true, false]);
    advance(pitTickOfClock(51));
    expect(levels).toEqual([true, false, true]);
    expect(pit.nextEventTick()).toBe(Infinity);
  });

  it("supports low-byte-only and high-byte-only access", () => {
    program(0, 2, 0x80, 1);
    tick = pitTickOfClock(0x10);
    expect(pit.portRead(0x40, 1)).toBe(0x70);
    expect(pit.portRead(0x40, 1)).toBe(0x70);
    program(0, 2, 0x0200, 2);
    const start = pitClocksAt(tick);
    tick = pitTickOfClock(start + 0x100);
    expect(pit.portRead(0x40, 1)).toBe(0x01);
  });

  it("alternates low and high bytes on unlatched word reads and freezes a latched value", () => {
    program(0, 2, 0x1234);
    tick = pitTickOfClock(0x34);
    pit.portWrite(0x43, 1, 0x00); // latch channel 0
    tick = pitTickOfClock(0x100);
    expect(pit.portRead(0x40, 1)).toBe(0x00);
    expect(pit.portRead(0x40, 1)).toBe(0x12);
    expect(pit.portRead(0x40, 1)).toBe(0x34); // latch consumed: live value, low byte
    expect(pit.portRead(0x40, 1)).toBe(0x11);
  });

  it("answers read-back with status and count", () => {
    program(2, 3, 1000);
    pit.portWrite(0x43, 1, 0xc8); // read-back, count and status, channel 2
    const status = pit.portRead(0x42, 1);
    expect(status & 0x3f).toBe(0x36); // word access, mode 3, binary
    expect(status & 0x40).toBe(0x40); // null count: not yet loaded into the counter
    expect(pit.portRead(0x42, 1) | (pit.portRead(0x42, 1) << 8)).toBe(1000);
    tick = pitTickOfClock(10);
    pit.portWrite(0x43, 1, 0xe8); // status only
    expect(pit.portRead(0x42, 1) & 0x40).toBe(0);
  });

  it("applies a new mode 2 count at the end of the current period", () => {
    program(0, 2, 1000);
    tick = pitTickOfClock(1500);
    pit.portWrite(0x40, 1, 100); // the access first catches up with the edge at clock 1000
    pit.portWrite(0x40, 1, 0);
    expect(levels).toEqual([true, false, true]);
    expect(pit.nextEventTick()).toBe(pitTickOfClock(2000));
    advance(pitTickOfClock(2000));
    expect(levels).toEqual([true, false, true, false, true]);
    expect(pit.nextEventTick()).toBe(pitTickOfClock(2100));
    tick = pitTickOfClock(2050);
    expect(readCounter(0)).toBe(50);
  });

  it("counts in BCD when asked", () => {
    pit.portWrite(0x43, 1, 0x35); // channel 0, word, mode 2, BCD
    pit.portWrite(0x40, 1, 0x00);
    pit.portWrite(0x40, 1, 0x10); // 1000 decimal
    expect(pit.nextEventTick()).toBe(pitTickOfClock(1000));
    tick = pitTickOfClock(1);
    expect(readCounter(0)).toBe(0x0999);
  });

  it("treats a count of 0 as 65536", () => {
    program(0, 2, 0);
    expect(pit.nextEventTick()).toBe(pitTickOfClock(65536));
  });

  it("starts as firmware leaves it: channel 0 at 18.2 Hz", () => {
    pit.firmwareInit();
    expect(pit.nextEventTick()).toBe(pitTickOfClock(65536));
    expect(Math.round(1e9 / pit.nextEventTick())).toBe(18);
  });

  it("round-trips its state through JSON mid-count", () => {
    program(0, 2, 700);
    pit.portWrite(0x61, 1, 0x03);
    program(2, 3, 90);
    advance(pitTickOfClock(1000));
    const saved = JSON.parse(JSON.stringify(pit.saveState()));
    const copyLevels: boolean[] = [];
    const copy = new Pit(() => tick, (l) => copyLevels.push(l));
    copy.loadState(saved);
    expect(copy.saveState()).toEqual(pit.saveState());
    expect(copy.nextEventTick()).toBe(pit.nextEventTick());
    tick = pitTickOfClock(1234);
    const a = [pit.portRead(0x61, 1), readCounter(0)];
    const savedPit = pit;
    pit = copy;
    const b = [copy.portRead(0x61, 1), readCounter(0)];
    pit = savedPit;
    expect(b).toEqual(a);
    expect(() => copy.loadState({ channels: [] })).toThrow();
  });
});

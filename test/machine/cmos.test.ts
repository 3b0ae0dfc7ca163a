import { beforeEach, describe, expect, it } from "vitest";
import { Cmos } from "../../src/machine/cmos.js";

const SECOND = 1_000_000_000;
let tick = 0;
let cmos: Cmos;

function read(index: number): number {
  cmos.portWrite(0x70, 1, index);
  return cmos.portRead(0x71, 1);
}

function write(index: number, v: number): void {
  cmos.portWrite(0x70, 1, index);
  cmos.portWrite(0x71, 1, v);
}

/** [century, year, month, day, hours, minutes, seconds, weekday] as the registers show them. */
function clock(): number[] {
  return [0x32, 0x09, 0x08, 0x07, 0x04, 0x02, 0x00, 0x06].map(read);
}

describe("Cmos", () => {
  beforeEach(() => {
    tick = 0;
    cmos = new Cmos(128 * 1024 * 1024, () => tick);
  });

  it("starts at 2000-01-01 00:00:00, a Saturday, in BCD 24-hour form", () => {
    expect(clock()).toEqual([0x20, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00, 7]);
    expect(read(0x0b)).toBe(0x02);
    expect(read(0x0d)).toBe(0x80);
  });

  it("advances with whole virtual seconds", () => {
    tick = 3661 * SECOND + SECOND / 2;
    expect(clock()).toEqual([0x20, 0x00, 0x01, 0x01, 0x01, 0x01, 0x01, 7]);
    tick = (366 * 86400 + 59) * SECOND; // 2000 is a leap year
    expect(clock()).toEqual([0x20, 0x01, 0x01, 0x01, 0x00, 0x00, 0x59, 2]);
  });

  it("reads binary and 12-hour forms per status register B", () => {
    tick = (13 * 3600 + 45 * 60 + 30) * SECOND;
    expect(read(0x04)).toBe(0x13);
    write(0x0b, 0x06); // binary, 24-hour
    expect([read(0x04), read(0x02), read(0x00)]).toEqual([13, 45, 30]);
    write(0x0b, 0x04); // binary, 12-hour
    expect(read(0x04)).toBe(0x80 | 1);
    write(0x0b, 0x00); // BCD, 12-hour
    tick = 30 * 60 * SECOND; // 00:30 is 12:30 AM
    expect(read(0x04)).toBe(0x12);
    tick = 12 * 3600 * SECOND; // noon is 12 PM
    expect(read(0x04)).toBe(0x92);
  });

  it("has a second bank of 128 bytes at ports 0x72/0x73, apart from the clock, kept in saved state", () => {
    const ext = (index: number, v?: number) => {
      cmos.portWrite(0x72, 1, index);
      if (v === undefined) return cmos.portRead(0x73, 1);
      cmos.portWrite(0x73, 1, v);
      return v;
    };
    for (let i = 0; i < 128; i++) expect(ext(i)).toBe(0);
    ext(0x00, 0x5a);
    ext(0x7f, 0xa5);
    ext(0x80 | 0x10, 0x33); // the index is 7 bits
    expect([ext(0x00), ext(0x7f), ext(0x10)]).toEqual([0x5a, 0xa5, 0x33]);
    expect(read(0x00)).toBe(0x00); // the clock's seconds are not the extended bank's byte 0
    expect(cmos.portRead(0x72, 1)).toBe(0xff);
    const saved = JSON.parse(JSON.stringify(cmos.saveState()));
    ext(0x00, 0);
    cmos.loadState(saved);
    expect(ext(0x00)).toBe(0x5a);
    // A state saved before the bank existed loads with the bank clear.
    const { extended: _e, extendedIndex: _i, ...old } = saved;
    cmos.loadState(old);
    expect(ext(0x00)).toBe(0);
  });

  it("never reports an update in progress", () => {
    for (let i = 0; i < 5; i++) {
      tick = i * SECOND - 1;
      expect(read(0x0a) & 0x80).toBe(0);
    }
    write(0x0a, 0xa6);
    expect(read(0x0a)).toBe(0x26);
    expect(read(0x0c)).toBe(0);
  });

  it("sets the clock through SET mode and runs on from the written time", () => {
    tick = 10 * SECOND;
    write(0x0b, 0x82);
    tick = 20 * SECOND; // frozen while SET is on
    expect(read(0x00)).toBe(0x10);
    for (const [i, v] of [[0x32, 0x20], [0x09, 0x24], [0x08, 0x02], [0x07, 0x29], [0x04, 0x23], [0x02, 0x59], [0x00, 0x58]]) write(i, v);
    expect(read(0x00)).toBe(0x58);
    write(0x0b, 0x02);
    tick = 23 * SECOND;
    expect(clock()).toEqual([0x20, 0x24, 0x03, 0x01, 0x00, 0x00, 0x01, 6]);
  });

  it("moves the running clock when a single field is written", () => {
    tick = 5 * SECOND;
    write(0x02, 0x30);
    expect([read(0x02), read(0x00)]).toEqual([0x30, 0x05]);
    tick = 6 * SECOND;
    expect([read(0x02), read(0x00)]).toEqual([0x30, 0x06]);
  });

  it("describes guest memory in the AT NVRAM bytes", () => {
    expect([read(0x15), read(0x16)]).toEqual([0x80, 0x02]);
    expect([read(0x17), read(0x18)]).toEqual([0xff, 0xff]); // capped at 0xffff KiB
    expect([read(0x30), read(0x31)]).toEqual([0xff, 0xff]);
    expect(read(0x34) | (read(0x35) << 8)).toBe(112 * 16); // 112 MiB above 16 MiB in 64 KiB units
    const small = new Cmos(8 * 1024 * 1024, () => 0);
    cmos = small;
    expect(read(0x17) | (read(0x18) << 8)).toBe(7 * 1024);
    expect(read(0x34) | (read(0x35) << 8)).toBe(0);
    let sum = 0;
    for (let i = 0x10; i <= 0x2d; i++) sum += read(i);
    expect((read(0x2e) << 8) | read(0x2f)).toBe(sum);
  });

  it("keeps the NMI-disable bit apart from the index and stores other bytes", () => {
    cmos.portWrite(0x70, 1, 0x80 | 0x40);
    expect(cmos.nmiMasked).toBe(true);
    cmos.portWrite(0x71, 1, 0x99);
    expect(read(0x40)).toBe(0x99);
    expect(cmos.nmiMasked).toBe(false);
    write(0x0d, 0x00);
    expect(read(0x0d)).toBe(0x80);
    expect(cmos.portRead(0x70, 1)).toBe(0xff);
  });

  it("round-trips its state through JSON", () => {
    write(0x0b, 0x06);
    write(0x50, 0x12);
    write(0x02, 17);
    cmos.portWrite(0x70, 1, 0x85);
    const saved = JSON.parse(JSON.stringify(cmos.saveState()));
    const copy = new Cmos(1 << 20, () => tick);
    copy.loadState(saved);
    expect(copy.saveState()).toEqual(cmos.saveState());
    tick = 99 * SECOND;
    const a = clock();
    const orig = cmos;
    cmos = copy;
    expect(clock()).toEqual(a);
    expect(read(0x50)).toBe(0x12);
    cmos = orig;
    expect(() => copy.loadState({ bytes: [] })).toThrow();
  });
});

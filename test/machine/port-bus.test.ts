import { describe, expect, it } from "vitest";
import type { AccessSize, PortDevice } from "../../src/machine/bus.js";
import { PortBus, WIDTH_ANY } from "../../src/machine/port-bus.js";

/** A device that records accesses and answers reads with a value derived from the port. */
class Recorder implements PortDevice {
  readonly log: string[] = [];
  portRead(port: number, size: AccessSize): number {
    this.log.push(`r ${port.toString(16)}/${size}`);
    return size === 1 ? port & 0xff : size === 2 ? 0x1234 : 0x89abcdef | 0;
  }
  portWrite(port: number, size: AccessSize, value: number): void {
    this.log.push(`w ${port.toString(16)}/${size}=${(value >>> 0).toString(16)}`);
  }
}

describe("PortBus", () => {
  it("reads all ones from unmapped ports and drops unmapped writes", () => {
    const bus = new PortBus();
    expect(bus.read(0x1234, 1)).toBe(0xff);
    expect(bus.read(0x1234, 2)).toBe(0xffff);
    expect(bus.read(0x1234, 4) >>> 0).toBe(0xffffffff);
    expect(() => bus.write(0x1234, 4, 5)).not.toThrow();
    expect(bus.isMapped(0x1234)).toBe(false);
  });

  it("dispatches byte accesses to the registered device", () => {
    const bus = new PortBus();
    const dev = new Recorder();
    bus.register(0x60, 2, dev);
    expect(bus.read(0x61, 1)).toBe(0x61);
    bus.write(0x60, 1, 0x1ab);
    expect(dev.log).toEqual(["r 61/1", "w 60/1=ab"]);
    expect(bus.isMapped(0x61)).toBe(true);
    expect(bus.isMapped(0x62)).toBe(false);
  });

  it("splits wider accesses to a byte-wide device into byte accesses, lowest port first", () => {
    const bus = new PortBus();
    const dev = new Recorder();
    bus.register(0x3f8, 8, dev);
    expect(bus.read(0x3f8, 2)).toBe(0xf9f8);
    expect(bus.read(0x3fc, 4) >>> 0).toBe(0xfffefdfc);
    // The last port's upper bytes fall off the device: unmapped bytes read 0xff.
    expect(bus.read(0x3ff, 2)).toBe(0xffff);
    dev.log.length = 0;
    bus.write(0x3f8, 4, 0x44332211);
    expect(dev.log).toEqual(["w 3f8/1=11", "w 3f9/1=22", "w 3fa/1=33", "w 3fb/1=44"]);
    dev.log.length = 0;
    bus.write(0x3fe, 4, 0x44332211);
    expect(dev.log).toEqual(["w 3fe/1=11", "w 3ff/1=22"]);
  });

  it("passes whole words and dwords to a device that decodes them", () => {
    const bus = new PortBus();
    const dev = new Recorder();
    bus.register(0xf4, 4, dev, WIDTH_ANY);
    expect(bus.read(0xf4, 2)).toBe(0x1234);
    expect(bus.read(0xf4, 4)).toBe(0x89abcdef | 0);
    bus.write(0xf5, 2, 0x12345);
    bus.write(0xf4, 4, 0xdeadbeef);
    expect(dev.log).toEqual(["r f4/2", "r f4/4", "w f5/2=2345", "w f4/4=deadbeef"]);
  });

  it("wraps at port 0xffff when splitting", () => {
    const bus = new PortBus();
    const dev = new Recorder();
    bus.register(0, 1, dev);
    bus.register(0xffff, 1, dev);
    expect(bus.read(0xffff, 2)).toBe(0x00ff);
  });

  it("refuses overlapping and out-of-range registrations", () => {
    const bus = new PortBus();
    const dev = new Recorder();
    bus.register(0x20, 2, dev);
    expect(() => bus.register(0x21, 1, dev)).toThrow(/already mapped/);
    expect(() => bus.register(0xffff, 2, dev)).toThrow(RangeError);
    expect(() => bus.register(0x30, 1, dev, 2)).toThrow(RangeError);
  });
});

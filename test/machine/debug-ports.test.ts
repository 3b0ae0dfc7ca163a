import { beforeEach, describe, expect, it } from "vitest";
import { DebugPorts } from "../../src/machine/debug-ports.js";
import { PortBus } from "../../src/machine/port-bus.js";

let bytes: number[];
let exits: number[];
let resets: number;
let bus: PortBus;
let dev: DebugPorts;

describe("DebugPorts", () => {
  beforeEach(() => {
    bytes = [];
    exits = [];
    resets = 0;
    bus = new PortBus();
    dev = new DebugPorts({ onByte: (b) => bytes.push(b), onExit: (s) => exits.push(s), onReset: () => resets++ });
    dev.registerOn(bus);
  });

  it("prints bytes written to port 0xe9 and identifies itself on read", () => {
    bus.write(0xe9, 1, 0x41);
    bus.write(0xe9, 1, 0x10a);
    expect(bytes).toEqual([0x41, 0x0a]);
    expect(bus.read(0xe9, 1)).toBe(0xe9);
  });

  it("exits with (value << 1) | 1 for a write of any width to 0xf4-0xf7", () => {
    bus.write(0xf4, 1, 0x10);
    bus.write(0xf4, 2, 0x1234);
    bus.write(0xf4, 4, 0x7fffffff);
    bus.write(0xf6, 1, 0);
    expect(exits).toEqual([0x21, 0x2469, 0xffffffff, 1]);
    bus.write(0xf4, 4, 0xffffffff);
    expect(exits[4]).toBe(0x1ffffffff);
    expect(exits[4] & 0xff).toBe(0xff); // what a host exit status keeps
    expect(bus.read(0xf4, 4)).toBe(0);
  });

  it("accepts POST codes on 0x80 and reads back port 0x92 without the reset bit", () => {
    bus.write(0x80, 1, 0x55);
    expect(dev.postCode).toBe(0x55);
    expect(bus.read(0x80, 1)).toBe(0xff);
    expect(bus.read(0x92, 1)).toBe(0x02);
    bus.write(0x92, 1, 0x00);
    expect(bus.read(0x92, 1)).toBe(0x00);
    expect(resets).toBe(0);
    bus.write(0x92, 1, 0x03);
    expect(resets).toBe(1);
    expect(bus.read(0x92, 1)).toBe(0x02);
  });

  it("round-trips its state through JSON", () => {
    bus.write(0x80, 1, 0x3c);
    bus.write(0x92, 1, 0x00);
    const copy = new DebugPorts({ onByte: () => {}, onExit: () => {} });
    copy.loadState(JSON.parse(JSON.stringify(dev.saveState())));
    expect(copy.saveState()).toEqual({ postCode: 0x3c, port92: 0 });
    expect(copy.portRead(0x92, 1)).toBe(0);
    expect(() => copy.loadState({})).toThrow();
  });
});

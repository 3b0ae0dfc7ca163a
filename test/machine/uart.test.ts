import { beforeEach, describe, expect, it } from "vitest";
import { Uart } from "../../src/machine/uart.js";
import { PortBus } from "../../src/machine/port-bus.js";

let out: number[];
let irq: boolean[];
let uart: Uart;
const B = 0x3f8;
const rd = (reg: number) => uart.portRead(B + reg, 1);
const wr = (reg: number, v: number) => uart.portWrite(B + reg, 1, v);

describe("Uart", () => {
  beforeEach(() => {
    out = [];
    irq = [];
    uart = new Uart((b) => out.push(b), (l) => irq.push(l));
  });

  it("sends every THR byte to onByte at once and always shows the transmitter empty", () => {
    expect(rd(5)).toBe(0x60);
    for (const c of "hi\n") wr(0, c.charCodeAt(0));
    expect(String.fromCharCode(...out)).toBe("hi\n");
    expect(rd(5)).toBe(0x60);
    expect(rd(2)).toBe(0x01); // no interrupt pending
    expect(irq).toEqual([]);
  });

  it("raises the THR-empty interrupt when enabled, clears it on an IIR read, and re-raises per byte", () => {
    wr(1, 0x02);
    expect(irq).toEqual([true]);
    expect(rd(2)).toBe(0x02);
    expect(irq).toEqual([true, false]);
    expect(rd(2)).toBe(0x01);
    wr(0, 0x41);
    expect(irq).toEqual([true, false, true]);
    wr(0, 0x42); // a fresh edge for every byte
    expect(irq).toEqual([true, false, true, false, true]);
    wr(1, 0x00);
    expect(irq).toEqual([true, false, true, false, true, false]);
    expect(rd(2)).toBe(0x01);
    expect(out).toEqual([0x41, 0x42]);
  });

  it("uses the divisor latch while DLAB is set", () => {
    wr(3, 0x83);
    wr(0, 0x01);
    wr(1, 0x00);
    expect(out).toEqual([]);
    expect(rd(0)).toBe(0x01);
    expect(rd(1)).toBe(0x00);
    wr(3, 0x03);
    expect(rd(3)).toBe(0x03);
    expect(rd(1)).toBe(0x00); // IER again
    wr(0, 0x5a);
    expect(out).toEqual([0x5a]);
  });

  it("shows the FIFO state in IIR bits 6-7", () => {
    wr(2, 0xc7);
    expect(rd(2)).toBe(0xc1);
    wr(2, 0x00);
    expect(rd(2)).toBe(0x01);
  });

  it("loops THR back to RBR and MCR to MSR in loopback mode", () => {
    wr(4, 0x1a); // loop, OUT2, RTS (the 8250 driver's detection pattern)
    expect(rd(6) & 0xf0).toBe(0x90);
    wr(0, 0x77);
    expect(out).toEqual([]);
    expect(rd(5) & 0x01).toBe(0x01);
    expect(rd(0)).toBe(0x77);
    expect(rd(5) & 0x01).toBe(0x00);
    expect(rd(0)).toBe(0x77); // without the FIFO, RBR reads its last byte again (as QEMU's)
    wr(4, 0x00);
    expect(rd(6) & 0xf0).toBe(0xb0);
  });

  it("reports modem status changes as deltas that clear on read", () => {
    wr(4, 0x10); // loopback with every output low
    const first = rd(6);
    expect(first & 0xf0).toBe(0x00);
    expect(first & 0x0b).toBe(0x0b); // CTS, DSR, DCD dropped
    expect(rd(6) & 0x0f).toBe(0);
    wr(4, 0x14); // OUT1 -> RI
    wr(4, 0x10); // RI trailing edge
    expect(rd(6) & 0x04).toBe(0x04);
  });

  it("sets overrun when a byte arrives over an unread one, and reports it as a line status interrupt", () => {
    wr(1, 0x05);
    uart.receive(1);
    expect(rd(2)).toBe(0x04); // received data available
    uart.receive(2);
    expect(rd(2)).toBe(0x06); // line status outranks it
    expect(rd(5) & 0x03).toBe(0x03);
    expect(rd(5) & 0x02).toBe(0); // OE clears on read
    expect(rd(0)).toBe(2); // without a FIFO the newest byte wins
    expect(rd(2)).toBe(0x01);
  });

  it("queues up to 16 bytes with the FIFO on, interrupting at the trigger level; the 17th is lost", () => {
    wr(2, 0x81); // FIFO, trigger 8
    wr(1, 0x01);
    for (let i = 0; i < 7; i++) uart.receive(i);
    expect(rd(2)).toBe(0xc1); // below the trigger level, before the timeout: nothing yet
    expect(rd(5) & 0x01).toBe(0x01);
    uart.receive(7);
    expect(rd(2)).toBe(0xc4);
    for (let i = 8; i < 17; i++) uart.receive(i);
    expect(rd(5) & 0x02).toBe(0x02); // the 17th byte overran
    const got = Array.from({ length: 16 }, () => rd(0));
    expect(got).toEqual(Array.from({ length: 16 }, (_, i) => i));
    expect(rd(5) & 0x01).toBe(0);
    expect(rd(0)).toBe(0); // an empty FIFO reads 0
  });

  it("raises the character timeout after 4 character times of silence, in virtual ticks, and clears it on a read", () => {
    let now = 1000;
    const levels: boolean[] = [];
    const u = new Uart(() => {}, (l) => levels.push(l), B, () => now);
    u.portWrite(B + 3, 1, 0x83); // DLAB, 8N1
    u.portWrite(B + 0, 1, 1); // divisor 1: 115200 baud
    u.portWrite(B + 3, 1, 0x03);
    expect(u.characterTicks()).toBe(Math.floor((1e9 / 115200) * 10));
    u.portWrite(B + 2, 1, 0xc1); // FIFO, trigger 14
    u.portWrite(B + 1, 1, 0x01);
    u.receive(0x41);
    u.receive(0x42);
    const due = 1000 + 4 * u.characterTicks();
    expect(u.nextEventTick()).toBe(due);
    now = due - 1;
    u.advanceTo(now);
    expect(u.portRead(B + 2, 1)).toBe(0xc1);
    now = due;
    u.advanceTo(now);
    expect(levels).toEqual([true]);
    expect(u.portRead(B + 2, 1)).toBe(0xcc);
    expect(u.portRead(B + 0, 1)).toBe(0x41); // the read clears the timeout and re-arms it for the rest
    expect(levels).toEqual([true, false]);
    expect(u.nextEventTick()).toBe(due + 4 * u.characterTicks());
    expect(u.portRead(B + 0, 1)).toBe(0x42);
    expect(u.nextEventTick()).toBe(Infinity);
  });

  it("empties the receive FIFO on FCR bit 1 and signals THR empty again on FCR bit 2", () => {
    wr(2, 0x01);
    uart.receive(5);
    wr(1, 0x02);
    expect(rd(2)).toBe(0xc2);
    expect(rd(2)).toBe(0xc1);
    wr(2, 0x07);
    expect(rd(5) & 0x01).toBe(0);
    expect(rd(2)).toBe(0xc2);
  });

  it("ranks received data above THR empty", () => {
    wr(1, 0x03);
    uart.receive(9);
    expect(rd(2)).toBe(0x04);
    rd(0);
    expect(rd(2)).toBe(0x02);
  });

  it("keeps the scratch register", () => {
    wr(7, 0xa5);
    expect(rd(7)).toBe(0xa5);
  });

  it("registers its eight ports on a bus", () => {
    const bus = new PortBus();
    uart.registerOn(bus);
    bus.write(0x3f8, 1, 0x33);
    expect(out).toEqual([0x33]);
    expect(bus.read(0x3fd, 1)).toBe(0x60);
    expect(bus.isMapped(0x3ff)).toBe(true);
    expect(bus.isMapped(0x400)).toBe(false);
  });

  it("round-trips its state through JSON", () => {
    wr(2, 0x01);
    wr(3, 0x03);
    wr(1, 0x03);
    wr(7, 0x42);
    uart.receive(0x61);
    const saved = JSON.parse(JSON.stringify(uart.saveState()));
    const copy = new Uart(() => {}, () => {});
    copy.loadState(saved);
    expect(copy.saveState()).toEqual(uart.saveState());
    expect(copy.portRead(B + 2, 1)).toBe(rd(2));
    expect(copy.portRead(B + 0, 1)).toBe(0x61);
    expect(copy.portRead(B + 7, 1)).toBe(0x42);
    expect(() => copy.loadState(5)).toThrow();
  });
});

import { beforeEach, describe, expect, it } from "vitest";
import { PicPair } from "../../src/machine/pic.js";

/** Programs the pair the way a protected-mode kernel does: vectors 0x20 and 0x28, 8086 mode. */
function initPic(pic: PicPair, icw4 = 0x01): void {
  pic.portWrite(0x20, 1, 0x11);
  pic.portWrite(0xa0, 1, 0x11);
  pic.portWrite(0x21, 1, 0x20);
  pic.portWrite(0xa1, 1, 0x28);
  pic.portWrite(0x21, 1, 0x04);
  pic.portWrite(0xa1, 1, 0x02);
  pic.portWrite(0x21, 1, icw4);
  pic.portWrite(0xa1, 1, icw4);
  pic.portWrite(0x21, 1, 0x00);
  pic.portWrite(0xa1, 1, 0x00);
}

function readIsr(pic: PicPair, port: 0x20 | 0xa0): number {
  pic.portWrite(port, 1, 0x0b);
  const v = pic.portRead(port, 1);
  pic.portWrite(port, 1, 0x0a);
  return v;
}

function readIrr(pic: PicPair, port: 0x20 | 0xa0): number {
  pic.portWrite(port, 1, 0x0a);
  return pic.portRead(port, 1);
}

/** An edge on `line`: high then low again. */
function pulse(pic: PicPair, line: number): void {
  pic.setIrq(line, true);
  pic.setIrq(line, false);
}

describe("PicPair", () => {
  let changes = 0;
  let pic: PicPair;
  beforeEach(() => {
    changes = 0;
    pic = new PicPair(() => changes++);
    initPic(pic);
  });

  it("delivers an edge-triggered IRQ with the programmed vector and holds it in ISR until EOI", () => {
    expect(pic.hasInterrupt()).toBe(false);
    const before = changes;
    pic.setIrq(0, true);
    expect(changes).toBeGreaterThan(before);
    expect(pic.hasInterrupt()).toBe(true);
    expect(readIrr(pic, 0x20)).toBe(0x01);
    expect(pic.acknowledge()).toBe(0x20);
    expect(readIsr(pic, 0x20)).toBe(0x01);
    expect(readIrr(pic, 0x20)).toBe(0x00);
    // The line stays high: no new edge, no new request.
    pic.setIrq(0, true);
    expect(pic.hasInterrupt()).toBe(false);
    pic.portWrite(0x20, 1, 0x20); // non-specific EOI
    expect(readIsr(pic, 0x20)).toBe(0);
    expect(pic.hasInterrupt()).toBe(false);
    pic.setIrq(0, false);
    pic.setIrq(0, true);
    expect(pic.acknowledge()).toBe(0x20);
  });

  it("keeps an edge-latched request even when the line drops before the acknowledge", () => {
    pulse(pic, 1);
    expect(pic.hasInterrupt()).toBe(true);
    expect(pic.acknowledge()).toBe(0x21);
  });

  it("blocks lower priorities while a higher one is in service and lets higher ones nest", () => {
    pulse(pic, 3);
    expect(pic.acknowledge()).toBe(0x23);
    pulse(pic, 5);
    expect(pic.hasInterrupt()).toBe(false);
    pulse(pic, 1);
    expect(pic.hasInterrupt()).toBe(true);
    expect(pic.acknowledge()).toBe(0x21);
    expect(readIsr(pic, 0x20)).toBe(0x0a);
    pic.portWrite(0x20, 1, 0x20); // clears IR1, the highest in service
    expect(readIsr(pic, 0x20)).toBe(0x08);
    expect(pic.hasInterrupt()).toBe(false);
    pic.portWrite(0x20, 1, 0x20);
    expect(pic.acknowledge()).toBe(0x25);
  });

  it("latches masked requests in IRR and delivers them once unmasked", () => {
    pic.portWrite(0x21, 1, 0x02);
    expect(pic.portRead(0x21, 1)).toBe(0x02);
    pulse(pic, 1);
    expect(pic.hasInterrupt()).toBe(false);
    expect(readIrr(pic, 0x20)).toBe(0x02);
    pic.portWrite(0x21, 1, 0x00);
    expect(pic.hasInterrupt()).toBe(true);
    expect(pic.acknowledge()).toBe(0x21);
  });

  it("cascades slave IRQs through IR2 and needs an EOI on both chips", () => {
    pulse(pic, 12);
    expect(readIrr(pic, 0xa0)).toBe(0x10);
    expect(readIrr(pic, 0x20)).toBe(0x04);
    expect(pic.acknowledge()).toBe(0x2c);
    expect(readIsr(pic, 0xa0)).toBe(0x10);
    expect(readIsr(pic, 0x20)).toBe(0x04);
    // A lower-priority master line (IR3) waits behind IR2 in service.
    pulse(pic, 3);
    expect(pic.hasInterrupt()).toBe(false);
    pic.portWrite(0xa0, 1, 0x64); // specific EOI for IR4 on the slave
    pic.portWrite(0x20, 1, 0x62); // specific EOI for IR2 on the master
    expect(readIsr(pic, 0xa0)).toBe(0);
    expect(readIsr(pic, 0x20)).toBe(0);
    expect(pic.acknowledge()).toBe(0x23);
  });

  it("routes IRQ 2 to IRQ 9 as the AT bus does and rejects lines outside 0-15", () => {
    pulse(pic, 2);
    expect(pic.acknowledge()).toBe(0x29);
    expect(() => pic.setIrq(16, true)).toThrow(RangeError);
  });

  it("masks slave IRQs with the slave IMR and the cascade with master IR2", () => {
    pic.portWrite(0xa1, 1, 0x01);
    pulse(pic, 8);
    expect(pic.hasInterrupt()).toBe(false);
    pic.portWrite(0xa1, 1, 0x00);
    pic.portWrite(0x21, 1, 0x04);
    expect(pic.hasInterrupt()).toBe(false);
    pic.portWrite(0x21, 1, 0x00);
    expect(pic.acknowledge()).toBe(0x28);
  });

  it("answers a vanished level-triggered request with spurious IRQ 7 and no ISR bit", () => {
    pic.portWrite(0x4d0, 1, 0x20);
    pic.setIrq(5, true);
    expect(pic.hasInterrupt()).toBe(true);
    pic.setIrq(5, false);
    expect(pic.acknowledge()).toBe(0x27);
    expect(readIsr(pic, 0x20)).toBe(0);
  });

  it("reports spurious IRQ 15 from the slave while setting the master's IR2 in service", () => {
    pic.portWrite(0x4d1, 1, 0x04); // IRQ 10 level-triggered
    pic.setIrq(10, true);
    expect(pic.hasInterrupt()).toBe(true);
    // The master has latched the cascade edge; the slave's request goes away before INTA.
    pic.setIrq(10, false);
    expect(readIrr(pic, 0x20)).toBe(0x04);
    expect(pic.acknowledge()).toBe(0x2f);
    expect(readIsr(pic, 0xa0)).toBe(0);
    expect(readIsr(pic, 0x20)).toBe(0x04);
  });

  it("keeps level-triggered requests asserted after acknowledge while the line is high", () => {
    pic.portWrite(0x4d1, 1, 0x08); // IRQ 11 level
    pic.setIrq(11, true);
    expect(pic.acknowledge()).toBe(0x2b);
    pic.portWrite(0xa0, 1, 0x20);
    pic.portWrite(0x20, 1, 0x20);
    expect(pic.hasInterrupt()).toBe(true);
    expect(readIrr(pic, 0xa0)).toBe(0x08);
    pic.setIrq(11, false);
    expect(readIrr(pic, 0xa0)).toBe(0);
    // The master latched the cascade edge when the slave re-asserted after its EOI, so the
    // withdrawn request turns into a spurious IRQ 15.
    expect(pic.acknowledge()).toBe(0x2f);
    pic.portWrite(0x20, 1, 0x20);
    expect(pic.hasInterrupt()).toBe(false);
  });

  it("restricts ELCR to the lines a PC allows to be level-triggered", () => {
    pic.portWrite(0x4d0, 1, 0xff);
    pic.portWrite(0x4d1, 1, 0xff);
    expect(pic.portRead(0x4d0, 1)).toBe(0xf8);
    expect(pic.portRead(0x4d1, 1)).toBe(0xde);
  });

  it("implements the poll command as an acknowledge through the command port", () => {
    pulse(pic, 6);
    pic.portWrite(0x20, 1, 0x0c);
    expect(pic.portRead(0x20, 1)).toBe(0x86);
    expect(readIsr(pic, 0x20)).toBe(0x40);
    pic.portWrite(0x20, 1, 0x0c);
    expect(pic.portRead(0x20, 1)).toBe(0x00);
  });

  it("does not set ISR in automatic-EOI mode", () => {
    initPic(pic, 0x03);
    pulse(pic, 4);
    expect(pic.acknowledge()).toBe(0x24);
    expect(readIsr(pic, 0x20)).toBe(0);
    pulse(pic, 7);
    expect(pic.acknowledge()).toBe(0x27);
  });

  it("rotates priorities on a rotating EOI and on set-priority", () => {
    pulse(pic, 0);
    expect(pic.acknowledge()).toBe(0x20);
    pic.portWrite(0x20, 1, 0xa0); // rotate on non-specific EOI: IR0 becomes lowest
    pulse(pic, 0);
    pulse(pic, 3);
    expect(pic.acknowledge()).toBe(0x23);
    pic.portWrite(0x20, 1, 0xc4); // set priority: IR4 lowest, IR5 highest
    pulse(pic, 1);
    pulse(pic, 6);
    pic.portWrite(0x20, 1, 0x63); // specific EOI IR3
    expect(pic.acknowledge()).toBe(0x26);
  });

  it("lets masked in-service levels be preempted in special mask mode", () => {
    pulse(pic, 1);
    expect(pic.acknowledge()).toBe(0x21);
    pulse(pic, 5);
    expect(pic.hasInterrupt()).toBe(false);
    pic.portWrite(0x21, 1, 0x02);
    pic.portWrite(0x20, 1, 0x68); // set special mask mode
    expect(pic.acknowledge()).toBe(0x25);
  });

  it("clears mask and in-service state on ICW1 and requires a new edge", () => {
    pic.portWrite(0x21, 1, 0xff);
    pic.setIrq(1, true);
    initPic(pic);
    expect(pic.portRead(0x21, 1)).toBe(0);
    expect(pic.hasInterrupt()).toBe(false);
    pic.setIrq(1, false);
    pic.setIrq(1, true);
    expect(pic.acknowledge()).toBe(0x21);
  });

  it("starts as firmware leaves it: vectors 0x08/0x70, all masked but the cascade", () => {
    const fresh = new PicPair(() => {});
    fresh.firmwareInit();
    expect(fresh.portRead(0x21, 1)).toBe(0xfb);
    expect(fresh.portRead(0xa1, 1)).toBe(0xff);
    fresh.portWrite(0x21, 1, 0xfa);
    pulse(fresh, 0);
    expect(fresh.acknowledge()).toBe(0x08);
    fresh.portWrite(0xa1, 1, 0x00);
    pulse(fresh, 8);
    fresh.portWrite(0x20, 1, 0x20);
    expect(fresh.acknowledge()).toBe(0x70);
  });

  it("tells whether a line is unmasked all the way to the CPU", () => {
    pic.portWrite(0x21, 1, 0xfe);
    pic.portWrite(0xa1, 1, 0xef);
    expect(pic.isLineEnabled(0)).toBe(true);
    expect(pic.isLineEnabled(1)).toBe(false);
    expect(pic.isLineEnabled(12)).toBe(false); // master IR2 masked
    pic.portWrite(0x21, 1, 0xfa);
    expect(pic.isLineEnabled(12)).toBe(true);
    expect(pic.isLineEnabled(13)).toBe(false);
  });

  it("round-trips its state through JSON", () => {
    pic.portWrite(0x4d0, 1, 0x20);
    pulse(pic, 3);
    expect(pic.acknowledge()).toBe(0x23);
    pulse(pic, 1);
    pulse(pic, 9);
    pic.portWrite(0x21, 1, 0x02);
    const saved = JSON.parse(JSON.stringify(pic.saveState()));
    const copy = new PicPair(() => {});
    copy.loadState(saved);
    expect(copy.saveState()).toEqual(pic.saveState());
    for (const p of [pic, copy]) {
      expect(p.hasInterrupt()).toBe(true);
      expect(p.acknowledge()).toBe(0x29);
      expect(p.portRead(0x21, 1)).toBe(0x02);
      expect(p.portRead(0x4d0, 1)).toBe(0x20);
    }
    expect(() => copy.loadState(null)).toThrow();
  });
});

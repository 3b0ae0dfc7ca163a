import { beforeEach, describe, expect, it } from "vitest";
import type { InterruptSource } from "../../src/machine/bus.js";
import { APIC_DEFAULT_BASE, APIC_VERSION, LocalApic } from "../../src/machine/apic.js";

let tick = 0;
let changes = 0;
let apic: LocalApic;

const rd = (off: number) => apic.mmioRead(APIC_DEFAULT_BASE + off, 4) >>> 0;
const wr = (off: number, v: number) => apic.mmioWrite(APIC_DEFAULT_BASE + off, 4, v);

function advance(t: number): void {
  tick = t;
  apic.advanceTo(t);
}

/** A stand-in for the 8259A's INTR output. */
class FakePic implements InterruptSource {
  pending = false;
  acks = 0;
  hasInterrupt(): boolean {
    return this.pending;
  }
  acknowledge(): number {
    this.acks++;
    this.pending = false;
    return 0x20;
  }
}

describe("LocalApic", () => {
  beforeEach(() => {
    tick = 0;
    changes = 0;
    apic = new LocalApic(() => tick, () => changes++);
  });

  it("has the documented power-up register values", () => {
    expect(rd(0x030)).toBe(APIC_VERSION);
    expect(rd(0x020)).toBe(0);
    expect(rd(0x0f0)).toBe(0xff);
    expect(rd(0x0e0)).toBe(0xffffffff);
    for (let off = 0x320; off <= 0x370; off += 0x10) expect(rd(off)).toBe(0x10000);
    expect(rd(0x380)).toBe(0);
    expect(rd(0x390)).toBe(0);
    expect(apic.readBaseMsr()).toBe(0xfee00900);
  });

  it("fires a one-shot timer once after initial count x divisor ticks", () => {
    wr(0x0f0, 0x1ff);
    wr(0x3e0, 0x0b); // divide by 1
    wr(0x320, 0x9d); // one-shot, vector 0x9d, unmasked
    tick = 100;
    wr(0x380, 1000);
    expect(apic.nextEventTick()).toBe(1100);
    tick = 500;
    expect(rd(0x390)).toBe(600);
    advance(1099);
    expect(apic.hasInterrupt()).toBe(false);
    advance(1100);
    expect(apic.hasInterrupt()).toBe(true);
    expect(rd(0x240)).toBe(1 << 29); // IRR word 4 (vectors 0x80-0x9f), bit 29
    expect(apic.acknowledge()).toBe(0x9d);
    expect(apic.nextEventTick()).toBe(Infinity);
    expect(rd(0x390)).toBe(0);
    expect(rd(0x140)).toBe(1 << 29); // in service
    wr(0x0b0, 0);
    expect(rd(0x140)).toBe(0);
  });

  it("reloads a periodic timer and counts down from the initial count in every period", () => {
    wr(0x0f0, 0x100 | 0xff);
    wr(0x3e0, 0x03); // divide by 16
    wr(0x320, (1 << 17) | 0x40);
    wr(0x380, 100); // period: 1600 ticks
    expect(apic.nextEventTick()).toBe(1600);
    tick = 800;
    expect(rd(0x390)).toBe(50);
    advance(1600);
    expect(apic.acknowledge()).toBe(0x40);
    wr(0x0b0, 0);
    expect(apic.nextEventTick()).toBe(3200);
    advance(3200);
    expect(apic.hasInterrupt()).toBe(true);
    // Long idle: several periods pass, one request, and the grid is kept.
    advance(3200 + 1600 * 5 + 7);
    expect(apic.nextEventTick()).toBe(3200 + 1600 * 6);
    tick = 1600 * 7 + 800 + 16 * 3;
    expect(rd(0x390)).toBe(47);
  });

  it("honours every divide configuration", () => {
    wr(0x0f0, 0x1ff);
    wr(0x320, 0x30);
    const cases: Array<[number, number]> = [[0x0, 2], [0x1, 4], [0x2, 8], [0x3, 16], [0x8, 32], [0x9, 64], [0xa, 128], [0xb, 1]];
    for (const [dcr, div] of cases) {
      wr(0x3e0, dcr);
      expect(rd(0x3e0)).toBe(dcr);
      wr(0x380, 10);
      expect(apic.nextEventTick()).toBe(tick + 10 * div);
    }
  });

  it("rebases the count when the divisor changes mid-count", () => {
    wr(0x0f0, 0x1ff);
    wr(0x320, 0x30);
    wr(0x3e0, 0x0b);
    wr(0x380, 1000);
    tick = 400;
    wr(0x3e0, 0x00); // now divide by 2: 600 left take 1200 ticks
    expect(rd(0x390)).toBe(600);
    expect(apic.nextEventTick()).toBe(1600);
  });

  it("keeps counting but raises nothing while the timer LVT is masked", () => {
    wr(0x0f0, 0x1ff);
    wr(0x3e0, 0x0b);
    wr(0x320, 0x10000 | 0x50);
    wr(0x380, 100);
    expect(apic.nextEventTick()).toBe(Infinity);
    tick = 40;
    expect(rd(0x390)).toBe(60);
    tick = 150;
    wr(0x320, 0x50); // unmasking after the expiry does not resurrect it
    expect(apic.hasInterrupt()).toBe(false);
    expect(rd(0x390)).toBe(0);
  });

  it("stops the timer when the initial count is written with 0", () => {
    wr(0x0f0, 0x1ff);
    wr(0x320, 0x30);
    wr(0x380, 100);
    wr(0x380, 0);
    expect(apic.nextEventTick()).toBe(Infinity);
    expect(rd(0x390)).toBe(0);
  });

  it("delivers by priority class against TPR and the in-service vector", () => {
    wr(0x0f0, 0x1ff);
    apic.acceptVector(0x31);
    apic.acceptVector(0x52);
    expect(apic.acknowledge()).toBe(0x52);
    expect(rd(0x0a0)).toBe(0x50); // PPR from ISR
    expect(apic.hasInterrupt()).toBe(false); // 0x31's class 3 does not beat 5
    apic.acceptVector(0x5f);
    expect(apic.hasInterrupt()).toBe(false); // same class as in service
    apic.acceptVector(0x61);
    expect(apic.acknowledge()).toBe(0x61);
    wr(0x0b0, 0); // EOI clears the highest in-service vector, 0x61
    expect(rd(0x130)).toBe(0);
    expect(rd(0x120)).toBe(1 << (0x52 - 0x40));
    wr(0x0b0, 0);
    expect(apic.acknowledge()).toBe(0x5f);
    wr(0x0b0, 0);
    wr(0x080, 0x40); // TPR class 4 holds off 0x31
    expect(rd(0x0a0)).toBe(0x40);
    expect(apic.hasInterrupt()).toBe(false);
    wr(0x080, 0x20);
    expect(apic.acknowledge()).toBe(0x31);
    // Nothing deliverable: the spurious vector, no ISR change.
    wr(0x0b0, 0);
    expect(apic.acknowledge()).toBe(0xff);
    expect(rd(0x110)).toBe(0);
  });

  it("records level-triggered acceptance in TMR", () => {
    wr(0x0f0, 0x1ff);
    apic.acceptVector(0x45, true);
    expect(rd(0x1a0)).toBe(1 << 5);
  });

  it("offers nothing while software-disabled and forces the LVT masks", () => {
    apic.acceptVector(0x40);
    expect(apic.hasInterrupt()).toBe(false);
    wr(0x320, 0x40);
    expect(rd(0x320)).toBe(0x10040);
    wr(0x0f0, 0x1ff);
    expect(apic.hasInterrupt()).toBe(true); // IRR kept its request
    wr(0x320, 0x40);
    expect(rd(0x320)).toBe(0x40);
    wr(0x0f0, 0x0ff);
    expect(rd(0x320)).toBe(0x10040);
  });

  it("reports illegal vectors in ESR after an ESR write and raises the error LVT", () => {
    wr(0x0f0, 0x1ff);
    wr(0x370, 0xfe);
    apic.acceptVector(0x05);
    expect(rd(0x280)).toBe(0);
    wr(0x280, 0);
    expect(rd(0x280)).toBe(0x40);
    expect(apic.acknowledge()).toBe(0xfe);
    wr(0x280, 0);
    expect(rd(0x280)).toBe(0);
  });

  it("delivers self-IPIs written to the ICR", () => {
    wr(0x0f0, 0x1ff);
    wr(0x300, (1 << 18) | 0x77); // shorthand self, fixed
    expect(apic.acknowledge()).toBe(0x77);
    wr(0x310, 0x01000000);
    wr(0x300, 0x78); // physical destination 1: not us
    expect(apic.hasInterrupt()).toBe(false);
    expect(rd(0x310)).toBe(0x01000000);
  });

  it("passes the PIC through LINT0 only in ExtINT mode or with the APIC disabled", () => {
    const pic = new FakePic();
    apic.connectLint0(pic);
    pic.pending = true;
    expect(apic.hasInterrupt()).toBe(false); // LINT0 masked at power-up
    apic.firmwareInit();
    expect(rd(0x350)).toBe(0x700);
    expect(apic.hasInterrupt()).toBe(true);
    expect(apic.acknowledge()).toBe(0x20);
    expect(pic.acks).toBe(1);
    // The APIC's own interrupts come first.
    pic.pending = true;
    apic.acceptVector(0x90);
    expect(apic.acknowledge()).toBe(0x90);
    expect(apic.acknowledge()).toBe(0x20);
    pic.pending = true;
    wr(0x350, 0x10700);
    expect(apic.hasInterrupt()).toBe(false);
    apic.writeBaseMsr(0xfee00000); // hardware disable
    expect(apic.acceptsPicInterrupts()).toBe(true);
    expect(apic.hasInterrupt()).toBe(true);
  });

  it("disables its registers when IA32_APIC_BASE bit 11 clears and comes back in power-up state", () => {
    wr(0x0f0, 0x1ff);
    wr(0x080, 0x30);
    apic.writeBaseMsr(0xfee00000);
    expect(apic.readBaseMsr()).toBe(0xfee00100);
    expect(apic.hardwareEnabled).toBe(false);
    expect(rd(0x030)).toBe(0xffffffff);
    wr(0x080, 0x50);
    apic.writeBaseMsr(0xfee00800);
    expect(apic.readBaseMsr()).toBe(0xfee00900);
    expect(rd(0x080)).toBe(0);
    expect(rd(0x0f0)).toBe(0xff);
  });

  it("reads registers with narrower accesses and ignores the reserved bytes of each slot", () => {
    expect(apic.mmioRead(APIC_DEFAULT_BASE + 0x30, 1)).toBe(0x14);
    expect(apic.mmioRead(APIC_DEFAULT_BASE + 0x32, 2)).toBe(0x0005);
    expect(apic.mmioRead(APIC_DEFAULT_BASE + 0x34, 4)).toBe(0);
    apic.mmioWrite(APIC_DEFAULT_BASE + 0x84, 4, 0x50); // not a register
    expect(rd(0x080)).toBe(0);
    apic.mmioWrite(APIC_DEFAULT_BASE + 0x80, 1, 0x50);
    expect(rd(0x080)).toBe(0x50);
  });

  it("notifies on every register write that may change its output", () => {
    const before = changes;
    wr(0x0f0, 0x1ff);
    apic.acceptVector(0x40);
    expect(changes).toBe(before + 2);
  });

  it("round-trips its state through JSON with a running timer", () => {
    wr(0x0f0, 0x1ff);
    wr(0x3e0, 0x01);
    wr(0x320, (1 << 17) | 0x9d);
    wr(0x380, 250);
    apic.acceptVector(0x33);
    apic.acceptVector(0x44);
    expect(apic.acknowledge()).toBe(0x44);
    advance(1700);
    const saved = JSON.parse(JSON.stringify(apic.saveState()));
    const copy = new LocalApic(() => tick, () => {});
    copy.loadState(saved);
    expect(copy.saveState()).toEqual(apic.saveState());
    expect(copy.nextEventTick()).toBe(apic.nextEventTick());
    tick = 1900;
    expect(copy.mmioRead(APIC_DEFAULT_BASE + 0x390, 4)).toBe(rd(0x390));
    for (const a of [apic, copy]) {
      expect(a.acknowledge()).toBe(0x9d);
      a.mmioWrite(APIC_DEFAULT_BASE + 0xb0, 4, 0);
      a.mmioWrite(APIC_DEFAULT_BASE + 0xb0, 4, 0);
      expect(a.acknowledge()).toBe(0x33);
    }
    expect(() => copy.loadState({})).toThrow();
  });
});

/**
 * The I/O APIC through the machine's buses: its registers, edge and level delivery to the local
 * APIC, remote IRR and the EOI broadcast, masking, destinations, and the ISA wiring of setIsaIrq.
 */
import { describe, expect, it } from "vitest";
import { Machine } from "../../src/machine/machine.js";
import { IOAPIC_BASE } from "../../src/machine/ioapic.js";

const LAPIC = 0xfee00000;
const REMOTE_IRR = 1 << 14;
const LEVEL = 1 << 15;
const MASKED = 1 << 16;

function machine(): Machine {
  return new Machine({ memoryMiB: 4 });
}
function read(m: Machine, reg: number): number {
  m.mem.write(IOAPIC_BASE, 4, reg);
  return m.mem.read(IOAPIC_BASE + 0x10, 4) >>> 0;
}
function write(m: Machine, reg: number, v: number): void {
  m.mem.write(IOAPIC_BASE, 4, reg);
  m.mem.write(IOAPIC_BASE + 0x10, 4, v);
}
/** The vector the CPU would take now, or -1. */
function take(m: Machine): number {
  return m.apic.hasInterrupt() ? m.apic.acknowledge() : -1;
}
function eoi(m: Machine): void {
  m.mem.write(LAPIC + 0xb0, 4, 0);
}
function quietPic(m: Machine): void {
  m.ports.write(0x21, 1, 0xff);
  m.ports.write(0xa1, 1, 0xff);
}

describe("I/O APIC", () => {
  it("reads as QEMU's: id 0, version 0x20 with 24 entries, every entry masked", () => {
    const m = machine();
    expect(read(m, 0)).toBe(0);
    expect(read(m, 1)).toBe(0x00170020);
    for (let pin = 0; pin < 24; pin++) {
      expect(read(m, 0x10 + 2 * pin)).toBe(MASKED);
      expect(read(m, 0x11 + 2 * pin)).toBe(0);
    }
    write(m, 0, 0xffffffff);
    expect(read(m, 0)).toBe(0x0f000000);
    write(m, 0x11, 0xffffffff);
    expect(read(m, 0x11)).toBe(0xff000000);
    // Delivery status and remote IRR are read-only.
    write(m, 0x10, 0x0001ffff);
    expect(read(m, 0x10)).toBe(0x0001afff);
  });

  it("edge: one interrupt per rising edge; a request made while masked waits for the unmask", () => {
    const m = machine();
    quietPic(m);
    write(m, 0x10 + 2 * 3, 0x41);
    m.setIsaIrq(3, true);
    expect(take(m)).toBe(0x41);
    eoi(m);
    expect(take(m)).toBe(-1); // still high, but no new edge
    m.setIsaIrq(3, false);
    m.setIsaIrq(3, true);
    expect(take(m)).toBe(0x41);
    eoi(m);
    m.setIsaIrq(3, false);
    write(m, 0x10 + 2 * 3, 0x41 | MASKED);
    m.setIsaIrq(3, true);
    expect(take(m)).toBe(-1);
    write(m, 0x10 + 2 * 3, 0x41);
    expect(take(m)).toBe(0x41);
  });

  it("level: remote IRR holds the pin until the local APIC's EOI, which resends a still-high input", () => {
    const m = machine();
    quietPic(m);
    write(m, 0x10 + 2 * 5, 0x52 | LEVEL);
    m.setIsaIrq(5, true);
    expect(read(m, 0x10 + 2 * 5) & REMOTE_IRR).toBe(REMOTE_IRR);
    expect(take(m)).toBe(0x52);
    // TMR records the vector as level-triggered.
    expect((m.mem.read(LAPIC + 0x180 + 0x20, 4) >>> 18) & 1).toBe(1);
    expect(take(m)).toBe(-1);
    eoi(m); // the input is still high: sent again
    expect(read(m, 0x10 + 2 * 5) & REMOTE_IRR).toBe(REMOTE_IRR);
    expect(take(m)).toBe(0x52);
    m.setIsaIrq(5, false);
    eoi(m);
    expect(read(m, 0x10 + 2 * 5) & REMOTE_IRR).toBe(0);
    expect(take(m)).toBe(-1);
  });

  it("the EOI register at +0x40 clears remote IRR for its vector only", () => {
    const m = machine();
    quietPic(m);
    write(m, 0x10 + 2 * 6, 0x60 | LEVEL);
    m.setIsaIrq(6, true);
    expect(take(m)).toBe(0x60);
    m.setIsaIrq(6, false);
    m.mem.write(IOAPIC_BASE + 0x40, 4, 0x61);
    expect(read(m, 0x10 + 2 * 6) & REMOTE_IRR).toBe(REMOTE_IRR);
    m.mem.write(IOAPIC_BASE + 0x40, 4, 0x60);
    expect(read(m, 0x10 + 2 * 6) & REMOTE_IRR).toBe(0);
  });

  it("delivers only to a destination that selects the processor", () => {
    const m = machine();
    quietPic(m);
    write(m, 0x11 + 2 * 7, 0x01000000); // physical APIC ID 1: not ours
    write(m, 0x10 + 2 * 7, 0x70);
    m.setIsaIrq(7, true);
    expect(take(m)).toBe(-1);
    m.setIsaIrq(7, false);
    m.mem.write(LAPIC + 0xd0, 4, 0x02000000); // LDR: logical ID bit 1
    write(m, 0x11 + 2 * 7, 0x02000000);
    write(m, 0x10 + 2 * 7, 0x70 | (1 << 11)); // logical, flat model
    m.setIsaIrq(7, true);
    expect(take(m)).toBe(0x70);
  });

  it("setIsaIrq drives the 8259A and the I/O APIC alike, IRQ 0 on pin 2", () => {
    const m = machine();
    write(m, 0x10 + 2 * 2, 0x30);
    m.ports.write(0x21, 1, 0xfe); // PIC: only IRQ 0
    m.setIsaIrq(0, true);
    // The local APIC's own request (from the I/O APIC) comes before the PIC's ExtINT.
    expect(take(m)).toBe(0x30);
    eoi(m);
    expect(take(m)).toBe(0x08); // the PIC's IRQ 0 through LINT0
  });

  it("keeps its state across saveState/loadState", () => {
    const m = machine();
    quietPic(m);
    write(m, 0x10 + 2 * 9, 0x99 | LEVEL);
    write(m, 0x11 + 2 * 9, 0);
    m.setIsaIrq(9, true);
    const saved = JSON.parse(JSON.stringify(m.saveState()));
    const n = machine();
    n.loadState(saved);
    expect(read(n, 0x10 + 2 * 9)).toBe(0x99 | LEVEL | REMOTE_IRR);
    expect(take(n)).toBe(0x99);
    n.setIsaIrq(9, false);
    eoi(n);
    expect(read(n, 0x10 + 2 * 9) & REMOTE_IRR).toBe(0);
  });
});

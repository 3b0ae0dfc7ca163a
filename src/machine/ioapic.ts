/**
 * The I/O APIC of QEMU's pc machine: 24 pins, version 0x20, memory-mapped at 0xfec00000 with the
 * index register IOREGSEL at +0x00, the data window IOWIN at +0x10 and the EOI register at +0x40.
 * Registers: 0x00 ID (bits 24-27), 0x01 version (0x00170020: 24 entries, version 0x20), 0x02
 * arbitration ID, 0x10 + 2n / 0x11 + 2n redirection entry n (low / high dword).
 *
 * A redirection entry: vector (0-7), delivery mode (8-10), destination mode (11), delivery status
 * (12, read-only), polarity (13), remote IRR (14, read-only), trigger mode (15), mask (16),
 * destination (56-63). All entries start masked.
 *
 * Delivery, as QEMU's ioapic.c does it: an edge-triggered pin latches a request on a rising edge; a
 * level-triggered pin requests while its input is high. An unmasked request is sent to the local
 * APIC; an edge request is then forgotten, a level one sets remote IRR, and the pin sends nothing
 * more until an EOI for its vector (broadcast by the local APIC when it ends a level-triggered
 * interrupt, or written to the EOI register) clears remote IRR, when a still-high input is sent
 * again. A request that arrives while its pin is masked waits and is sent when the pin is unmasked.
 * Only fixed and lowest-priority delivery reach the one processor (when the destination selects it);
 * other delivery modes (SMI, NMI, INIT, ExtINT) are not sent. Polarity is stored only: the ISA lines
 * are active high, as every entry the firmware describes.
 */
import type { AccessSize, MmioDevice, StatefulDevice } from "./bus.js";
import { plainArray } from "./plain-array.js";

export const IOAPIC_BASE = 0xfec00000;
export const IOAPIC_MMIO_SIZE = 0x1000;
export const IOAPIC_PINS = 24;
export const IOAPIC_VERSION = 0x20;
export const IOAPIC_ID = 0;

const IOREGSEL = 0x00;
const IOWIN = 0x10;
const EOI_REGISTER = 0x40;

const REMOTE_IRR = 1 << 14;
const TRIGGER_LEVEL = 1 << 15;
const MASKED = 1 << 16;
/** Bits of the low dword a guest can write (not delivery status or remote IRR). */
const LOW_WRITABLE = 0x1afff;
const DELIVERY_FIXED = 0;
const DELIVERY_LOWEST = 1;

/** Where the I/O APIC sends interrupts: the processor's local APIC. */
export interface ApicBus {
  /** True when the local APIC is selected by `dest` in physical (false) or logical (true) mode. */
  matchesDestination(dest: number, logical: boolean): boolean;
  /** Accepts a fixed interrupt into IRR (`level`: record it in TMR). */
  acceptVector(vector: number, level: boolean): void;
}

export interface IoApicState {
  id: number;
  select: number;
  low: number[];
  high: number[];
  /** Pins with a pending request, and the current level of each input. */
  irr: number;
  levels: number;
}

export class IoApic implements MmioDevice, StatefulDevice {
  private id = IOAPIC_ID << 24;
  private select = 0;
  private readonly low = new Int32Array(IOAPIC_PINS).fill(MASKED);
  private readonly high = new Int32Array(IOAPIC_PINS);
  /** Bit n: pin n has a request not yet sent. */
  private irr = 0;
  /** Bit n: pin n's input is high. */
  private levels = 0;

  constructor(private readonly apic: ApicBus) {}

  /** Drives input `pin` to `level`. */
  setPin(pin: number, level: boolean): void {
    const bit = 1 << pin;
    const was = (this.levels & bit) !== 0;
    if (level) this.levels |= bit;
    else this.levels &= ~bit;
    if ((this.low[pin] & TRIGGER_LEVEL) !== 0) {
      if (level) this.irr |= bit;
      else this.irr &= ~bit;
    } else if (level && !was) {
      this.irr |= bit;
    }
    if ((this.irr & bit) !== 0) this.service();
  }

  /** True when pin `pin` is unmasked (a device event on it can wake a halted processor). */
  isPinUnmasked(pin: number): boolean {
    return (this.low[pin] & MASKED) === 0;
  }

  /** Sends every pending, unmasked request that is not held off by remote IRR. */
  private service(): void {
    for (let pin = 0; pin < IOAPIC_PINS; pin++) {
      const bit = 1 << pin;
      if ((this.irr & bit) === 0) continue;
      const entry = this.low[pin];
      if ((entry & MASKED) !== 0) continue;
      const level = (entry & TRIGGER_LEVEL) !== 0;
      if (level) {
        if ((entry & REMOTE_IRR) !== 0) continue;
        this.low[pin] = entry | REMOTE_IRR;
      } else {
        this.irr &= ~bit;
      }
      this.deliver(pin, level);
    }
  }

  private deliver(pin: number, level: boolean): void {
    const entry = this.low[pin];
    const mode = (entry >> 8) & 7;
    if (mode !== DELIVERY_FIXED && mode !== DELIVERY_LOWEST) return;
    if (!this.apic.matchesDestination(this.high[pin] >>> 24, (entry & (1 << 11)) !== 0)) return;
    this.apic.acceptVector(entry & 0xff, level);
  }

  /** An EOI for `vector`: clears remote IRR of the level-triggered pins using it, and resends still-high ones. */
  endOfInterrupt(vector: number): void {
    let any = false;
    for (let pin = 0; pin < IOAPIC_PINS; pin++) {
      const entry = this.low[pin];
      if ((entry & 0xff) !== vector || (entry & REMOTE_IRR) === 0) continue;
      this.low[pin] = entry & ~REMOTE_IRR;
      any = true;
    }
    if (any) this.service();
  }

  mmioRead(physAddr: number, size: AccessSize): number {
    const offset = (physAddr >>> 0) & 0xfff;
    let v = 0;
    if (offset === IOREGSEL) v = this.select;
    else if (offset === IOWIN) v = this.readRegister(this.select);
    else return 0;
    return size === 4 ? v | 0 : v & (size === 1 ? 0xff : 0xffff);
  }

  mmioWrite(physAddr: number, size: AccessSize, value: number): void {
    const offset = (physAddr >>> 0) & 0xfff;
    if (offset === IOREGSEL) {
      this.select = value & 0xff;
    } else if (offset === IOWIN) {
      if (size !== 4) return;
      this.writeRegister(this.select, value | 0);
    } else if (offset === EOI_REGISTER) {
      this.endOfInterrupt(value & 0xff);
    }
  }

  private readRegister(index: number): number {
    if (index === 0x00) return this.id;
    if (index === 0x01) return ((IOAPIC_PINS - 1) << 16) | IOAPIC_VERSION;
    if (index === 0x02) return this.id;
    if (index >= 0x10 && index < 0x10 + 2 * IOAPIC_PINS) {
      // Delivery status reads 0, as under QEMU: a request reaches the local APIC at once.
      const pin = (index - 0x10) >> 1;
      return (index & 1) === 0 ? this.low[pin] : this.high[pin];
    }
    return -1;
  }

  private writeRegister(index: number, value: number): void {
    if (index === 0x00) {
      this.id = value & 0x0f000000;
      return;
    }
    if (index < 0x10 || index >= 0x10 + 2 * IOAPIC_PINS) return;
    const pin = (index - 0x10) >> 1;
    if ((index & 1) === 1) {
      this.high[pin] = value & 0xff000000;
      return;
    }
    let entry = (value & LOW_WRITABLE) | (this.low[pin] & REMOTE_IRR);
    // An edge-triggered pin has no remote IRR; a level pin requests exactly while its input is high.
    const bit = 1 << pin;
    if ((entry & TRIGGER_LEVEL) === 0) entry &= ~REMOTE_IRR;
    else this.irr = (this.levels & bit) !== 0 ? this.irr | bit : this.irr & ~bit;
    this.low[pin] = entry;
    this.service();
  }

  saveState(): IoApicState {
    return { id: this.id, select: this.select, low: plainArray(this.low), high: plainArray(this.high), irr: this.irr, levels: this.levels };
  }

  loadState(state: unknown): void {
    const s = state as IoApicState;
    if (typeof s !== "object" || s === null || !Array.isArray(s.low) || s.low.length !== IOAPIC_PINS || !Array.isArray(s.high) || s.high.length !== IOAPIC_PINS) {
      throw new Error("I/O APIC state is malformed");
    }
    this.id = s.id | 0;
    this.select = s.select;
    this.low.set(s.low);
    this.high.set(s.high);
    this.irr = s.irr | 0;
    this.levels = s.levels | 0;
  }
}

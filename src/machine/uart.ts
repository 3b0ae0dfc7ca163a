/**
 * A 16550A UART (COM1: ports 0x3f8-0x3ff, IRQ 4). Output is instantaneous: a byte written to THR is
 * handed to `onByte` at once, so LSR always shows the transmitter empty (THRE and TEMT) and a
 * THR-empty interrupt follows every write. Input arrives through `receive(byte)` (host input, replayed
 * input, or THR looped back with MCR bit 4), and behaves as QEMU 7.2's 16550 does:
 *
 *  - without the FIFO, RBR holds one byte: a byte arriving while data-ready is set overruns it (LSR
 *    OE, the new byte replaces the old); reading RBR clears data-ready and reads the last byte again
 *    until a new one comes;
 *  - with the FIFO (FCR bit 0), up to 16 bytes queue; one arriving at a full FIFO is lost and sets OE;
 *    reading an empty FIFO gives 0. Changing the FIFO enable, or FCR bit 1, empties it; FCR bit 2
 *    (transmit FIFO reset) signals THR empty again; bits 6-7 set the trigger level (1, 4, 8, 14);
 *  - the received-data interrupt (IER bit 0) is raised while data is ready (with the FIFO: while it
 *    holds at least the trigger level); the character timeout interrupt is raised when bytes have sat
 *    in the FIFO for 4 character times (from the last byte received or read; the character time
 *    follows the divisor and LCR, in virtual ticks) and cleared by reading RBR;
 *  - LSR OE clears when LSR is read.
 *
 * Registers by offset (DLAB is LCR bit 7):
 *   0  RBR (read) / THR (write); DLL when DLAB=1
 *   1  IER (bits 0-3); DLM when DLAB=1
 *   2  IIR (read) / FCR (write)
 *   3  LCR    4  MCR    5  LSR    6  MSR    7  SCR
 *
 * Interrupt identification in 16550 priority order: receiver line status (overrun), character
 * timeout, received data available, THR empty, modem status. Reading IIR while it reports THR empty
 * clears that source, as does writing THR. The IRQ line follows "some enabled source is pending";
 * MCR.OUT2, which gates the IRQ driver on PC boards, is not modelled (QEMU does not either).
 *
 * Only COM1 exists: COM2-COM4 (0x2f8, 0x3e8, 0x2e8) are absent and read as 0xff, matching the BIOS
 * data area, which lists one serial port.
 */
import type { AccessSize, PortDevice, StatefulDevice, TimedDevice } from "./bus.js";
import { TICKS_PER_SECOND } from "./bus.js";
import type { PortBus } from "./port-bus.js";

export const COM1_BASE = 0x3f8;
export const COM1_IRQ = 4;

const LSR_DR = 0x01;
const LSR_OE = 0x02;
const LSR_THRE = 0x20;
const LSR_TEMT = 0x40;

const IIR_NONE = 0x01;
const IIR_MODEM = 0x00;
const IIR_THRE = 0x02;
const IIR_RDA = 0x04;
const IIR_LINE = 0x06;
const IIR_TIMEOUT = 0x0c;
const IIR_FIFO = 0xc0;

const MCR_LOOP = 0x10;
/** MSR status lines seen without loopback: CTS, DSR and DCD asserted, as a connected terminal. */
const MSR_CONNECTED = 0xb0;
const FIFO_SIZE = 16;
const TRIGGER_LEVELS = [1, 4, 8, 14] as const;
/** The 16550's input clock divided by 16: the baud rate at divisor 1. */
const BAUD_BASE = 115200;
/** Character times of silence before a FIFO timeout interrupt. */
const TIMEOUT_CHARS = 4;

export interface UartState {
  /** Bytes in the receive FIFO, oldest first (without the FIFO: the unread byte, if any). */
  rx: number[];
  /** The receiver buffer register's last byte (what RBR reads without the FIFO). */
  rbr?: number;
  ier: number;
  lcr: number;
  mcr: number;
  /** LSR error bits (overrun) waiting to be read. */
  lsrErrors: number;
  /** MSR bits 4-7 (line states) and 0-3 (deltas). */
  msr: number;
  scr: number;
  divisor: number;
  fifoEnabled: boolean;
  triggerLevel: number;
  thrInterruptPending: boolean;
  irqLevel: boolean;
  /** Virtual tick at which a FIFO character timeout falls due (null: none armed). */
  timeoutAt?: number | null;
  timeoutPending?: boolean;
}

export class Uart implements PortDevice, StatefulDevice, TimedDevice {
  readonly base: number;
  /** The receive FIFO as a ring: `rxCount` bytes from `rxHead`. */
  private readonly rxRing = new Uint8Array(FIFO_SIZE);
  private rxHead = 0;
  private rxCount = 0;
  private rbr = 0;
  private ier = 0;
  private lcr = 0;
  private mcr = 0;
  private lsrErrors = 0;
  private msr = MSR_CONNECTED;
  private scr = 0;
  private divisor = 12; // 9600 baud
  private fifoEnabled = false;
  private triggerLevel = 1;
  private thrInterruptPending = false;
  private irqLevel = false;
  private timeoutAt = Infinity;
  private timeoutPending = false;
  /**
   * Set when the guest reads LSR and finds no data waiting (a polling receiver), cleared when a byte
   * arrives: with the received-data interrupt enabled, one sign that the guest listens.
   */
  private polledEmpty = false;
  private readonly onByte: (byte: number) => void;
  private readonly irq: (level: boolean) => void;
  private readonly now: () => number;
  onRearm: () => void = () => {};

  /**
   * `onByte` receives each transmitted byte; `irq` receives the interrupt line's level when it
   * changes; `now` is virtual time in ticks (for the FIFO timeout).
   */
  constructor(onByte: (byte: number) => void, irq: (level: boolean) => void, base: number = COM1_BASE, now: () => number = () => 0) {
    this.onByte = onByte;
    this.irq = irq;
    this.base = base;
    this.now = now;
  }

  /** Maps the eight byte-wide registers at `base` on `bus`. */
  registerOn(bus: PortBus): void {
    bus.register(this.base, 8, this);
  }

  /** Ticks one character takes on the line at the current divisor and frame format (LCR). */
  characterTicks(): number {
    const dataBits = (this.lcr & 0x03) + 5;
    const parity = (this.lcr & 0x08) !== 0 ? 1 : 0;
    const stop = (this.lcr & 0x04) !== 0 ? 2 : 1;
    const baud = this.divisor === 0 ? 3500 : BAUD_BASE / this.divisor;
    return Math.floor((TICKS_PER_SECOND / baud) * (1 + dataBits + parity + stop));
  }

  /**
   * Whether a byte from outside would be taken now without loss: the receiver is empty, the UART is
   * not looping THR back (external input is cut off then), and the guest listens: it enabled the
   * received-data interrupt and IRQ 4 reaches the CPU (`irqReachesCpu`, the machine's wiring), or it
   * polled LSR and found nothing. Live input is delivered only then.
   */
  readyToReceive(irqReachesCpu: boolean): boolean {
    return (this.mcr & MCR_LOOP) === 0 && this.rxCount === 0 && (((this.ier & 0x01) !== 0 && irqReachesCpu) || this.polledEmpty);
  }

  /** A byte arriving on the receive line (or looped back from THR). */
  receive(byte: number): void {
    const b = byte & 0xff;
    this.polledEmpty = false;
    if (this.fifoEnabled) {
      if (this.rxCount === FIFO_SIZE) {
        this.lsrErrors |= LSR_OE;
      } else {
        this.rxRing[(this.rxHead + this.rxCount) % FIFO_SIZE] = b;
        this.rxCount++;
      }
      this.timeoutAt = this.now() + TIMEOUT_CHARS * this.characterTicks();
      this.onRearm();
    } else {
      if (this.rxCount > 0) this.lsrErrors |= LSR_OE;
      this.rbr = b;
      this.rxCount = 1;
    }
    this.updateIrq();
  }

  /** The tick of the pending FIFO timeout, or Infinity. */
  nextEventTick(): number {
    return this.timeoutAt;
  }

  advanceTo(now: number): void {
    if (now < this.timeoutAt) return;
    this.timeoutAt = Infinity;
    if (this.fifoEnabled && this.rxCount > 0) {
      this.timeoutPending = true;
      this.updateIrq();
    }
  }

  private readRbr(): number {
    if (!this.fifoEnabled) {
      this.rxCount = 0;
      this.updateIrq();
      return this.rbr;
    }
    let v = 0;
    if (this.rxCount > 0) {
      v = this.rxRing[this.rxHead];
      this.rxHead = (this.rxHead + 1) % FIFO_SIZE;
      this.rxCount--;
      this.timeoutAt = this.rxCount > 0 ? this.now() + TIMEOUT_CHARS * this.characterTicks() : Infinity;
      this.onRearm();
    }
    this.timeoutPending = false;
    this.updateIrq();
    return v;
  }

  portRead(port: number, _size: AccessSize): number {
    const dlab = (this.lcr & 0x80) !== 0;
    switch (port - this.base) {
      case 0:
        return dlab ? this.divisor & 0xff : this.readRbr();
      case 1:
        return dlab ? (this.divisor >> 8) & 0xff : this.ier;
      case 2: {
        const id = this.interruptId();
        if (id === IIR_THRE) {
          this.thrInterruptPending = false;
          this.updateIrq();
        }
        return id | (this.fifoEnabled ? IIR_FIFO : 0);
      }
      case 3:
        return this.lcr;
      case 4:
        return this.mcr;
      case 5: {
        const v = (this.rxCount > 0 ? LSR_DR : 0) | this.lsrErrors | LSR_THRE | LSR_TEMT;
        if (this.rxCount === 0) this.polledEmpty = true;
        if (this.lsrErrors !== 0) {
          this.lsrErrors = 0;
          this.updateIrq();
        }
        return v;
      }
      case 6: {
        const v = this.msr;
        if (v & 0x0f) {
          this.msr &= 0xf0;
          this.updateIrq();
        }
        return v;
      }
      case 7:
        return this.scr;
      default:
        return 0xff;
    }
  }

  portWrite(port: number, _size: AccessSize, value: number): void {
    const v = value & 0xff;
    const dlab = (this.lcr & 0x80) !== 0;
    switch (port - this.base) {
      case 0:
        if (dlab) {
          this.divisor = (this.divisor & 0xff00) | v;
          return;
        }
        this.transmit(v);
        return;
      case 1:
        if (dlab) {
          this.divisor = (this.divisor & 0xff) | (v << 8);
          return;
        }
        this.writeIer(v & 0x0f);
        return;
      case 2:
        this.writeFcr(v);
        return;
      case 3:
        this.lcr = v;
        return;
      case 4:
        this.writeMcr(v & 0x1f);
        return;
      case 7:
        this.scr = v;
        return;
      default:
        return; // LSR and MSR writes (factory test) are ignored
    }
  }

  private transmit(byte: number): void {
    // THR empties at once: the THRE source drops with the write and rises again when the byte has
    // left, so an edge-triggered PIC sees a fresh edge for every byte.
    this.thrInterruptPending = false;
    this.updateIrq();
    if (this.mcr & MCR_LOOP) this.receive(byte);
    else this.onByte(byte);
    this.thrInterruptPending = true;
    this.updateIrq();
  }

  private writeIer(v: number): void {
    const changed = v ^ this.ier;
    this.ier = v;
    // Enabling the THR-empty interrupt while THR is empty (always, here) raises it immediately.
    if (changed & 0x02) this.thrInterruptPending = (v & 0x02) !== 0;
    this.updateIrq();
  }

  private writeFcr(value: number): void {
    let v = value;
    const enable = (v & 0x01) !== 0;
    // Changing the FIFO enable resets both FIFOs.
    if (enable !== this.fifoEnabled) v |= 0x06;
    if (v & 0x02) {
      this.rxHead = 0;
      this.rxCount = 0;
      this.timeoutAt = Infinity;
      this.timeoutPending = false;
    }
    // The transmit FIFO reset leaves THR empty, which is a THR-empty interrupt source again.
    if (v & 0x04) this.thrInterruptPending = true;
    this.fifoEnabled = enable;
    this.triggerLevel = TRIGGER_LEVELS[v >> 6];
    this.updateIrq();
  }

  private writeMcr(v: number): void {
    this.mcr = v;
    let lines: number;
    if (v & MCR_LOOP) {
      // Loopback: CTS <- RTS, DSR <- DTR, RI <- OUT1, DCD <- OUT2.
      lines = ((v & 0x02) << 3) | ((v & 0x01) << 5) | ((v & 0x04) << 4) | ((v & 0x08) << 4);
    } else {
      lines = MSR_CONNECTED;
    }
    const old = this.msr & 0xf0;
    const diff = old ^ lines;
    let delta = this.msr & 0x0f;
    if (diff & 0x10) delta |= 0x01; // DCTS
    if (diff & 0x20) delta |= 0x02; // DDSR
    if ((old & 0x40) !== 0 && (lines & 0x40) === 0) delta |= 0x04; // TERI: RI trailing edge
    if (diff & 0x80) delta |= 0x08; // DDCD
    this.msr = lines | delta;
    this.updateIrq();
  }

  /** The IIR interrupt identification (bits 0-3) of the highest-priority enabled pending source. */
  private interruptId(): number {
    if ((this.ier & 0x04) && this.lsrErrors !== 0) return IIR_LINE;
    if ((this.ier & 0x01) && this.timeoutPending) return IIR_TIMEOUT;
    if ((this.ier & 0x01) && this.rxCount > 0 && (!this.fifoEnabled || this.rxCount >= this.triggerLevel)) return IIR_RDA;
    if ((this.ier & 0x02) && this.thrInterruptPending) return IIR_THRE;
    if ((this.ier & 0x08) && (this.msr & 0x0f) !== 0) return IIR_MODEM;
    return IIR_NONE;
  }

  private updateIrq(): void {
    const level = this.interruptId() !== IIR_NONE;
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.irq(level);
    }
  }

  saveState(): UartState {
    const rx: number[] = [];
    if (this.fifoEnabled) for (let i = 0; i < this.rxCount; i++) rx.push(this.rxRing[(this.rxHead + i) % FIFO_SIZE]);
    else if (this.rxCount > 0) rx.push(this.rbr);
    return {
      rx, rbr: this.rbr, ier: this.ier, lcr: this.lcr, mcr: this.mcr, lsrErrors: this.lsrErrors, msr: this.msr,
      scr: this.scr, divisor: this.divisor, fifoEnabled: this.fifoEnabled, triggerLevel: this.triggerLevel,
      thrInterruptPending: this.thrInterruptPending, irqLevel: this.irqLevel,
      timeoutAt: this.timeoutAt === Infinity ? null : this.timeoutAt, timeoutPending: this.timeoutPending,
    };
  }

  loadState(state: unknown): void {
    const s = state as UartState;
    if (typeof s !== "object" || s === null || !Array.isArray(s.rx) || s.rx.length > FIFO_SIZE) throw new Error("UART state is malformed");
    this.ier = s.ier;
    this.lcr = s.lcr;
    this.mcr = s.mcr;
    this.lsrErrors = s.lsrErrors;
    this.msr = s.msr;
    this.scr = s.scr;
    this.divisor = s.divisor;
    this.fifoEnabled = s.fifoEnabled;
    this.triggerLevel = s.triggerLevel;
    this.thrInterruptPending = s.thrInterruptPending;
    this.irqLevel = s.irqLevel;
    this.rxHead = 0;
    this.rxCount = s.rx.length;
    this.rxRing.set(s.rx);
    // States saved before `rbr` existed held the unread byte (if any) in rx.
    this.rbr = s.rbr ?? (this.fifoEnabled ? 0 : s.rx[0] ?? 0);
    if (!this.fifoEnabled && s.rx.length > 0) this.rbr = s.rx[0];
    this.timeoutAt = s.timeoutAt ?? Infinity;
    this.timeoutPending = s.timeoutPending ?? false;
    this.polledEmpty = false;
  }
}

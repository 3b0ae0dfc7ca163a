/**
 * A 16550A UART (COM1: ports 0x3f8-0x3ff, IRQ 4). Output is instantaneous: a byte written to THR is
 * handed to `onByte` at once, so LSR always shows the transmitter empty (THRE and TEMT) and a
 * THR-empty interrupt follows every write. There is no host input yet; the receive path exists for
 * loopback mode (MCR bit 4) and for `receive()`, so RBR, the FIFO, data-ready and overrun stay
 * consistent.
 *
 * Registers by offset (DLAB is LCR bit 7):
 *   0  RBR (read) / THR (write); DLL when DLAB=1
 *   1  IER (bits 0-3); DLM when DLAB=1
 *   2  IIR (read) / FCR (write)
 *   3  LCR    4  MCR    5  LSR    6  MSR    7  SCR
 *
 * Interrupt identification follows the 16550 priority order: receiver line status (overrun), received
 * data available (or character timeout when the FIFO holds less than its trigger level; with no clock
 * for timeouts it is reported at once), THR empty, modem status. Reading IIR while it reports THR
 * empty clears that source, as does writing THR. The IRQ line follows "some enabled source is
 * pending"; MCR.OUT2, which gates the IRQ driver on PC boards, is not modelled (QEMU does not either).
 */
import type { AccessSize, PortDevice, StatefulDevice } from "./bus.js";
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

export interface UartState {
  rx: number[];
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
}

export class Uart implements PortDevice, StatefulDevice {
  readonly base: number;
  private rx: number[] = [];
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
  private readonly onByte: (byte: number) => void;
  private readonly irq: (level: boolean) => void;

  /** `onByte` receives each transmitted byte; `irq` receives the interrupt line's level when it changes. */
  constructor(onByte: (byte: number) => void, irq: (level: boolean) => void, base: number = COM1_BASE) {
    this.onByte = onByte;
    this.irq = irq;
    this.base = base;
  }

  /** Maps the eight byte-wide registers at `base` on `bus`. */
  registerOn(bus: PortBus): void {
    bus.register(this.base, 8, this);
  }

  /** A byte arriving on the receive line (or looped back from THR). */
  receive(byte: number): void {
    const limit = this.fifoEnabled ? FIFO_SIZE : 1;
    if (this.rx.length >= limit) {
      // Overrun: without a FIFO the new character replaces the unread one; with a full FIFO the new
      // character is lost.
      this.lsrErrors |= LSR_OE;
      if (!this.fifoEnabled) this.rx[0] = byte & 0xff;
    } else {
      this.rx.push(byte & 0xff);
    }
    this.updateIrq();
  }

  portRead(port: number, _size: AccessSize): number {
    const dlab = (this.lcr & 0x80) !== 0;
    switch (port - this.base) {
      case 0: {
        if (dlab) return this.divisor & 0xff;
        const v = this.rx.length > 0 ? (this.rx.shift() as number) : 0;
        this.updateIrq();
        return v;
      }
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
        const v = (this.rx.length > 0 ? LSR_DR : 0) | this.lsrErrors | LSR_THRE | LSR_TEMT;
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

  private writeFcr(v: number): void {
    const enable = (v & 0x01) !== 0;
    // Changing the FIFO enable clears both FIFOs; bits 1 and 2 clear them explicitly.
    if (enable !== this.fifoEnabled || (v & 0x02) !== 0) this.rx = [];
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
    if ((this.ier & 0x01) && this.rx.length > 0) {
      return this.fifoEnabled && this.rx.length < this.triggerLevel ? IIR_TIMEOUT : IIR_RDA;
    }
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
    return {
      rx: [...this.rx], ier: this.ier, lcr: this.lcr, mcr: this.mcr, lsrErrors: this.lsrErrors, msr: this.msr,
      scr: this.scr, divisor: this.divisor, fifoEnabled: this.fifoEnabled, triggerLevel: this.triggerLevel,
      thrInterruptPending: this.thrInterruptPending, irqLevel: this.irqLevel,
    };
  }

  loadState(state: unknown): void {
    const s = state as UartState;
    if (typeof s !== "object" || s === null || !Array.isArray(s.rx)) throw new Error("UART state is malformed");
    this.rx = [...s.rx];
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
  }
}

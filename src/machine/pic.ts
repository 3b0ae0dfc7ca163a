/**
 * The PC/AT pair of 8259A programmable interrupt controllers: the master at ports 0x20/0x21 takes
 * IRQ 0-7, the slave at 0xa0/0xa1 takes IRQ 8-15 and feeds the master's IR2 (cascade). The edge/level
 * control registers (ELCR) of the PIIX/ICH chipsets sit at 0x4d0 (master) and 0x4d1 (slave).
 *
 * Modelled after the 8259A data sheet: the ICW1-ICW4 initialisation sequence, OCW1 (mask), OCW2
 * (non-specific, specific and rotating EOI, set priority, rotate in automatic-EOI mode), OCW3 (read
 * IRR/ISR, poll, special mask mode), fully nested and special fully nested modes, automatic EOI.
 *
 * The slave's INT output drives the master's IR2 like any other input (edge-triggered on a PC).
 * One deliberate modelling choice, matching QEMU's PC so guests behave as they do there: an
 * edge-triggered request stays latched in IRR until acknowledged even if the line drops again (the
 * data sheet would lose it); PIT channel 0 in mode 2 pulses its output for only one 838 ns clock.
 * An acknowledge that finds nothing to deliver (a level-triggered request dropped in between, or a
 * slave request that went away after the master latched IR2) returns the spurious vector of IR7 on
 * that chip and sets no ISR bit on it, as the hardware does; for a spurious IRQ 15 the master's ISR
 * bit 2 is still set, so the guest must send the master an EOI.
 */
import type { AccessSize, InterruptSource, PortDevice, StatefulDevice } from "./bus.js";
import { type PortBus } from "./port-bus.js";

/** ELCR bits that may be set: IRQ 0, 1, 2 (master) and 8, 13 (slave) are always edge-triggered on a PC. */
const ELCR_MASK = [0xf8, 0xde] as const;

/** The state of one 8259A, as plain data. */
export interface Pic8259State {
  irr: number;
  isr: number;
  imr: number;
  /** Current levels of the IR inputs (edge detection). */
  lines: number;
  elcr: number;
  vectorBase: number;
  /** Added to an IR number to give its priority rank (0 = highest); changed by rotation. */
  priorityAdd: number;
  /** 0: ready for OCWs; 2, 3, 4: expecting ICW2, ICW3, ICW4. */
  initStep: number;
  icw4Needed: boolean;
  singleMode: boolean;
  levelTriggeredAll: boolean;
  autoEoi: boolean;
  rotateOnAutoEoi: boolean;
  specialFullyNested: boolean;
  specialMask: boolean;
  /** OCW3 read register select: false IRR, true ISR. */
  readIsr: boolean;
  /** An OCW3 poll command is waiting for the next read. */
  poll: boolean;
  /** ICW3 as written (slave bitmap on the master, cascade identity on the slave). */
  icw3: number;
}

export interface PicPairState {
  master: Pic8259State;
  slave: Pic8259State;
}

function freshChip(): Pic8259State {
  return {
    irr: 0, isr: 0, imr: 0, lines: 0, elcr: 0, vectorBase: 0, priorityAdd: 0, initStep: 0, icw4Needed: false,
    singleMode: false, levelTriggeredAll: false, autoEoi: false, rotateOnAutoEoi: false, specialFullyNested: false,
    specialMask: false, readIsr: false, poll: false, icw3: 0,
  };
}

/** The rank (0 highest .. 7 lowest) of the highest-priority bit of `mask`, or 8 when empty. */
function highestRank(chip: Pic8259State, mask: number): number {
  if (mask === 0) return 8;
  for (let rank = 0; rank < 8; rank++) {
    if (mask & (1 << ((rank + chip.priorityAdd) & 7))) return rank;
  }
  return 8;
}

export class PicPair implements PortDevice, InterruptSource, StatefulDevice {
  private master: Pic8259State = freshChip();
  private slave: Pic8259State = freshChip();
  private readonly onChange: () => void;

  /** `onChange` is called whenever `hasInterrupt()` may have changed. */
  constructor(onChange: () => void) {
    this.onChange = onChange;
  }

  /** Maps 0x20-0x21, 0xa0-0xa1 and 0x4d0-0x4d1 (all byte-wide) on `bus`. */
  registerOn(bus: PortBus): void {
    bus.register(0x20, 2, this);
    bus.register(0xa0, 2, this);
    bus.register(0x4d0, 2, this);
  }

  /**
   * Programs both chips as PC firmware leaves them before starting an operating system: vectors
   * 0x08-0x0f and 0x70-0x77, cascade on IR2, 8086 mode, every line masked except the cascade.
   */
  firmwareInit(): void {
    for (const [base, cmd, icw2, icw3] of [[0x20, 0x11, 0x08, 0x04], [0xa0, 0x11, 0x70, 0x02]] as const) {
      this.portWrite(base, 1, cmd);
      this.portWrite(base + 1, 1, icw2);
      this.portWrite(base + 1, 1, icw3);
      this.portWrite(base + 1, 1, 0x01);
    }
    this.portWrite(0x21, 1, 0xfb);
    this.portWrite(0xa1, 1, 0xff);
  }

  /**
   * Drives IRQ input `line` (0-15) to `level`. Edge-triggered inputs latch a request on a rising
   * edge; level-triggered ones (ELCR or ICW1.LTIM) request while high. Line 2 is the cascade input on
   * an AT, so the ISA bus routes IRQ 2 to IRQ 9; so does this method.
   */
  setIrq(line: number, level: boolean): void {
    if (!Number.isInteger(line) || line < 0 || line > 15) throw new RangeError(`IRQ line ${line} is not 0-15`);
    if (line === 2) line = 9;
    this.setLine(line < 8 ? this.master : this.slave, line & 7, level);
    this.changed();
  }

  /**
   * True when a request on IRQ `line` could reach the CPU under the current masks (its IMR bit
   * clear, and for slave lines the master's IR2 too). Masks change only by guest writes, so a halted
   * machine can use this to ignore timer events that cannot wake it.
   */
  isLineEnabled(line: number): boolean {
    if (line === 2) line = 9;
    if (line < 8) return (this.master.imr & (1 << line)) === 0;
    return (this.slave.imr & (1 << (line & 7))) === 0 && (this.master.singleMode || (this.master.imr & 4) === 0);
  }

  hasInterrupt(): boolean {
    return this.pendingIrq(this.master, true) >= 0;
  }

  acknowledge(): number {
    const m = this.master;
    const irq = this.pendingIrq(m, true);
    let vector: number;
    if (irq < 0) {
      vector = m.vectorBase + 7;
    } else {
      if (irq === 2 && !m.singleMode) {
        const s = this.slave;
        const sirq = this.pendingIrq(s, false);
        if (sirq >= 0) {
          this.intack(s, sirq);
          vector = s.vectorBase + sirq;
        } else {
          vector = s.vectorBase + 7;
        }
      } else {
        vector = m.vectorBase + irq;
      }
      this.intack(m, irq);
    }
    this.changed();
    return vector & 0xff;
  }

  portRead(port: number, _size: AccessSize): number {
    switch (port) {
      case 0x20: return this.readCommand(this.master, true);
      case 0x21: return this.master.imr;
      case 0xa0: return this.readCommand(this.slave, false);
      case 0xa1: return this.slave.imr;
      case 0x4d0: return this.master.elcr;
      case 0x4d1: return this.slave.elcr;
      default: return 0xff;
    }
  }

  portWrite(port: number, _size: AccessSize, value: number): void {
    const v = value & 0xff;
    switch (port) {
      case 0x20: this.writeCommand(this.master, v); break;
      case 0x21: this.writeData(this.master, v); break;
      case 0xa0: this.writeCommand(this.slave, v); break;
      case 0xa1: this.writeData(this.slave, v); break;
      case 0x4d0: this.writeElcr(this.master, v & ELCR_MASK[0]); break;
      case 0x4d1: this.writeElcr(this.slave, v & ELCR_MASK[1]); break;
      default: return;
    }
    this.changed();
  }

  saveState(): PicPairState {
    return { master: { ...this.master }, slave: { ...this.slave } };
  }

  loadState(state: unknown): void {
    const s = state as PicPairState;
    if (typeof s !== "object" || s === null || typeof s.master !== "object" || typeof s.slave !== "object") {
      throw new Error("PIC state is not a {master, slave} object");
    }
    this.master = { ...freshChip(), ...s.master };
    this.slave = { ...freshChip(), ...s.slave };
    this.onChange();
  }

  // ---- One chip ------------------------------------------------------------------------------------

  private isLevel(chip: Pic8259State, bit: number): boolean {
    return chip.levelTriggeredAll || (chip.elcr & bit) !== 0;
  }

  /** Drives input `irq` of `chip`: edge inputs latch on a rising edge, level inputs follow the line. */
  private setLine(chip: Pic8259State, irq: number, level: boolean): void {
    const bit = 1 << irq;
    const was = (chip.lines & bit) !== 0;
    if (level) chip.lines |= bit;
    else chip.lines &= ~bit;
    if (this.isLevel(chip, bit)) {
      if (level) chip.irr |= bit;
      else chip.irr &= ~bit;
    } else if (level && !was) {
      chip.irr |= bit;
    }
  }

  /** After any state change: propagate the slave's INT output to the master's IR2, then notify. */
  private changed(): void {
    if (!this.master.singleMode) this.setLine(this.master, 2, this.pendingIrq(this.slave, false) >= 0);
    this.onChange();
  }

  /** The IR number this chip would deliver now, or -1 (priority resolution against ISR and IMR). */
  private pendingIrq(chip: Pic8259State, isMaster: boolean): number {
    const requests = chip.irr & ~chip.imr;
    const rank = highestRank(chip, requests);
    if (rank === 8) return -1;
    let inService = chip.isr;
    // Special mask mode: masked levels in service do not hold off lower priorities.
    if (chip.specialMask) inService &= ~chip.imr;
    // Special fully nested mode (master): the slave's own priorities decide, so IR2 in service
    // does not block a further, higher-priority request from the slave.
    if (isMaster && chip.specialFullyNested && !chip.singleMode) inService &= ~4;
    if (rank < highestRank(chip, inService)) return (rank + chip.priorityAdd) & 7;
    return -1;
  }

  /** INTA for IR `irq`: moves it from IRR to ISR (or applies automatic EOI). */
  private intack(chip: Pic8259State, irq: number): void {
    const bit = 1 << irq;
    // A level-triggered request stays in IRR for as long as the line is high.
    if (!this.isLevel(chip, bit)) chip.irr &= ~bit;
    if (chip.autoEoi) {
      if (chip.rotateOnAutoEoi) chip.priorityAdd = (irq + 1) & 7;
    } else {
      chip.isr |= bit;
    }
  }

  private readCommand(chip: Pic8259State, isMaster: boolean): number {
    if (chip.poll) {
      // Poll command: the read acts as an interrupt acknowledge and returns 0x80 | level when a
      // request is pending.
      chip.poll = false;
      const irq = this.pendingIrq(chip, isMaster);
      if (irq < 0) return 0;
      this.intack(chip, irq);
      this.changed();
      return 0x80 | irq;
    }
    return chip.readIsr ? chip.isr : chip.irr;
  }

  private writeCommand(chip: Pic8259State, v: number): void {
    if (v & 0x10) {
      // ICW1: restart initialisation. Mask, in-service and edge-latched requests are cleared; a line
      // that is already high must go low and high again before it requests (edge-sense reset).
      chip.icw4Needed = (v & 0x01) !== 0;
      chip.singleMode = (v & 0x02) !== 0;
      chip.levelTriggeredAll = (v & 0x08) !== 0;
      chip.imr = 0;
      chip.isr = 0;
      chip.irr = this.levelBits(chip) & chip.lines;
      chip.priorityAdd = 0;
      chip.specialMask = false;
      chip.readIsr = false;
      chip.poll = false;
      chip.autoEoi = false;
      chip.rotateOnAutoEoi = false;
      chip.specialFullyNested = false;
      chip.initStep = 2;
      return;
    }
    if (v & 0x08) {
      // OCW3
      if (v & 0x04) chip.poll = true;
      if (v & 0x02) chip.readIsr = (v & 0x01) !== 0;
      if (v & 0x40) chip.specialMask = (v & 0x20) !== 0;
      return;
    }
    // OCW2: R (bit 7), SL (bit 6), EOI (bit 5), level in bits 0-2.
    const level = v & 7;
    switch (v >> 5) {
      case 0: // clear rotate in automatic EOI mode
        chip.rotateOnAutoEoi = false;
        break;
      case 4: // set rotate in automatic EOI mode
        chip.rotateOnAutoEoi = true;
        break;
      case 1: // non-specific EOI
      case 5: { // rotate on non-specific EOI
        const rank = highestRank(chip, chip.isr);
        if (rank === 8) break;
        const irq = (rank + chip.priorityAdd) & 7;
        chip.isr &= ~(1 << irq);
        if (v & 0x80) chip.priorityAdd = (irq + 1) & 7;
        break;
      }
      case 3: // specific EOI
        chip.isr &= ~(1 << level);
        break;
      case 7: // rotate on specific EOI
        chip.isr &= ~(1 << level);
        chip.priorityAdd = (level + 1) & 7;
        break;
      case 6: // set priority: `level` becomes the lowest
        chip.priorityAdd = (level + 1) & 7;
        break;
      default: // 2: no operation
        break;
    }
  }

  private writeData(chip: Pic8259State, v: number): void {
    switch (chip.initStep) {
      case 2:
        chip.vectorBase = v & 0xf8;
        chip.initStep = chip.singleMode ? (chip.icw4Needed ? 4 : 0) : 3;
        return;
      case 3:
        chip.icw3 = v;
        chip.initStep = chip.icw4Needed ? 4 : 0;
        return;
      case 4:
        // ICW4: bit 1 AEOI, bit 4 SFNM. Bit 0 (8086 mode) and the buffered-mode bits change nothing
        // a guest can observe here.
        chip.autoEoi = (v & 0x02) !== 0;
        chip.specialFullyNested = (v & 0x10) !== 0;
        chip.initStep = 0;
        return;
      default:
        chip.imr = v; // OCW1
    }
  }

  private writeElcr(chip: Pic8259State, v: number): void {
    chip.elcr = v;
    // Lines switched to level mode request exactly while high; lines switched to edge mode keep
    // whatever request they had latched.
    const level = this.levelBits(chip);
    chip.irr = (chip.irr & ~level) | (chip.lines & level);
  }

  private levelBits(chip: Pic8259State): number {
    return chip.levelTriggeredAll ? 0xff : chip.elcr;
  }
}

/**
 * One IDE channel of a PC's PIIX-style controller: the command block at `base` (0x1f0-0x1f7 primary,
 * 0x170-0x177 secondary), the device control / alternate status register at `ctrl` (0x3f6, 0x376),
 * a master and a slave place (each an AtaDrive, present or not) and one ISA interrupt line (14, 15).
 *
 * Register decoding follows QEMU 7.2, whose behaviour guests are written against:
 *  - writes to the command block reach both drives (each keeps its own copy), and are ignored while
 *    the selected drive is BSY or DRQ (except the command register); the device/head register's bit
 *    4 selects the drive;
 *  - with no drive on the channel, every register reads 0 (the status too: "no drive here"); with
 *    the slave selected and absent, status, alternate status and error read 0;
 *  - the data port answers 16- and 32-bit accesses (a byte read gives 0xff); the high-order bytes
 *    of LBA48 addresses are read with device control bit 7 (HOB), cleared by any register write;
 *  - reading the status register or writing a command lowers the interrupt; nIEN (device control
 *    bit 1) keeps new interrupts from being raised but does not lower one already raised;
 *  - SRST (device control bit 2) resets both drives at its rising edge and runs their diagnostic,
 *    which raises the interrupt unless nIEN is set. The reset completes at once (BSY is not seen).
 */
import type { AccessSize, PortDevice, StatefulDevice } from "./bus.js";
import type { PortBus } from "./port-bus.js";
import { WIDTH_ANY } from "./port-bus.js";
import { AtaDrive, ST_BSY, ST_DRQ, type AtaDriveState } from "./ata-drive.js";
import type { DiskImage } from "./disk-image.js";

export const PRIMARY_IDE = { base: 0x1f0, ctrl: 0x3f6, irq: 14 } as const;
export const SECONDARY_IDE = { base: 0x170, ctrl: 0x376, irq: 15 } as const;

const CTRL_NIEN = 0x02;
const CTRL_SRST = 0x04;
const CTRL_HOB = 0x80;

export interface IdeChannelState {
  control: number;
  unit: number;
  irqLevel: boolean;
  drives: [AtaDriveState, AtaDriveState];
}

export class IdeChannel implements PortDevice, StatefulDevice {
  readonly base: number;
  readonly ctrl: number;
  readonly drives: [AtaDrive, AtaDrive];
  /** The device control register as last written (SRST cleared once the reset is done). */
  private control = 0;
  /** The selected drive: 0 master, 1 slave. */
  private unit = 0;
  private irqLevel = false;
  private readonly setIrq: (level: boolean) => void;

  /**
   * `disks` are the master and slave media (null: no drive); `serials` their IDENTIFY serial numbers;
   * `setIrq` drives the channel's ISA interrupt line.
   */
  constructor(ports: { base: number; ctrl: number }, disks: [DiskImage | null, DiskImage | null], serials: [number, number], setIrq: (level: boolean) => void) {
    this.base = ports.base;
    this.ctrl = ports.ctrl;
    this.setIrq = setIrq;
    const raise = () => this.raiseIrq();
    this.drives = [new AtaDrive(disks[0], serials[0], raise), new AtaDrive(disks[1], serials[1], raise)];
  }

  registerOn(bus: PortBus): void {
    bus.register(this.base, 1, this, WIDTH_ANY);
    bus.register(this.base + 1, 7, this);
    bus.register(this.ctrl, 1, this);
  }

  private get anyDrive(): boolean {
    return this.drives[0].present || this.drives[1].present;
  }

  /** False when the registers read as zero: no drive at all, or the selected slave is absent. */
  private get selectedAnswers(): boolean {
    return this.anyDrive && (this.unit === 0 || this.drives[1].present);
  }

  private raiseIrq(): void {
    if ((this.control & CTRL_NIEN) !== 0) return;
    if (!this.irqLevel) {
      this.irqLevel = true;
      this.setIrq(true);
    }
  }

  private lowerIrq(): void {
    if (this.irqLevel) {
      this.irqLevel = false;
      this.setIrq(false);
    }
  }

  portRead(port: number, size: AccessSize): number {
    const s = this.drives[this.unit];
    if (port === this.ctrl) return this.selectedAnswers ? s.status : 0;
    const hob = (this.control & CTRL_HOB) !== 0;
    switch (port - this.base) {
      case 0:
        return size === 1 ? 0xff : s.readData(size);
      case 1:
        if (!this.selectedAnswers) return 0;
        return hob ? s.hobFeature : s.error;
      case 2:
        if (!this.anyDrive) return 0;
        return hob ? s.hobNsector : s.nsector & 0xff;
      case 3:
        if (!this.anyDrive) return 0;
        return hob ? s.hobSector : s.sector;
      case 4:
        if (!this.anyDrive) return 0;
        return hob ? s.hobLcyl : s.lcyl;
      case 5:
        if (!this.anyDrive) return 0;
        return hob ? s.hobHcyl : s.hcyl;
      case 6:
        return this.anyDrive ? s.select : 0;
      default: {
        const v = this.selectedAnswers ? s.status : 0;
        this.lowerIrq();
        return v;
      }
    }
  }

  portWrite(port: number, size: AccessSize, value: number): void {
    if (port === this.ctrl) {
      this.writeControl(value & 0xff);
      return;
    }
    const reg = port - this.base;
    if (reg === 0) {
      if (size !== 1) this.drives[this.unit].writeData(size, value);
      return;
    }
    const v = value & 0xff;
    const [d0, d1] = this.drives;
    if (reg !== 7 && (this.drives[this.unit].status & (ST_BSY | ST_DRQ)) !== 0) return;
    this.control &= ~CTRL_HOB;
    switch (reg) {
      case 1:
        d0.hobFeature = d0.feature; d1.hobFeature = d1.feature;
        d0.feature = d1.feature = v;
        return;
      case 2:
        d0.hobNsector = d0.nsector & 0xff; d1.hobNsector = d1.nsector & 0xff;
        d0.nsector = d1.nsector = v;
        return;
      case 3:
        d0.hobSector = d0.sector; d1.hobSector = d1.sector;
        d0.sector = d1.sector = v;
        return;
      case 4:
        d0.hobLcyl = d0.lcyl; d1.hobLcyl = d1.lcyl;
        d0.lcyl = d1.lcyl = v;
        return;
      case 5:
        d0.hobHcyl = d0.hcyl; d1.hobHcyl = d1.hcyl;
        d0.hcyl = d1.hcyl = v;
        return;
      case 6:
        d0.select = d1.select = v | 0xa0;
        this.unit = (v & 0x10) !== 0 ? 1 : 0;
        return;
      default:
        this.lowerIrq();
        // Commands to an absent slave are ignored; an absent master answers them (with ABRT).
        if (this.unit === 1 && !d1.present) return;
        this.drives[this.unit].execute(v);
    }
  }

  private writeControl(v: number): void {
    const rising = (this.control & CTRL_SRST) === 0 && (v & CTRL_SRST) !== 0;
    this.control = v;
    if (!rising) return;
    for (const d of this.drives) d.reset();
    this.raiseIrq();
    this.control &= ~CTRL_SRST;
  }

  saveState(): IdeChannelState {
    return { control: this.control, unit: this.unit, irqLevel: this.irqLevel, drives: [this.drives[0].saveState(), this.drives[1].saveState()] };
  }

  loadState(state: unknown): void {
    const s = state as IdeChannelState;
    if (typeof s !== "object" || s === null || !Array.isArray(s.drives) || s.drives.length !== 2) throw new Error("IDE channel state is malformed");
    this.control = s.control;
    this.unit = s.unit;
    this.irqLevel = s.irqLevel;
    this.drives[0].loadState(s.drives[0]);
    this.drives[1].loadState(s.drives[1]);
  }

  /**
   * The state SeaBIOS leaves before QEMU's multiboot loader runs: it reset the channel, then probed
   * the master and the slave with IDENTIFY (registers written as 0), so the slave is selected, the
   * address registers are 0, and present drives show status 0x50 with error 0.
   */
  firmwareInit(): void {
    this.control = 0;
    this.lowerIrq();
    for (const d of this.drives) {
      d.reset();
      d.feature = d.nsector = d.sector = d.lcyl = d.hcyl = 0;
      if (d.present) d.error = 0;
      d.select = 0xb0;
    }
    this.unit = 1;
  }
}

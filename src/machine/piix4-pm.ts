/**
 * The power-management function of a PIIX4 (PCI 00:01.3 on QEMU's pc machine) as a kernel's ACPI
 * code drives it, with QEMU 7.2's behaviour:
 *
 * - PM1 event block at PMBASE+0 (PMBA, config 0x40, when PMREGMISC bit 0 at config 0x80 enables it;
 *   the firmware sets 0x600): PM1_STS (write 1 to clear) and PM1_EN, 16 bits each.
 * - PM1 control at PMBASE+4: SCI_EN and SLP_TYP are stored; writing SLP_EN (bit 13) with SLP_TYP 0
 *   (soft off, the DSDT's \_S5) or 2 (S4, which QEMU also ends with a power off) powers the machine
 *   off. SLP_TYP 1 (S3 suspend) is not modelled: the write is stored and the guest runs on.
 * - PM timer at PMBASE+8: 24 bits of a 3.579545 MHz count of virtual time. TMR_STS is set each time
 *   bit 23 of the count changes (and is set at power-up, as QEMU's overflow time starts at 0);
 *   with TMR_EN it raises the SCI, which is scheduled as a device event only while enabled.
 * - GPE0 block at 0xafe0 (status, write 1 to clear; enable), 16 bits each; no event sets a GPE.
 * - APM control/status at 0xb2/0xb3: writing the FADT's ACPI enable (0xf1) or disable (0xf0) value
 *   to 0xb2 sets or clears SCI_EN, as QEMU's SMI handler does.
 * The SCI is level-triggered on ISA IRQ 9: high while (PM1_STS & PM1_EN) has a timer, global,
 * power-button or RTC bit, or GPE0 status & enable is non-zero.
 */
import type { AccessSize, PortDevice, StatefulDevice, TimedDevice } from "./bus.js";
import type { PortBus } from "./port-bus.js";
import { WIDTH_16, WIDTH_8, WIDTH_ANY } from "./port-bus.js";
import type { PciFunction } from "./pci-function.js";
import { pmTimerCount, tickOfPmCount } from "./pm-timer.js";

export const PM_BASE = 0x600;
export const PM_IO_SIZE = 0x40;
export const GPE0_BASE = 0xafe0;
export const APM_CONTROL_PORT = 0xb2;
export const APM_STATUS_PORT = 0xb3;
export const ACPI_ENABLE = 0xf1;
export const ACPI_DISABLE = 0xf0;
export const SCI_IRQ = 9;

/** Configuration registers of the PM function. */
const PMBA = 0x40;
const PMREGMISC = 0x80;

const TMR_STS = 1 << 0;
const GBL_STS = 1 << 5;
const PWRBTN_STS = 1 << 8;
const RTC_STS = 1 << 10;
const SCI_SOURCES = TMR_STS | GBL_STS | PWRBTN_STS | RTC_STS;
const TMR_EN = 1 << 0;
const SCI_EN = 1 << 0;
const SLP_EN = 1 << 13;
const SLP_TYP_SHIFT = 10;
const SLP_TYP_SOFT_OFF = 0;
const SLP_TYP_S4 = 2;
/** The timer's status bit follows bit 23 of the count. */
const TIMER_HALF_PERIOD = 0x800000;

export interface Piix4PmState {
  pm1Sts: number;
  pm1En: number;
  pm1Cnt: number;
  gpeSts: number;
  gpeEn: number;
  apmControl: number;
  apmStatus: number;
  overflowCount: number;
}

export interface Piix4PmWiring {
  now: () => number;
  setSci: (level: boolean) => void;
  powerOff: (detail: string) => void;
}

export class Piix4Pm implements PortDevice, TimedDevice, StatefulDevice {
  private pm1Sts = 0;
  private pm1En = 0;
  private pm1Cnt = 0;
  private gpeSts = 0;
  private gpeEn = 0;
  private apmControl = 0;
  private apmStatus = 0;
  /** The PM timer count at which TMR_STS is next set (0 at power-up: set at once). */
  private overflowCount = 0;
  /** Where the PM1/timer registers are mapped now, or -1. */
  private mappedBase = -1;
  private bus: PortBus | null = null;
  onRearm: () => void = () => {};

  constructor(private readonly config: PciFunction, private readonly wiring: Piix4PmWiring) {
    config.onWrite = () => this.remap();
  }

  registerOn(bus: PortBus): void {
    this.bus = bus;
    bus.register(APM_CONTROL_PORT, 2, this);
    bus.register(GPE0_BASE, 4, this, WIDTH_8 | WIDTH_16);
    this.remap();
  }

  /** The I/O base the function's configuration selects, or -1 when its PM registers are disabled. */
  private configuredBase(): number {
    if ((this.config.config[PMREGMISC] & 1) === 0) return -1;
    return this.config.word(PMBA) & 0xffc0;
  }

  /** Moves the PM1/timer registers to where PMBA says (after a configuration write or a state load). */
  remap(): void {
    const bus = this.bus;
    if (bus === null) return;
    const base = this.configuredBase();
    if (base === this.mappedBase) return;
    if (this.mappedBase >= 0) bus.unregister(this.mappedBase, 12, this);
    this.mappedBase = -1;
    // A base over another device's ports (or 0) is not decoded rather than stealing them.
    if (base > 0 && [0, 4, 8].every((o) => !bus.isMapped(base + o))) {
      bus.register(base, 8, this, WIDTH_8 | WIDTH_16);
      bus.register(base + 8, 4, this, WIDTH_ANY);
      this.mappedBase = base;
    }
  }

  private count(): number {
    return pmTimerCount(this.wiring.now());
  }

  /**
   * PM1_STS. TMR_STS is not stored: it is set exactly when the count has reached `overflowCount`, so
   * the saved state never depends on whether the guest happened to read the register.
   */
  private status(): number {
    return this.pm1Sts | (this.count() >= this.overflowCount ? TMR_STS : 0);
  }

  private updateSci(): void {
    const sts = this.status();
    this.wiring.setSci((sts & this.pm1En & SCI_SOURCES) !== 0 || (this.gpeSts & this.gpeEn) !== 0);
  }

  private register16(offset: number): number {
    switch (offset) {
      case 0: return this.status();
      case 2: return this.pm1En;
      case 4: return this.pm1Cnt;
      default: return 0;
    }
  }

  portRead(port: number, size: AccessSize): number {
    if (port === APM_CONTROL_PORT) return this.apmControl;
    if (port === APM_STATUS_PORT) return this.apmStatus;
    if (port >= GPE0_BASE && port < GPE0_BASE + 4) {
      const both = this.gpeSts | (this.gpeEn << 16);
      const v = both >>> ((port - GPE0_BASE) * 8);
      return size === 1 ? v & 0xff : v & 0xffff;
    }
    const offset = port - this.mappedBase;
    if (offset >= 8) {
      const v = (this.count() & 0xffffff) >>> ((offset - 8) * 8);
      return size === 4 ? v | 0 : v & (size === 1 ? 0xff : 0xffff);
    }
    const v = this.register16(offset & ~1) >>> ((offset & 1) * 8);
    return size === 1 ? v & 0xff : v & 0xffff;
  }

  portWrite(port: number, size: AccessSize, value: number): void {
    if (port === APM_CONTROL_PORT) {
      this.apmControl = value & 0xff;
      if (this.apmControl === ACPI_ENABLE) this.pm1Cnt |= SCI_EN;
      else if (this.apmControl === ACPI_DISABLE) this.pm1Cnt &= ~SCI_EN;
      return;
    }
    if (port === APM_STATUS_PORT) {
      this.apmStatus = value & 0xff;
      return;
    }
    if (port >= GPE0_BASE && port < GPE0_BASE + 4) {
      const shift = ((port - GPE0_BASE) & 1) * 8;
      const v = (size === 1 ? value & 0xff : value & 0xffff) << shift;
      if (port - GPE0_BASE < 2) this.gpeSts &= ~v;
      else this.gpeEn = size === 1 ? (this.gpeEn & ~(0xff << shift)) | v : v;
      this.updateSci();
      return;
    }
    const offset = port - this.mappedBase;
    if (offset >= 8) return; // the timer is read-only
    const shift = (offset & 1) * 8;
    const v = (size === 1 ? value & 0xff : value & 0xffff) << shift;
    const keep = size === 1 ? ~(0xff << shift) & 0xffff : 0;
    switch (offset & ~1) {
      case 0:
        if ((v & TMR_STS) !== 0 && this.count() >= this.overflowCount) this.overflowCount = this.nextOverflow();
        this.pm1Sts &= ~v & ~TMR_STS;
        this.onRearm();
        break;
      case 2:
        this.pm1En = (this.pm1En & keep) | v;
        this.onRearm();
        break;
      case 4: {
        const cnt = (this.pm1Cnt & keep) | v;
        this.pm1Cnt = cnt & ~SLP_EN;
        if ((cnt & SLP_EN) !== 0) this.sleep((cnt >> SLP_TYP_SHIFT) & 7);
        break;
      }
      default:
        return;
    }
    this.updateSci();
  }

  private sleep(type: number): void {
    if (type === SLP_TYP_SOFT_OFF || type === SLP_TYP_S4) {
      this.wiring.powerOff(`guest powered off through ACPI PM1a control (SLP_TYP ${type}, SLP_EN) at port 0x${(this.mappedBase + 4).toString(16)}`);
    }
  }

  /** The count at which bit 23 next changes. */
  private nextOverflow(): number {
    return (Math.floor(this.count() / TIMER_HALF_PERIOD) + 1) * TIMER_HALF_PERIOD;
  }

  nextEventTick(): number {
    if ((this.pm1En & TMR_EN) === 0) return Infinity;
    const t = tickOfPmCount(this.overflowCount);
    // Already reached: the SCI is up until the guest clears TMR_STS, so nothing more is due.
    return t <= this.wiring.now() ? Infinity : t;
  }

  advanceTo(now: number): void {
    if ((this.pm1En & TMR_EN) !== 0 && tickOfPmCount(this.overflowCount) <= now) this.updateSci();
  }

  saveState(): Piix4PmState {
    return {
      pm1Sts: this.pm1Sts, pm1En: this.pm1En, pm1Cnt: this.pm1Cnt, gpeSts: this.gpeSts, gpeEn: this.gpeEn,
      apmControl: this.apmControl, apmStatus: this.apmStatus, overflowCount: this.overflowCount,
    };
  }

  loadState(state: unknown): void {
    const s = state as Piix4PmState;
    if (typeof s !== "object" || s === null || typeof s.pm1Sts !== "number" || typeof s.overflowCount !== "number") {
      throw new Error("PIIX4 PM state is malformed");
    }
    this.pm1Sts = s.pm1Sts;
    this.pm1En = s.pm1En;
    this.pm1Cnt = s.pm1Cnt;
    this.gpeSts = s.gpeSts;
    this.gpeEn = s.gpeEn;
    this.apmControl = s.apmControl;
    this.apmStatus = s.apmStatus;
    this.overflowCount = s.overflowCount;
    this.remap();
    this.updateSci();
  }
}

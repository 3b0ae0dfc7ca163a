/**
 * The MC146818-compatible CMOS RTC and NVRAM of the PIIX-family south bridge: 256 bytes in two banks.
 * The standard bank, 128 bytes of which 0x00-0x0d are the clock and its status registers, is reached
 * through ports 0x70 (index; bit 7 disables NMI) and 0x71 (data); the extended bank, 128 more bytes of
 * plain storage, through 0x72 (index, 7 bits) and 0x73 (data), as on the PIIX4 and later chipsets. The
 * DSDT describes these four ports as the RTC's (firmware/dsdt.ts).
 *
 * The clock is deterministic: it shows 2000-01-01 00:00:00 plus the whole virtual seconds elapsed
 * (`now()` ticks / 1e9), plus whatever offset the guest introduced by setting the time. Registers
 * read in BCD or binary and in 12- or 24-hour form per status register B. The update-in-progress
 * bit of status A is never set (reads are always consistent). Setting B.SET stops updates and turns
 * the clock registers into plain storage holding the time at that moment; the guest writes the new
 * time there, and clearing SET restarts the clock from it. A single field written while the clock
 * runs moves the clock by the difference. RTC interrupts (IRQ 8:
 * periodic, alarm, update-ended) are not generated; status C reads as 0.
 *
 * NVRAM bytes describing memory follow the AT/PC convention: 0x15-0x16 base memory in KiB (640),
 * 0x17-0x18 and 0x30-0x31 extended memory above 1 MiB in KiB (at most 0xffff), 0x34-0x35 memory
 * above 16 MiB in 64 KiB units (at most 0xffff); 0x32 is the century byte; 0x2e-0x2f hold the
 * checksum of 0x10-0x2d. Every other byte is plain storage.
 */
import type { AccessSize, PortDevice, StatefulDevice } from "./bus.js";
import { TICKS_PER_SECOND } from "./bus.js";
import type { PortBus } from "./port-bus.js";
import { plainArray } from "./plain-array.js";

const REG_SECONDS = 0x00;
const REG_MINUTES = 0x02;
const REG_HOURS = 0x04;
const REG_WEEKDAY = 0x06;
const REG_DAY = 0x07;
const REG_MONTH = 0x08;
const REG_YEAR = 0x09;
const REG_A = 0x0a;
const REG_B = 0x0b;
const REG_C = 0x0c;
const REG_D = 0x0d;
const REG_CENTURY = 0x32;

const B_SET = 0x80;
const B_BINARY = 0x04;
const B_24H = 0x02;

/** Milliseconds from the Unix epoch to 2000-01-01T00:00:00Z, the clock's zero. */
const EPOCH_MS = Date.UTC(2000, 0, 1);

export interface CmosState {
  index: number;
  nmiDisabled: boolean;
  /** The standard bank's 128 bytes (the clock registers as last stored; the live time is computed). */
  bytes: number[];
  /** The extended bank's index and 128 bytes (absent in traces made before ttd had that bank). */
  extendedIndex?: number;
  extended?: number[];
  /** Seconds added to the virtual clock by guest writes. */
  offsetSeconds: number;
}

interface DateParts {
  year: number;
  month: number;
  day: number;
  hours: number;
  minutes: number;
  seconds: number;
}

function toParts(secondsSince2000: number): DateParts & { weekday: number } {
  const d = new Date(EPOCH_MS + secondsSince2000 * 1000);
  return {
    year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hours: d.getUTCHours(),
    minutes: d.getUTCMinutes(), seconds: d.getUTCSeconds(), weekday: d.getUTCDay() + 1,
  };
}

function fromParts(p: DateParts): number {
  return (Date.UTC(p.year, p.month - 1, p.day, p.hours, p.minutes, p.seconds) - EPOCH_MS) / 1000;
}

function toBcd(v: number): number {
  return ((Math.floor(v / 10) % 10) << 4) | (v % 10);
}

function fromBcd(v: number): number {
  return (v >> 4) * 10 + (v & 0xf);
}

export class Cmos implements PortDevice, StatefulDevice {
  private index = 0;
  private nmiDisabled = false;
  private bytes = new Uint8Array(128);
  private extendedIndex = 0;
  private extended = new Uint8Array(128);
  private offsetSeconds = 0;
  private readonly now: () => number;

  /** `memoryBytes` is the guest RAM size; `now` returns the current tick. */
  constructor(memoryBytes: number, now: () => number) {
    this.now = now;
    this.bytes[REG_A] = 0x26; // 32.768 kHz time base, 1.024 kHz periodic rate
    this.bytes[REG_B] = B_24H; // BCD, 24-hour
    this.bytes[REG_D] = 0x80; // valid RAM and time
    const baseKiB = 640;
    this.setWord(0x15, baseKiB);
    const extKiB = Math.min(0xffff, Math.max(0, Math.floor((memoryBytes - 0x100000) / 1024)));
    this.setWord(0x17, extKiB);
    this.setWord(0x30, extKiB);
    const above16M = Math.min(0xffff, Math.max(0, Math.floor((memoryBytes - 0x1000000) / 0x10000)));
    this.setWord(0x34, above16M);
    this.updateChecksum();
  }

  /** Maps 0x70-0x73 (byte-wide) on `bus`. */
  registerOn(bus: PortBus): void {
    bus.register(0x70, 4, this);
  }

  /** Whether the guest has disabled NMI (bit 7 of the last index write). */
  get nmiMasked(): boolean {
    return this.nmiDisabled;
  }

  portRead(port: number, _size: AccessSize): number {
    if (port === 0x71) return this.readByte(this.index);
    if (port === 0x73) return this.extended[this.extendedIndex];
    return 0xff; // the index registers are write-only
  }

  portWrite(port: number, _size: AccessSize, value: number): void {
    const v = value & 0xff;
    if (port === 0x70) {
      this.index = v & 0x7f;
      this.nmiDisabled = (v & 0x80) !== 0;
    } else if (port === 0x71) {
      this.writeByte(this.index, v);
    } else if (port === 0x72) {
      this.extendedIndex = v & 0x7f;
    } else if (port === 0x73) {
      this.extended[this.extendedIndex] = v;
    }
  }

  /** The clock's current value in seconds since 2000-01-01 00:00:00. */
  clockSeconds(): number {
    if (this.bytes[REG_B] & B_SET) return this.secondsFromRegisters();
    return this.offsetSeconds + Math.floor(this.now() / TICKS_PER_SECOND);
  }

  private readByte(index: number): number {
    switch (index) {
      case REG_SECONDS: case REG_MINUTES: case REG_HOURS: case REG_WEEKDAY: case REG_DAY: case REG_MONTH:
      case REG_YEAR: case REG_CENTURY:
        // While SET is on the clock registers are plain storage holding the time being written.
        if (this.bytes[REG_B] & B_SET) return this.bytes[index];
        return this.clockField(index, toParts(this.clockSeconds()));
      case REG_A:
        return this.bytes[REG_A] & 0x7f; // UIP never set
      case REG_C:
        return 0; // no interrupt flags: reading would clear them
      default:
        return this.bytes[index];
    }
  }

  private writeByte(index: number, v: number): void {
    switch (index) {
      case REG_SECONDS: case REG_MINUTES: case REG_HOURS: case REG_DAY: case REG_MONTH: case REG_YEAR:
      case REG_CENTURY:
        if (this.bytes[REG_B] & B_SET) this.bytes[index] = v;
        else this.setClockField(index, v);
        return;
      case REG_WEEKDAY:
        // The day of week is derived from the date; a written value is kept only while SET is on.
        this.bytes[index] = v;
        return;
      case REG_A:
        this.bytes[REG_A] = v & 0x7f;
        return;
      case REG_B: {
        const wasSet = (this.bytes[REG_B] & B_SET) !== 0;
        const set = (v & B_SET) !== 0;
        if (!wasSet && set) {
          // Updates stop: capture the running time into the registers, in the new format.
          const p = toParts(this.clockSeconds());
          this.bytes[REG_B] = v;
          for (const i of [REG_SECONDS, REG_MINUTES, REG_HOURS, REG_WEEKDAY, REG_DAY, REG_MONTH, REG_YEAR, REG_CENTURY]) {
            this.bytes[i] = this.clockField(i, p);
          }
          return;
        }
        if (wasSet && !set) {
          // Updates resume from the time the guest wrote.
          this.bytes[REG_B] = v;
          const written = this.secondsFromRegisters();
          if (Number.isFinite(written)) this.offsetSeconds = written - Math.floor(this.now() / TICKS_PER_SECOND);
          return;
        }
        this.bytes[REG_B] = v;
        return;
      }
      case REG_C: case REG_D:
        return; // read-only
      default:
        // Plain storage. The checksum covers 0x10-0x2d; a guest that changes those maintains it.
        this.bytes[index] = v;
        return;
    }
  }

  private encode(v: number): number {
    return (this.bytes[REG_B] & B_BINARY) !== 0 ? v : toBcd(v);
  }

  private decode(v: number): number {
    return (this.bytes[REG_B] & B_BINARY) !== 0 ? v : fromBcd(v);
  }

  /** Clock register `index` for the time `p`, in the format status B selects. */
  private clockField(index: number, p: DateParts & { weekday: number }): number {
    switch (index) {
      case REG_SECONDS: return this.encode(p.seconds);
      case REG_MINUTES: return this.encode(p.minutes);
      case REG_HOURS: {
        if (this.bytes[REG_B] & B_24H) return this.encode(p.hours);
        const pm = p.hours >= 12;
        const h12 = p.hours % 12 === 0 ? 12 : p.hours % 12;
        return this.encode(h12) | (pm ? 0x80 : 0);
      }
      case REG_WEEKDAY: return this.encode(p.weekday);
      case REG_DAY: return this.encode(p.day);
      case REG_MONTH: return this.encode(p.month);
      case REG_YEAR: return this.encode(p.year % 100);
      default: return this.encode(Math.floor(p.year / 100) % 100); // century
    }
  }

  private decodeHours(v: number): number {
    if (this.bytes[REG_B] & B_24H) return this.decode(v & 0x3f);
    return (this.decode(v & 0x7f) % 12) + ((v & 0x80) !== 0 ? 12 : 0);
  }

  /** The time held in the clock registers (used while and when leaving SET mode). */
  private secondsFromRegisters(): number {
    const b = this.bytes;
    return fromParts({
      year: this.decode(b[REG_CENTURY]) * 100 + this.decode(b[REG_YEAR]), month: this.decode(b[REG_MONTH]),
      day: this.decode(b[REG_DAY]), hours: this.decodeHours(b[REG_HOURS]), minutes: this.decode(b[REG_MINUTES]),
      seconds: this.decode(b[REG_SECONDS]),
    });
  }

  /** A write to one clock field while the clock runs: the clock continues from the changed time. */
  private setClockField(index: number, v: number): void {
    const current = this.clockSeconds();
    const p: DateParts = toParts(current);
    switch (index) {
      case REG_SECONDS: p.seconds = this.decode(v & 0x7f); break;
      case REG_MINUTES: p.minutes = this.decode(v & 0x7f); break;
      case REG_HOURS: p.hours = this.decodeHours(v); break;
      case REG_DAY: p.day = this.decode(v); break;
      case REG_MONTH: p.month = this.decode(v); break;
      case REG_YEAR: p.year = Math.floor(p.year / 100) * 100 + this.decode(v); break;
      default: p.year = this.decode(v) * 100 + (p.year % 100); break;
    }
    // Out-of-range fields roll over into the next unit (Date.UTC arithmetic).
    const updated = fromParts(p);
    if (Number.isFinite(updated)) this.offsetSeconds += updated - current;
  }

  private setWord(index: number, v: number): void {
    this.bytes[index] = v & 0xff;
    this.bytes[index + 1] = (v >> 8) & 0xff;
  }

  private updateChecksum(): void {
    let sum = 0;
    for (let i = 0x10; i <= 0x2d; i++) sum += this.bytes[i];
    this.bytes[0x2e] = (sum >> 8) & 0xff;
    this.bytes[0x2f] = sum & 0xff;
  }

  /**
   * Starts the clock at `date` (whole seconds, UTC) instead of 2000-01-01: an offset like the one a
   * guest's own setting makes, so the clock still moves with virtual time only.
   */
  setStart(date: Date): void {
    const seconds = Math.floor((date.getTime() - EPOCH_MS) / 1000);
    this.offsetSeconds = seconds - Math.floor(this.now() / TICKS_PER_SECOND);
  }

  saveState(): CmosState {
    return {
      index: this.index, nmiDisabled: this.nmiDisabled, bytes: plainArray(this.bytes), offsetSeconds: this.offsetSeconds,
      extendedIndex: this.extendedIndex, extended: plainArray(this.extended),
    };
  }

  loadState(state: unknown): void {
    const s = state as CmosState;
    if (typeof s !== "object" || s === null || !Array.isArray(s.bytes) || s.bytes.length !== 128) {
      throw new Error("CMOS state is malformed");
    }
    if (s.extended !== undefined && (!Array.isArray(s.extended) || s.extended.length !== 128)) {
      throw new Error("CMOS state is malformed");
    }
    this.index = s.index;
    this.nmiDisabled = s.nmiDisabled;
    this.bytes = Uint8Array.from(s.bytes);
    this.offsetSeconds = s.offsetSeconds;
    // A trace recorded before the extended bank existed: its guest never saw one, so it was all zero.
    this.extendedIndex = s.extendedIndex ?? 0;
    this.extended = s.extended === undefined ? new Uint8Array(128) : Uint8Array.from(s.extended);
  }
}

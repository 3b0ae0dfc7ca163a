/**
 * The 8254 programmable interval timer: three 16-bit down counters at ports 0x40-0x42 with the
 * control word register at 0x43, clocked at 1,193,182 Hz. Channel 0 drives IRQ 0; channel 2's gate
 * and output are wired to bits 0 and 5 of port 0x61 (NMI status and control, "port B"), which this
 * file also implements because its bits belong to the timer.
 *
 * Nothing ticks. The PIT input clock is a fixed grid on the virtual time axis: clock edge k falls at
 * the first nanosecond tick t with floor(t * 1193182 / 1e9) >= k. A counter remembers the clock edge
 * at which it started counting; its value and output at any moment are computed from the number of
 * clock edges since then, in exact integer arithmetic (no floating-point rounding reaches the guest).
 *
 * Timing conventions (the counting element is loaded at the clock edge a write happens on):
 * - mode 0 (interrupt on terminal count): OUT low from the count write, high once N clocks elapsed.
 * - mode 1 (retriggerable one-shot): OUT goes low on a gate rising edge, high N clocks later.
 * - mode 2 (rate generator): OUT low for one clock every N clocks; its rising edges fall at N, 2N, ...
 * - mode 3 (square wave): OUT high for ceil(N/2) clocks, low for floor(N/2); rising edges at N, 2N, ...
 * - modes 4 and 5 (software/hardware strobe): OUT low for the one clock at N, rising again at N + 1.
 * A count of 0 means 65536 (10000 in BCD). A new count written to a running mode 2 or 3 counter takes
 * effect at the end of the current period, as on the chip; in the other modes it restarts the count.
 */
import type { AccessSize, PortDevice, StatefulDevice, TimedDevice } from "./bus.js";
import { TICKS_PER_SECOND } from "./bus.js";
import type { PortBus } from "./port-bus.js";

/** The PIT input clock in Hz. */
export const PIT_HZ = 1_193_182;

/** The number of PIT clock edges that have occurred by tick `tick` (exact for any safe integer tick). */
export function pitClocksAt(tick: number): number {
  const seconds = Math.floor(tick / TICKS_PER_SECOND);
  const rest = tick - seconds * TICKS_PER_SECOND;
  // rest * PIT_HZ < 1.2e15 < 2^53: exact.
  return seconds * PIT_HZ + Math.floor((rest * PIT_HZ) / TICKS_PER_SECOND);
}

/** The first tick at which PIT clock edge `clock` has occurred (inverse of pitClocksAt). */
export function pitTickOfClock(clock: number): number {
  const seconds = Math.floor(clock / PIT_HZ);
  const rest = clock - seconds * PIT_HZ;
  return seconds * TICKS_PER_SECOND + Math.ceil((rest * TICKS_PER_SECOND) / PIT_HZ);
}

/** Access modes from control word bits 5-4. */
const RW_LATCH = 0;
const RW_LSB = 1;
const RW_MSB = 2;
const RW_WORD = 3;

/** One counter's state, as plain data. */
export interface PitChannelState {
  mode: number;
  rw: number;
  bcd: boolean;
  /** The count N in effect (1..65536, or 1..10000 in BCD). */
  count: number;
  /** A count loaded while a mode 2/3 counter runs, applied at `pendingAt`; 0 when none. */
  pendingCount: number;
  pendingAt: number;
  /** A count has been written since the control word (the counter is armed). */
  armed: boolean;
  /** For modes 0/4: clocks counted before the current run segment (counting pauses while the gate is low). */
  counted: number;
  /** The clock edge at which the current run segment started, or -1 when not counting. */
  runStart: number;
  /** Modes 1/5: a gate rising edge has triggered the counter. */
  triggered: boolean;
  gate: boolean;
  /** The clock of the last count load, for the status byte's null-count flag. */
  loadClock: number;
  /** The low byte of a two-byte count write, waiting for its high byte; -1 when none. */
  writeLow: number;
  /** Next read of a two-byte value returns the high byte. */
  readHigh: boolean;
  /** Latched counter value (from a latch or read-back command), or -1. */
  latched: number;
  /** The latched value's high byte is the next to read (word access mode). */
  latchedHigh: boolean;
  /** Latched status byte, or -1. */
  status: number;
}

export interface PitState {
  channels: PitChannelState[];
  /** Port 0x61 bits 1-3 as written (speaker data, parity check enables). */
  portB: number;
  /** The last tick the device was brought up to. */
  lastTick: number;
  /** The output level of channel 0 last reported on IRQ 0. */
  irqLevel: boolean;
}

function freshChannel(gate: boolean): PitChannelState {
  return {
    mode: 0, rw: RW_WORD, bcd: false, count: 0x10000, pendingCount: 0, pendingAt: 0, armed: false, counted: 0,
    runStart: -1, triggered: false, gate, loadClock: -1, writeLow: -1, readHigh: false, latched: -1,
    latchedHigh: false, status: -1,
  };
}

function fromBcd(v: number): number {
  return ((v >> 12) & 0xf) * 1000 + ((v >> 8) & 0xf) * 100 + ((v >> 4) & 0xf) * 10 + (v & 0xf);
}

function toBcd(v: number): number {
  return ((Math.floor(v / 1000) % 10) << 12) | ((Math.floor(v / 100) % 10) << 8) | ((Math.floor(v / 10) % 10) << 4) | (v % 10);
}

export class Pit implements PortDevice, TimedDevice, StatefulDevice {
  private channels: PitChannelState[] = [freshChannel(true), freshChannel(true), freshChannel(false)];
  private portB = 0;
  private lastTick = 0;
  private irqLevel = false;
  private readonly now: () => number;
  private readonly irq0: (level: boolean) => void;
  onRearm: () => void = () => {};

  /**
   * `now` returns the current tick (for port accesses); `irq0` receives channel 0's output level
   * whenever it changes (a rising edge is always reported as a low level followed by a high level).
   */
  constructor(now: () => number, irq0: (level: boolean) => void) {
    this.now = now;
    this.irq0 = irq0;
    this.irqLevel = this.output(0, 0);
  }

  /** Maps 0x40-0x43 and 0x61 (byte-wide) on `bus`. */
  registerOn(bus: PortBus): void {
    bus.register(0x40, 4, this);
    bus.register(0x61, 1, this);
  }

  /** Programs channel 0 as PC firmware does (mode 2, count 65536: 18.2 Hz). */
  firmwareInit(): void {
    this.portWrite(0x43, 1, 0x34);
    this.portWrite(0x40, 1, 0);
    this.portWrite(0x40, 1, 0);
  }

  // ---- TimedDevice --------------------------------------------------------------------------------

  nextEventTick(): number {
    const from = pitClocksAt(this.lastTick);
    const edge = this.nextRisingEdge(0, from);
    return edge < 0 ? Infinity : pitTickOfClock(edge);
  }

  advanceTo(now: number): void {
    if (now <= this.lastTick) return;
    const fromClock = pitClocksAt(this.lastTick);
    const toClock = pitClocksAt(now);
    this.lastTick = now;
    if (toClock === fromClock) return;
    // Find the edge before applying a pending reload: the reload point is itself a rising edge.
    const edge = this.nextRisingEdge(0, fromClock);
    this.settle(0, toClock);
    this.settle(2, toClock);
    const level = this.output(0, toClock);
    if (edge >= 0 && edge <= toClock) {
      // At least one rising edge since the last report: show it to the PIC as low-then-high, then
      // leave the line at its present level.
      if (this.irqLevel) this.irq0(false);
      this.irq0(true);
      this.irqLevel = true;
      if (!level) {
        this.irq0(false);
        this.irqLevel = false;
      }
    } else if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.irq0(level);
    }
  }

  // ---- Ports --------------------------------------------------------------------------------------

  portRead(port: number, _size: AccessSize): number {
    this.advanceTo(this.now());
    const clock = pitClocksAt(this.lastTick);
    if (port === 0x61) {
      // Bit 4 toggles with DRAM refresh (every 15.085 us on a PC); bit 5 is channel 2's output.
      const refresh = Math.floor(this.lastTick / 15_085) & 1;
      return (this.channels[2].gate ? 1 : 0) | this.portB | (refresh << 4) | (this.output(2, clock) ? 0x20 : 0);
    }
    if (port < 0x40 || port > 0x42) return 0xff;
    const ch = this.channels[port - 0x40];
    if (ch.status >= 0) {
      const s = ch.status;
      ch.status = -1;
      return s;
    }
    if (ch.latched >= 0) {
      const v = ch.latched;
      if (ch.rw === RW_WORD && !ch.latchedHigh) {
        ch.latchedHigh = true;
        return v & 0xff;
      }
      ch.latched = -1;
      ch.latchedHigh = false;
      return ch.rw === RW_LSB ? v & 0xff : (v >> 8) & 0xff;
    }
    const v = this.counterValue(ch, clock);
    if (ch.rw === RW_LSB) return v & 0xff;
    if (ch.rw === RW_MSB) return (v >> 8) & 0xff;
    ch.readHigh = !ch.readHigh;
    return ch.readHigh ? v & 0xff : (v >> 8) & 0xff;
  }

  portWrite(port: number, _size: AccessSize, value: number): void {
    this.advanceTo(this.now());
    const clock = pitClocksAt(this.lastTick);
    const v = value & 0xff;
    if (port === 0x61) {
      this.portB = v & 0x0e;
      this.setGate(2, (v & 1) !== 0, clock);
    } else if (port === 0x43) {
      this.writeControl(v, clock);
      this.onRearm();
    } else if (port >= 0x40 && port <= 0x42) {
      this.writeCount(port - 0x40, v, clock);
      if (port === 0x40) this.onRearm();
    } else {
      return;
    }
    this.reportLevel(clock);
  }

  // ---- State --------------------------------------------------------------------------------------

  saveState(): PitState {
    return { channels: this.channels.map((c) => ({ ...c })), portB: this.portB, lastTick: this.lastTick, irqLevel: this.irqLevel };
  }

  loadState(state: unknown): void {
    const s = state as PitState;
    if (typeof s !== "object" || s === null || !Array.isArray(s.channels) || s.channels.length !== 3) {
      throw new Error("PIT state is not an object with three channels");
    }
    this.channels = s.channels.map((c, i) => ({ ...freshChannel(i !== 2), ...c }));
    this.portB = s.portB;
    this.lastTick = s.lastTick;
    // The PIC's saved state holds its own copy of the line level, so nothing is re-sent here.
    this.irqLevel = s.irqLevel;
  }

  // ---- Counter model ------------------------------------------------------------------------------

  private modulus(ch: PitChannelState): number {
    return ch.bcd ? 10000 : 0x10000;
  }

  /** Applies a pending mode 2/3 reload whose time has come. */
  private settle(index: number, clock: number): void {
    const ch = this.channels[index];
    if (ch.pendingCount !== 0 && clock >= ch.pendingAt) {
      ch.count = ch.pendingCount;
      ch.runStart = ch.pendingAt;
      ch.pendingCount = 0;
    }
  }

  /** Clocks counted by modes 0/1/4/5 as of `clock`. */
  private elapsed(ch: PitChannelState, clock: number): number {
    return ch.counted + (ch.runStart >= 0 ? clock - ch.runStart : 0);
  }

  /** Whether the counter is running in the sense that its output follows the count. */
  private running(ch: PitChannelState): boolean {
    if (!ch.armed) return false;
    if (ch.mode === 1 || ch.mode === 5) return ch.triggered;
    return true;
  }

  /** OUT of channel `index` at clock `clock` (pending reloads at or before `clock` already applied). */
  private output(index: number, clock: number): boolean {
    const ch = this.channels[index];
    if (ch.pendingCount !== 0 && clock >= ch.pendingAt) this.settle(index, clock);
    // Idle: after a control word OUT is low in mode 0 and high in every other mode; an untriggered
    // one-shot (modes 1, 5) also rests high.
    if (!this.running(ch)) return ch.mode !== 0;
    const n = ch.count;
    switch (ch.mode) {
      case 0:
        return this.elapsed(ch, clock) >= n;
      case 1:
        return this.elapsed(ch, clock) >= n;
      case 2: {
        if (ch.runStart < 0) return true; // gate low forces OUT high
        const d = clock - ch.runStart;
        return d === 0 || d % n !== n - 1 || n === 1;
      }
      case 3: {
        if (ch.runStart < 0) return true;
        const d = clock - ch.runStart;
        return d % n < (n + 1) >> 1;
      }
      default: // 4, 5
        return this.elapsed(ch, clock) !== n;
    }
  }

  /** The counting element's value at `clock`, in the counter's number format. */
  private counterValue(ch: PitChannelState, clock: number): number {
    let v: number;
    const n = ch.count;
    const mod = this.modulus(ch);
    if (!ch.armed || ((ch.mode === 1 || ch.mode === 5) && !ch.triggered)) {
      v = n % mod;
    } else if (ch.mode === 2 || ch.mode === 3) {
      if (ch.runStart < 0) {
        v = n % mod;
      } else {
        const d = clock - ch.runStart;
        // Mode 3 counts down by two each clock through both half periods.
        v = ch.mode === 2 ? n - (d % n) : n - ((2 * d) % n);
        v %= mod;
      }
    } else {
      const d = this.elapsed(ch, clock);
      v = (((n - d) % mod) + mod) % mod;
    }
    return ch.bcd ? toBcd(v) : v;
  }

  /**
   * The first clock edge after `after` at which OUT of channel `index` rises, or -1 if it never does
   * without further guest action.
   */
  private nextRisingEdge(index: number, after: number): number {
    const ch = this.channels[index];
    if (!this.running(ch)) return -1;
    const n = ch.count;
    switch (ch.mode) {
      case 0:
      case 1: {
        if (ch.runStart < 0) return -1;
        const at = ch.runStart + (n - ch.counted);
        return at > after ? at : -1;
      }
      case 4:
      case 5: {
        if (ch.runStart < 0) return -1;
        const at = ch.runStart + (n + 1 - ch.counted);
        return at > after ? at : -1;
      }
      default: {
        // Modes 2 and 3: rising edges at runStart + k*N (k >= 1), with a pending count switching
        // the period at pendingAt (itself the end of a period, so a rising edge).
        if (ch.runStart < 0) return -1;
        if (ch.pendingCount !== 0 && after < ch.pendingAt) {
          const k = Math.floor((after - ch.runStart) / n) + 1;
          const at = ch.runStart + k * n;
          return at < ch.pendingAt ? at : ch.pendingAt;
        }
        const start = ch.pendingCount !== 0 ? ch.pendingAt : ch.runStart;
        const period = ch.pendingCount !== 0 ? ch.pendingCount : n;
        if (after < start) return start + period;
        const k = Math.floor((after - start) / period) + 1;
        return start + k * period;
      }
    }
  }

  private reportLevel(clock: number): void {
    const level = this.output(0, clock);
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.irq0(level);
    }
  }

  private writeControl(v: number, clock: number): void {
    const sc = v >> 6;
    if (sc === 3) {
      this.readBack(v, clock);
      return;
    }
    const ch = this.channels[sc];
    const rw = (v >> 4) & 3;
    if (rw === RW_LATCH) {
      this.settle(sc, clock);
      if (ch.latched < 0) {
        ch.latched = this.counterValue(ch, clock);
        ch.latchedHigh = false;
      }
      return;
    }
    let mode = (v >> 1) & 7;
    if (mode > 5) mode -= 4; // 6 and 7 are aliases of 2 and 3
    ch.mode = mode;
    ch.rw = rw;
    ch.bcd = (v & 1) !== 0;
    ch.armed = false;
    ch.triggered = false;
    ch.pendingCount = 0;
    ch.counted = 0;
    ch.runStart = -1;
    ch.writeLow = -1;
    ch.readHigh = false;
    ch.latched = -1;
    ch.latchedHigh = false;
    ch.status = -1;
    ch.loadClock = clock;
  }

  private readBack(v: number, clock: number): void {
    for (let i = 0; i < 3; i++) {
      if ((v & (2 << i)) === 0) continue;
      const ch = this.channels[i];
      this.settle(i, clock);
      if ((v & 0x10) === 0 && ch.status < 0) {
        const nullCount = !ch.armed || ch.loadClock >= clock || ch.pendingCount !== 0;
        ch.status = (this.output(i, clock) ? 0x80 : 0) | (nullCount ? 0x40 : 0) | (ch.rw << 4) | (ch.mode << 1) | (ch.bcd ? 1 : 0);
      }
      if ((v & 0x20) === 0 && ch.latched < 0) {
        ch.latched = this.counterValue(ch, clock);
        ch.latchedHigh = false;
      }
    }
  }

  private writeCount(index: number, v: number, clock: number): void {
    const ch = this.channels[index];
    let raw: number;
    if (ch.rw === RW_LSB) raw = v;
    else if (ch.rw === RW_MSB) raw = v << 8;
    else if (ch.writeLow < 0) {
      ch.writeLow = v;
      if (ch.mode === 0) {
        // Writing the first byte of a mode 0 count stops the counter and drives OUT low until the
        // second byte arrives (the counter then shows the previous count).
        ch.armed = true;
        ch.runStart = -1;
        ch.counted = 0;
      }
      return;
    } else {
      raw = ch.writeLow | (v << 8);
      ch.writeLow = -1;
    }
    this.settle(index, clock);
    let n = ch.bcd ? fromBcd(raw) : raw;
    if (n === 0) n = this.modulus(ch);
    ch.loadClock = clock;
    if ((ch.mode === 2 || ch.mode === 3) && ch.armed && ch.runStart >= 0) {
      // A running rate generator or square wave picks the new count up at the end of its period.
      const d = clock - ch.runStart;
      ch.pendingAt = ch.runStart + (Math.floor(d / ch.count) + 1) * ch.count;
      ch.pendingCount = n;
      return;
    }
    ch.count = n;
    ch.armed = true;
    ch.counted = 0;
    ch.pendingCount = 0;
    if (ch.mode === 1 || ch.mode === 5) {
      // Hardware-triggered modes wait for a gate rising edge.
      return;
    }
    ch.runStart = ch.gate ? clock : -1;
  }

  private setGate(index: number, gate: boolean, clock: number): void {
    const ch = this.channels[index];
    if (gate === ch.gate) return;
    this.settle(index, clock);
    ch.gate = gate;
    if (!ch.armed) return;
    switch (ch.mode) {
      case 0:
      case 4:
        // The gate pauses and resumes counting (not while a two-byte count is half written).
        if (gate) {
          if (ch.writeLow < 0) ch.runStart = clock;
        }
        else {
          ch.counted = this.elapsed(ch, clock);
          ch.runStart = -1;
        }
        break;
      case 1:
      case 5:
        // A rising edge (re)triggers: the count restarts from N.
        if (gate) {
          ch.triggered = true;
          ch.counted = 0;
          ch.runStart = clock;
        }
        break;
      default:
        // Modes 2/3: gate low forces OUT high and stops; a rising edge reloads and restarts.
        if (ch.pendingCount !== 0) {
          ch.count = ch.pendingCount;
          ch.pendingCount = 0;
        }
        ch.runStart = gate ? clock : -1;
        break;
    }
  }
}

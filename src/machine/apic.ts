/**
 * The local APIC of a single i386 processor (P6/Pentium 4 style xAPIC), memory-mapped at physical
 * 0xfee00000: ID, version, TPR, PPR, EOI, LDR, DFR, spurious-interrupt vector register, ISR/TMR/IRR
 * (256 bits each), ESR, ICR (self-IPIs only), the LVT (timer, thermal, performance counter, LINT0,
 * LINT1, error) and the timer's initial count, current count and divide configuration.
 *
 * Time: the timer's bus clock runs at one cycle per tick (1 GHz, as QEMU's APIC), divided per the
 * divide configuration register. The current count is computed from the ticks elapsed since the
 * counter was (re)based, never by counting down step by step. Counting from N to 0 takes N divided
 * cycles; in periodic mode the count then reloads, so interrupts fall every N cycles.
 *
 * Interrupts: fixed-mode interrupts (the timer, the error LVT, self-IPIs, the I/O APIC through
 * `acceptVector`, level-triggered ones also setting TMR) enter IRR. The EOI of a vector whose TMR bit
 * is set is broadcast to the I/O APIC (`onLevelEoi`), which clears that pin's remote IRR.
 * One is offered to the CPU when the APIC is enabled and the priority class of the highest IRR vector
 * beats the processor priority (the higher of TPR and the highest in-service vector's class).
 * LINT0 is wired to the 8259A's INTR output as on every PC: with LINT0 programmed to ExtINT and
 * unmasked (virtual wire mode), or with the APIC disabled in IA32_APIC_BASE, the PIC's requests pass
 * through to the CPU; they bypass IRR/ISR and the priority scheme, and are offered only when the APIC
 * itself has nothing deliverable (QEMU's ordering).
 *
 * Software disable (SVR bit 8 clear): every LVT mask bit is set and stays set, nothing is offered
 * from IRR (which keeps its contents), and the timer keeps counting. Hardware disable (bit 11 of
 * IA32_APIC_BASE clear): the register page no longer decodes (reads as all ones, writes are dropped)
 * and the APIC returns to its power-up state, which it keeps when re-enabled. Moving the base is not
 * supported: the registers stay at 0xfee00000 whatever the MSR says.
 */
import type { AccessSize, InterruptSource, MmioDevice, StatefulDevice, TimedDevice } from "./bus.js";
import { plainArray } from "./plain-array.js";

export const APIC_DEFAULT_BASE = 0xfee00000;
/** Size of the register page. */
export const APIC_MMIO_SIZE = 0x1000;
/** Version register: version 0x14 (integrated APIC), max LVT entry 5 (six entries). */
export const APIC_VERSION = 0x00050014;

/** IA32_APIC_BASE bits. */
const MSR_BSP = 1 << 8;
const MSR_ENABLE = 1 << 11;

const SVR_ENABLE = 1 << 8;
const LVT_MASKED = 1 << 16;
const LVT_PERIODIC = 1 << 17;
/** ICR bit 12: the IPI has not been accepted yet (never seen here: delivery is immediate). */
const ICR_DELIVERY_PENDING = 1 << 12;

/** LVT indices (register offset 0x320 + 0x10 * index). */
const LVT_TIMER = 0;
const LVT_LINT0 = 3;
const LVT_LINT1 = 4;
const LVT_ERROR = 5;
/** Writable bits of each LVT entry (vector, delivery mode, polarity, trigger, mask, timer mode). */
const LVT_WRITABLE = [
  0x000200ff | LVT_MASKED, // timer: vector, mask, periodic
  0x000107ff, // thermal: vector, delivery mode, mask
  0x000107ff, // performance counter
  0x0001a7ff, // LINT0: vector, delivery mode, polarity, trigger mode, mask
  0x0001a7ff, // LINT1
  0x000100ff, // error: vector, mask
] as const;

/** Delivery mode ExtINT in LVT bits 8-10. */
const DM_EXTINT = 7;

/** ESR bits. */
const ESR_SEND_ILLEGAL_VECTOR = 1 << 5;
const ESR_RECEIVE_ILLEGAL_VECTOR = 1 << 6;
const ESR_ILLEGAL_REGISTER = 1 << 7;

export interface LocalApicState {
  baseMsr: number;
  id: number;
  tpr: number;
  ldr: number;
  dfr: number;
  svr: number;
  irr: number[];
  isr: number[];
  tmr: number[];
  esr: number;
  /** Errors detected since the last ESR write. */
  esrPending: number;
  icrLow: number;
  icrHigh: number;
  lvt: number[];
  divideConfig: number;
  initialCount: number;
  /** Timer: the tick at which the count was `timerBaseCount`, and whether it is counting. */
  timerBaseTick: number;
  timerBaseCount: number;
  timerRunning: boolean;
  lastTick: number;
}

/** Divisor selected by the divide configuration register (bits 0, 1, 3). */
function divisorOf(dcr: number): number {
  const code = (dcr & 3) | ((dcr >> 1) & 4);
  return code === 7 ? 1 : 2 << code;
}

/** The highest set bit of a 256-bit register held as eight 32-bit words, or -1. */
function highestVector(reg: Int32Array): number {
  for (let w = 7; w >= 0; w--) {
    const v = reg[w];
    if (v !== 0) return w * 32 + 31 - Math.clz32(v);
  }
  return -1;
}

function setBit(reg: Int32Array, vector: number): void {
  reg[vector >> 5] |= 1 << (vector & 31);
}

function clearBit(reg: Int32Array, vector: number): void {
  reg[vector >> 5] &= ~(1 << (vector & 31));
}

export class LocalApic implements MmioDevice, InterruptSource, TimedDevice, StatefulDevice {
  private baseMsr = APIC_DEFAULT_BASE | MSR_BSP | MSR_ENABLE;
  private id = 0;
  private tpr = 0;
  private ldr = 0;
  private dfr = -1;
  private svr = 0xff;
  private readonly irr = new Int32Array(8);
  private readonly isr = new Int32Array(8);
  private readonly tmr = new Int32Array(8);
  private esr = 0;
  private esrPending = 0;
  private icrLow = 0;
  private icrHigh = 0;
  private readonly lvt = new Int32Array(6);
  private divideConfig = 0;
  private initialCount = 0;
  private timerBaseTick = 0;
  private timerBaseCount = 0;
  private timerRunning = false;
  private lastTick = 0;
  private extInt: InterruptSource | null = null;
  /** Receives the vector of each EOI that ends a level-triggered interrupt (the EOI broadcast to I/O APICs). */
  onLevelEoi: ((vector: number) => void) | null = null;
  onRearm: () => void = () => {};
  private readonly now: () => number;
  private readonly onChange: () => void;

  /**
   * `now` returns the current tick (used on register accesses); `onChange` is called whenever
   * `hasInterrupt()` may have changed.
   */
  constructor(now: () => number, onChange: () => void) {
    this.now = now;
    this.onChange = onChange;
    this.powerUpRegisters();
  }

  /** Wires LINT0 to an ExtINT source (the 8259A pair's INTR output). */
  connectLint0(source: InterruptSource | null): void {
    this.extInt = source;
    this.onChange();
  }

  /**
   * Programs the APIC as PC firmware leaves it for an operating system: software-enabled with
   * spurious vector 0xff, LINT0 in ExtINT mode (virtual wire: the PIC's interrupts reach the CPU),
   * LINT1 delivering NMI.
   */
  firmwareInit(): void {
    this.syncTime();
    this.svr = SVR_ENABLE | 0xff;
    this.lvt[LVT_LINT0] = DM_EXTINT << 8;
    this.lvt[LVT_LINT1] = 4 << 8;
    this.onChange();
  }

  // ---- IA32_APIC_BASE ------------------------------------------------------------------------------

  /** The value RDMSR returns for IA32_APIC_BASE. */
  readBaseMsr(): number {
    return this.baseMsr >>> 0;
  }

  /** WRMSR to IA32_APIC_BASE: bit 11 enables or disables the APIC; the base field is recorded only. */
  writeBaseMsr(value: number): void {
    this.syncTime();
    const wasEnabled = (this.baseMsr & MSR_ENABLE) !== 0;
    this.baseMsr = (value & (0xfffff000 | MSR_ENABLE)) | (this.baseMsr & MSR_BSP);
    const enabled = (this.baseMsr & MSR_ENABLE) !== 0;
    if (wasEnabled && !enabled) this.powerUpRegisters();
    this.onChange();
  }

  /** True when IA32_APIC_BASE bit 11 is set. */
  get hardwareEnabled(): boolean {
    return (this.baseMsr & MSR_ENABLE) !== 0;
  }

  /** True when the APIC is hardware-enabled and SVR bit 8 is set. */
  get softwareEnabled(): boolean {
    return this.hardwareEnabled && (this.svr & SVR_ENABLE) !== 0;
  }

  // ---- Interrupt acceptance ----------------------------------------------------------------------

  /**
   * Accepts a fixed-mode interrupt with `vector` into IRR (e.g. from an I/O APIC or a test).
   * `level` records level-triggered mode in TMR. Vectors 0-15 are illegal: they set ESR bit 6.
   */
  acceptVector(vector: number, level = false): void {
    this.syncTime();
    this.accept(vector & 0xff, level);
    this.onChange();
  }

  /**
   * True when an interrupt message for `dest` selects this APIC: in physical mode its APIC ID or the
   * broadcast 0xff; in logical mode a bit shared with the LDR (flat model) or the LDR's cluster and a
   * shared member bit (cluster model). A hardware-disabled APIC accepts nothing.
   */
  matchesDestination(dest: number, logical: boolean): boolean {
    if (!this.hardwareEnabled) return false;
    if (!logical) return dest === 0xff || dest === this.id >>> 24;
    const ldr = this.ldr >>> 24;
    if (this.dfr >>> 28 === 0xf) return (dest & ldr) !== 0;
    return dest >>> 4 === ldr >>> 4 && (dest & ldr & 0xf) !== 0;
  }

  /** Processor priority: the higher of TPR and the highest in-service vector's class. */
  processorPriority(): number {
    const isrv = highestVector(this.isr);
    const isrClass = isrv < 0 ? 0 : isrv & 0xf0;
    return (this.tpr & 0xf0) >= isrClass ? this.tpr & 0xff : isrClass;
  }

  /** The highest IRR vector that beats the processor priority, or -1. */
  private deliverableVector(): number {
    if (!this.softwareEnabled) return -1;
    const v = highestVector(this.irr);
    if (v < 0 || (v & 0xf0) <= (this.processorPriority() & 0xf0)) return -1;
    return v;
  }

  /** True when the 8259A's INTR output reaches the CPU through LINT0 (or around a disabled APIC). */
  acceptsPicInterrupts(): boolean {
    if (!this.hardwareEnabled) return true;
    const lint0 = this.lvt[LVT_LINT0];
    return (lint0 & LVT_MASKED) === 0 && ((lint0 >> 8) & 7) === DM_EXTINT;
  }

  hasInterrupt(): boolean {
    if (this.deliverableVector() >= 0) return true;
    return this.extInt !== null && this.acceptsPicInterrupts() && this.extInt.hasInterrupt();
  }

  acknowledge(): number {
    const v = this.deliverableVector();
    if (v >= 0) {
      clearBit(this.irr, v);
      setBit(this.isr, v);
      this.onChange();
      return v;
    }
    if (this.extInt !== null && this.acceptsPicInterrupts() && this.extInt.hasInterrupt()) {
      return this.extInt.acknowledge();
    }
    // The request went away between INTR and INTA: the APIC answers with its spurious vector and
    // sets no ISR bit.
    return this.svr & 0xff;
  }

  // ---- TimedDevice --------------------------------------------------------------------------------

  nextEventTick(): number {
    if (!this.timerRunning) return Infinity;
    // While the timer LVT is masked an expiry changes nothing the guest can see at that moment (the
    // current count is computed from time), so no event is scheduled for it.
    if ((this.lvt[LVT_TIMER] & LVT_MASKED) !== 0) return Infinity;
    return this.expiryAfter(this.lastTick);
  }

  advanceTo(now: number): void {
    if (now <= this.lastTick) return;
    const from = this.lastTick;
    this.lastTick = now;
    if (!this.timerRunning) return;
    const first = this.expiryAfter(from);
    if (first > now) return;
    const lvt = this.lvt[LVT_TIMER];
    if ((lvt & LVT_PERIODIC) === 0) {
      this.timerRunning = false;
    } else {
      // Rebase at the last expiry at or before `now`, so later arithmetic stays small.
      const period = this.initialCount * divisorOf(this.divideConfig);
      const last = first + Math.floor((now - first) / period) * period;
      this.timerBaseTick = last;
      this.timerBaseCount = this.initialCount;
    }
    if ((lvt & LVT_MASKED) === 0) {
      // One edge-triggered interrupt however many periods passed: IRR holds one request per vector.
      this.accept(lvt & 0xff, false);
      this.onChange();
    }
  }

  /** The tick of the first timer expiry strictly after `after` (Infinity when not running). */
  private expiryAfter(after: number): number {
    if (!this.timerRunning) return Infinity;
    const div = divisorOf(this.divideConfig);
    const first = this.timerBaseTick + this.timerBaseCount * div;
    if (first > after) return first;
    if ((this.lvt[LVT_TIMER] & LVT_PERIODIC) === 0) return Infinity;
    const period = this.initialCount * div;
    return first + (Math.floor((after - first) / period) + 1) * period;
  }

  /** The current count register at `tick`. */
  private currentCount(tick: number): number {
    if (!this.timerRunning) return 0;
    const d = Math.floor((tick - this.timerBaseTick) / divisorOf(this.divideConfig));
    if (d < this.timerBaseCount) return this.timerBaseCount - d;
    if ((this.lvt[LVT_TIMER] & LVT_PERIODIC) === 0) return 0;
    return this.initialCount - ((d - this.timerBaseCount) % this.initialCount);
  }

  /** Re-expresses the running timer as (now, current count), e.g. before its divisor or mode changes. */
  private rebaseTimer(tick: number): void {
    if (!this.timerRunning) return;
    const count = this.currentCount(tick);
    if (count === 0) {
      this.timerRunning = false;
      return;
    }
    this.timerBaseTick = tick;
    this.timerBaseCount = count;
  }

  // ---- MMIO ---------------------------------------------------------------------------------------

  mmioRead(physAddr: number, size: AccessSize): number {
    if (!this.hardwareEnabled) return size === 1 ? 0xff : size === 2 ? 0xffff : -1;
    this.syncTime();
    const offset = (physAddr >>> 0) & 0xfff;
    // Registers are 32 bits wide at 16-byte strides; narrower reads see the addressed bytes and the
    // bytes 4-15 of each slot read as zero.
    if ((offset & 0xc) !== 0) return 0;
    const value = this.readRegister(offset & 0xff0);
    const shift = (offset & 3) * 8;
    if (size === 4) return shift === 0 ? value | 0 : (value >>> shift) | 0;
    return (value >>> shift) & (size === 1 ? 0xff : 0xffff);
  }

  mmioWrite(physAddr: number, _size: AccessSize, value: number): void {
    if (!this.hardwareEnabled) return;
    const offset = (physAddr >>> 0) & 0xfff;
    // Only accesses to the first dword of a 16-byte slot reach a register; a narrower write stores
    // its value zero-extended.
    if ((offset & 0xf) !== 0) return;
    this.syncTime();
    this.writeRegister(offset, value | 0);
    this.onChange();
  }

  private syncTime(): void {
    this.advanceTo(this.now());
  }

  private readRegister(reg: number): number {
    switch (reg) {
      case 0x020: return this.id;
      case 0x030: return APIC_VERSION;
      case 0x080: return this.tpr;
      case 0x090: return this.processorPriority(); // APR: no other agents arbitrate here
      case 0x0a0: return this.processorPriority();
      case 0x0b0: return 0; // EOI is write-only
      case 0x0d0: return this.ldr;
      case 0x0e0: return this.dfr;
      case 0x0f0: return this.svr;
      case 0x280: return this.esr;
      case 0x300: return this.icrLow & ~ICR_DELIVERY_PENDING;
      case 0x310: return this.icrHigh;
      case 0x380: return this.initialCount;
      case 0x390: return this.currentCount(this.lastTick);
      case 0x3e0: return this.divideConfig;
      default:
        if (reg >= 0x100 && reg < 0x180) return this.isr[(reg - 0x100) >> 4];
        if (reg >= 0x180 && reg < 0x200) return this.tmr[(reg - 0x180) >> 4];
        if (reg >= 0x200 && reg < 0x280) return this.irr[(reg - 0x200) >> 4];
        // LVT delivery-status bits never read as pending: an interrupt reaches IRR the moment it fires.
        if (reg >= 0x320 && reg <= 0x370) return this.lvt[(reg - 0x320) >> 4];
        return 0;
    }
  }

  private writeRegister(reg: number, value: number): void {
    switch (reg) {
      case 0x020: this.id = value & 0xff000000; return;
      case 0x080: this.tpr = value & 0xff; return;
      case 0x0b0: this.endOfInterrupt(); return;
      case 0x0d0: this.ldr = value & 0xff000000; return;
      case 0x0e0: this.dfr = value | 0x0fffffff; return;
      case 0x0f0: this.writeSvr(value); return;
      case 0x280: this.esr = this.esrPending; this.esrPending = 0; return;
      case 0x300: this.writeIcr(value); return;
      case 0x310: this.icrHigh = value & 0xff000000; return;
      case 0x380: this.writeInitialCount(value >>> 0); return;
      case 0x3e0: this.writeDivide(value & 0xb); return;
      case 0x030: case 0x090: case 0x0a0: case 0x390:
        return; // read-only
      default:
        if (reg >= 0x320 && reg <= 0x370) {
          this.writeLvt((reg - 0x320) >> 4, value);
          return;
        }
        if (reg >= 0x100 && reg < 0x280) return; // ISR, TMR, IRR are read-only
        this.signalError(ESR_ILLEGAL_REGISTER);
    }
  }

  private endOfInterrupt(): void {
    const v = highestVector(this.isr);
    if (v < 0) return;
    clearBit(this.isr, v);
    // Ending a level-triggered interrupt is broadcast to the I/O APIC, which clears its remote IRR.
    if ((this.tmr[v >> 5] & (1 << (v & 31))) !== 0 && this.onLevelEoi !== null) this.onLevelEoi(v);
  }

  private writeSvr(value: number): void {
    this.svr = value & 0x3ff;
    if ((this.svr & SVR_ENABLE) === 0) {
      for (let i = 0; i < 6; i++) this.lvt[i] |= LVT_MASKED;
    }
  }

  private writeLvt(index: number, value: number): void {
    const tick = this.lastTick;
    let v = value & LVT_WRITABLE[index];
    if ((this.svr & SVR_ENABLE) === 0) v |= LVT_MASKED;
    if (index === LVT_TIMER && ((v ^ this.lvt[index]) & LVT_PERIODIC) !== 0) this.rebaseTimer(tick);
    this.lvt[index] = v;
    if (index === LVT_TIMER) this.onRearm();
  }

  private writeInitialCount(count: number): void {
    this.initialCount = count;
    if (count === 0) {
      this.timerRunning = false;
      return;
    }
    this.timerRunning = true;
    this.timerBaseTick = this.lastTick;
    this.timerBaseCount = count;
    this.onRearm();
  }

  private writeDivide(dcr: number): void {
    this.rebaseTimer(this.lastTick);
    this.divideConfig = dcr;
    this.onRearm();
  }

  private writeIcr(value: number): void {
    this.icrLow = value & 0x000ccfff;
    const vector = value & 0xff;
    const mode = (value >> 8) & 7;
    const shorthand = (value >> 18) & 3;
    // Only fixed-mode IPIs to this processor are meaningful on a uniprocessor: the "self" and
    // "all including self" shorthands, or a physical destination equal to our ID.
    const toSelf = shorthand === 1 || shorthand === 2 ||
      (shorthand === 0 && (value & (1 << 11)) === 0 && (this.icrHigh >>> 24) === (this.id >>> 24));
    if (mode !== 0 || !toSelf) return;
    if (vector < 16) {
      this.signalError(ESR_SEND_ILLEGAL_VECTOR);
      return;
    }
    this.accept(vector, ((value >> 15) & 1) === 1);
  }

  private accept(vector: number, level: boolean): void {
    if (vector < 16) {
      this.signalError(ESR_RECEIVE_ILLEGAL_VECTOR);
      return;
    }
    setBit(this.irr, vector);
    if (level) setBit(this.tmr, vector);
    else clearBit(this.tmr, vector);
  }

  /** Records an error in the ESR's pending bits and raises the error LVT's interrupt. */
  private signalError(bit: number): void {
    const first = (this.esrPending & bit) === 0;
    this.esrPending |= bit;
    const lvt = this.lvt[LVT_ERROR];
    if (first && (lvt & LVT_MASKED) === 0) {
      const vector = lvt & 0xff;
      // An illegal error vector is recorded but does not recurse.
      if (vector >= 16) setBit(this.irr, vector);
      else this.esrPending |= ESR_RECEIVE_ILLEGAL_VECTOR;
    }
  }

  private powerUpRegisters(): void {
    this.id = 0;
    this.tpr = 0;
    this.ldr = 0;
    this.dfr = -1;
    this.svr = 0xff;
    this.irr.fill(0);
    this.isr.fill(0);
    this.tmr.fill(0);
    this.esr = 0;
    this.esrPending = 0;
    this.icrLow = 0;
    this.icrHigh = 0;
    this.lvt.fill(LVT_MASKED);
    this.divideConfig = 0;
    this.initialCount = 0;
    this.timerRunning = false;
    this.timerBaseTick = this.lastTick;
    this.timerBaseCount = 0;
  }

  // ---- State --------------------------------------------------------------------------------------

  saveState(): LocalApicState {
    return {
      baseMsr: this.baseMsr >>> 0, id: this.id >>> 0, tpr: this.tpr, ldr: this.ldr >>> 0, dfr: this.dfr >>> 0,
      svr: this.svr, irr: plainArray(this.irr), isr: plainArray(this.isr), tmr: plainArray(this.tmr), esr: this.esr,
      esrPending: this.esrPending, icrLow: this.icrLow, icrHigh: this.icrHigh >>> 0, lvt: plainArray(this.lvt),
      divideConfig: this.divideConfig, initialCount: this.initialCount, timerBaseTick: this.timerBaseTick,
      timerBaseCount: this.timerBaseCount, timerRunning: this.timerRunning, lastTick: this.lastTick,
    };
  }

  loadState(state: unknown): void {
    const s = state as LocalApicState;
    if (typeof s !== "object" || s === null || !Array.isArray(s.irr) || s.irr.length !== 8 || !Array.isArray(s.lvt) || s.lvt.length !== 6) {
      throw new Error("local APIC state is malformed");
    }
    this.baseMsr = s.baseMsr | 0;
    this.id = s.id | 0;
    this.tpr = s.tpr;
    this.ldr = s.ldr | 0;
    this.dfr = s.dfr | 0;
    this.svr = s.svr;
    this.irr.set(s.irr);
    this.isr.set(s.isr);
    this.tmr.set(s.tmr);
    this.esr = s.esr;
    this.esrPending = s.esrPending;
    this.icrLow = s.icrLow;
    this.icrHigh = s.icrHigh | 0;
    this.lvt.set(s.lvt);
    this.divideConfig = s.divideConfig;
    this.initialCount = s.initialCount;
    this.timerBaseTick = s.timerBaseTick;
    this.timerBaseCount = s.timerBaseCount;
    this.timerRunning = s.timerRunning;
    this.lastTick = s.lastTick;
    this.onChange();
  }
}

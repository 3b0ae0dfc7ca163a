/**
 * The narrow interfaces between the CPU and the rest of the PC. The CPU sees ports, MMIO and one
 * interrupt line; devices see virtual time. Nothing here knows about tracing or terminals.
 */

export type AccessSize = 1 | 2 | 4;

/** A device that answers I/O port accesses. Reads of unmapped ports return all ones. */
export interface PortDevice {
  portRead(port: number, size: AccessSize): number;
  portWrite(port: number, size: AccessSize, value: number): void;
}

/** A device mapped into the physical address space above RAM (e.g. the local APIC at 0xfee00000). */
export interface MmioDevice {
  mmioRead(physAddr: number, size: AccessSize): number;
  mmioWrite(physAddr: number, size: AccessSize, value: number): void;
}

/** Where the CPU asks for a maskable interrupt (PIC or local APIC). */
export interface InterruptSource {
  /** True when an interrupt is waiting to be delivered (regardless of EFLAGS.IF). */
  hasInterrupt(): boolean;
  /** Accepts the highest-priority pending interrupt and returns its vector (0..255). */
  acknowledge(): number;
}

/**
 * A device whose behaviour depends on virtual time. Time is counted in ticks; one tick is one
 * nanosecond of guest time, and the machine advances one tick per retired step (plus the ticks a
 * `hlt` skips). Devices never look at the wall clock.
 */
export interface TimedDevice {
  /** The tick at which this device next changes state on its own (a timer expiry), or Infinity. */
  nextEventTick(): number;
  /** Brings the device's state up to tick `now`, raising any interrupts that fell due. */
  advanceTo(now: number): void;
  /**
   * Called by the device when a register access may have moved its next event earlier (a timer armed,
   * re-armed or unmasked): the machine planned the current run of steps up to the event it knew, and
   * replans if the new one falls due sooner. A no-op unless the machine sets it.
   */
  onRearm: () => void;
}

/** Every device can save and restore its whole state as plain JSON-able data (for keyframes). */
export interface StatefulDevice {
  saveState(): unknown;
  loadState(state: unknown): void;
}

/** Guest time: ticks per second (1 tick = 1 ns). */
export const TICKS_PER_SECOND = 1_000_000_000;

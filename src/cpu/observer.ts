/**
 * Observation hooks. The CPU calls these when an observer is attached and pays only a null check
 * when none is. The recorder (src/trace/) is the main observer.
 */

/** Who made a memory write. */
export const enum WriteCause {
  /** The instruction being executed (including string instructions and partial writes of a faulting one). */
  Instruction = 0,
  /** The CPU pushing an interrupt or exception frame (EIP, CS, EFLAGS, ESP, SS, error code). */
  InterruptFrame = 1,
  /** The CPU updating a TSS (busy bit, task switch state). */
  TaskState = 2,
  /** The CPU setting the accessed bit of a segment descriptor. */
  Descriptor = 3,
  /** The CPU setting accessed/dirty bits in a page-directory or page-table entry. */
  PageTable = 4,
}

/** What kind of step just happened. */
export const enum StepKind {
  /** An instruction retired. */
  Instruction = 0,
  /** An external (hardware) interrupt was delivered. */
  Interrupt = 1,
  /** An exception was delivered (its frame pushed, control at the handler). */
  Exception = 2,
  /** A software interrupt (int n, int3, into) was delivered: it is part of the instruction's step. */
  SoftwareInterrupt = 3,
  /** An instruction faulted: its partial effects are kept; the exception delivery is the next step. */
  Fault = 4,
}

export interface CpuObserver {
  /**
   * A memory write is about to be stored: memory still holds the old value. `linear` is the linear
   * address (equal to `physical` with paging off); writes that cross a page are reported per page.
   */
  onMemoryWrite(linear: number, physical: number, size: 1 | 2 | 4, value: number, cause: WriteCause): void;
  /**
   * An interrupt or exception was delivered (or an instruction faulted). `step` is the step number the
   * event occupies; `eip` is the EIP that was interrupted (the return address pushed, or the faulting
   * instruction); CPLs are before and after delivery.
   */
  onEvent(kind: StepKind, step: number, vector: number, errorCode: number, eip: number, cplBefore: number, cplAfter: number): void;
  /** A port access completed (value read or written). */
  onPortIo(port: number, size: 1 | 2 | 4, value: number, isWrite: boolean): void;
}

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

/**
 * What an observer notes of the writes of its current period, shared with compiled code so that most
 * writes are noted without a call to onMemoryWrite (the recorder notes, per 64-byte line of RAM, which
 * 4-byte words were written in the current segment). Compiled code notes a write itself only when all
 * of these hold: the line's stamp equals `state[0]` (the observer listed the line in this period), the
 * step is below `state[1]`, and the write lies in one line; it then ORs the words it touches into the
 * line's mask and adds one to `state[2]`, exactly what onMemoryWrite would have done. Every other
 * write is reported as usual.
 */
export interface WriteFilter {
  /** Per 64-byte line of RAM: the stamp of the period in which `lineMask` was last set. */
  readonly lineStamp: Int32Array;
  /** Per line: the words written in that period (bit i = bytes 4i..4i+3 of the line). */
  readonly lineMask: Uint16Array;
  /** [0] the current period's stamp, [1] the first step at which every write must be reported, [2] writes noted by compiled code. */
  readonly state: Float64Array;
}

export interface CpuObserver {
  /** See WriteFilter; absent or null when every write must be reported. */
  readonly writeFilter?: WriteFilter | null;
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

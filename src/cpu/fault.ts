/**
 * Faults are signalled by throwing one preallocated object: the hot path never allocates, and the
 * details (vector, error code, CR2) live in CPU fields set just before the throw.
 */
export class CpuFaultSignal {
  readonly isCpuFault = true;
}

/** The single instance thrown for every guest exception raised while executing an instruction. */
export const CPU_FAULT = new CpuFaultSignal();

/** Thrown when a fault happens while delivering a double fault: the machine stops. */
export class TripleFault {
  readonly isTripleFault = true;
  constructor(readonly reason: string) {}
}

/**
 * Thrown by the MMU when compiled block code is about to write to MMIO: the write may change interrupt
 * state, so the instruction is restarted in the interpreter (nothing has been written yet).
 */
export const BLOCK_EXIT = { isBlockExit: true } as const;

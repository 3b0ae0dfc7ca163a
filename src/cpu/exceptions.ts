/**
 * The architecture's exceptions, one row per vector (SDM Vol. 3A, 6.15 "Exception and Interrupt
 * Reference" and table 6-5 for the double-fault classes). The CPU's delivery (error code pushed or
 * not), its double-fault escalation and every place that names a vector read this table.
 */

/** How a fault raised while delivering another exception combines with it (SDM table 6-5). */
export const enum ExceptionClass {
  /** Delivered in turn: never escalates. */
  Benign = 0,
  /** #DE, #TS, #NP, #SS, #GP: a second contributory fault during delivery gives #DF. */
  Contributory = 1,
  /** #PF: a contributory fault or another #PF during its delivery gives #DF. */
  PageFault = 2,
  /** #DF itself: any fault during its delivery is a triple fault (shutdown). */
  DoubleFault = 3,
}

export interface ExceptionInfo {
  /** The mnemonic the manuals use: `#GP`, `#PF`, `NMI`. */
  mnemonic: string;
  /** The manuals' name for it. */
  name: string;
  /** Whether delivery pushes an error code. */
  errorCode: boolean;
  kind: "fault" | "trap" | "abort" | "interrupt" | "fault or trap";
  class: ExceptionClass;
}

const row = (mnemonic: string, name: string, kind: ExceptionInfo["kind"], errorCode: boolean, cls = ExceptionClass.Benign): ExceptionInfo =>
  ({ mnemonic, name, kind, errorCode, class: cls });

/** Vectors 0-31 that the architecture defines (the rest are reserved). */
const EXCEPTIONS: ReadonlyMap<number, ExceptionInfo> = new Map([
  [0, row("#DE", "divide error", "fault", false, ExceptionClass.Contributory)],
  [1, row("#DB", "debug", "fault or trap", false)],
  [2, row("NMI", "non-maskable interrupt", "interrupt", false)],
  [3, row("#BP", "breakpoint", "trap", false)],
  [4, row("#OF", "overflow", "trap", false)],
  [5, row("#BR", "BOUND range exceeded", "fault", false)],
  [6, row("#UD", "invalid opcode", "fault", false)],
  [7, row("#NM", "device not available", "fault", false)],
  [8, row("#DF", "double fault", "abort", true, ExceptionClass.DoubleFault)],
  [10, row("#TS", "invalid TSS", "fault", true, ExceptionClass.Contributory)],
  [11, row("#NP", "segment not present", "fault", true, ExceptionClass.Contributory)],
  [12, row("#SS", "stack-segment fault", "fault", true, ExceptionClass.Contributory)],
  [13, row("#GP", "general protection", "fault", true, ExceptionClass.Contributory)],
  [14, row("#PF", "page fault", "fault", true, ExceptionClass.PageFault)],
  [16, row("#MF", "x87 floating-point error", "fault", false)],
  [17, row("#AC", "alignment check", "fault", true)],
  [18, row("#MC", "machine check", "abort", false)],
  [19, row("#XM", "SIMD floating-point exception", "fault", false)],
]);

/** Error-code flags by vector, as a dense table for the delivery path. */
const PUSHES_ERROR_CODE = new Uint8Array(256);
/** Classes by vector (Benign for everything not in the table). */
const CLASS_OF = new Uint8Array(256);
for (const [v, info] of EXCEPTIONS) {
  PUSHES_ERROR_CODE[v] = info.errorCode ? 1 : 0;
  CLASS_OF[v] = info.class;
}

/** The table's row for `vector`, or undefined for an interrupt vector or a reserved one. */
export function exceptionInfo(vector: number): ExceptionInfo | undefined {
  return EXCEPTIONS.get(vector);
}

/** Whether exception `vector` pushes an error code when the CPU delivers it. */
export function hasErrorCode(vector: number): boolean {
  return PUSHES_ERROR_CODE[vector & 0xff] === 1;
}

/** The double-fault class of `vector`. */
export function exceptionClass(vector: number): ExceptionClass {
  return CLASS_OF[vector & 0xff] as ExceptionClass;
}

/**
 * What a fault `second`, raised while delivering exception `first`, turns into (SDM table 6-5): #DF
 * (vector 8) for contributory after contributory, or contributory or #PF after #PF; otherwise the
 * second fault is delivered itself. (A fault while delivering #DF is the caller's triple fault.)
 */
export function escalate(first: number, second: number): number {
  const a = exceptionClass(first), b = exceptionClass(second);
  if (a === ExceptionClass.Contributory && b === ExceptionClass.Contributory) return 8;
  if (a === ExceptionClass.PageFault && (b === ExceptionClass.Contributory || b === ExceptionClass.PageFault)) return 8;
  return second;
}

/** `#GP` for an exception vector, or null for any other vector. */
export function exceptionMnemonic(vector: number): string | null {
  return EXCEPTIONS.get(vector)?.mnemonic ?? null;
}

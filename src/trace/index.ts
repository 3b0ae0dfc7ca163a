/**
 * The trace library: record a machine into a trace file, open a trace and query it. See
 * docs/trace-format.md for the file format and the cost of each query.
 */
export { Recorder, type RecordOptions, type RecordProgress, type RecordResult } from "./recorder.js";
export {
  Trace, TraceCursor, REGISTER_NAMES,
  type MemoryRange, type MemoryWrite, type PortAccess, type TraceEvent, type StepRecord, type StepState, type RegisterChange, type TraceInfo,
  type Registers, type WriteCauseName, type EventKindName, type StepKindName,
} from "./trace.js";
export { TraceError } from "./errors.js";
export { disassemble, type Disassembled as Disassembly } from "../disasm/disassembler.js";
export { claimNewTracePath, resolveTracePath, setLatest, removeTraceFiles, TRACE_DIR } from "./locate.js";
export { tryLockTrace, liveWriter, TraceLock, type LockOwner } from "./output-lock.js";
export { FORMAT_VERSION, TRACE_FORMAT } from "./format.js";

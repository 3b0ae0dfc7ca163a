/** `ttd gdbserver`: the GDB remote serial protocol over a recorded trace, with reverse execution. */
export { GdbServer, type GdbServerOptions } from "./server.js";
export { GdbSession, type Reply, type SessionOptions } from "./session.js";
export { ReplayTarget, type Stop, type StopReason, type Watchpoint, type WatchType, type BreakpointType, type Direction } from "./replay-target.js";
export { PacketDecoder, framePacket, checksum, DEFAULT_MAX_PACKET, type DecoderEvent } from "./protocol.js";
export { TARGET_XML, GDB_REGISTERS } from "./registers.js";
export { AccessAnalyzer, type MemoryAccess } from "./accesses.js";
export { openReplay, imageFileFor } from "./open.js";

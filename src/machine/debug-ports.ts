/**
 * The small ports a test kernel talks to:
 * - 0xe9: the Bochs/QEMU debug console. A byte written goes to `onByte`; a read returns 0xe9, which
 *   is how guests detect the port.
 * - 0xf4-0xf7: isa-debug-exit as QEMU's `-device isa-debug-exit,iobase=0xf4,iosize=0x04`. A write of
 *   any width to any of its four ports asks the machine to stop with status (value << 1) | 1, computed
 *   without truncation (value is the unsigned written value; a host process exit code keeps the low
 *   8 bits, as with QEMU). Reads return 0.
 * - 0x80: the POST diagnostic port (also used as an I/O delay). Writes are remembered in `postCode`,
 *   reads return all ones.
 * - 0x92: system control port A. Bit 1 (fast A20 gate) reads back as written and every write passes
 *   it to `onA20` (the machine's A20 line, which the 8042's output port drives too: the last write
 *   to either wins, as on QEMU's PC). Bit 0 requests a fast reset: it is passed to `onReset` when
 *   given (and otherwise ignored) and always reads back as 0.
 */
import type { AccessSize, PortDevice, StatefulDevice } from "./bus.js";
import type { PortBus } from "./port-bus.js";
import { WIDTH_ANY } from "./port-bus.js";

export const DEBUG_CONSOLE_PORT = 0xe9;
export const DEBUG_EXIT_PORT = 0xf4;
export const DEBUG_EXIT_SIZE = 4;
export const POST_PORT = 0x80;
export const SYSTEM_CONTROL_A_PORT = 0x92;

export interface DebugPortsState {
  postCode: number;
  port92: number;
}

export interface DebugPortsOptions {
  /** Receives each byte written to port 0xe9. */
  onByte: (byte: number) => void;
  /** Receives the exit status of an isa-debug-exit write. */
  onExit: (status: number) => void;
  /** Called when the guest sets the fast-reset bit of port 0x92. */
  onReset?: () => void;
  /** Called on every write to port 0x92 with its A20 bit. */
  onA20?: (enabled: boolean) => void;
}

export class DebugPorts implements PortDevice, StatefulDevice {
  /** The last value written to port 0x80. */
  postCode = 0;
  private port92 = 0x02; // A20 enabled, as firmware leaves it
  private readonly options: DebugPortsOptions;

  constructor(options: DebugPortsOptions) {
    this.options = options;
  }

  /** Maps 0xe9, 0xf4-0xf7 (every width, so the whole written value arrives), 0x80 and 0x92 on `bus`. */
  registerOn(bus: PortBus): void {
    bus.register(DEBUG_CONSOLE_PORT, 1, this);
    bus.register(DEBUG_EXIT_PORT, DEBUG_EXIT_SIZE, this, WIDTH_ANY);
    bus.register(POST_PORT, 1, this);
    bus.register(SYSTEM_CONTROL_A_PORT, 1, this);
  }

  portRead(port: number, size: AccessSize): number {
    if (port === DEBUG_CONSOLE_PORT) return 0xe9;
    if (port >= DEBUG_EXIT_PORT && port < DEBUG_EXIT_PORT + DEBUG_EXIT_SIZE) return 0;
    if (port === SYSTEM_CONTROL_A_PORT) return this.port92;
    return size === 1 ? 0xff : size === 2 ? 0xffff : -1;
  }

  portWrite(port: number, size: AccessSize, value: number): void {
    if (port === DEBUG_CONSOLE_PORT) {
      this.options.onByte(value & 0xff);
    } else if (port >= DEBUG_EXIT_PORT && port < DEBUG_EXIT_PORT + DEBUG_EXIT_SIZE) {
      const v = size === 1 ? value & 0xff : size === 2 ? value & 0xffff : value >>> 0;
      this.options.onExit(v * 2 + 1);
    } else if (port === POST_PORT) {
      this.postCode = value & 0xff;
    } else if (port === SYSTEM_CONTROL_A_PORT) {
      this.port92 = value & 0xfe;
      if (this.options.onA20) this.options.onA20((value & 2) !== 0);
      if ((value & 1) !== 0 && this.options.onReset) this.options.onReset();
    }
  }

  saveState(): DebugPortsState {
    return { postCode: this.postCode, port92: this.port92 };
  }

  loadState(state: unknown): void {
    const s = state as DebugPortsState;
    if (typeof s !== "object" || s === null || typeof s.postCode !== "number" || typeof s.port92 !== "number") {
      throw new Error("debug ports state is malformed");
    }
    this.postCode = s.postCode;
    this.port92 = s.port92;
  }
}

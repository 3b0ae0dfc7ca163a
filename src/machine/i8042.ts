/**
 * The 8042 keyboard controller at ports 0x60 (data) and 0x64 (status / command), with a PS/2
 * keyboard on its first port and nothing on the auxiliary (mouse) port. Modelled on what QEMU 7.2's
 * i8042 shows a guest after SeaBIOS has set it up:
 *
 * - status: output buffer full (bit 0), system flag, "command" and "not inhibited" bits (0x1c, as
 *   QEMU keeps them), aux data (bit 5); the input buffer is never busy.
 * - command byte (0x20 read, 0x60 write): keyboard interrupt (bit 0), aux interrupt (bit 1), keyboard
 *   and aux disable (bits 4, 5), translation (bit 6). Firmware leaves 0x61.
 * - self-test 0xaa -> 0x55, interface tests 0xab / 0xa9 -> 0x00, input port 0xc0 -> 0x80, keyboard
 *   disable / enable 0xad / 0xae, aux disable / enable 0xa7 / 0xa8, 0xd2 / 0xd3 echo a byte as if
 *   from the keyboard / aux port, 0xd4 sends a byte to the (absent) mouse, which is dropped.
 * - output port (0xd0 read, 0xd1 write; firmware leaves 0xcf): bit 0 low resets the machine, bit 1 is
 *   the A20 gate; bits 4 and 5 mirror the output buffer state, refreshed whenever it changes.
 *   0xdd / 0xdf clear / set the A20 bit; 0xf0-0xff pulse output lines, and a pulse of bit 0 (0xfe) is a
 *   reset.
 * - IRQ 1 is high while a byte from the keyboard side waits and command byte bit 0 is set; IRQ 12
 *   likewise for aux bytes and bit 1. Reading port 0x60 drops the line before the next byte moves in,
 *   so each byte is a new edge.
 */
import type { AccessSize, PortDevice, StatefulDevice } from "./bus.js";
import type { PortBus } from "./port-bus.js";
import { Ps2Keyboard, type Ps2KeyboardState } from "./ps2-keyboard.js";

export const I8042_DATA_PORT = 0x60;
export const I8042_STATUS_PORT = 0x64;

const STAT_OBF = 0x01;
const STAT_FIXED = 0x1c; // system flag, last write was a command, keyboard not inhibited (as QEMU keeps them)
const STAT_AUX_OBF = 0x20;

const MODE_KBD_INT = 0x01;
const MODE_AUX_INT = 0x02;
const MODE_DISABLE_KBD = 0x10;
const MODE_DISABLE_AUX = 0x20;
const MODE_TRANSLATE = 0x40;

const OUT_RESET = 0x01;
const OUT_A20 = 0x02;
const OUT_OBF = 0x10;
const OUT_AUX_OBF = 0x20;

const FIRMWARE_MODE = 0x61;
const FIRMWARE_OUTPORT = 0xcf;

export interface I8042Options {
  /** Drives an ISA interrupt line (1 for the keyboard, 12 for aux). */
  setIrq: (line: number, level: boolean) => void;
  /** The output port's A20 bit was written. */
  setA20: (enabled: boolean) => void;
  /** The guest pulsed or wrote the reset line low. */
  onReset: () => void;
}

export interface I8042State {
  status: number;
  mode: number;
  outport: number;
  outputByte: number;
  writeCommand: number;
  /** Controller replies waiting for the output buffer: [byte, aux (0/1)] pairs. */
  replies: number[][];
  keyboard: Ps2KeyboardState;
}

export class I8042 implements PortDevice, StatefulDevice {
  readonly keyboard: Ps2Keyboard;
  private status = STAT_FIXED;
  private mode = FIRMWARE_MODE;
  private outport = FIRMWARE_OUTPORT;
  private outputByte = 0;
  /** The command whose data byte the next write to port 0x60 is (0: the byte goes to the keyboard). */
  private writeCommand = 0;
  private replies: number[][] = [];
  private kbdLevel = false;
  private auxLevel = false;
  /** Set when the guest reads the status port with the output buffer empty (a polling driver); cleared by a key. */
  private polledEmpty = false;

  constructor(private readonly options: I8042Options) {
    this.keyboard = new Ps2Keyboard(() => this.update());
    this.keyboard.translate = (this.mode & MODE_TRANSLATE) !== 0;
  }

  registerOn(bus: PortBus): void {
    bus.register(I8042_DATA_PORT, 1, this);
    bus.register(I8042_STATUS_PORT, 1, this);
  }

  /** Queues the bytes of a key event as the keyboard sends them (see Ps2Keyboard.pressKey). */
  pressKey(scancodes: readonly number[]): void {
    this.polledEmpty = false;
    this.keyboard.pressKey(scancodes);
  }

  /**
   * Whether a key typed now would reach the guest at once: the output buffer is empty, nothing is
   * queued before it, the keyboard is enabled and scanning, and the guest listens: the keyboard
   * interrupt is enabled and IRQ 1 reaches the CPU (`irqReachesCpu`, the machine's wiring), or it
   * polled the status port and found the buffer empty. Live keyboard input waits for this.
   */
  readyForKey(irqReachesCpu: boolean): boolean {
    return (this.status & STAT_OBF) === 0 && this.replies.length === 0 && !this.keyboard.hasData() &&
      (this.mode & MODE_DISABLE_KBD) === 0 && this.keyboard.isScanning() &&
      (((this.mode & MODE_KBD_INT) !== 0 && irqReachesCpu) || this.polledEmpty);
  }

  /** Whether the output port's A20 bit is set. */
  a20Enabled(): boolean {
    return (this.outport & OUT_A20) !== 0;
  }

  portRead(port: number, _size: AccessSize): number {
    if (port === I8042_STATUS_PORT) {
      if ((this.status & STAT_OBF) === 0) this.polledEmpty = true;
      return this.status;
    }
    // With the buffer empty the last byte reads again.
    const byte = this.outputByte;
    if ((this.status & STAT_OBF) !== 0) {
      this.status &= ~(STAT_OBF | STAT_AUX_OBF);
      this.setLines();
      this.update();
    }
    return byte;
  }

  portWrite(port: number, _size: AccessSize, value: number): void {
    if (port === I8042_STATUS_PORT) this.command(value & 0xff);
    else this.data(value & 0xff);
  }

  private command(c: number): void {
    switch (c) {
      case 0x20: this.reply(this.mode); break;
      case 0x60: case 0xd1: case 0xd2: case 0xd3: case 0xd4: this.writeCommand = c; break;
      case 0xa7: this.setMode(this.mode | MODE_DISABLE_AUX); break;
      case 0xa8: this.setMode(this.mode & ~MODE_DISABLE_AUX); break;
      case 0xa9: this.reply(0x00); break;
      case 0xaa: this.reply(0x55); break;
      case 0xab: this.reply(0x00); break;
      case 0xad: this.setMode(this.mode | MODE_DISABLE_KBD); break;
      case 0xae: this.setMode(this.mode & ~MODE_DISABLE_KBD); break;
      case 0xc0: this.reply(0x80); break;
      case 0xd0: this.reply(this.outport); break;
      case 0xdd: this.outport &= ~OUT_A20; this.options.setA20(false); break;
      case 0xdf: this.outport |= OUT_A20; this.options.setA20(true); break;
      default:
        // 0xf0-0xff pulse the output lines whose bits are clear in the low nibble: bit 0 is reset.
        if ((c & 0xf0) === 0xf0 && (c & OUT_RESET) === 0) this.options.onReset();
        break;
    }
  }

  private data(v: number): void {
    const cmd = this.writeCommand;
    this.writeCommand = 0;
    switch (cmd) {
      case 0x60: this.setMode(v); break;
      case 0xd1:
        this.outport = v;
        this.options.setA20((v & OUT_A20) !== 0);
        if ((v & OUT_RESET) === 0) this.options.onReset();
        break;
      case 0xd2: this.reply(v); break;
      case 0xd3: this.reply(v, true); break;
      case 0xd4: break; // no mouse on the aux port
      default:
        // Talking to the keyboard re-enables its interface, as QEMU's controller does.
        this.mode &= ~MODE_DISABLE_KBD;
        this.keyboard.write(v);
        this.update();
        break;
    }
  }

  private setMode(mode: number): void {
    this.mode = mode & 0xff;
    this.keyboard.translate = (this.mode & MODE_TRANSLATE) !== 0;
    this.update();
  }

  private reply(byte: number, aux = false): void {
    this.replies.push([byte & 0xff, aux ? 1 : 0]);
    this.update();
  }

  /** Moves the next waiting byte into an empty output buffer, then drives the IRQ lines. */
  private update(): void {
    if ((this.status & STAT_OBF) === 0) {
      if (this.replies.length > 0) {
        const [byte, aux] = this.replies.shift()!;
        this.outputByte = byte;
        this.status |= aux ? STAT_OBF | STAT_AUX_OBF : STAT_OBF;
      } else if (this.keyboard.hasData() && (this.mode & MODE_DISABLE_KBD) === 0) {
        this.outputByte = this.keyboard.take();
        this.status |= STAT_OBF;
      }
    }
    this.setLines();
  }

  private setLines(): void {
    const full = (this.status & STAT_OBF) !== 0;
    const aux = (this.status & STAT_AUX_OBF) !== 0;
    this.outport &= ~(OUT_OBF | OUT_AUX_OBF);
    if (full) this.outport |= aux ? OUT_OBF | OUT_AUX_OBF : OUT_OBF;
    const kbd = full && !aux && (this.mode & MODE_KBD_INT) !== 0;
    const mouse = full && aux && (this.mode & MODE_AUX_INT) !== 0;
    if (kbd !== this.kbdLevel) {
      this.kbdLevel = kbd;
      this.options.setIrq(1, kbd);
    }
    if (mouse !== this.auxLevel) {
      this.auxLevel = mouse;
      this.options.setIrq(12, mouse);
    }
  }

  saveState(): I8042State {
    return {
      status: this.status, mode: this.mode, outport: this.outport, outputByte: this.outputByte,
      writeCommand: this.writeCommand, replies: this.replies.map((r) => [...r]), keyboard: this.keyboard.saveState(),
    };
  }

  loadState(state: unknown): void {
    const s = state as I8042State;
    if (typeof s !== "object" || s === null || !Array.isArray(s.replies) || typeof s.keyboard !== "object") throw new Error("8042 state is malformed");
    this.status = s.status;
    this.mode = s.mode;
    this.outport = s.outport;
    this.outputByte = s.outputByte;
    this.writeCommand = s.writeCommand;
    this.replies = s.replies.map((r) => [...r]);
    this.keyboard.loadState(s.keyboard);
    this.keyboard.translate = (this.mode & MODE_TRANSLATE) !== 0;
    this.polledEmpty = false;
    // The lines follow from the state; the PIC's own state was restored with it.
    const full = (this.status & STAT_OBF) !== 0, aux = (this.status & STAT_AUX_OBF) !== 0;
    this.kbdLevel = full && !aux && (this.mode & MODE_KBD_INT) !== 0;
    this.auxLevel = full && aux && (this.mode & MODE_AUX_INT) !== 0;
  }
}

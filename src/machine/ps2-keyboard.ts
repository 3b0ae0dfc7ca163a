/**
 * A PS/2 keyboard behind the 8042: the commands a kernel's keyboard driver sends (reset, LEDs,
 * typematic rate, scan code set, identify, echo, enable and disable scanning) each answered as
 * QEMU's keyboard answers them, and a queue of bytes for the controller to collect.
 *
 * Key presses enter through `pressKey` with the bytes the guest is to read from port 0x60: set 1
 * codes while the controller translates (the default), set 2 or 3 codes otherwise. Replies and keys
 * share one 16-byte queue as on the device; keys that do not fit are dropped.
 */

const ACK = 0xfa;
const RESEND = 0xfe;
const SELF_TEST_PASSED = 0xaa;
const ECHO = 0xee;
const ID_FIRST = 0xab;
/** What the device sends for its second identify byte and its scan set, as translated by the 8042. */
const TRANSLATED: Record<number, number> = { 1: 0x43, 2: 0x41, 3: 0x3f, 0x83: 0x41 };
const QUEUE_SIZE = 16;

/** The command byte waiting for its argument, or NONE. */
const NONE = -1;
const SET_LEDS = 0xed;
const SET_RATE = 0xf3;
const SCAN_SET = 0xf0;

export interface Ps2KeyboardState {
  queue: number[];
  pendingCommand: number;
  scanning: boolean;
  scanSet: number;
  leds: number;
  typematic: number;
}

export class Ps2Keyboard {
  private queue: number[] = [];
  private pendingCommand = NONE;
  private scanning = true;
  private scanSet = 2;
  /** LED state from the last 0xed command (bit 0 scroll, 1 num, 2 caps lock). */
  leds = 0;
  private typematic = 0x2b;
  /** Whether the 8042 translates (its command byte bit 6): identify and scan-set answers depend on it. */
  translate = true;

  constructor(private readonly onData: () => void) {}

  /** False after the guest disabled scanning (0xf5): keys are then dropped. */
  isScanning(): boolean {
    return this.scanning;
  }

  hasData(): boolean {
    return this.queue.length > 0;
  }

  /** The next byte for the controller's output buffer (call only when hasData()). */
  take(): number {
    return this.queue.shift()!;
  }

  /** Queues the scan code bytes of a key event; ignored while scanning is disabled (0xf5). */
  pressKey(scancodes: readonly number[]): void {
    for (const b of scancodes) {
      if (!Number.isInteger(b) || b < 0 || b > 0xff) throw new RangeError(`scan code ${b} is not a byte`);
    }
    if (!this.scanning) return;
    if (this.queue.length + scancodes.length > QUEUE_SIZE) return;
    this.queue.push(...scancodes);
    this.onData();
  }

  /** A byte the guest sent to the keyboard through port 0x60. */
  write(value: number): void {
    const cmd = this.pendingCommand;
    this.pendingCommand = NONE;
    if (cmd === SET_LEDS) {
      this.leds = value & 7;
      this.reply(ACK);
    } else if (cmd === SET_RATE) {
      this.typematic = value & 0x7f;
      this.reply(ACK);
    } else if (cmd === SCAN_SET) {
      if (value === 0) this.reply(ACK, this.translate ? TRANSLATED[this.scanSet] : this.scanSet);
      else {
        if (value >= 1 && value <= 3) this.scanSet = value;
        this.reply(ACK);
      }
    } else {
      this.command(value);
    }
  }

  private command(value: number): void {
    switch (value) {
      case SET_LEDS: case SET_RATE: case SCAN_SET:
        this.pendingCommand = value;
        this.reply(ACK);
        break;
      case ECHO: this.reply(ECHO); break;
      case 0xf2: this.reply(ACK, ID_FIRST, this.translate ? TRANSLATED[0x83] : 0x83); break;
      case 0xf4: this.scanning = true; this.reply(ACK); break;
      case 0xf5: this.setDefaults(); this.scanning = false; this.reply(ACK); break;
      case 0xf6: this.setDefaults(); this.reply(ACK); break;
      case 0xff: this.setDefaults(); this.reply(ACK, SELF_TEST_PASSED); break;
      default: this.reply(RESEND); break;
    }
  }

  private setDefaults(): void {
    this.scanSet = 2;
    this.leds = 0;
    this.typematic = 0x2b;
    this.scanning = true;
    this.queue = [];
  }

  private reply(...bytes: number[]): void {
    this.queue.push(...bytes);
    this.onData();
  }

  saveState(): Ps2KeyboardState {
    return { queue: [...this.queue], pendingCommand: this.pendingCommand, scanning: this.scanning, scanSet: this.scanSet, leds: this.leds, typematic: this.typematic };
  }

  loadState(s: Ps2KeyboardState): void {
    if (typeof s !== "object" || s === null || !Array.isArray(s.queue)) throw new Error("PS/2 keyboard state is malformed");
    this.queue = [...s.queue];
    this.pendingCommand = s.pendingCommand;
    this.scanning = s.scanning;
    this.scanSet = s.scanSet;
    this.leds = s.leds;
    this.typematic = s.typematic;
  }
}

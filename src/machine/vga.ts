/**
 * The VGA's registers in 80x25 colour text mode, as SeaBIOS leaves QEMU's standard VGA before a
 * multiboot kernel starts. The text itself is plain RAM at 0xb8000 (writes are recorded like any
 * other memory write); this device holds the register files a text-mode kernel touches:
 *
 * - CRT controller at 0x3d4/0x3d5 (0x3b4/0x3b5 while the misc output register selects monochrome):
 *   cursor shape (0x0a/0x0b), start address (0x0c/0x0d), cursor location (0x0e/0x0f), all readable;
 *   while bit 7 of register 0x11 is set, registers 0-7 are write-protected except bit 4 of 0x07.
 * - Input status 1 at 0x3da (0x3ba): the display-enable and vertical-retrace bits toggle on every
 *   read, so polling loops for "in retrace" and "out of retrace" both finish, deterministically (as
 *   QEMU's default retrace model does); a read also resets the attribute controller's flip-flop.
 * - Misc output (write 0x3c2, read 0x3cc), whose bit 0 selects colour (0x3dx) or mono (0x3bx) ports;
 *   the ports not selected read 0xff and ignore writes.
 * - Attribute controller 0x3c0/0x3c1 (index/data flip-flop), sequencer 0x3c4/0x3c5, graphics
 *   controller 0x3ce/0x3cf, feature control (write 0x3da, read 0x3ca): stored and read back with the
 *   bits the hardware implements; they do not change how text is shown (no graphics modes).
 * Other ports in 0x3c0-0x3cf read 0 and ignore writes (no DAC palette).
 */
import type { AccessSize, PortDevice, StatefulDevice } from "./bus.js";
import type { PortBus } from "./port-bus.js";
import { plainArray } from "./plain-array.js";

export const TEXT_BUFFER = 0xb8000;
export const TEXT_COLUMNS = 80;
export const TEXT_ROWS = 25;

export const CRTC_CURSOR_START = 0x0a;
export const CRTC_CURSOR_END = 0x0b;
export const CRTC_START_HIGH = 0x0c;
export const CRTC_START_LOW = 0x0d;
export const CRTC_CURSOR_HIGH = 0x0e;
export const CRTC_CURSOR_LOW = 0x0f;
const CRTC_VSYNC_END = 0x11;
const CRTC_OVERFLOW = 0x07;

const MISC_COLOR = 0x01;
/** Input status 1: display enable (bit 0) and vertical retrace (bit 3). */
const ST01_TOGGLE = 0x09;

/** Bits each sequencer / graphics register implements (the rest read as 0). */
const SEQ_MASK = [0x03, 0x3d, 0x0f, 0x3f, 0x0e, 0x00, 0x00, 0xff];
const GFX_MASK = [0x0f, 0x0f, 0x0f, 0x1f, 0x03, 0x7b, 0x0f, 0x0f, 0xff, 0, 0, 0, 0, 0, 0, 0];

/** Mode 3 as SeaBIOS programs it (read back from QEMU 7.2 at a multiboot kernel's entry). */
const FIRMWARE_CRTC = [
  0x5f, 0x4f, 0x50, 0x82, 0x55, 0x81, 0xbf, 0x1f, 0x00, 0x4f, 0x0d, 0x0e, 0x00, 0x00, 0x00, 0x00,
  0x9c, 0x8e, 0x8f, 0x28, 0x1f, 0x96, 0xb9, 0xa3, 0xff,
];
const FIRMWARE_SEQ = [0x03, 0x00, 0x03, 0x00, 0x02];
const FIRMWARE_GFX = [0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0e, 0x0f, 0xff];
const FIRMWARE_ATTR = [
  0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f,
  0x0c, 0x00, 0x0f, 0x08, 0x00,
];
const FIRMWARE_MISC = 0x67;
const ATTR_COUNT = 21;

export interface VgaState {
  misc: number;
  featureControl: number;
  st01: number;
  crtcIndex: number;
  crtc: number[];
  seqIndex: number;
  seq: number[];
  gfxIndex: number;
  gfx: number[];
  attrIndex: number;
  attrFlipFlop: number;
  attr: number[];
}

export class Vga implements PortDevice, StatefulDevice {
  misc = 0;
  private featureControl = 0;
  private st01 = 0;
  private crtcIndex = 0;
  readonly crtc = new Uint8Array(256);
  private seqIndex = 0;
  private readonly seq = new Uint8Array(8);
  private gfxIndex = 0;
  private readonly gfx = new Uint8Array(16);
  private attrIndex = 0;
  private attrFlipFlop = 0;
  private readonly attr = new Uint8Array(ATTR_COUNT);

  /** Ports 0x3b4/0x3b5/0x3ba, 0x3c0-0x3cf and 0x3d4/0x3d5/0x3da, as QEMU's VGA decodes them. */
  registerOn(bus: PortBus): void {
    bus.register(0x3b4, 2, this);
    bus.register(0x3ba, 1, this);
    bus.register(0x3c0, 16, this);
    bus.register(0x3d4, 2, this);
    bus.register(0x3da, 1, this);
  }

  /** The registers as SeaBIOS leaves them in mode 3 (cursor at the top left of a cleared screen). */
  firmwareInit(): void {
    this.misc = FIRMWARE_MISC;
    this.crtc.fill(0);
    this.crtc.set(FIRMWARE_CRTC);
    this.crtcIndex = FIRMWARE_CRTC.length - 1;
    this.seq.fill(0);
    this.seq.set(FIRMWARE_SEQ);
    this.seqIndex = FIRMWARE_SEQ.length - 1;
    this.gfx.fill(0);
    this.gfx.set(FIRMWARE_GFX);
    this.gfxIndex = 0;
    this.attr.set(FIRMWARE_ATTR);
    this.attrIndex = 0x20;
    this.attrFlipFlop = 0;
    this.st01 = 0;
    this.featureControl = 0;
  }

  /** Word offset of the first character shown (CRTC 0x0c/0x0d). */
  startAddress(): number {
    return (this.crtc[CRTC_START_HIGH] << 8) | this.crtc[CRTC_START_LOW];
  }

  /** Word offset of the cursor in text memory (CRTC 0x0e/0x0f). */
  cursorAddress(): number {
    return (this.crtc[CRTC_CURSOR_HIGH] << 8) | this.crtc[CRTC_CURSOR_LOW];
  }

  /** The cursor is hidden by bit 5 of the cursor start register. */
  cursorEnabled(): boolean {
    return (this.crtc[CRTC_CURSOR_START] & 0x20) === 0;
  }

  /** A port of the CRT block the misc output register does not select (mono vs colour). */
  private unselected(port: number): boolean {
    const color = (this.misc & MISC_COLOR) !== 0;
    return color ? port < 0x3c0 : port >= 0x3d0;
  }

  portRead(port: number, _size: AccessSize): number {
    if (this.unselected(port)) return 0xff;
    switch (port) {
      case 0x3b4: case 0x3d4: return this.crtcIndex;
      case 0x3b5: case 0x3d5: return this.crtc[this.crtcIndex];
      case 0x3ba: case 0x3da:
        this.st01 ^= ST01_TOGGLE;
        this.attrFlipFlop = 0;
        return this.st01;
      case 0x3c0: return this.attrFlipFlop === 0 ? this.attrIndex : 0;
      case 0x3c1: {
        const i = this.attrIndex & 0x1f;
        return i < ATTR_COUNT ? this.attr[i] : 0;
      }
      case 0x3c4: return this.seqIndex;
      case 0x3c5: return this.seq[this.seqIndex];
      case 0x3ca: return this.featureControl;
      case 0x3cc: return this.misc;
      case 0x3ce: return this.gfxIndex;
      case 0x3cf: return this.gfx[this.gfxIndex];
      default: return 0;
    }
  }

  portWrite(port: number, _size: AccessSize, value: number): void {
    if (this.unselected(port)) return;
    const v = value & 0xff;
    switch (port) {
      case 0x3b4: case 0x3d4: this.crtcIndex = v; break;
      case 0x3b5: case 0x3d5: this.writeCrtc(v); break;
      case 0x3ba: case 0x3da: this.featureControl = v & 0x10; break;
      case 0x3c0:
        if (this.attrFlipFlop === 0) this.attrIndex = v & 0x3f;
        else this.writeAttr(v);
        this.attrFlipFlop ^= 1;
        break;
      case 0x3c2: this.misc = v & ~0x10; break;
      case 0x3c4: this.seqIndex = v & 7; break;
      case 0x3c5: this.seq[this.seqIndex] = v & SEQ_MASK[this.seqIndex]; break;
      case 0x3ce: this.gfxIndex = v & 0x0f; break;
      case 0x3cf: this.gfx[this.gfxIndex] = v & GFX_MASK[this.gfxIndex]; break;
      default: break;
    }
  }

  private writeCrtc(v: number): void {
    const i = this.crtcIndex;
    // The protect bit guards the horizontal and vertical timing registers (a mode-setting safety).
    if ((this.crtc[CRTC_VSYNC_END] & 0x80) !== 0 && i <= 7) {
      if (i === CRTC_OVERFLOW) this.crtc[i] = (this.crtc[i] & ~0x10) | (v & 0x10);
      return;
    }
    this.crtc[i] = v;
  }

  private writeAttr(v: number): void {
    const i = this.attrIndex & 0x1f;
    if (i < 0x10) this.attr[i] = v & 0x3f;
    else if (i === 0x10) this.attr[i] = v & ~0x10;
    else if (i === 0x11) this.attr[i] = v;
    else if (i === 0x12) this.attr[i] = v & ~0xc0;
    else if (i === 0x13 || i === 0x14) this.attr[i] = v & ~0xf0;
  }

  saveState(): VgaState {
    return {
      misc: this.misc, featureControl: this.featureControl, st01: this.st01,
      crtcIndex: this.crtcIndex, crtc: plainArray(this.crtc),
      seqIndex: this.seqIndex, seq: plainArray(this.seq),
      gfxIndex: this.gfxIndex, gfx: plainArray(this.gfx),
      attrIndex: this.attrIndex, attrFlipFlop: this.attrFlipFlop, attr: plainArray(this.attr),
    };
  }

  loadState(state: unknown): void {
    const s = state as VgaState;
    if (typeof s !== "object" || s === null || !Array.isArray(s.crtc) || s.crtc.length !== 256 || !Array.isArray(s.seq) || !Array.isArray(s.gfx) || !Array.isArray(s.attr)) {
      throw new Error("VGA state is malformed");
    }
    this.misc = s.misc;
    this.featureControl = s.featureControl;
    this.st01 = s.st01;
    this.crtcIndex = s.crtcIndex;
    this.crtc.set(s.crtc);
    this.seqIndex = s.seqIndex;
    this.seq.set(s.seq);
    this.gfxIndex = s.gfxIndex;
    this.gfx.set(s.gfx);
    this.attrIndex = s.attrIndex;
    this.attrFlipFlop = s.attrFlipFlop;
    this.attr.set(s.attr);
  }
}

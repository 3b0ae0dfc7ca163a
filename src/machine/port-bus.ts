/**
 * I/O port dispatch: one table entry per port (65536), so an IN or OUT costs an array load and a
 * call, with no map lookup and no closure per access.
 *
 * Each registration states which access widths the device decodes itself (a bit mask of 1, 2 and
 * 4, i.e. of the AccessSize values). A wider access to a device that decodes only bytes is split
 * into byte accesses to consecutive ports, lowest port first, as the ISA bus does; each byte is
 * dispatched on its own, so the upper bytes may reach another device or nothing at all.
 */
import type { AccessSize, PortDevice } from "./bus.js";

/** Width masks for `PortBus.register`: the device decodes byte, word and/or dword accesses. */
export const WIDTH_8 = 1;
export const WIDTH_16 = 2;
export const WIDTH_32 = 4;
export const WIDTH_ANY = WIDTH_8 | WIDTH_16 | WIDTH_32;

const PORT_COUNT = 0x10000;

export class PortBus {
  private readonly devices: (PortDevice | null)[];
  /** For each port, the access widths its device decodes natively (0 when unmapped). */
  private readonly widths = new Uint8Array(PORT_COUNT);

  constructor() {
    // Filled with null up front so the array stays packed and monomorphic.
    this.devices = new Array<PortDevice | null>(PORT_COUNT).fill(null);
  }

  /**
   * Maps ports [first, first + count) to `dev`. `widths` says which access sizes the device decodes
   * itself (default: bytes only); other sizes are split into byte accesses. A port may be mapped
   * once only, so two devices claiming one port is caught at wiring time.
   */
  register(first: number, count: number, dev: PortDevice, widths: number = WIDTH_8): void {
    if (!Number.isInteger(first) || !Number.isInteger(count) || first < 0 || count <= 0 || first + count > PORT_COUNT) {
      throw new RangeError(`port range 0x${first.toString(16)}+${count} is outside 0..0xffff`);
    }
    if ((widths & WIDTH_8) === 0 || (widths & ~WIDTH_ANY) !== 0) {
      throw new RangeError(`port width mask ${widths} must include byte access and only 1, 2, 4`);
    }
    for (let p = first; p < first + count; p++) {
      if (this.devices[p] !== null) throw new Error(`port 0x${p.toString(16)} is already mapped`);
    }
    for (let p = first; p < first + count; p++) {
      this.devices[p] = dev;
      this.widths[p] = widths;
    }
  }

  /** Unmaps ports [first, first + count) where `dev` is mapped (a device that moves, e.g. a PCI BAR). */
  unregister(first: number, count: number, dev: PortDevice): void {
    for (let p = first; p < first + count && p < PORT_COUNT; p++) {
      if (this.devices[p] === dev) {
        this.devices[p] = null;
        this.widths[p] = 0;
      }
    }
  }

  /** True when some device answers at `port`. */
  isMapped(port: number): boolean {
    return this.devices[port & 0xffff] !== null;
  }

  /** Reads `size` bytes from `port`. Unmapped ports read as all ones (0xff, 0xffff, 0xffffffff as int32 -1). */
  read(port: number, size: AccessSize): number {
    const p = port & 0xffff;
    const dev = this.devices[p];
    if (dev !== null && (this.widths[p] & size) !== 0) return dev.portRead(p, size);
    if (size === 1) return 0xff;
    return this.splitRead(p, size);
  }

  /** Writes the low `size` bytes of `value` to `port`. Writes to unmapped ports are dropped. */
  write(port: number, size: AccessSize, value: number): void {
    const p = port & 0xffff;
    const dev = this.devices[p];
    if (dev !== null && (this.widths[p] & size) !== 0) {
      dev.portWrite(p, size, size === 1 ? value & 0xff : size === 2 ? value & 0xffff : value | 0);
      return;
    }
    if (size === 1) return;
    this.splitWrite(p, size, value);
  }

  private byteRead(p: number): number {
    const dev = this.devices[p];
    return dev === null ? 0xff : dev.portRead(p, 1) & 0xff;
  }

  private splitRead(p: number, size: AccessSize): number {
    let v = 0;
    for (let i = 0; i < size; i++) v |= this.byteRead((p + i) & 0xffff) << (8 * i);
    // A dword stays an int32 (the convention of memory reads); a word is a plain 16-bit number.
    return size === 4 ? v | 0 : v;
  }

  private splitWrite(p: number, size: AccessSize, value: number): void {
    for (let i = 0; i < size; i++) {
      const q = (p + i) & 0xffff;
      const dev = this.devices[q];
      if (dev !== null) dev.portWrite(q, 1, (value >>> (8 * i)) & 0xff);
    }
  }
}

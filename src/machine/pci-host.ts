/**
 * PCI configuration mechanism #1 on bus 0, as the i440FX host bridge decodes it: a 32-bit address
 * register at 0xcf8 (bit 31 enable, bus 23-16, device 15-11, function 10-8, register 7-2) and the
 * data window at 0xcfc-0xcff, where byte and word accesses reach the addressed dword's bytes at
 * 0xcfc + (offset & 3). Only dword writes to 0xcf8 change the address (QEMU ignores narrower ones);
 * reads of any width at 0xcf8, 0xcfa or 0xcfb return the register's low bytes, as QEMU's do. With the enable bit clear, or for a function that is absent
 * (any other bus, any other device/function), data reads give all ones and writes are dropped.
 *
 * Port 0xcf9, inside the address register's range, is the PIIX3 reset control register: a byte
 * write with bit 2 set resets the machine (how Linux's `reboot=pci` resets); bit 1 reads back.
 */
import type { AccessSize, PortDevice, StatefulDevice } from "./bus.js";
import type { PortBus } from "./port-bus.js";
import { WIDTH_ANY, WIDTH_8 } from "./port-bus.js";
import type { PciFunction } from "./pci-function.js";

export const PCI_CONFIG_ADDRESS = 0xcf8;
export const PCI_CONFIG_DATA = 0xcfc;
export const RESET_CONTROL_PORT = 0xcf9;

const ENABLE = 0x80000000;
const RCR_SYSTEM_RESET = 1 << 1;
const RCR_RESET_CPU = 1 << 2;

export interface PciHostState {
  address: number;
  resetControl: number;
  functions: string[];
}

export class PciHost implements PortDevice, StatefulDevice {
  private address = 0;
  private resetControl = 0;
  /** Functions by (device << 3 | function). */
  private readonly slots: (PciFunction | null)[] = new Array<PciFunction | null>(256).fill(null);

  constructor(readonly functions: PciFunction[], private readonly onReset: () => void) {
    for (const f of functions) this.slots[(f.device << 3) | f.fn] = f;
  }

  registerOn(bus: PortBus): void {
    bus.register(PCI_CONFIG_ADDRESS, 1, this, WIDTH_ANY);
    bus.register(RESET_CONTROL_PORT, 1, this, WIDTH_8);
    bus.register(PCI_CONFIG_ADDRESS + 2, 2, this, WIDTH_ANY);
    bus.register(PCI_CONFIG_DATA, 4, this, WIDTH_ANY);
  }

  /** The function the address register selects, or null. */
  private selected(): PciFunction | null {
    const a = this.address;
    if ((a & ENABLE) === 0 || ((a >>> 16) & 0xff) !== 0) return null;
    return this.slots[(a >>> 8) & 0xff];
  }

  portRead(port: number, size: AccessSize): number {
    if (port === RESET_CONTROL_PORT) return this.resetControl;
    if (port < PCI_CONFIG_DATA) {
      // Whatever the port and width, the register's low bytes answer (QEMU's i440FX does not shift).
      const v = this.address;
      return size === 4 ? v | 0 : v & (size === 1 ? 0xff : 0xffff);
    }
    const f = this.selected();
    if (f === null) return size === 1 ? 0xff : size === 2 ? 0xffff : -1;
    const offset = (this.address & 0xfc) + (port - PCI_CONFIG_DATA);
    // An access that runs past the addressed dword is not decoded.
    if (offset + size > (this.address & 0xfc) + 4) return size === 2 ? 0xffff : -1;
    return f.read(offset, size);
  }

  portWrite(port: number, size: AccessSize, value: number): void {
    if (port === RESET_CONTROL_PORT) {
      this.resetControl = value & RCR_SYSTEM_RESET;
      if ((value & RCR_RESET_CPU) !== 0) this.onReset();
      return;
    }
    if (port < PCI_CONFIG_DATA) {
      if (port === PCI_CONFIG_ADDRESS && size === 4) this.address = value >>> 0;
      return;
    }
    const f = this.selected();
    if (f === null) return;
    const offset = (this.address & 0xfc) + (port - PCI_CONFIG_DATA);
    if (offset + size > (this.address & 0xfc) + 4) return;
    f.write(offset, size, value);
  }

  saveState(): PciHostState {
    return { address: this.address, resetControl: this.resetControl, functions: this.functions.map((f) => f.saveState()) };
  }

  loadState(state: unknown): void {
    const s = state as PciHostState;
    if (typeof s !== "object" || s === null || typeof s.address !== "number" || !Array.isArray(s.functions) || s.functions.length !== this.functions.length) {
      throw new Error("PCI host state is malformed");
    }
    this.address = s.address >>> 0;
    this.resetControl = s.resetControl & RCR_SYSTEM_RESET;
    this.functions.forEach((f, i) => f.loadState(s.functions[i]));
  }
}

/**
 * Guest physical memory: RAM as one typed array from address 0, plus MMIO regions above RAM.
 * The CPU reads RAM through `u8`/`i32` directly on its fast path; anything at or above `size`
 * goes through `mmioRead`/`mmioWrite`.
 */
import type { AccessSize, MmioDevice } from "./bus.js";

interface MmioRegion {
  base: number;
  size: number;
  device: MmioDevice;
}

export class PhysicalMemory {
  readonly size: number;
  readonly u8: Uint8Array;
  /** The same bytes as 32-bit words, for aligned dword access. */
  readonly i32: Int32Array;
  private readonly regions: MmioRegion[] = [];

  constructor(sizeBytes: number) {
    if (sizeBytes % 4096 !== 0 || sizeBytes <= 0) throw new Error(`memory size ${sizeBytes} is not a positive multiple of 4 KiB`);
    this.size = sizeBytes;
    this.u8 = new Uint8Array(sizeBytes);
    this.i32 = new Int32Array(this.u8.buffer);
  }

  /** Maps `device` at physical [base, base+size). Regions must lie above RAM. */
  mapMmio(base: number, size: number, device: MmioDevice): void {
    if (base < this.size) throw new Error(`MMIO region 0x${base.toString(16)} overlaps RAM`);
    this.regions.push({ base, size, device });
  }

  mmioRead(addr: number, size: AccessSize): number {
    const a = addr >>> 0;
    for (const r of this.regions) {
      if (a >= r.base && a < r.base + r.size) return r.device.mmioRead(a, size);
    }
    // Open bus: nothing decodes this address.
    return size === 1 ? 0xff : size === 2 ? 0xffff : -1;
  }

  mmioWrite(addr: number, size: AccessSize, value: number): void {
    const a = addr >>> 0;
    for (const r of this.regions) {
      if (a >= r.base && a < r.base + r.size) {
        r.device.mmioWrite(a, size, value);
        return;
      }
    }
  }

  /** Reads a little-endian value of `size` bytes at physical `addr` (RAM or MMIO). */
  read(addr: number, size: AccessSize): number {
    const a = addr >>> 0;
    if (a + size > this.size) return this.mmioRead(a, size);
    if (size === 1) return this.u8[a];
    if (size === 2) return this.u8[a] | (this.u8[a + 1] << 8);
    return this.u8[a] | (this.u8[a + 1] << 8) | (this.u8[a + 2] << 16) | (this.u8[a + 3] << 24);
  }

  /** Writes a little-endian value of `size` bytes at physical `addr` (RAM or MMIO). */
  write(addr: number, size: AccessSize, value: number): void {
    const a = addr >>> 0;
    if (a + size > this.size) {
      this.mmioWrite(a, size, value);
      return;
    }
    this.u8[a] = value;
    if (size >= 2) this.u8[a + 1] = value >> 8;
    if (size === 4) {
      this.u8[a + 2] = value >> 16;
      this.u8[a + 3] = value >> 24;
    }
  }
}

/**
 * Little-endian writes into guest RAM for building firmware tables, and the 8-bit checksums the MP
 * and ACPI specifications use (the bytes of a structure sum to zero).
 */
export class TableWriter {
  constructor(readonly ram: Uint8Array) {}

  u8(a: number, v: number): void {
    this.ram[a] = v & 0xff;
  }

  u16(a: number, v: number): void {
    this.ram[a] = v & 0xff;
    this.ram[a + 1] = (v >>> 8) & 0xff;
  }

  u32(a: number, v: number): void {
    this.u16(a, v & 0xffff);
    this.u16(a + 2, (v >>> 16) & 0xffff);
  }

  /** A 64-bit value below 2^53. */
  u64(a: number, v: number): void {
    this.u32(a, v % 0x100000000);
    this.u32(a + 4, Math.floor(v / 0x100000000));
  }

  /** ASCII text padded with `pad` (spaces by default) to exactly `width` bytes. */
  text(a: number, s: string, width: number, pad = 0x20): void {
    for (let i = 0; i < width; i++) this.ram[a + i] = i < s.length ? s.charCodeAt(i) & 0x7f : pad;
  }

  bytes(a: number, b: ArrayLike<number>): void {
    for (let i = 0; i < b.length; i++) this.ram[a + i] = b[i] & 0xff;
  }

  /** Stores at `at` the byte that makes [start, start + length) sum to zero (mod 256). */
  checksum(start: number, length: number, at: number): void {
    this.ram[at] = 0;
    let sum = 0;
    for (let i = start; i < start + length; i++) sum += this.ram[i];
    this.ram[at] = (256 - (sum & 0xff)) & 0xff;
  }
}

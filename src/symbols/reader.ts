/**
 * A little-endian cursor over DWARF section bytes: fixed-size integers, LEB128, C strings and the
 * DWARF32/DWARF64 "initial length". Every read past the end raises DwarfError naming the section, so a
 * truncated or corrupt section gives one clear message instead of garbage values.
 */

export class DwarfError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DwarfError";
  }
}

const decoder = new TextDecoder();

export class ByteReader {
  readonly bytes: Uint8Array;
  /** Which section these bytes are, for error messages. */
  readonly section: string;
  offset: number;
  private readonly view: DataView;

  constructor(bytes: Uint8Array, section: string, offset = 0) {
    this.bytes = bytes;
    this.section = section;
    this.offset = offset;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get length(): number {
    return this.bytes.length;
  }

  atEnd(limit = this.bytes.length): boolean {
    return this.offset >= limit;
  }

  private need(n: number): number {
    const o = this.offset;
    if (o < 0 || o + n > this.bytes.length) {
      throw new DwarfError(`${this.section}: read of ${n} byte(s) at offset 0x${o.toString(16)} runs past its end (0x${this.bytes.length.toString(16)})`);
    }
    this.offset = o + n;
    return o;
  }

  u8(): number {
    return this.bytes[this.need(1)];
  }

  i8(): number {
    return this.view.getInt8(this.need(1));
  }

  u16(): number {
    return this.view.getUint16(this.need(2), true);
  }

  i16(): number {
    return this.view.getInt16(this.need(2), true);
  }

  u24(): number {
    const o = this.need(3);
    return this.bytes[o] | (this.bytes[o + 1] << 8) | (this.bytes[o + 2] << 16);
  }

  u32(): number {
    return this.view.getUint32(this.need(4), true);
  }

  i32(): number {
    return this.view.getInt32(this.need(4), true);
  }

  u64(): bigint {
    return this.view.getBigUint64(this.need(8), true);
  }

  i64(): bigint {
    return this.view.getBigInt64(this.need(8), true);
  }

  /** A 64-bit value as a JS number; DWARF offsets and i386 addresses always fit. */
  u64n(): number {
    const v = this.u64();
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new DwarfError(`${this.section}: 64-bit value 0x${v.toString(16)} at 0x${(this.offset - 8).toString(16)} is too large`);
    }
    return Number(v);
  }

  /** An unsigned integer of `size` bytes (1, 2, 4 or 8). */
  uint(size: number): number {
    switch (size) {
      case 1: return this.u8();
      case 2: return this.u16();
      case 4: return this.u32();
      case 8: return this.u64n();
      default: throw new DwarfError(`${this.section}: unsupported integer size ${size}`);
    }
  }

  /** An offset of the unit's format: 4 bytes in DWARF32, 8 in DWARF64. */
  offsetOf(offsetSize: number): number {
    return offsetSize === 8 ? this.u64n() : this.u32();
  }

  /** Unsigned LEB128 as a number; values beyond 2^53 (never produced for i386) are rejected. */
  uleb(): number {
    let result = 0;
    let scale = 1;
    for (;;) {
      const b = this.u8();
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) break;
      scale *= 128;
      if (scale > 2 ** 56) throw new DwarfError(`${this.section}: ULEB128 at 0x${this.offset.toString(16)} is too long`);
    }
    return result;
  }

  /** Signed LEB128 as a number. */
  sleb(): number {
    let result = 0;
    let scale = 1;
    let b: number;
    do {
      b = this.u8();
      result += (b & 0x7f) * scale;
      scale *= 128;
      if (scale > 2 ** 63) throw new DwarfError(`${this.section}: SLEB128 at 0x${this.offset.toString(16)} is too long`);
    } while (b & 0x80);
    if (b & 0x40) result -= scale;
    return result;
  }

  /** Unsigned LEB128 as a bigint, for DW_OP_constu and friends that may carry 64-bit values. */
  ulebBig(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = this.u8();
      result |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if ((b & 0x80) === 0) return result;
    }
  }

  /** Signed LEB128 as a bigint. */
  slebBig(): bigint {
    let result = 0n;
    let shift = 0n;
    let b: number;
    do {
      b = this.u8();
      result |= BigInt(b & 0x7f) << shift;
      shift += 7n;
    } while (b & 0x80);
    if (b & 0x40) result -= 1n << shift;
    return result;
  }

  /** A NUL-terminated UTF-8 string. */
  cstring(): string {
    const start = this.offset;
    let end = start;
    while (end < this.bytes.length && this.bytes[end] !== 0) end++;
    if (end >= this.bytes.length) {
      throw new DwarfError(`${this.section}: string at offset 0x${start.toString(16)} has no terminating NUL`);
    }
    this.offset = end + 1;
    return decoder.decode(this.bytes.subarray(start, end));
  }

  /** `n` raw bytes (a view, not a copy). */
  block(n: number): Uint8Array {
    const o = this.need(n);
    return this.bytes.subarray(o, o + n);
  }

  skip(n: number): void {
    this.need(n);
  }

  /**
   * Reads a unit's initial length. Returns the length of what follows and the offset size (4 for DWARF32,
   * 8 for DWARF64, signalled by 0xffffffff).
   */
  initialLength(): { length: number; offsetSize: 4 | 8 } {
    const first = this.u32();
    if (first === 0xffffffff) return { length: this.u64n(), offsetSize: 8 };
    if (first >= 0xfffffff0) {
      throw new DwarfError(`${this.section}: reserved initial length 0x${first.toString(16)} at 0x${(this.offset - 4).toString(16)}`);
    }
    return { length: first, offsetSize: 4 };
  }
}

/** Reads a NUL-terminated string at `offset` of a string section (.debug_str, .debug_line_str). */
export function stringAt(bytes: Uint8Array, offset: number, section: string): string {
  if (offset < 0 || offset >= bytes.length) {
    throw new DwarfError(`${section}: string offset 0x${offset.toString(16)} is outside the section (size 0x${bytes.length.toString(16)})`);
  }
  return new ByteReader(bytes, section, offset).cstring();
}

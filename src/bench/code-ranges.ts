/**
 * A set of instruction addresses given as ranges, as QEMU's `-dfilter` takes them: QEMU logs an
 * executed block when its pc (the linear address, EIP for flat code) lies in one of the ranges, and
 * under `-singlestep` every block is one instruction. The same set tells a lockstep comparison which
 * of ttd's instructions have a record in QEMU's log.
 */

/** A span of addresses: start inclusive, end exclusive. */
export type AddressRange = readonly [start: number, end: number];

/** Largest span kept as a bitmap (one bit per byte address: 32 MiB of bitmap); wider sets are searched. */
const MAX_BITMAP_SPAN = 1 << 28;

export class CodeRanges {
  /** Sorted, disjoint, non-adjacent ranges. */
  readonly ranges: readonly AddressRange[];
  private readonly base: number;
  private readonly bits: Uint8Array | null;

  constructor(ranges: Iterable<AddressRange>) {
    const sorted = [...ranges].filter(([s, e]) => e > s).sort((a, b) => a[0] - b[0]);
    const merged: [number, number][] = [];
    for (const [s, e] of sorted) {
      const last = merged[merged.length - 1];
      if (last && s <= last[1]) last[1] = Math.max(last[1], e);
      else merged.push([s, e]);
    }
    this.ranges = merged;
    this.base = merged.length > 0 ? merged[0][0] : 0;
    const span = merged.length > 0 ? merged[merged.length - 1][1] - this.base : 0;
    if (span <= MAX_BITMAP_SPAN) {
      this.bits = new Uint8Array((span + 7) >>> 3);
      for (const [s, e] of merged) setBits(this.bits, s - this.base, e - this.base);
    } else {
      this.bits = null;
    }
  }

  /** Parses QEMU's notation: comma-separated `start+length`, `start-end` (inclusive) or `start..end` (inclusive). */
  static parse(text: string): CodeRanges {
    const out: AddressRange[] = [];
    for (const part of text.split(",").map((p) => p.trim()).filter((p) => p !== "")) {
      const m = /^(0x[0-9a-f]+|\d+)(\+|-|\.\.)(0x[0-9a-f]+|\d+)$/i.exec(part);
      if (!m) throw new Error(`not an address range: ${JSON.stringify(part)}`);
      const a = Number(m[1]);
      const b = Number(m[3]);
      out.push(m[2] === "+" ? [a, a + b] : [a, b + 1]);
    }
    return new CodeRanges(out);
  }

  /** Whether `addr` is in the set. Called once per emulated instruction: no allocation. */
  has(addr: number): boolean {
    const a = (addr >>> 0) - this.base;
    const bits = this.bits;
    if (bits !== null) return a >= 0 && a < bits.length * 8 && (bits[a >>> 3] & (1 << (a & 7))) !== 0;
    for (const [s, e] of this.ranges) if (addr >>> 0 >= s && addr >>> 0 < e) return true;
    return false;
  }

  /** The set as a `-dfilter` argument ("" for an empty set, which QEMU would read as "log everything"). */
  toDfilter(): string {
    return this.ranges.map(([s, e]) => `0x${s.toString(16)}+0x${(e - s).toString(16)}`).join(",");
  }
}

/** Sets bits [from, to) of `bits`, whole bytes at a time in the middle. */
function setBits(bits: Uint8Array, from: number, to: number): void {
  let a = from;
  for (; a < to && (a & 7) !== 0; a++) bits[a >>> 3] |= 1 << (a & 7);
  if (to - a >= 8) {
    bits.fill(0xff, a >>> 3, to >>> 3);
    a = to & ~7;
  }
  for (; a < to; a++) bits[a >>> 3] |= 1 << (a & 7);
}

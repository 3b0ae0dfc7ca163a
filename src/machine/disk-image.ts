/**
 * A disk's contents as the guest sees them: the image the user gave (never modified) with a
 * copy-on-write overlay of the sectors the guest wrote. Reads take a sector from the overlay when it
 * holds one, else from the image. An optional write-back hook passes each written sector on (to the
 * image file, when the user asked for write-back explicitly).
 *
 * The sectors written since the last `takeWritten()` are listed so a recorder can store, at each
 * keyframe, only what changed (the overlay itself is restored from those versions on replay).
 */

export const SECTOR_BYTES = 512;

export class DiskImage {
  /** What the disk is called in messages and in recordings (the file's base name). */
  readonly name: string;
  /** Capacity in 512-byte sectors. */
  readonly sectors: number;
  /** The image contents at power-on (not written to). */
  readonly base: Uint8Array;
  /** Called with each sector the guest writes (after the overlay has it): write-back to the image file. */
  onWriteBack: ((sector: number, data: Uint8Array) => void) | null = null;
  private overlay = new Map<number, Uint8Array>();
  private written = new Set<number>();

  /** `base.length` must be a multiple of 512 (callers check and report it). */
  constructor(name: string, base: Uint8Array) {
    if (base.length % SECTOR_BYTES !== 0) throw new RangeError(`${name}: size ${base.length} is not a multiple of ${SECTOR_BYTES}`);
    this.name = name;
    this.base = base;
    this.sectors = base.length / SECTOR_BYTES;
  }

  /** Copies sector `sector` into `dst` at `offset`. */
  read(sector: number, dst: Uint8Array, offset: number): void {
    const o = this.overlay.get(sector);
    if (o !== undefined) dst.set(o, offset);
    else dst.set(this.base.subarray(sector * SECTOR_BYTES, (sector + 1) * SECTOR_BYTES), offset);
  }

  /** Stores 512 bytes of `src` from `offset` as sector `sector` (in the overlay, never in `base`). */
  write(sector: number, src: Uint8Array, offset: number): void {
    let o = this.overlay.get(sector);
    if (o === undefined) {
      o = new Uint8Array(SECTOR_BYTES);
      this.overlay.set(sector, o);
    }
    o.set(src.subarray(offset, offset + SECTOR_BYTES));
    this.written.add(sector);
    if (this.onWriteBack !== null) this.onWriteBack(sector, o);
  }

  /** Sectors that differ from the image (or were at least written), ascending. */
  overlaySectors(): number[] {
    return [...this.overlay.keys()].sort((a, b) => a - b);
  }

  /** The overlay's copy of `sector`, or null when the guest never wrote it. */
  overlaySector(sector: number): Uint8Array | null {
    return this.overlay.get(sector) ?? null;
  }

  /** Sectors written since the previous call, ascending; starts a new interval. */
  takeWritten(): number[] {
    const list = [...this.written].sort((a, b) => a - b);
    this.written.clear();
    return list;
  }

  /** Replaces the overlay with `sectors` (sector number -> 512 bytes), as a keyframe had it. */
  restoreOverlay(sectors: Iterable<[number, Uint8Array]>): void {
    this.overlay = new Map();
    for (const [s, data] of sectors) {
      if (data.length !== SECTOR_BYTES || !Number.isInteger(s) || s < 0 || s >= this.sectors) {
        throw new RangeError(`${this.name}: overlay sector ${s} is malformed`);
      }
      this.overlay.set(s, new Uint8Array(data));
    }
    this.written.clear();
  }
}

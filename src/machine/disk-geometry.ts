/**
 * The cylinder/head/sector geometry an ATA disk reports for CHS addressing and in IDENTIFY, chosen
 * the way QEMU chooses it for a raw image with no geometry given:
 *  - if sector 0 holds an MBR (0x55aa) whose first usable partition entry ends on a head and sector
 *    that give 1-16 heads and a cylinder count in 1..16383, that is the geometry the image was
 *    partitioned with, and it is kept;
 *  - otherwise 16 heads, 63 sectors per track and as many cylinders as fit (2..16383).
 */
import { SECTOR_BYTES } from "./disk-image.js";

export interface DiskGeometry {
  cylinders: number;
  heads: number;
  sectors: number;
}

/** Geometry from the partition table in `mbr` (the first 512 bytes), or null when it gives none. */
function partitionGeometry(mbr: Uint8Array, totalSectors: number): DiskGeometry | null {
  if (mbr.length < SECTOR_BYTES || mbr[510] !== 0x55 || mbr[511] !== 0xaa) return null;
  for (let i = 0; i < 4; i++) {
    const e = 0x1be + 16 * i;
    const count = (mbr[e + 12] | (mbr[e + 13] << 8) | (mbr[e + 14] << 16) | (mbr[e + 15] << 24)) >>> 0;
    const endHead = mbr[e + 5];
    if (count === 0 || endHead === 0) continue;
    const heads = endHead + 1;
    const sectors = mbr[e + 6] & 63;
    if (sectors === 0) continue;
    const cylinders = Math.floor(totalSectors / (heads * sectors));
    if (cylinders < 1 || cylinders > 16383) continue;
    return { cylinders, heads, sectors };
  }
  return null;
}

/** The standard geometry for a disk of `totalSectors`: 16 heads, 63 sectors, cylinders clamped to 2..16383. */
function sizeGeometry(totalSectors: number): DiskGeometry {
  const cylinders = Math.min(16383, Math.max(2, Math.floor(totalSectors / (16 * 63))));
  return { cylinders, heads: 16, sectors: 63 };
}

/** The geometry of an image whose first sector is `mbr` and whose size is `totalSectors` sectors. */
export function guessGeometry(mbr: Uint8Array, totalSectors: number): DiskGeometry {
  const p = partitionGeometry(mbr, totalSectors);
  // A partition geometry with more than 16 heads was made through a BIOS translation: the drive
  // itself then reports the standard geometry.
  if (p !== null && p.heads <= 16) return p;
  return sizeGeometry(totalSectors);
}

/** The disk images the IDE tests attach: contents that are a known function of the sector number. */

/** A disk whose byte i of sector s is a fixed function of both, optionally with an MBR partition entry. */
export function patternImage(sectors: number, mbr?: { heads: number; sectorsPerTrack: number }): Uint8Array {
  const b = new Uint8Array(sectors * 512);
  for (let s = 0; s < sectors; s++) {
    for (let i = 0; i < 512; i++) b[s * 512 + i] = ((s * 31 + i * 7 + (i >> 8)) ^ (s >> 8)) & 0xff;
  }
  if (mbr) {
    const e = 0x1be;
    b.set([0x80, 1, 1, 0, 0x83, mbr.heads - 1, mbr.sectorsPerTrack, 0x20], e);
    new DataView(b.buffer).setUint32(e + 8, mbr.sectorsPerTrack, true);
    new DataView(b.buffer).setUint32(e + 12, sectors - mbr.sectorsPerTrack, true);
    b[510] = 0x55;
    b[511] = 0xaa;
  }
  return b;
}

/**
 * Finds the ACPI Root System Description Pointer in guest memory the way a boot loader on a BIOS PC
 * does (ACPI 6.5, 5.2.5.1): on a 16-byte boundary in the first KiB of the EBDA (its segment is the
 * word at 0x40E) or in the BIOS area 0xE0000-0xFFFFF, with the signature "RSD PTR " and valid
 * checksums. The multiboot2 loader copies it into its ACPI tags; with no ACPI tables in RAM there is
 * none, and the loader gives no ACPI tag.
 */

const SIGNATURE = [0x52, 0x53, 0x44, 0x20, 0x50, 0x54, 0x52, 0x20]; // "RSD PTR "
const V1_LENGTH = 20;
const V2_LENGTH = 36;

function sum(ram: Uint8Array, start: number, length: number): number {
  let s = 0;
  for (let i = 0; i < length; i++) s += ram[start + i];
  return s & 0xff;
}

/** The RSDP at `at`, or null: 20 bytes for revision 0, 36 for revision 2 and later. */
function rsdpAt(ram: Uint8Array, at: number): Uint8Array | null {
  if (at + V2_LENGTH > ram.length) return null;
  for (let i = 0; i < 8; i++) if (ram[at + i] !== SIGNATURE[i]) return null;
  if (sum(ram, at, V1_LENGTH) !== 0) return null;
  if (ram[at + 15] < 2) return ram.slice(at, at + V1_LENGTH);
  if (sum(ram, at, V2_LENGTH) !== 0) return null;
  return ram.slice(at, at + V2_LENGTH);
}

export function findRsdp(ram: Uint8Array): Uint8Array | null {
  const ebda = (ram[0x40e] | (ram[0x40f] << 8)) << 4;
  if (ebda >= 0x400 && ebda < 0xa0000) {
    for (let at = ebda; at < ebda + 1024; at += 16) {
      const r = rsdpAt(ram, at);
      if (r !== null) return r;
    }
  }
  for (let at = 0xe0000; at < 0x100000; at += 16) {
    const r = rsdpAt(ram, at);
    if (r !== null) return r;
  }
  return null;
}

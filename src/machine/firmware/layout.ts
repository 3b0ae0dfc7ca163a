/**
 * Where the firmware's structures live in guest RAM, and the memory map that follows from it. The
 * layout is the one QEMU's pc machine with SeaBIOS gives a kernel loaded with `-kernel`:
 *
 *   [0, 0x9fc00)             usable conventional memory (the BIOS data area is at 0x400)
 *   [0x9fc00, 0xa0000)       reserved: the 1 KiB extended BIOS data area (EBDA)
 *   [0xf0000, 0x100000)      reserved: the BIOS area; ttd puts the ACPI RSDP and the MP tables here
 *   [0x100000, top - 128K)   usable
 *   [top - 128K, top)        reserved: the ACPI tables (FACS, DSDT, FADT, MADT, RSDT, XSDT)
 *   [0xfffc0000, 4 GiB)      reserved: the BIOS ROM's alias below 4 GiB
 *
 * QEMU 7.2's e820 map (which its multiboot loader hands on) has exactly these six entries for every
 * -m from 16 MiB to 1 GiB; the area between 0xa0000 and 0xf0000 appears in none of them.
 */

/** Start of the EBDA and end of usable conventional memory (639 KiB). */
export const EBDA_ADDRESS = 0x9fc00;
export const EBDA_SIZE = 0x400;
/** The BIOS area at the top of the first MiB. */
export const BIOS_AREA_START = 0xf0000;
export const HIGH_MEMORY_START = 0x100000;
/** Bytes reserved for the ACPI tables at the top of RAM (as SeaBIOS reserves under QEMU). */
export const ACPI_AREA_SIZE = 0x20000;
/** The BIOS ROM alias at the top of the 32-bit address space. */
export const BIOS_ROM_ALIAS = 0xfffc0000;
export const BIOS_ROM_ALIAS_SIZE = 0x40000;

/** Inside the BIOS area: the ACPI root pointer, then the MP floating pointer and configuration table. */
export const RSDP_ADDRESS = 0xf0000;
export const MP_FLOATING_POINTER_ADDRESS = 0xf0030;
export const MP_CONFIG_TABLE_ADDRESS = 0xf0040;

/** Smallest RAM the layout fits in: the first MiB plus the ACPI area (and some usable memory). */
export const MIN_FIRMWARE_RAM = 2 * 1024 * 1024;

/** e820 / multiboot memory types. */
export const MEMORY_USABLE = 1;
export const MEMORY_RESERVED = 2;

export interface MemoryRange {
  base: number;
  length: number;
  type: number;
}

/** Start of the ACPI area for `ramBytes` of RAM. */
export function acpiAreaStart(ramBytes: number): number {
  return ramBytes - ACPI_AREA_SIZE;
}

/** True when `ramBytes` holds the first MiB and the ACPI area above it (else no ACPI tables are written). */
export function firmwareFits(ramBytes: number): boolean {
  return ramBytes >= HIGH_MEMORY_START + ACPI_AREA_SIZE;
}

/** The ranges the firmware keeps for itself (EBDA, BIOS area, ACPI tables, ROM alias), ascending. */
export function firmwareReservedRanges(ramBytes: number): MemoryRange[] {
  const ranges = [
    { base: EBDA_ADDRESS, length: EBDA_SIZE, type: MEMORY_RESERVED },
    { base: BIOS_AREA_START, length: HIGH_MEMORY_START - BIOS_AREA_START, type: MEMORY_RESERVED },
  ];
  if (firmwareFits(ramBytes)) ranges.push({ base: acpiAreaStart(ramBytes), length: ACPI_AREA_SIZE, type: MEMORY_RESERVED });
  ranges.push({ base: BIOS_ROM_ALIAS, length: BIOS_ROM_ALIAS_SIZE, type: MEMORY_RESERVED });
  return ranges;
}

/**
 * The whole memory map (as QEMU's e820 gives it) for `ramBytes` of RAM: the usable RAM below the EBDA
 * and between 1 MiB and the ACPI area, and the reserved ranges, in ascending order.
 */
export function firmwareMemoryMap(ramBytes: number): MemoryRange[] {
  const highEnd = firmwareFits(ramBytes) ? acpiAreaStart(ramBytes) : ramBytes;
  const usable: MemoryRange[] = [
    { base: 0, length: Math.min(EBDA_ADDRESS, ramBytes), type: MEMORY_USABLE },
    { base: HIGH_MEMORY_START, length: highEnd - HIGH_MEMORY_START, type: MEMORY_USABLE },
  ];
  return [...usable.filter((r) => r.length > 0), ...firmwareReservedRanges(ramBytes)].sort((a, b) => a.base - b.base);
}

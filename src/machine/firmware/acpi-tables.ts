/**
 * ACPI tables for ttd's PC, with the facts QEMU 7.2's pc machine gives a kernel (its FADT and MADT
 * values, its PIIX4 power-management I/O addresses), in the layout of `layout.ts`:
 *
 *   RSDP (BIOS area, revision 2: RSDT and XSDT) -> RSDT and XSDT -> FADT, MADT
 *   FADT -> FACS (64-byte aligned, at the start of the ACPI area) and DSDT (right after it)
 *
 * - FADT (revision 1, 116 bytes, as QEMU's): SCI on IRQ 9, SMI command port 0xb2 with ACPI enable
 *   0xf1 / disable 0xf0, PM1a event block 0x600 (4 bytes), PM1a control 0x604 (2 bytes), PM timer
 *   0x608 (4 bytes, 24-bit), GPE0 block 0xafe0 (4 bytes), C2/C3 latencies 0xfff (not supported),
 *   RTC century at CMOS 0x32, flags 0x80a5 (WBINVD, C1, sleep button not fixed, RTC wake from S4,
 *   platform clock).
 * - DSDT: the AML that dsdt.ts builds (the PCI root and its routing, the ISA devices, sleep states).
 * - MADT: the local APIC at 0xfee00000 with PC/AT compatibility (dual 8259), processor 0 / APIC 0,
 *   the I/O APIC 0 at 0xfec00000 with GSI base 0, interrupt source overrides IRQ 0 -> GSI 2 and the
 *   PCI IRQs 5, 9, 10 and 11 as level-triggered active high, and LINT1 as NMI for every processor.
 *
 * QEMU's RSDP is revision 0 (no XSDT) and it adds HPET and WAET tables; ttd has no HPET, so it
 * writes no HPET table, and WAET only tells Windows which timers are cheap. OEM ids are ttd's own
 * ("TTD"/"TTDPC"), not QEMU's "BOCHS"/"BXPC".
 */
import { TableWriter } from "./table-writer.js";

export const ACPI_OEM_ID = "TTD";
export const ACPI_OEM_TABLE_ID = "TTDPC";
const CREATOR_ID = "TTD";
const HEADER_SIZE = 36;

export interface AcpiOptions {
  rsdpAddress: number;
  /** Start of the reserved ACPI area (64-byte aligned). */
  areaStart: number;
  areaSize: number;
  localApicAddress: number;
  ioApicId: number;
  ioApicAddress: number;
  sciIrq: number;
  /** PIIX4 PM I/O base (PM1a event block; control at +4, timer at +8). */
  pmBase: number;
  gpe0Base: number;
  smiCommandPort: number;
  acpiEnable: number;
  acpiDisable: number;
  /** ISA IRQs used by PCI: level-triggered, active high. */
  pciIrqs: number[];
  /** The DSDT's body (its AML, after the header). */
  dsdtAml: Uint8Array;
}

/** What was written where (for the tests and the docs). */
export interface AcpiLayout {
  rsdp: number;
  rsdt: number;
  xsdt: number;
  fadt: number;
  facs: number;
  dsdt: number;
  madt: number;
  end: number;
}

const MADT_FLAG_PCAT_COMPAT = 1;
const MPS_INTI_LEVEL_HIGH = 0x000d; // trigger level (3 << 2), polarity active high (1)
const FADT_FLAGS = 0x80a5;

function align(v: number, a: number): number {
  return Math.ceil(v / a) * a;
}

function header(w: TableWriter, a: number, signature: string, length: number, revision: number): void {
  w.text(a, signature, 4);
  w.u32(a + 4, length);
  w.u8(a + 8, revision);
  w.text(a + 10, ACPI_OEM_ID, 6);
  w.text(a + 16, ACPI_OEM_TABLE_ID, 8);
  w.u32(a + 24, 1);
  w.text(a + 28, CREATOR_ID, 4);
  w.u32(a + 32, 1);
  w.checksum(a, length, a + 9);
}

export function writeAcpiTables(ram: Uint8Array, o: AcpiOptions): AcpiLayout {
  const w = new TableWriter(ram);
  ram.fill(0, o.areaStart, o.areaStart + o.areaSize);

  // FACS: no global lock, no waking vector.
  const facs = o.areaStart;
  w.text(facs, "FACS", 4);
  w.u32(facs + 4, 64);

  const dsdt = facs + 64;
  const dsdtLength = HEADER_SIZE + o.dsdtAml.length;
  w.bytes(dsdt + HEADER_SIZE, o.dsdtAml);
  header(w, dsdt, "DSDT", dsdtLength, 1);

  const fadt = align(dsdt + dsdtLength, 8);
  const fadtLength = 116;
  w.u32(fadt + 36, facs);
  w.u32(fadt + 40, dsdt);
  w.u8(fadt + 44, 1); // INT_MODEL: APIC (ACPI 1.0's field)
  w.u16(fadt + 46, o.sciIrq);
  w.u32(fadt + 48, o.smiCommandPort);
  w.u8(fadt + 52, o.acpiEnable);
  w.u8(fadt + 53, o.acpiDisable);
  w.u32(fadt + 56, o.pmBase);
  w.u32(fadt + 64, o.pmBase + 4);
  w.u32(fadt + 76, o.pmBase + 8);
  w.u32(fadt + 80, o.gpe0Base);
  w.u8(fadt + 88, 4); // PM1 event block length
  w.u8(fadt + 89, 2); // PM1 control block length
  w.u8(fadt + 91, 4); // PM timer length
  w.u8(fadt + 92, 4); // GPE0 block length
  w.u16(fadt + 96, 0x0fff); // C2 latency > 100: C2 not supported
  w.u16(fadt + 98, 0x0fff); // C3 latency > 1000: C3 not supported
  w.u8(fadt + 108, 0x32); // CMOS century register
  w.u32(fadt + 112, FADT_FLAGS);
  header(w, fadt, "FACP", fadtLength, 1);

  const madt = align(fadt + fadtLength, 8);
  let e = madt + 44;
  w.u32(madt + 36, o.localApicAddress);
  w.u32(madt + 40, MADT_FLAG_PCAT_COMPAT);
  // Processor local APIC: ACPI processor 0, APIC id 0, enabled.
  w.bytes(e, [0, 8, 0, 0]);
  w.u32(e + 4, 1);
  e += 8;
  // I/O APIC.
  w.bytes(e, [1, 12, o.ioApicId, 0]);
  w.u32(e + 4, o.ioApicAddress);
  w.u32(e + 8, 0);
  e += 12;
  const override = (irq: number, gsi: number, flags: number) => {
    w.bytes(e, [2, 10, 0, irq]);
    w.u32(e + 4, gsi);
    w.u16(e + 8, flags);
    e += 10;
  };
  override(0, 2, 0);
  for (const irq of o.pciIrqs) override(irq, irq, MPS_INTI_LEVEL_HIGH);
  // Local APIC NMI: all processors (0xff), conforming, LINT1.
  w.bytes(e, [4, 6, 0xff, 0, 0, 1]);
  e += 6;
  const madtLength = e - madt;
  header(w, madt, "APIC", madtLength, 1);

  const tables = [fadt, madt];
  const rsdt = align(madt + madtLength, 8);
  const rsdtLength = HEADER_SIZE + 4 * tables.length;
  tables.forEach((t, i) => w.u32(rsdt + HEADER_SIZE + 4 * i, t));
  header(w, rsdt, "RSDT", rsdtLength, 1);

  const xsdt = align(rsdt + rsdtLength, 8);
  const xsdtLength = HEADER_SIZE + 8 * tables.length;
  tables.forEach((t, i) => w.u64(xsdt + HEADER_SIZE + 8 * i, t));
  header(w, xsdt, "XSDT", xsdtLength, 1);
  const end = xsdt + xsdtLength;
  if (end > o.areaStart + o.areaSize) throw new Error("ACPI tables do not fit their area");

  // RSDP, revision 2 (ACPI 2.0): the first 20 bytes and all 36 each sum to zero.
  const r = o.rsdpAddress;
  ram.fill(0, r, r + 36);
  w.text(r, "RSD PTR ", 8);
  w.text(r + 9, ACPI_OEM_ID, 6);
  w.u8(r + 15, 2);
  w.u32(r + 16, rsdt);
  w.u32(r + 20, 36);
  w.u64(r + 24, xsdt);
  w.checksum(r, 20, r + 8);
  w.checksum(r, 36, r + 32);
  return { rsdp: r, rsdt, xsdt, fadt, facs, dsdt, madt, end };
}

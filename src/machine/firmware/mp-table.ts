/**
 * The Intel MultiProcessor Specification 1.4 tables for a one-processor PC, built as SeaBIOS builds
 * them for QEMU's pc machine: a floating pointer in the BIOS area that points to a configuration
 * table with, in order, the processor, the buses (PCI 0, ISA 1), the I/O APIC, one I/O interrupt
 * entry per PCI function that has an interrupt pin, one per ISA IRQ that is not taken by PCI or the
 * cascade (ISA IRQ 0 goes to I/O APIC pin 2), and the two local interrupt entries (ExtINT on LINT0,
 * NMI on LINT1).
 *
 * The I/O APIC entry carries version 0x11 as SeaBIOS writes it, although the I/O APIC's version
 * register reads 0x20 (as under QEMU). The processor's signature and feature flags are CPUID leaf 1's.
 * The OEM id is ttd's own ("TTD"), not QEMU's "BOCHSCPU".
 */
import { TableWriter } from "./table-writer.js";

export const MP_OEM_ID = "TTD";
export const MP_PRODUCT_ID = "PC";

export interface MpProcessor {
  apicId: number;
  apicVersion: number;
  /** CPUID.1:EAX (family, model, stepping) and CPUID.1:EDX. */
  signature: number;
  features: number;
}

export interface MpPciInterrupt {
  device: number;
  /** 1 = INTA# ... 4 = INTD#. */
  pin: number;
  /** The I/O APIC pin it is wired to. */
  ioApicPin: number;
}

export interface MpTableOptions {
  floatingPointer: number;
  configTable: number;
  localApicAddress: number;
  processor: MpProcessor;
  ioApicId: number;
  ioApicAddress: number;
  /** PCI functions with an interrupt pin, in bus order. */
  pciInterrupts: MpPciInterrupt[];
  /** ISA IRQs wired level-triggered to PCI (left out of the ISA entries). */
  pciIrqs: number[];
}

const ENTRY_PROCESSOR = 0;
const ENTRY_BUS = 1;
const ENTRY_IOAPIC = 2;
const ENTRY_IO_INTERRUPT = 3;
const ENTRY_LOCAL_INTERRUPT = 4;
const INT_TYPE_INT = 0;
const INT_TYPE_NMI = 1;
const INT_TYPE_EXTINT = 3;
const PCI_BUS = 0;
const ISA_BUS = 1;
/** The I/O APIC version SeaBIOS writes into the MP table. */
const MP_IOAPIC_VERSION = 0x11;
/** MP interrupt entry flags: active high, conforming trigger (a PCI pin's entry, as SeaBIOS writes it). */
const FLAGS_PCI = 0x0001;
const FLAGS_CONFORMING = 0x0000;

/** Writes the floating pointer and the configuration table; returns the table's length in bytes. */
export function writeMpTables(ram: Uint8Array, o: MpTableOptions): number {
  const w = new TableWriter(ram);
  const t = o.configTable;
  let e = t + 44;
  let count = 0;
  // Processor: enabled, bootstrap processor.
  w.u8(e, ENTRY_PROCESSOR);
  w.u8(e + 1, o.processor.apicId);
  w.u8(e + 2, o.processor.apicVersion);
  w.u8(e + 3, 0x03);
  w.u32(e + 4, o.processor.signature);
  w.u32(e + 8, o.processor.features);
  w.u32(e + 12, 0);
  w.u32(e + 16, 0);
  e += 20;
  count++;
  for (const [id, name] of [[PCI_BUS, "PCI"], [ISA_BUS, "ISA"]] as const) {
    w.u8(e, ENTRY_BUS);
    w.u8(e + 1, id);
    w.text(e + 2, name, 6);
    e += 8;
    count++;
  }
  w.u8(e, ENTRY_IOAPIC);
  w.u8(e + 1, o.ioApicId);
  w.u8(e + 2, MP_IOAPIC_VERSION);
  w.u8(e + 3, 0x01); // usable
  w.u32(e + 4, o.ioApicAddress);
  e += 8;
  count++;
  const interrupt = (kind: number, type: number, flags: number, bus: number, irq: number, dst: number, pin: number) => {
    w.u8(e, kind);
    w.u8(e + 1, type);
    w.u16(e + 2, flags);
    w.u8(e + 4, bus);
    w.u8(e + 5, irq);
    w.u8(e + 6, dst);
    w.u8(e + 7, pin);
    e += 8;
    count++;
  };
  for (const p of o.pciInterrupts) {
    // A PCI source IRQ is the device number in bits 2-6 and the pin (0 = INTA#) in bits 0-1.
    interrupt(ENTRY_IO_INTERRUPT, INT_TYPE_INT, FLAGS_PCI, PCI_BUS, (p.device << 2) | (p.pin - 1), o.ioApicId, p.ioApicPin);
  }
  for (let irq = 0; irq < 16; irq++) {
    if (irq === 2 || o.pciIrqs.includes(irq)) continue;
    interrupt(ENTRY_IO_INTERRUPT, INT_TYPE_INT, FLAGS_CONFORMING, ISA_BUS, irq, o.ioApicId, irq === 0 ? 2 : irq);
  }
  interrupt(ENTRY_LOCAL_INTERRUPT, INT_TYPE_EXTINT, FLAGS_CONFORMING, ISA_BUS, 0, 0, 0);
  interrupt(ENTRY_LOCAL_INTERRUPT, INT_TYPE_NMI, FLAGS_CONFORMING, ISA_BUS, 0, 0xff, 1);
  const length = e - t;

  // Configuration table header.
  w.text(t, "PCMP", 4);
  w.u16(t + 4, length);
  w.u8(t + 6, 4); // specification revision 1.4
  w.text(t + 8, MP_OEM_ID, 8);
  w.text(t + 16, MP_PRODUCT_ID, 12);
  w.u32(t + 28, 0); // no OEM table
  w.u16(t + 32, 0);
  w.u16(t + 34, count);
  w.u32(t + 36, o.localApicAddress);
  w.u16(t + 40, 0); // no extended entries
  w.u8(t + 42, 0);
  w.u8(t + 43, 0);
  w.checksum(t, length, t + 7);

  // Floating pointer: one 16-byte paragraph, revision 1.4, configuration table present (feature 1 = 0).
  const f = o.floatingPointer;
  w.text(f, "_MP_", 4);
  w.u32(f + 4, t);
  w.u8(f + 8, 1);
  w.u8(f + 9, 4);
  w.u32(f + 11, 0);
  w.u8(f + 15, 0);
  w.checksum(f, 16, f + 10);
  return length;
}

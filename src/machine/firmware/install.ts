/**
 * Puts the firmware's tables in guest RAM at power-on, as SeaBIOS does under QEMU before a loader
 * runs: the BIOS data area and EBDA, the MP tables and the ACPI tables (see layout.ts for where).
 * They describe the machine ttd builds (machine.ts): one processor with its local APIC, the I/O
 * APIC, the PCI functions and their interrupt pins, the PIIX4 power-management registers, COM1.
 */
import { writeBiosDataArea } from "./bios-data-area.js";
import { writeMpTables } from "./mp-table.js";
import { writeAcpiTables, type AcpiLayout } from "./acpi-tables.js";
import { dsdtAml } from "./dsdt.js";
import { COM1_IRQ } from "../uart.js";
import { ACPI_AREA_SIZE, MP_CONFIG_TABLE_ADDRESS, MP_FLOATING_POINTER_ADDRESS, RSDP_ADDRESS, acpiAreaStart } from "./layout.js";

/** ISA IRQs that QEMU's pc machine gives to PCI (level-triggered, active high). */
export const PCI_IRQS = [5, 9, 10, 11];

export interface FirmwareDescription {
  /** CPUID.1:EAX and CPUID.1:EDX of the processor. */
  cpuSignature: number;
  cpuFeatures: number;
  localApicAddress: number;
  localApicVersion: number;
  ioApicId: number;
  ioApicAddress: number;
  serialPorts: number[];
  /** PCI functions with an interrupt pin: device, pin (1 = INTA#) and the IRQ it is wired to. */
  pciInterrupts: Array<{ device: number; pin: number; irq: number }>;
  pmBase: number;
  gpe0Base: number;
  sciIrq: number;
  smiCommandPort: number;
  acpiEnable: number;
  acpiDisable: number;
}

/** Writes every firmware table into `ram` (which must fit them); returns where the ACPI tables went. */
export function installFirmware(ram: Uint8Array, d: FirmwareDescription): AcpiLayout {
  writeBiosDataArea(ram, { serialPorts: d.serialPorts, fpu: (d.cpuFeatures & 1) !== 0 });
  writeMpTables(ram, {
    floatingPointer: MP_FLOATING_POINTER_ADDRESS,
    configTable: MP_CONFIG_TABLE_ADDRESS,
    localApicAddress: d.localApicAddress,
    processor: { apicId: 0, apicVersion: d.localApicVersion, signature: d.cpuSignature, features: d.cpuFeatures },
    ioApicId: d.ioApicId,
    ioApicAddress: d.ioApicAddress,
    pciInterrupts: d.pciInterrupts.map((p) => ({ device: p.device, pin: p.pin, ioApicPin: p.irq })),
    pciIrqs: PCI_IRQS,
  });
  return writeAcpiTables(ram, {
    rsdpAddress: RSDP_ADDRESS,
    areaStart: acpiAreaStart(ram.length),
    areaSize: ACPI_AREA_SIZE,
    localApicAddress: d.localApicAddress,
    ioApicId: d.ioApicId,
    ioApicAddress: d.ioApicAddress,
    sciIrq: d.sciIrq,
    pmBase: d.pmBase,
    gpe0Base: d.gpe0Base,
    smiCommandPort: d.smiCommandPort,
    acpiEnable: d.acpiEnable,
    acpiDisable: d.acpiDisable,
    pciIrqs: PCI_IRQS,
    dsdtAml: dsdtAml({
      ramBytes: ram.length,
      ioApicAddress: d.ioApicAddress,
      sciIrq: d.sciIrq,
      pciInterrupts: d.pciInterrupts,
      // The PIRQ links may take any PCI IRQ but the SCI's, which LNKS holds.
      pirqIrqs: PCI_IRQS.filter((irq) => irq !== d.sciIrq),
      // COM1, the only port ttd has (the BIOS data area lists it too).
      serial: d.serialPorts.length > 0 ? { port: d.serialPorts[0], irq: COM1_IRQ } : null,
    }),
  });
}

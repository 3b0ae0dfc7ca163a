/**
 * ttd's DSDT: the AML description of the devices a kernel cannot find by probing, for the machine
 * machine.ts builds (every object here stands for something ttd emulates):
 *
 * - \_SB.PCI0, the i440FX host bridge (PNP0A03): bus numbers 0-255, the configuration ports
 *   0xcf8-0xcff, the I/O it forwards (everything but those ports), the legacy VGA window
 *   0xa0000-0xbffff and the memory between the top of RAM and the I/O APIC (0xfec00000), and its
 *   interrupt routing (_PRT) for the PCI functions that have an interrupt pin.
 * - \_SB.PCI0.ISA_, the PIIX3 ISA bridge (00:01.0), with its PIRQ route registers (configuration
 *   bytes 0x60-0x63) as fields, and the ISA devices behind it: the 8042's keyboard and auxiliary
 *   ports (PNP0303, PNP0F13), COM1 (PNP0501) and the RTC with its two CMOS banks (PNP0B00).
 * - \_SB.LNKA-LNKD (PNP0C0F): the PIIX3's four PIRQ links; _CRS/_SRS/_DIS read and write the route
 *   registers (bit 7 disables a link). \_SB.LNKS: the SCI's fixed IRQ, the link of the PIIX4 PM
 *   function's interrupt pin.
 * - \_S4 and \_S5: sleep type 2 and 0 both power the machine off (piix4-pm.ts). There is no \_S3:
 *   ttd does not model suspend to RAM.
 *
 * There are no GPE methods (ttd has no hot-plug), no floppy or parallel port and no HPET.
 */
import {
  and, arg, createDWordField, definitionBlock, device, eisaId, field, FIELD_BYTE_ACC, FIELD_PRESERVE, ifThen, int,
  lEqual, method, name, operationRegion, or, pkg, ref, RegionSpace, ret, scope, store, type Aml,
} from "./aml.js";
import {
  busNumbers, ioPorts, ioWindow, isaIrq, memoryWindow, resourceTemplate, sharedLevelInterrupt, SHARED_INTERRUPT_FIRST_IRQ,
} from "./acpi-resources.js";

export interface DsdtOptions {
  /** RAM below 4 GiB: PCI memory starts above it. */
  ramBytes: number;
  ioApicAddress: number;
  sciIrq: number;
  /** PCI functions with an interrupt pin (1 = INTA#) and the IRQ it is wired to. */
  pciInterrupts: Array<{ device: number; pin: number; irq: number }>;
  /** ISA IRQs the PIRQ links may route to. */
  pirqIrqs: number[];
  /** The serial port and its IRQ, or null for none. */
  serial: { port: number; irq: number } | null;
}

/** PIIX3 ISA bridge: PCI device 1, function 0; its PIRQ route registers, one byte per link. */
const ISA_BRIDGE_ADDRESS = 0x00010000;
const PIRQ_ROUTE_OFFSET = 0x60;
const PIRQ_LINKS = ["LNKA", "LNKB", "LNKC", "LNKD"];
const PIRQ_FIELDS = ["PRQA", "PRQB", "PRQC", "PRQD"];
/** Bit 7 of a route register: the link is not routed to any IRQ. */
const ROUTE_DISABLED = 0x80;

/** _STA: present, enabled, shown in the UI and functioning. */
const STA_ON = 0x0f;
/** Present and functioning but not shown: what QEMU and real firmware report for links (0x0b), disabled (0x09). */
const STA_LINK_ON = 0x0b;
const STA_LINK_OFF = 0x09;

/** A PIRQ link: its state lives in the ISA bridge's route register `reg`. */
function pirqLink(n: string, uid: number, reg: string, irqs: number[]): Aml {
  const regRef = ref(`\\_SB.PCI0.ISA_.${reg}`);
  return device(n,
    name("_HID", eisaId("PNP0C0F")),
    name("_UID", int(uid)),
    name("_PRS", resourceTemplate(sharedLevelInterrupt(...irqs))),
    method("_STA", 0, false,
      ifThen(and(regRef, int(ROUTE_DISABLED)), ret(int(STA_LINK_OFF))),
      ret(int(STA_LINK_ON))),
    method("_DIS", 0, false, or(regRef, int(ROUTE_DISABLED), regRef)),
    // The current IRQ: the register's low four bits, or none (IRQ 0 in the template) when disabled.
    method("_CRS", 0, true,
      name("BUFF", resourceTemplate(sharedLevelInterrupt(0))),
      createDWordField(ref("BUFF"), SHARED_INTERRUPT_FIRST_IRQ, "IRQN"),
      ifThen(lEqual(and(regRef, int(ROUTE_DISABLED)), int(0)), and(regRef, int(0x0f), ref("IRQN"))),
      ret(ref("BUFF"))),
    method("_SRS", 1, false,
      createDWordField(arg(0), SHARED_INTERRUPT_FIRST_IRQ, "IRQN"),
      store(ref("IRQN"), regRef)),
  );
}

/** _PRT: one entry per PCI function pin; the SCI's pin through LNKS, any other straight to its IRQ. */
function routingTable(o: DsdtOptions): Aml {
  const entries = o.pciInterrupts.map((p) => {
    const address = ((p.device << 16) | 0xffff) >>> 0;
    return p.irq === o.sciIrq
      ? pkg(int(address), int(p.pin - 1), ref("\\_SB.LNKS"), int(0))
      : pkg(int(address), int(p.pin - 1), int(0), int(p.irq));
  });
  return name("_PRT", pkg(...entries));
}

function hostBridge(o: DsdtOptions): Aml {
  return device("PCI0",
    name("_HID", eisaId("PNP0A03")),
    name("_ADR", int(0)),
    name("_UID", int(0)),
    name("_CRS", resourceTemplate(
      busNumbers(0, 0xff),
      ioPorts(0xcf8, 8),
      ioWindow(0x0000, 0x0cf7),
      ioWindow(0x0d00, 0xffff),
      memoryWindow(0xa0000, 0xbffff, true),
      memoryWindow(o.ramBytes, o.ioApicAddress - 1, false),
    )),
    routingTable(o),
    isaBridge(o),
  );
}

function isaBridge(o: DsdtOptions): Aml {
  return device("ISA_",
    name("_ADR", int(ISA_BRIDGE_ADDRESS)),
    operationRegion("PIRQ", RegionSpace.PciConfig, PIRQ_ROUTE_OFFSET, PIRQ_FIELDS.length),
    field("PIRQ", FIELD_BYTE_ACC | FIELD_PRESERVE, PIRQ_FIELDS.map((f): [string, number] => [f, 8])),
    device("KBD_",
      name("_HID", eisaId("PNP0303")),
      name("_STA", int(STA_ON)),
      name("_CRS", resourceTemplate(ioPorts(0x60, 1), ioPorts(0x64, 1), isaIrq(1)))),
    device("MOU_",
      name("_HID", eisaId("PNP0F13")),
      name("_STA", int(STA_ON)),
      name("_CRS", resourceTemplate(isaIrq(12)))),
    ...(o.serial === null ? [] : [device("COM1",
      name("_HID", eisaId("PNP0501")),
      name("_UID", int(1)),
      name("_STA", int(STA_ON)),
      name("_CRS", resourceTemplate(ioPorts(o.serial.port, 8), isaIrq(o.serial.irq))))]),
    device("RTC_",
      name("_HID", eisaId("PNP0B00")),
      name("_CRS", resourceTemplate(ioPorts(0x70, 4), isaIrq(8)))),
  );
}

/** The DSDT's AML (the table body after its header). */
export function dsdtAml(o: DsdtOptions): Uint8Array {
  return definitionBlock(
    scope("\\_SB",
      hostBridge(o),
      ...PIRQ_LINKS.map((n, i) => pirqLink(n, i, PIRQ_FIELDS[i], o.pirqIrqs)),
      device("LNKS",
        name("_HID", eisaId("PNP0C0F")),
        name("_UID", int(PIRQ_LINKS.length)),
        name("_STA", int(STA_LINK_ON)),
        name("_PRS", resourceTemplate(sharedLevelInterrupt(o.sciIrq))),
        name("_CRS", resourceTemplate(sharedLevelInterrupt(o.sciIrq)))),
    ),
    name("\\_S4_", pkg(int(2), int(2), int(0), int(0))),
    name("\\_S5_", pkg(int(0), int(0), int(0), int(0))),
  );
}

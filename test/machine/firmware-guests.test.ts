/**
 * Guests of our own that read what the firmware left and drive the new devices, run under ttd and
 * compared with QEMU 7.2 byte for byte (QEMU runs are skipped with a message when it is absent):
 * - tables.c walks the multiboot memory map, BIOS data area, EBDA, MP tables and ACPI tables; lines
 *   starting with '~' carry what is meant to differ (OEM ids, addresses, the RSDP revision, tables
 *   only one side has) and are checked against ttd's own choices instead;
 * - pci.c enumerates bus 0 (QEMU with -vga none: ttd has no PCI display function);
 * - ioapic.c routes the PIT through I/O APIC pin 2 and the UART through pin 4 level-triggered;
 * - poweroff.c switches to ACPI mode and powers off through \_S5.
 */
import { describe, expect, it } from "vitest";
import { buildGuest, canBuild, hasQemu, runUnderQemu, runUnderTtd } from "./firmware-guests.js";
import { cpuid } from "../../src/cpu/cpuid.js";

const compared = (out: string) => out.split("\n").filter((l) => !l.startsWith("~")).join("\n");
const differing = (out: string) => out.split("\n").filter((l) => l.startsWith("~"));

if (!hasQemu) console.warn("qemu-system-i386 not found: the firmware guests are not compared with QEMU");

describe.skipIf(!canBuild)("firmware guests", () => {
  it("tables: the memory map, BDA, MP and ACPI tables match QEMU's where they are meant to", () => {
    const elf = buildGuest("tables");
    const ttd = runUnderTtd(elf);
    expect(ttd.result.reason).toBe("exit");
    expect(ttd.out).toContain("mmap 0000000007fe0000 0000000000020000 2\n");
    expect(ttd.out).toContain("dsdt _S5 0 0\n");
    expect(ttd.out).not.toContain("BAD");
    // What the processor reports in CPUID leaf 1 appears in the MP table and the equipment word (x87 bit).
    const regs = ttd.machine.cpu.regs;
    regs[0] = 1;
    cpuid(ttd.machine.cpu);
    const hex8 = (v: number) => (v >>> 0).toString(16).padStart(8, "0");
    const equipment = (0x0220 | ((regs[2] & 1) << 1)).toString(16).padStart(4, "0");
    expect(differing(ttd.out)).toEqual([
      `~bda lpt 0000 0000 0000 equipment ${equipment}`,
      "~mp float at 000f0030",
      "~mp config at 000f0040 oem TTD      product PC          ",
      `~mp cpu signature ${hex8(regs[0])} features ${hex8(regs[2])}`,
      "~rsdp at 000f0000 rev 2 oem TTD    len 36 xsum ok",
      "~acpi RSDT rev 1 len 44 at 07fe07b0 sum ok",
      "~acpi RSDT oem TTD   /TTDPC   ",
      "~acpi FACP oem TTD   /TTDPC   ",
      "~acpi DSDT rev 1 len 1660 at 07fe0040 sum ok",
      "~acpi DSDT oem TTD   /TTDPC   ",
      "~acpi APIC oem TTD   /TTDPC   ",
      "~acpi XSDT rev 1 len 52 at 07fe07e0 sum ok",
      "~acpi XSDT oem TTD   /TTDPC   ",
      "~xsdt FACP=rsdt APIC=rsdt",
    ]);
    if (hasQemu) {
      const q = runUnderQemu(elf);
      expect(q.status).toBe(1);
      expect(compared(ttd.out)).toBe(compared(q.out));
    }
  });

  it("pci: bus 0 enumerates as under QEMU", () => {
    const elf = buildGuest("pci");
    const ttd = runUnderTtd(elf);
    expect(ttd.out).toContain("00:01.3 8086:7113 class 068000 rev 03 hdr 00 int 09/01");
    expect(ttd.out).toContain("bar4 size fffffff1 restored 0000c001\n");
    if (hasQemu) expect(ttd.out).toBe(runUnderQemu(elf, ["-vga", "none"]).out);
  });

  it("ioapic: PIT on pin 2 and the UART level-triggered on pin 4 reach the local APIC as under QEMU", () => {
    const elf = buildGuest("ioapic");
    const ttd = runUnderTtd(elf);
    expect(ttd.out).toBe(
      "ioapic id 00000000 ver 00170020 arb 00000000 pin2 0000000000010000\n" +
      "pit via pin 2: 1 isr 1 tmr 0 isr after 0\n" +
      "uart via pin 4: count 1 isr 1 tmr 1 remote irr 1 after eoi 0\n",
    );
    expect(ttd.result.exitStatus).toBe(1);
    if (hasQemu) expect(runUnderQemu(elf).out).toBe(ttd.out);
  });

  it("poweroff: \\_S5 through PM1a control ends the run as power-off, as QEMU exits", () => {
    const elf = buildGuest("poweroff");
    const ttd = runUnderTtd(elf);
    expect(ttd.result.reason).toBe("power-off");
    expect(ttd.result.detail).toMatch(/SLP_TYP 0.*0x604/);
    expect(ttd.out).toContain("powering off\n");
    if (hasQemu) {
      const q = runUnderQemu(elf);
      expect(q.status).toBe(0);
      expect(ttd.out).toBe(q.out);
    }
  });
});

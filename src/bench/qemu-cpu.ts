import { CPUID_BRAND } from "../cpu/cpuid.js";

/**
 * QEMU's CPU made as close to ttd's CPUID as QEMU allows, for comparisons of whole kernels (the Linux
 * tests, the linux benchmark): its Core 2 Duo model has ttd's signature (family 6, model 15, stepping
 * 11); every feature ttd does not report is switched off, XSAVE/XSAVEOPT, which ttd has and that
 * model lacks, switched on, and its brand string is ttd's.
 */
export const QEMU_CPU_LIKE_TTD =
  "core2duo,-vme,-de,-mce,-pae,-mca,-ss,-ssse3,-pni,-monitor,-lm,-syscall,-nx,-lahf-lm,-dtes64,-ds-cpl,-vmx,-est,-tm2,-xtpr,-pdcm,-ds,-acpi,-tm,-pbe,-cx16,-pse36,-clflush,-hypervisor,+xsave,+xsaveopt," +
  `model-id=${CPUID_BRAND}`;

/**
 * QEMU's pc machine reduced to the devices ttd's PC has, for comparisons of whole kernel boots: no
 * default devices (network card, PCI VGA, parallel port, drives), COM1 on stdio, a VGA text screen
 * on the ISA bus (ttd's has no PCI function), no HPET, no ACPI hot-plug, no S3 sleep state, and the
 * RTC starting at 2000-01-01 and moving with virtual time, as ttd's does. What remains different
 * (QEMU keeps its floppy controller and CPU hot-plug, for instance) is listed where the tests compare.
 */
export const QEMU_MACHINE_LIKE_TTD: readonly string[] = [
  "-nodefaults", "-serial", "stdio", "-device", "isa-vga", "-machine", "hpet=off",
  "-global", "PIIX4_PM.acpi-root-pci-hotplug=off", "-global", "PIIX4_PM.disable_s3=1",
  "-rtc", "base=2000-01-01T00:00:00,clock=vm",
];

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

/**
 * The flags Linux lists in /proc/cpuinfo for what ttd's CPUID reports: the names Linux gives CPUID's
 * feature bits (arch/x86/include/asm/cpufeatures.h), from leaves 1, 0xD sub-leaf 1 and 0x80000001 as
 * ttd's CPU answers them now, so the expectation follows the CPU as features are added.
 */
import { Machine } from "../../src/machine/machine.js";
import { cpuid } from "../../src/cpu/cpuid.js";

const LEAF1_EDX = ["fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "", "sep", "mtrr", "pge", "mca", "cmov", "pat", "pse36", "pn", "clflush", "", "dts", "acpi", "mmx", "fxsr", "sse", "sse2", "ss", "ht", "tm", "ia64", "pbe"];
const LEAF1_ECX = ["pni", "pclmulqdq", "dtes64", "monitor", "ds_cpl", "vmx", "smx", "est", "tm2", "ssse3", "cid", "sdbg", "fma", "cx16", "xtpr", "pdcm", "", "pcid", "dca", "sse4_1", "sse4_2", "x2apic", "movbe", "popcnt", "tsc_deadline_timer", "aes", "xsave", "", "avx", "f16c", "rdrand", "hypervisor"];
/** CPUID.(EAX=0xD, ECX=1):EAX, the XSAVE extensions. */
const XSAVE_EAX = ["xsaveopt", "xsavec", "xgetbv1", "xsaves"];
const EXT_EDX: Record<number, string> = { 11: "syscall", 19: "mp", 20: "nx", 22: "mmxext", 25: "fxsr_opt", 26: "pdpe1gb", 27: "rdtscp", 29: "lm", 30: "3dnowext", 31: "3dnow" };
const EXT_ECX: Record<number, string> = { 0: "lahf_lm", 1: "cmp_legacy", 2: "svm", 4: "cr8_legacy", 5: "abm", 6: "sse4a", 8: "3dnowprefetch" };

/**
 * Flags Linux adds from what it works out rather than from a CPUID bit (constant_tsc for this family
 * and model, cpuid because the instruction exists); they may appear in the line too.
 */
export const SYNTHETIC_FLAGS = new Set(["constant_tsc", "cpuid", "tsc_known_freq", "nonstop_tsc", "arch_perfmon", "pebs", "bts", "rep_good", "nopl", "xtopology", "tsc_reliable", "cpuid_fault", "pti", "ssbd", "ibrs", "ibpb", "stibp", "tsc_adjust", "md_clear", "flush_l1d", "arch_capabilities"]);

function leaf(m: Machine, eax: number, ecx = 0): [number, number, number] {
  const r = m.cpu.regs;
  r[0] = eax;
  r[1] = ecx;
  cpuid(m.cpu);
  return [r[2] >>> 0, r[1] >>> 0, r[0] >>> 0]; // EDX, ECX, EAX
}

/** The CPUID-derived flag names for ttd's CPU. */
export function ttdCpuidFlags(): string[] {
  const m = new Machine({ memoryMiB: 16 });
  const [edx, ecx] = leaf(m, 1);
  const [xedx, xecx] = leaf(m, 0x80000001);
  const xsaveEax = ecx & (1 << 26) ? leaf(m, 0xd, 1)[2] : 0;
  const names: string[] = [];
  for (let b = 0; b < XSAVE_EAX.length; b++) if (xsaveEax & (1 << b)) names.push(XSAVE_EAX[b]);
  for (let b = 0; b < 32; b++) {
    if (edx & (1 << b) && LEAF1_EDX[b]) names.push(LEAF1_EDX[b]);
    if (ecx & (1 << b) && LEAF1_ECX[b]) names.push(LEAF1_ECX[b]);
    if (xedx & (1 << b) && EXT_EDX[b]) names.push(EXT_EDX[b]);
    if (xecx & (1 << b) && EXT_ECX[b]) names.push(EXT_ECX[b]);
  }
  return names.sort();
}

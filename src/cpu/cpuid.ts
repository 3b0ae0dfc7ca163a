/**
 * CPUID: the identity of one real family-6 Intel core, a Core 2 (family 6, model 15, stepping 11,
 * signature 0x6fb, 32 KiB L1 caches, a 4 MiB L2), advertising only the features ttd implements. The
 * answers are constants (plus two model-specific registers they depend on), so traces never depend on
 * the host.
 *
 *   leaf 0           maximum basic leaf 0xD (2 while IA32_MISC_ENABLE bit 22 "limit CPUID maxval" is
 *                    set), "GenuineIntel"
 *   leaf 1           EAX signature 0x6fb; EBX CLFLUSH line 8 (64 bytes), one logical processor, APIC
 *                    ID 0; ECX XSAVE, and OSXSAVE while CR4.OSXSAVE is set; EDX FPU PSE TSC MSR CX8 APIC
 *                    SEP MTRR PGE CMOV PAT MMX FXSR SSE SSE2 (no PAE).
 *                    Also loads the microcode revision into IA32_BIOS_SIGN_ID, as hardware does.
 *   leaf 2           cache and TLB descriptors of that core (L1d/L1i 32 KiB 8-way, L2 4 MiB 16-way,
 *                    64-byte lines, its TLBs, 64-byte prefetch)
 *   leaf 3           zeros (no processor serial number)
 *   leaf 4           the same caches as deterministic parameters, one core sharing each
 *   leaves 5-0xC     zeros (no MONITOR/MWAIT, thermal, structured extended features, performance
 *                    monitoring or topology leaves)
 *   leaf 0xD         XSAVE: sub-leaf 0 EAX = 3 (x87 and SSE may be enabled in XCR0), EBX = ECX = 576
 *                    (legacy region + header, for any XCR0 of those), EDX 0; sub-leaf 1 EAX bit 0
 *                    XSAVEOPT; other sub-leaves zeros
 *   0x80000000       maximum extended leaf 0x80000008
 *   0x80000001       zeros (no NX, no SYSCALL, no long mode)
 *   0x80000002-4     the brand string
 *   0x80000006       L2: 4096 KiB, 16-way, 64-byte lines
 *   0x80000008       32-bit physical and linear addresses (no PAE)
 * Leaves above the maximum return what the highest basic leaf returns (leaf 0xD, for the sub-leaf in
 * ECX), as Intel processors do.
 */
import type { CPU } from "./cpu.js";
import { EAX, EBX, ECX, EDX } from "./constants.js";
import { CR4_OSXSAVE } from "./sse/mxcsr.js";
import { XCR0_SUPPORTED, XSAVE_AREA_SIZE } from "./sse/xsave.js";

export const CPUID_SIGNATURE = 0x6fb;
/** Leaf 1 EDX: FPU(0) PSE(3) TSC(4) MSR(5) CX8(8) APIC(9) SEP(11) MTRR(12) PGE(13) CMOV(15) PAT(16). */
export const CPUID_FEATURES_EDX =
  (1 << 0) | (1 << 3) | (1 << 4) | (1 << 5) | (1 << 8) | (1 << 9) | (1 << 11) | (1 << 12) | (1 << 13) | (1 << 15) | (1 << 16);
/** Leaf 1 EDX, the vector unit: MMX(23) FXSR(24) SSE(25) SSE2(26). */
export const CPUID_VECTOR_FEATURES_EDX = (1 << 23) | (1 << 24) | (1 << 25) | (1 << 26);
/** Leaf 1 ECX: XSAVE(26); OSXSAVE(27) is added while CR4.OSXSAVE is set. */
export const CPUID_FEATURES_ECX = 1 << 26;
const ECX_OSXSAVE = 1 << 27;
/** Leaf 1 EBX: brand index 0, CLFLUSH line size 8 x 8 bytes, 1 logical processor, initial APIC ID 0. */
export const CPUID_LEAF1_EBX = (8 << 8) | (1 << 16);
/** At most 47 characters; the TSC counts one tick per virtual nanosecond, hence 1.00GHz. */
export const CPUID_BRAND = "Intel(R) Core(TM)2 CPU (ttd) @ 1.00GHz";
/** The microcode revision CPUID leaf 1 loads into IA32_BIOS_SIGN_ID[63:32]. */
export const MICROCODE_REVISION = 0xba;

const MAX_BASIC = 0xd;
const MAX_BASIC_LIMITED = 2;
const MAX_EXTENDED = 0x80000008;

/** Leaf 2: AL = 1 (one call); descriptors 0xb1 0xb0 0x05 | 0xf0 0x57 0x56 | - | 0x49 0x30 0xb4 0x2c. */
const LEAF2 = [0x05b0b101, 0x005657f0, 0x00000000, 0x2cb43049];

/** Leaf 4 sub-leaves: [EAX, EBX, ECX, EDX]; EAX type/level/self-initializing, EBX ways/partitions/line, ECX sets. */
const LEAF4: ReadonlyArray<readonly [number, number, number, number]> = [
  [0x121, (7 << 22) | 63, 63, 0], // L1 data: 8 ways x 64 sets x 64 bytes = 32 KiB
  [0x122, (7 << 22) | 63, 63, 0], // L1 instruction: 32 KiB
  [0x143, (15 << 22) | 63, 4095, 1], // L2 unified: 16 ways x 4096 sets x 64 bytes = 4 MiB; WBINVD flushes lower levels too
];

/** The brand string as 12 little-endian dwords (NUL-padded to 48 bytes). */
const BRAND_DWORDS: number[] = (() => {
  const bytes = new Uint8Array(48);
  bytes.set(new TextEncoder().encode(CPUID_BRAND).subarray(0, 47));
  const out: number[] = [];
  for (let i = 0; i < 48; i += 4) out.push((bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24)) | 0);
  return out;
})();

export function cpuid(cpu: CPU): void {
  const regs = cpu.regs;
  const maxBasic = cpu.msrs.cpuidLimited() ? MAX_BASIC_LIMITED : MAX_BASIC;
  let leaf = regs[EAX] >>> 0;
  const subleaf = regs[ECX] >>> 0;
  // Beyond the maximum (basic or extended): the highest basic leaf's answer.
  if (leaf < 0x80000000 ? leaf > maxBasic : leaf > MAX_EXTENDED) leaf = maxBasic;
  let a = 0, b = 0, c = 0, d = 0;
  switch (leaf) {
    case 0:
      a = maxBasic;
      b = 0x756e6547; // "Genu"
      d = 0x49656e69; // "ineI"
      c = 0x6c65746e; // "ntel"
      break;
    case 1:
      a = CPUID_SIGNATURE;
      b = CPUID_LEAF1_EBX;
      c = CPUID_FEATURES_ECX | ((cpu.cr4 & CR4_OSXSAVE) !== 0 ? ECX_OSXSAVE : 0);
      d = CPUID_FEATURES_EDX | CPUID_VECTOR_FEATURES_EDX;
      cpu.msrs.loadMicrocodeRevision(MICROCODE_REVISION);
      break;
    case 2:
      [a, b, c, d] = LEAF2;
      break;
    case 4:
      if (subleaf < LEAF4.length) [a, b, c, d] = LEAF4[subleaf];
      break;
    case 0xd:
      if (subleaf === 0) {
        a = XCR0_SUPPORTED;
        b = XSAVE_AREA_SIZE;
        c = XSAVE_AREA_SIZE;
      } else if (subleaf === 1) {
        a = 1; // XSAVEOPT
      }
      break;
    case 0x80000000:
      a = MAX_EXTENDED;
      break;
    case 0x80000002: case 0x80000003: case 0x80000004: {
      const o = (leaf - 0x80000002) * 4;
      a = BRAND_DWORDS[o];
      b = BRAND_DWORDS[o + 1];
      c = BRAND_DWORDS[o + 2];
      d = BRAND_DWORDS[o + 3];
      break;
    }
    case 0x80000006:
      c = (4096 << 16) | (0x8 << 12) | 64; // 4096 KiB, 16-way (encoding 8), 64-byte lines
      break;
    case 0x80000008:
      a = (32 << 8) | 32; // linear and physical address bits
      break;
  }
  regs[EAX] = a;
  regs[EBX] = b;
  regs[ECX] = c;
  regs[EDX] = d;
}

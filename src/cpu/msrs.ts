/**
 * The model-specific registers that live in the processor itself, beside the ones cpu.ts keeps as
 * fields (TSC, APIC base, SYSENTER): the page attribute table, the MTRRs, IA32_MISC_ENABLE,
 * IA32_PLATFORM_ID and IA32_BIOS_SIGN_ID. Values are stored, checked as the SDM says (a reserved bit
 * or an undefined memory type raises #GP on WRMSR), and restored with the CPU state; ttd models no
 * caches, so memory types change nothing else.
 *
 * Power-on values are what a kernel finds under QEMU 7.2 with SeaBIOS (checked with a guest reading
 * them): PAT 0x0007040600070406, every MTRR zero with MTRRs disabled, MISC_ENABLE = fast strings.
 * Physical addresses are 32 bits wide (CPUID 0x80000008), so bits 63:32 of the MTRR bases and masks
 * are reserved.
 */
import { MICROCODE_REVISION } from "./cpuid.js";
import { plainArray } from "../machine/plain-array.js";

export const MSR_PLATFORM_ID = 0x17;
export const MSR_BIOS_SIGN_ID = 0x8b;
export const MSR_MTRRCAP = 0xfe;
export const MSR_MISC_ENABLE = 0x1a0;
export const MSR_MTRR_PHYS_BASE0 = 0x200;
export const MSR_MTRR_FIX64K_00000 = 0x250;
export const MSR_MTRR_FIX16K_80000 = 0x258;
export const MSR_MTRR_FIX16K_A0000 = 0x259;
export const MSR_MTRR_FIX4K_C0000 = 0x268;
export const MSR_PAT = 0x277;
export const MSR_MTRR_DEF_TYPE = 0x2ff;

/** Variable-range MTRR pairs (MTRRCAP.VCNT). */
export const MTRR_VARIABLE_COUNT = 8;
/** MTRRCAP: VCNT 8, fixed ranges (bit 8), write-combining (bit 10); no SMRR. */
export const MTRRCAP_VALUE = MTRR_VARIABLE_COUNT | (1 << 8) | (1 << 10);
export const PAT_RESET_LO = 0x00070406;
export const PAT_RESET_HI = 0x00070406;
/** IA32_PLATFORM_ID: bits 52:50 = platform 1 (read-only). */
const PLATFORM_ID_HI = 1 << 18;

/** MISC_ENABLE bits: fast strings (0), automatic thermal control (3), limit CPUID maxval (22), xTPR disable (23). */
export const MISC_FAST_STRINGS = 1 << 0;
export const MISC_LIMIT_CPUID = 1 << 22;
const MISC_WRITABLE_LO = MISC_FAST_STRINGS | (1 << 3) | MISC_LIMIT_CPUID | (1 << 23);
/** XD bit disable (bit 34). */
const MISC_WRITABLE_HI = 1 << 2;

/** Fixed-range MTRR MSRs in the order they are stored. */
const FIXED_MSRS = [
  MSR_MTRR_FIX64K_00000, MSR_MTRR_FIX16K_80000, MSR_MTRR_FIX16K_A0000,
  0x268, 0x269, 0x26a, 0x26b, 0x26c, 0x26d, 0x26e, 0x26f,
];

/** Memory types an MTRR may hold: UC 0, WC 1, WT 4, WP 5, WB 6. */
function validMtrrType(t: number): boolean {
  return t === 0 || t === 1 || t === 4 || t === 5 || t === 6;
}

/** Memory types a PAT entry may hold: the MTRR types plus UC- (7). */
function validPatType(t: number): boolean {
  return validMtrrType(t) || t === 7;
}

/** Every byte of a 32-bit half holds a valid type (bits 7:3 clear as well for PAT). */
function bytesValid(v: number, valid: (t: number) => boolean): boolean {
  for (let i = 0; i < 4; i++) {
    if (!valid((v >>> (8 * i)) & 0xff)) return false;
  }
  return true;
}

export interface MsrState {
  pat: [number, number];
  mtrrDefType: number;
  /** Fixed ranges, lo/hi pairs in FIXED_MSRS order. */
  mtrrFixed: number[];
  /** Variable ranges: base0, mask0, base1, mask1... (low halves; the high halves are reserved). */
  mtrrVariable: number[];
  miscEnable: [number, number];
  biosSignId: [number, number];
}

export class ModelSpecificRegisters {
  private patLo = PAT_RESET_LO;
  private patHi = PAT_RESET_HI;
  private mtrrDefType = 0;
  private readonly mtrrFixed = new Int32Array(2 * FIXED_MSRS.length);
  private readonly mtrrVariable = new Int32Array(2 * MTRR_VARIABLE_COUNT);
  private miscLo = MISC_FAST_STRINGS;
  private miscHi = 0;
  private signLo = 0;
  /** The firmware has executed CPUID, so the revision is already loaded. */
  private signHi = MICROCODE_REVISION;
  /** The value RDMSR returns, once read() has said the MSR exists. */
  lo = 0;
  hi = 0;

  /** Whether MISC_ENABLE asks CPUID to report a maximum basic leaf of 2. */
  cpuidLimited(): boolean {
    return (this.miscLo & MISC_LIMIT_CPUID) !== 0;
  }

  /** CPUID leaf 1 loads the running microcode's revision into BIOS_SIGN_ID[63:32]. */
  loadMicrocodeRevision(revision: number): void {
    this.signLo = 0;
    this.signHi = revision | 0;
  }

  /** Reads MSR `index` into lo/hi; false when this processor has no such MSR (#GP). */
  read(index: number): boolean {
    let lo = 0, hi = 0;
    switch (index) {
      case MSR_PLATFORM_ID: hi = PLATFORM_ID_HI; break;
      case MSR_BIOS_SIGN_ID: lo = this.signLo; hi = this.signHi; break;
      case MSR_MTRRCAP: lo = MTRRCAP_VALUE; break;
      case MSR_MISC_ENABLE: lo = this.miscLo; hi = this.miscHi; break;
      case MSR_PAT: lo = this.patLo; hi = this.patHi; break;
      case MSR_MTRR_DEF_TYPE: lo = this.mtrrDefType; break;
      default: {
        const v = index - MSR_MTRR_PHYS_BASE0;
        if (v >= 0 && v < 2 * MTRR_VARIABLE_COUNT) {
          lo = this.mtrrVariable[v];
          break;
        }
        const f = FIXED_MSRS.indexOf(index);
        if (f < 0) return false;
        lo = this.mtrrFixed[2 * f];
        hi = this.mtrrFixed[2 * f + 1];
      }
    }
    this.lo = lo | 0;
    this.hi = hi | 0;
    return true;
  }

  /** Writes MSR `index`; false when it does not exist, is read-only, or the value sets a reserved bit or type (#GP). */
  write(index: number, lo: number, hi: number): boolean {
    switch (index) {
      case MSR_BIOS_SIGN_ID:
        // Software writes 0 here before CPUID to read the revision back; any value is accepted.
        this.signLo = lo | 0;
        this.signHi = hi | 0;
        return true;
      case MSR_MISC_ENABLE: {
        // Bits this processor does not define are reserved; the read-only ones it does define are none.
        if ((lo & ~MISC_WRITABLE_LO) !== 0 || (hi & ~MISC_WRITABLE_HI) !== 0) return false;
        this.miscLo = lo | 0;
        this.miscHi = hi | 0;
        return true;
      }
      case MSR_PAT:
        if (!bytesValid(lo, validPatType) || !bytesValid(hi, validPatType)) return false;
        this.patLo = lo | 0;
        this.patHi = hi | 0;
        return true;
      case MSR_MTRR_DEF_TYPE:
        // Type in 7:0, FE (10), E (11); everything else reserved.
        if (hi !== 0 || (lo & ~0xcff) !== 0 || !validMtrrType(lo & 0xff)) return false;
        this.mtrrDefType = lo | 0;
        return true;
      default: {
        const v = index - MSR_MTRR_PHYS_BASE0;
        if (v >= 0 && v < 2 * MTRR_VARIABLE_COUNT) {
          // PHYSBASE: type 7:0, base 31:12. PHYSMASK: valid (11), mask 31:12. Above bit 31: reserved.
          const ok = hi === 0 && ((v & 1) === 0 ? (lo & 0xf00) === 0 && validMtrrType(lo & 0xff) : (lo & 0x7ff) === 0);
          if (!ok) return false;
          this.mtrrVariable[v] = lo;
          return true;
        }
        const f = FIXED_MSRS.indexOf(index);
        if (f < 0) return false;
        if (!bytesValid(lo, validMtrrType) || !bytesValid(hi, validMtrrType)) return false;
        this.mtrrFixed[2 * f] = lo;
        this.mtrrFixed[2 * f + 1] = hi;
        return true;
      }
    }
  }

  save(): MsrState {
    return {
      pat: [this.patLo, this.patHi],
      mtrrDefType: this.mtrrDefType,
      mtrrFixed: plainArray(this.mtrrFixed),
      mtrrVariable: plainArray(this.mtrrVariable),
      miscEnable: [this.miscLo, this.miscHi],
      biosSignId: [this.signLo, this.signHi],
    };
  }

  /** Restores a saved state; `undefined` (a state saved before these MSRs existed) means power-on values. */
  load(state: MsrState | undefined): void {
    const s = state ?? new ModelSpecificRegisters().save();
    [this.patLo, this.patHi] = s.pat;
    this.mtrrDefType = s.mtrrDefType;
    this.mtrrFixed.set(s.mtrrFixed);
    this.mtrrVariable.set(s.mtrrVariable);
    [this.miscLo, this.miscHi] = s.miscEnable;
    [this.signLo, this.signHi] = s.biosSignId;
  }
}

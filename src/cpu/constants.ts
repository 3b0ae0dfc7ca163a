/** Architectural constants of the i386: register numbers, EFLAGS bits, segment numbers, vectors. */

// General registers, in ModRM encoding order.
export const EAX = 0, ECX = 1, EDX = 2, EBX = 3, ESP = 4, EBP = 5, ESI = 6, EDI = 7;
export const REG_NAMES = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"] as const;

// Segment registers, in the encoding order of the Sreg field.
export const ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5;
export const SEG_NAMES = ["es", "cs", "ss", "ds", "fs", "gs"] as const;

// EFLAGS bits.
export const CF = 1 << 0;
export const PF = 1 << 2;
export const AF = 1 << 4;
export const ZF = 1 << 6;
export const SF = 1 << 7;
export const TF = 1 << 8;
export const IF = 1 << 9;
export const DF = 1 << 10;
export const OF = 1 << 11;
export const IOPL = 3 << 12;
export const EFLAGS_IOPL_SHIFT = 12;
export const NT = 1 << 14;
export const RF = 1 << 16;
export const VM = 1 << 17;
export const AC = 1 << 18;
export const ID = 1 << 21;
/** The six arithmetic status flags that instructions compute. */
export const ARITH_FLAGS = CF | PF | AF | ZF | SF | OF;
/** Bit 1 of EFLAGS always reads as one. */
export const FLAGS_FIXED_ONE = 1 << 1;

// Control register bits.
export const CR0_PE = 1 << 0;
export const CR0_MP = 1 << 1;
export const CR0_EM = 1 << 2;
export const CR0_TS = 1 << 3;
export const CR0_ET = 1 << 4;
export const CR0_NE = 1 << 5;
export const CR0_WP = 1 << 16;
export const CR0_AM = 1 << 18;
export const CR0_PG = 1 << 31;
export const CR4_PSE = 1 << 4;
export const CR4_PGE = 1 << 7;

// Exception vectors.
export const DE = 0, DB = 1, NMI = 2, BP = 3, OVERFLOW = 4, BR = 5, UD = 6, NM = 7, DF_VECTOR = 8;
export const TS = 10, NP = 11, SS_FAULT = 12, GP = 13, PF_VECTOR = 14, MF = 16, AC_VECTOR = 17;

// Model-specific registers that the CPU implements.
export const MSR_TSC = 0x10;
export const MSR_APIC_BASE = 0x1b;
export const MSR_SYSENTER_CS = 0x174;
export const MSR_SYSENTER_ESP = 0x175;
export const MSR_SYSENTER_EIP = 0x176;

// Segment cache attribute bits (the descriptor's access byte in bits 0..7, AVL/L/DB/G in bits 12..15).
export const ATTR_ACCESSED = 0x01;
export const ATTR_RW = 0x02; // writable (data) or readable (code)
export const ATTR_DC = 0x04; // expand-down (data) or conforming (code)
export const ATTR_CODE = 0x08;
export const ATTR_S = 0x10; // code/data rather than system
export const ATTR_PRESENT = 0x80;
export const ATTR_DB = 0x4000;
export const ATTR_G = 0x8000;


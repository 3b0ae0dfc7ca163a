/**
 * The one legacy-prefix decoder: the interpreter runs it on the CPU (fetching from CS:EIP), the block
 * compiler and the static decoder on a cursor over guest bytes. Both see the same rules: 66 flips the
 * operand size, 67 the address size, the last segment override and the last of F2/F3 win, and an
 * instruction is at most 15 bytes, so a 15th prefix (leaving no room for an opcode) is an error.
 */
import { CS, DS, ES, FS, GS, SS } from "../constants.js";

/** Where the prefixes and opcode are read from: the CPU itself, or a cursor over bytes. */
export interface ByteReader {
  fetch8(): number;
}

/** What the prefixes decide, kept by the CPU (for the instruction executing) and by decode records. */
export interface PrefixState {
  /** Operand size 32 (CS.D flipped by 66). */
  o32: boolean;
  /** Address size 32 (CS.D flipped by 67). */
  a32: boolean;
  /** Segment override, or -1. */
  segOverride: number;
  /** 0 none, 1 REP/REPE (F3), 2 REPNE (F2). */
  repPrefix: number;
  /** An F0 prefix was present. */
  lock: boolean;
}

const NOT_PREFIX = 0, OPSIZE = 1, ADSIZE = 2, REP = 3, REPNE = 4, LOCK = 5, SEGMENT = 8;

/** Prefix class of each byte (SEGMENT + segment register number for the six overrides). */
const PREFIX_CLASS = new Uint8Array(256);
PREFIX_CLASS[0x66] = OPSIZE;
PREFIX_CLASS[0x67] = ADSIZE;
PREFIX_CLASS[0xf3] = REP;
PREFIX_CLASS[0xf2] = REPNE;
PREFIX_CLASS[0xf0] = LOCK;
PREFIX_CLASS[0x26] = SEGMENT + ES;
PREFIX_CLASS[0x2e] = SEGMENT + CS;
PREFIX_CLASS[0x36] = SEGMENT + SS;
PREFIX_CLASS[0x3e] = SEGMENT + DS;
PREFIX_CLASS[0x64] = SEGMENT + FS;
PREFIX_CLASS[0x65] = SEGMENT + GS;

/** Opcode numbers: one-byte opcodes are 0x00-0xFF, two-byte ones (0F xx) are 0x100 + xx. */
export const TWO_BYTE = 0x100;

/**
 * Reads the prefixes and the opcode (one byte, or 0F and a second byte) into `s`, for code whose
 * default operand and address size is 32 bits when `def32`. Returns the opcode number, or -1 when
 * the 16th byte is reached with no opcode (#GP(0) for the interpreter).
 */
export function readOpcode(s: PrefixState, src: ByteReader, def32: boolean): number {
  let o32 = def32, a32 = def32, seg = -1, rep = 0, lock = false;
  let b = src.fetch8();
  for (let n = 1; ; n++) {
    if (n > 15) return -1;
    const k = PREFIX_CLASS[b];
    if (k === NOT_PREFIX) break;
    if (k === OPSIZE) o32 = !def32;
    else if (k === ADSIZE) a32 = !def32;
    else if (k === REP) rep = 1;
    else if (k === REPNE) rep = 2;
    else if (k === LOCK) lock = true;
    else seg = k - SEGMENT;
    b = src.fetch8();
  }
  s.o32 = o32;
  s.a32 = a32;
  s.segOverride = seg;
  s.repPrefix = rep;
  s.lock = lock;
  return b === 0x0f ? TWO_BYTE | src.fetch8() : b;
}

/**
 * The one ModRM/SIB decoder. It reads the addressing bytes that follow an opcode into a record of
 * parts (base, index, scale, displacement, default segment) without touching registers: the
 * interpreter then adds the register values (offsetOf), the block compiler turns the parts into a
 * JS expression, and the dependency analysis names the registers an address is built from.
 */
import { DS, EBP, ESP, SS } from "../constants.js";
import type { ByteReader } from "./prefixes.js";

/** Byte source for operands: immediates and displacements as well as the ModRM byte itself. */
export interface OperandReader extends ByteReader {
  /** Zero-extended 16-bit little-endian value. */
  fetch16(): number;
  /** 32-bit little-endian value as a signed int32. */
  fetch32(): number;
}

/** The parts of a memory operand's address. */
export class AddressParts {
  /** Address size 32 (else the 16-bit forms: BX/BP + SI/DI, wrapping at 64 KiB). */
  a32 = true;
  /** GPR number of the base register, or -1. */
  base = -1;
  /** GPR number of the index register, or -1. */
  index = -1;
  /** Index shift (0-3: times 1, 2, 4, 8). */
  scale = 0;
  /** Displacement: signed 32-bit (a32) or 0-0xFFFF (16-bit, where it wraps with the registers). */
  disp = 0;
  /** The segment used without an override: SS when the address is based on ESP/EBP (BP in 16-bit forms). */
  seg = DS;
}

/** Base and index registers of the eight 16-bit r/m forms (BX=3, BP=5, SI=6, DI=7). */
const BASE16 = [3, 3, 5, 5, 6, 7, 5, 3];
const INDEX16 = [6, 7, 6, 7, -1, -1, -1, -1];

/**
 * Decodes the address of memory operand ModRM `m` (mod < 3, the ModRM byte already read) from the
 * SIB and displacement bytes that follow, into `out`.
 */
export function decodeAddress(src: OperandReader, m: number, a32: boolean, out: AddressParts): void {
  const mod = m >> 6, rm = m & 7;
  let base: number, index = -1, scale = 0, disp = 0;
  out.a32 = a32;
  if (a32) {
    if (rm === 4) {
      const sib = src.fetch8();
      base = sib & 7;
      index = (sib >> 3) & 7;
      scale = sib >> 6;
      if (index === ESP) { index = -1; scale = 0; }
      if (base === 5 && mod === 0) { base = -1; disp = src.fetch32(); }
    } else if (rm === 5 && mod === 0) {
      base = -1;
      disp = src.fetch32();
    } else {
      base = rm;
    }
    if (mod === 1) disp = (src.fetch8() << 24) >> 24;
    else if (mod === 2) disp = src.fetch32();
    out.seg = base === ESP || base === EBP ? SS : DS;
  } else {
    if (mod === 0 && rm === 6) {
      base = -1;
      disp = src.fetch16();
    } else {
      base = BASE16[rm];
      index = INDEX16[rm];
    }
    if (mod === 1) disp = ((src.fetch8() << 24) >> 24) & 0xffff;
    else if (mod === 2) disp = src.fetch16();
    out.seg = base === EBP ? SS : DS;
  }
  out.base = base;
  out.index = index;
  out.scale = scale;
  out.disp = disp;
}

/** The offset `p` names with the registers' current values. */
export function offsetOf(p: AddressParts, regs: Int32Array, regs16: Uint16Array): number {
  const base = p.base, index = p.index;
  if (p.a32) {
    let off = p.disp;
    if (base >= 0) off = (off + regs[base]) | 0;
    if (index >= 0) off = (off + (regs[index] << p.scale)) | 0;
    return off;
  }
  let off = p.disp;
  if (base >= 0) off += regs16[base << 1];
  if (index >= 0) off += regs16[index << 1];
  return off & 0xffff;
}

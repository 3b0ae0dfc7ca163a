/**
 * A decoded instruction as the block compiler sees it: prefixes, opcode, ModRM operand and
 * immediates, read from guest memory without executing anything.
 */
import { DS, EBP, ESP, SS } from "../constants.js";

export class Decoded {
  /** Offset of the first byte (prefixes included) from the block's start. */
  start = 0;
  /** Length in bytes. */
  length = 0;
  /** Opcode; two-byte opcodes are 0x100 + second byte. */
  op = 0;
  o32 = true;
  a32 = true;
  /** A 66 prefix was present (for SSE a mandatory prefix, not only an operand-size override). */
  opsize = false;
  segOverride = -1;
  rep = 0;
  modrm = -1;
  /** For a memory operand: JS expression of the offset, and the segment. */
  eaExpr = "";
  eaSeg = DS;
  imm = 0;
  imm2 = 0;

  get isMemory(): boolean {
    return this.modrm >= 0 && this.modrm < 0xc0;
  }

  get reg(): number {
    return (this.modrm >> 3) & 7;
  }

  get rm(): number {
    return this.modrm & 7;
  }
}

/** Reads instruction bytes of one page; returns -1 past the page (the caller ends the block). */
export interface ByteSource {
  byte(offset: number): number;
}

/** Sizes of immediates by opcode class, for the opcodes the compiler handles. */
export class DecodeError extends Error {}

const REG16_EXPR = ["c.regs16[6]+c.regs16[12]", "c.regs16[6]+c.regs16[14]", "c.regs16[10]+c.regs16[12]", "c.regs16[10]+c.regs16[14]", "c.regs16[12]", "c.regs16[14]", "c.regs16[10]", "c.regs16[6]"];

/**
 * Decodes the ModRM (and SIB, displacement) at `pos` into `d`; returns the position after it.
 * Memory offsets become JS expressions over the register file `r` with constants folded in.
 */
export function decodeModrm(src: ByteSource, pos: number, d: Decoded): number {
  const m = src.byte(pos++);
  d.modrm = m;
  if (m >= 0xc0) return pos;
  const mod = m >> 6, rm = m & 7;
  let seg = DS;
  let expr: string;
  if (d.a32) {
    const parts: string[] = [];
    let disp = 0;
    if (rm === 4) {
      const sib = src.byte(pos++);
      const base = sib & 7, index = (sib >> 3) & 7, scale = sib >> 6;
      if (base === 5 && mod === 0) {
        disp = read32(src, pos);
        pos += 4;
      } else {
        parts.push(`r[${base}]`);
        if (base === ESP || base === EBP) seg = SS;
      }
      if (index !== 4) parts.push(scale === 0 ? `r[${index}]` : `(r[${index}] << ${scale})`);
    } else if (rm === 5 && mod === 0) {
      disp = read32(src, pos);
      pos += 4;
    } else {
      parts.push(`r[${rm}]`);
      if (rm === EBP) seg = SS;
    }
    if (mod === 1) {
      disp = (src.byte(pos++) << 24) >> 24;
    } else if (mod === 2) {
      disp = read32(src, pos);
      pos += 4;
    }
    if (disp !== 0 || parts.length === 0) parts.push(String(disp | 0));
    expr = parts.length === 1 && parts[0].startsWith("r[") ? parts[0] : `((${parts.join(" + ")}) | 0)`;
  } else {
    let disp = 0;
    let base: string | null;
    if (mod === 0 && rm === 6) {
      base = null;
      disp = src.byte(pos) | (src.byte(pos + 1) << 8);
      pos += 2;
    } else {
      base = REG16_EXPR[rm];
      if (rm === 2 || rm === 3 || rm === 6) seg = SS;
    }
    if (mod === 1) disp = (src.byte(pos++) << 24) >> 24;
    else if (mod === 2) {
      disp = src.byte(pos) | (src.byte(pos + 1) << 8);
      pos += 2;
    }
    expr = base === null ? String(disp & 0xffff) : `((${base} + ${disp}) & 0xffff)`;
  }
  d.eaExpr = expr;
  d.eaSeg = d.segOverride >= 0 ? d.segOverride : seg;
  return pos;
}

export function read32(src: ByteSource, pos: number): number {
  return src.byte(pos) | (src.byte(pos + 1) << 8) | (src.byte(pos + 2) << 16) | (src.byte(pos + 3) << 24);
}

export function read16(src: ByteSource, pos: number): number {
  return src.byte(pos) | (src.byte(pos + 1) << 8);
}

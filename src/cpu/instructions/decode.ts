/**
 * Decodes one instruction from bytes, without executing anything, into a reusable record: prefixes,
 * opcode, its table form, the ModRM operand's address parts, immediates and the length. The block
 * compiler decodes its instructions with it, the dependency analysis reads operands from it, and the
 * table's test checks its lengths and operands against iced-x86. Decoding allocates nothing.
 */
import { AddressParts, decodeAddress, type OperandReader } from "./modrm.js";
import { readOpcode, type PrefixState } from "./prefixes.js";
import { OPCODES } from "./opcodes.js";
import { Escape, Kind, Size, type InstructionForm } from "./table.js";
import { vectorInstruction } from "../sse/instruction-table.js";
import { lookupX87 } from "../x87/table.js";
import { PFX_66, PFX_F2, PFX_F3, PFX_NONE } from "../sse/vector-unit.js";

/** Guest bytes by offset from some origin (the compiler's page reader throws past its page). */
export interface ByteSource {
  byte(offset: number): number;
}

/** Reads a ByteSource sequentially: the reader the prefix, ModRM and immediate decoders share. */
export class ByteCursor implements OperandReader {
  src: ByteSource = NO_BYTES;
  pos = 0;

  fetch8(): number {
    return this.src.byte(this.pos++);
  }

  fetch16(): number {
    const lo = this.fetch8();
    return lo | (this.fetch8() << 8);
  }

  fetch32(): number {
    const lo = this.fetch16();
    return lo | (this.fetch16() << 16);
  }
}

const NO_BYTES: ByteSource = { byte: () => 0 };

/** A ByteSource over an array of bytes (0 past its end). */
export class ArrayBytes implements ByteSource {
  constructor(public bytes: Uint8Array) {}
  byte(offset: number): number {
    return offset < this.bytes.length ? this.bytes[offset] : 0;
  }
}

export class DecodedInstruction implements PrefixState {
  o32 = true;
  a32 = true;
  segOverride = -1;
  repPrefix = 0;
  lock = false;
  /** Opcode number: 0x00-0xFF, or 0x100 + second byte for 0F xx; -1 when prefixes fill the length limit. */
  op = 0;
  /** The table form (the group member for group opcodes). */
  form: InstructionForm = OPCODES[0];
  /** ModRM byte, or -1. */
  modrm = -1;
  /** The memory operand's address parts (meaningful when isMemory). */
  readonly address = new AddressParts();
  /** Offset of the first byte (prefixes included) from the source's origin, and the length in bytes. */
  start = 0;
  length = 0;
  /** Offset of the byte after the opcode (where an interpreter handler starts fetching its operands). */
  opcodeEnd = 0;
  /** Immediates in operand order (a branch displacement counts as one), sign-extended where the form says so. */
  imm = 0;
  imm2 = 0;
  /** Whether the table knows the instruction (an unimplemented opcode or reserved escape form is not). */
  valid = false;
  /** Operand size 32 differs from the code's default (a 66 prefix: a mandatory prefix for SSE). */
  opsize = false;

  /** The ModRM operand is memory (its form does not force a register, as MOV CRn does). */
  get isMemory(): boolean {
    return this.modrm >= 0 && this.modrm < 0xc0 && !this.form.registerOnly;
  }

  get reg(): number {
    return (this.modrm >> 3) & 7;
  }

  get rm(): number {
    return this.modrm & 7;
  }

  /** The segment a memory operand uses (the override, or the address's default). */
  get seg(): number {
    return this.segOverride >= 0 ? this.segOverride : this.address.seg;
  }
}

/** Reads an immediate-like operand (I, J, O kinds) of size `s`; a byte is sign-extended for Ibs and Jb. */
function readImmediate(c: ByteCursor, kind: Kind, s: Size, o32: boolean, a32: boolean): number {
  if (kind === Kind.O) return a32 ? c.fetch32() : c.fetch16();
  switch (s) {
    case Size.B: {
      const v = c.fetch8();
      return kind === Kind.J ? (v << 24) >> 24 : v;
    }
    case Size.Bs: return (c.fetch8() << 24) >> 24;
    case Size.W: return c.fetch16();
    case Size.D: return c.fetch32();
    default: return o32 ? c.fetch32() : c.fetch16();
  }
}

/**
 * Decodes the instruction at `cursor.pos` (for code of default size 32 when `def32`) into `d`, leaving
 * the cursor after it. `d.valid` is false for an opcode the table does not implement (its length is
 * then only what was read).
 */
export function decodeInstruction(cursor: ByteCursor, def32: boolean, d: DecodedInstruction): void {
  const start = cursor.pos;
  d.start = start;
  d.modrm = -1;
  d.imm = 0;
  d.imm2 = 0;
  const op = readOpcode(d, cursor, def32);
  d.opsize = d.o32 !== def32;
  if (op < 0) {
    d.op = -1;
    d.valid = false;
    d.length = cursor.pos - start;
    return;
  }
  d.op = op;
  d.opcodeEnd = cursor.pos;
  let f = OPCODES[op];
  if (f.modrm) {
    const m = cursor.fetch8();
    d.modrm = m;
    if (f.group !== null) f = f.group[(m >> 3) & 7];
    d.form = f;
    if (m < 0xc0 && !f.registerOnly) decodeAddress(cursor, m, d.a32, d.address);
  } else {
    d.form = f;
  }
  d.valid = f.mnemonic !== "(bad)";
  let n = 0;
  for (const o of f.operands) {
    if (o.kind !== Kind.I && o.kind !== Kind.J && o.kind !== Kind.O && o.kind !== Kind.A) continue;
    if (o.kind === Kind.A) {
      // A far pointer: the offset (of the operand size), then the selector.
      d.imm = d.o32 ? cursor.fetch32() : cursor.fetch16();
      d.imm2 = cursor.fetch16();
      continue;
    }
    const v = readImmediate(cursor, o.kind, o.size, d.o32, d.a32);
    if (n++ === 0) d.imm = v;
    else d.imm2 = v;
  }
  if (f.escape === Escape.Vector) {
    const e = vectorInstruction(op & 0xff, mandatoryPrefixOf(d));
    if (e === undefined) d.valid = false;
    else if (e.imm) d.imm = cursor.fetch8();
  } else if (f.escape === Escape.X87) {
    d.valid = lookupX87(op, d.modrm) !== undefined;
  }
  d.length = cursor.pos - start;
}

/** The SSE mandatory prefix (PFX_*) of a decoded instruction: F2/F3 win over 66. */
export function mandatoryPrefixOf(d: DecodedInstruction): number {
  return d.repPrefix === 1 ? PFX_F3 : d.repPrefix === 2 ? PFX_F2 : d.opsize ? PFX_66 : PFX_NONE;
}

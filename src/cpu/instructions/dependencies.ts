/**
 * What an instruction reads and writes, derived from the instruction table: general registers
 * (sub-registers folded onto their 32-bit register) and memory operands with the registers that form
 * their addresses, explicit and implicit (the stack for PUSH/POP, ESI/EDI for string instructions...).
 * The causal chain uses it to ask "which register put this store here" and "where did that value come
 * from", and the register search which registers a block may write.
 */
import { ArrayBytes, ByteCursor, DecodedInstruction, decodeInstruction, mandatoryPrefixOf } from "./decode.js";
import { Access, ARITH, Escape, Implicit, Kind, Size, sizeBytes, type InstructionForm } from "./table.js";
import { Form, vectorInstruction } from "../sse/instruction-table.js";
import { lookupX87, X87Form } from "../x87/table.js";
import { EAX, EBP, EBX, ECX, EDI, ESI, ESP } from "../constants.js";

export interface MemoryOperand {
  /** GPR number (0 eax .. 7 edi) of the base register, or -1. */
  base: number;
  /** GPR number of the index register, or -1. */
  index: number;
  scale: number;
  /** Displacement as a signed 32-bit value. */
  displacement: number;
  /** Bytes accessed (for a repeated string instruction, by one iteration); 0 when unknown. */
  size: number;
  reads: boolean;
  writes: boolean;
}

export interface Dependencies {
  /** GPRs whose value the instruction reads (address registers included), explicit operands first. */
  regsRead: number[];
  /** GPRs the instruction writes. */
  regsWritten: number[];
  memory: MemoryOperand[];
  /** Reads EFLAGS' arithmetic flags. */
  readsFlags: boolean;
  /** True for instructions whose result is a constant (immediate loads, xor r,r and the like). */
  constantResult: boolean;
}

/** The linear address a memory operand names (flat segments), given the value of GPR number i. */
export function effectiveAddress(m: MemoryOperand, gpr: (i: number) => number): number {
  return ((m.base >= 0 ? gpr(m.base) : 0) + (m.index >= 0 ? gpr(m.index) * m.scale : 0) + m.displacement) >>> 0;
}

const decoded = new DecodedInstruction();
const cursor = new ByteCursor();

/** Decodes the 32-bit code instruction whose bytes start `bytes`; null when the table does not know it. */
export function decodeBytes(bytes: Uint8Array): DecodedInstruction | null {
  cursor.src = new ArrayBytes(bytes);
  cursor.pos = 0;
  decodeInstruction(cursor, true, decoded);
  return decoded.valid ? decoded : null;
}

/** Dependencies of the instruction at `eip` (32-bit code) whose bytes start `bytes`. */
export function dependenciesOf(bytes: Uint8Array, _eip = 0): Dependencies {
  const deps: Dependencies = { regsRead: [], regsWritten: [], memory: [], readsFlags: false, constantResult: false };
  const d = decodeBytes(bytes);
  if (d === null) return deps;
  collect(d, deps);
  deps.readsFlags = (d.form.flagsRead & ARITH) !== 0;
  // A written register whose new value depends on nothing read: an immediate or a self-cancelling op.
  const memReads = deps.memory.some((m) => m.reads);
  deps.constantResult = deps.regsWritten.length > 0 && !memReads && deps.regsRead.length === 0;
  return deps;
}

/**
 * GPRs (bit i for register i) decoded instruction `d` writes: the registers of dependenciesOf's
 * regsWritten, computed without allocating (the block compiler asks this of every instruction).
 */
export function registersWrittenBy(d: DecodedInstruction): number {
  const f = d.form;
  if (f.escape === Escape.X87) {
    const e = lookupX87(d.op, d.modrm);
    return e !== undefined && e.form === X87Form.Ax ? 1 << EAX : 0;
  }
  if (f.escape === Escape.Vector) {
    const e = vectorInstruction(d.op & 0xff, mandatoryPrefixOf(d));
    if (e === undefined || d.modrm < 0) return 0;
    if (e.form === Form.GprFromRm) return 1 << d.reg;
    return e.form === Form.RmGprFromReg && !d.isMemory ? 1 << d.rm : 0;
  }
  let mask = f.regsWritten;
  const ops = f.operands;
  for (let i = 0; i < ops.length; i++) {
    const o = ops[i];
    if ((o.access & Access.Write) === 0 || o.access === Access.Address) continue;
    const fold = o.size === Size.B ? 3 : 7;
    switch (o.kind) {
      case Kind.E: if (!d.isMemory) mask |= 1 << (d.rm & fold); break;
      case Kind.R: mask |= 1 << d.rm; break;
      case Kind.G: mask |= 1 << (d.reg & fold); break;
      case Kind.Z: mask |= 1 << (d.op & fold); break;
      case Kind.Fixed: mask |= 1 << o.reg; break;
      default: break;
    }
  }
  if (f.rep && d.repPrefix !== 0) mask |= 1 << ECX;
  const mem = f.memory;
  for (let i = 0; i < mem.length; i++) if (mem[i].kind === Implicit.Push || mem[i].kind === Implicit.Pop) mask |= 1 << ESP;
  return mask;
}

/**
 * GPRs (bit i for register i) the 32-bit code instruction whose bytes start `bytes` may write, and
 * its length; every register (0xFF) when it does not decode or may switch stacks or tasks.
 */
export function writtenRegisters(bytes: Uint8Array): { mask: number; length: number } {
  const d = decodeBytes(bytes);
  if (d === null || d.form.switchesContext) return { mask: 0xff, length: decoded.length };
  return { mask: registersWrittenBy(d), length: d.length };
}

function use(list: number[], r: number): void {
  if (r >= 0 && !list.includes(r)) list.push(r);
}

function access(deps: Dependencies, r: number, a: Access): void {
  if (a === Access.Address) return;
  if ((a & Access.Read) !== 0) use(deps.regsRead, r);
  if ((a & Access.Write) !== 0) use(deps.regsWritten, r);
}

function memory(deps: Dependencies, base: number, index: number, scale: number, displacement: number, size: number, a: Access): void {
  if (a === Access.None) return;
  use(deps.regsRead, base);
  use(deps.regsRead, index);
  if (a === Access.Address) return;
  deps.memory.push({ base, index, scale, displacement: displacement | 0, size, reads: (a & Access.Read) !== 0, writes: (a & Access.Write) !== 0 });
}

/** The ModRM memory operand of `d` with access `a` and `size` bytes. */
function modrmMemory(d: DecodedInstruction, deps: Dependencies, size: number, a: Access): void {
  const p = d.address;
  const disp = p.a32 ? p.disp : (p.disp << 16) >> 16;
  memory(deps, p.base, p.index, 1 << p.scale, disp, size, a);
}

/** Whether the instruction is XOR/SUB of a register with itself (its result does not depend on it). */
function selfCancelling(d: DecodedInstruction): boolean {
  const f = d.form;
  return (f.mnemonic === "xor" || f.mnemonic === "sub") && d.modrm >= 0xc0 && d.reg === d.rm && f.operands.length === 2 && f.operands[1].kind !== Kind.I;
}

function collect(d: DecodedInstruction, deps: Dependencies): void {
  const f = d.form;
  if (f.escape === Escape.X87) return x87(d, deps);
  if (f.escape === Escape.Vector) return vector(d, deps);
  const o32 = d.o32;
  const cancel = selfCancelling(d);
  for (const o of f.operands) {
    const a = cancel ? o.access & Access.Write : o.access;
    // Byte registers 4-7 are AH, CH, DH, BH: parts of registers 0-3.
    const fold = o.size === Size.B ? 3 : 7;
    switch (o.kind) {
      case Kind.E: case Kind.M:
        if (d.isMemory) modrmMemory(d, deps, sizeBytes(o.size, o32), a);
        else access(deps, d.rm & fold, a);
        break;
      case Kind.R: access(deps, d.rm, a); break;
      case Kind.G: access(deps, d.reg & fold, a); break;
      case Kind.Z: access(deps, d.op & fold, a); break;
      case Kind.Fixed: access(deps, o.reg, a); break;
      case Kind.O: memory(deps, -1, -1, 1, d.imm, sizeBytes(o.size, o32), a); break;
      default: break;
    }
  }
  implicit(d, f, deps);
}

function implicit(d: DecodedInstruction, f: InstructionForm, deps: Dependencies): void {
  for (let r = 0; r < 8; r++) {
    if ((f.regsRead & (1 << r)) !== 0) use(deps.regsRead, r);
    if ((f.regsWritten & (1 << r)) !== 0) use(deps.regsWritten, r);
  }
  if (f.rep && d.repPrefix !== 0) access(deps, ECX, Access.ReadWrite);
  for (const m of f.memory) {
    const size = sizeBytes(m.size, d.o32);
    switch (m.kind) {
      case Implicit.Push:
        access(deps, ESP, Access.ReadWrite);
        for (let i = 1; i <= m.count; i++) memory(deps, ESP, -1, 1, -size * i, size, m.access);
        break;
      case Implicit.Pop:
        access(deps, ESP, Access.ReadWrite);
        for (let i = 0; i < m.count; i++) memory(deps, ESP, -1, 1, size * i, size, m.access);
        break;
      case Implicit.Source: memory(deps, ESI, -1, 1, 0, size, m.access); break;
      case Implicit.Destination: memory(deps, EDI, -1, 1, 0, size, m.access); break;
      case Implicit.Xlat: memory(deps, EBX, EAX, 1, 0, size, m.access); break;
      case Implicit.Frame: memory(deps, EBP, -1, 1, 0, size, m.access); break;
    }
  }
}

const X87_BYTES: Partial<Record<X87Form, number>> = {
  [X87Form.M16]: 2, [X87Form.M32]: 4, [X87Form.M64]: 8, [X87Form.M80]: 10,
};

/** x87 instructions: the memory operand (a store when the mnemonic stores), FNSTSW AX. */
function x87(d: DecodedInstruction, deps: Dependencies): void {
  const e = lookupX87(d.op, d.modrm);
  if (e === undefined) return;
  if (e.form === X87Form.Ax) use(deps.regsWritten, EAX);
  if (!d.isMemory) return;
  const stores = /^f(n?st|ist|bstp|nsave|isttp)/.test(e.mnemonic);
  modrmMemory(d, deps, X87_BYTES[e.form] ?? 0, stores ? Access.Write : Access.Read);
}

/** MMX/SSE instructions: the r/m memory operand, and general registers for the MOVD/MOVMSK forms. */
function vector(d: DecodedInstruction, deps: Dependencies): void {
  const e = vectorInstruction(d.op & 0xff, mandatoryPrefixOf(d));
  if (e === undefined || d.modrm < 0) return;
  const toRm = e.form === Form.RmFromReg || e.form === Form.RmGprFromReg;
  if (d.isMemory) modrmMemory(d, deps, e.form === Form.RegFromGpr || e.form === Form.RmGprFromReg ? 4 : e.mem, toRm ? Access.Write : Access.Read);
  else if (e.form === Form.RegFromGpr) use(deps.regsRead, d.rm);
  else if (e.form === Form.RmGprFromReg) use(deps.regsWritten, d.rm);
  if (e.form === Form.GprFromRm) use(deps.regsWritten, d.reg);
}


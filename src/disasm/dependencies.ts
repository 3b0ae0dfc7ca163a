/**
 * What an instruction reads and writes: general registers (sub-registers folded onto their 32-bit
 * register) and memory operands with the registers that form their addresses. The causal chain uses
 * it to ask "which register put this store here" and "where did that value come from", for any
 * instruction, without knowledge of particular code.
 */
import { InstructionInfoFactory, MemorySizeExt, OpAccess, Register } from "./iced.js";
import { decodeAt } from "./disassembler.js";

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
  /** GPRs whose value the instruction reads (address registers included). */
  regsRead: number[];
  /** GPRs the instruction writes. */
  regsWritten: number[];
  memory: MemoryOperand[];
  /** Reads or writes EFLAGS' arithmetic flags. */
  readsFlags: boolean;
  /** True for instructions whose result is a constant (immediate loads, xor r,r and the like). */
  constantResult: boolean;
}

/** The linear address a memory operand names (flat segments), given the value of GPR number i. */
export function effectiveAddress(m: MemoryOperand, gpr: (i: number) => number): number {
  return ((m.base >= 0 ? gpr(m.base) : 0) + (m.index >= 0 ? gpr(m.index) * m.scale : 0) + m.displacement) >>> 0;
}

/** GPR number for an iced register (EAX/AX/AL/AH all map to 0), or -1 for anything else. */
export function gprIndex(reg: Register): number {
  const names: [Register[], number][] = GPR_TABLE;
  for (const [regs, i] of names) if (regs.includes(reg)) return i;
  return -1;
}

const GPR_TABLE: [Register[], number][] = [
  [[Register.EAX, Register.AX, Register.AL, Register.AH], 0],
  [[Register.ECX, Register.CX, Register.CL, Register.CH], 1],
  [[Register.EDX, Register.DX, Register.DL, Register.DH], 2],
  [[Register.EBX, Register.BX, Register.BL, Register.BH], 3],
  [[Register.ESP, Register.SP, Register.SPL], 4],
  [[Register.EBP, Register.BP, Register.BPL], 5],
  [[Register.ESI, Register.SI, Register.SIL], 6],
  [[Register.EDI, Register.DI, Register.DIL], 7],
];

let factory: InstructionInfoFactory | null = null;

function reads(a: OpAccess): boolean {
  return a === OpAccess.Read || a === OpAccess.ReadWrite || a === OpAccess.CondRead || a === OpAccess.ReadCondWrite;
}

/** Whether an operand access writes (plainly, conditionally, or as a read-modify-write). */
export function writes(a: OpAccess): boolean {
  return a === OpAccess.Write || a === OpAccess.ReadWrite || a === OpAccess.CondWrite || a === OpAccess.ReadCondWrite;
}

/** Dependencies of the instruction at `eip` whose bytes start `bytes`. */
export function dependenciesOf(bytes: Uint8Array, eip: number): Dependencies {
  const instr = decodeAt(bytes, eip);
  const deps: Dependencies = { regsRead: [], regsWritten: [], memory: [], readsFlags: false, constantResult: false };
  if (instr.isInvalid) return deps;
  if (factory === null) factory = new InstructionInfoFactory();
  const info = factory.info(instr);
  for (const u of info.usedRegisters()) {
    const i = gprIndex(u.register);
    if (i >= 0) {
      if (reads(u.access) && !deps.regsRead.includes(i)) deps.regsRead.push(i);
      if (writes(u.access) && !deps.regsWritten.includes(i)) deps.regsWritten.push(i);
    }
    u.free();
  }
  for (const m of info.usedMemory()) {
    deps.memory.push({
      base: gprIndex(m.base),
      index: gprIndex(m.index),
      scale: m.scale,
      displacement: Number(BigInt.asIntN(32, m.displacement)),
      // A repeated string instruction's operands have no size of their own (the count is in ECX).
      size: MemorySizeExt.size(m.memorySize) || MemorySizeExt.size(instr.memorySize),
      reads: reads(m.access),
      writes: writes(m.access),
    });
    m.free();
  }
  deps.readsFlags = (instr.rflagsRead & 0x3f) !== 0;
  // A written register whose new value depends on nothing read: an immediate or a self-cancelling op.
  const memReads = deps.memory.some((m) => m.reads);
  deps.constantResult = deps.regsWritten.length > 0 && !memReads && deps.regsRead.length === 0;
  info.free();
  return deps;
}

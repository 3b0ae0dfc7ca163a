/**
 * Which memory an instruction reads and writes, worked out from its decoding and the registers before
 * it runs. The trace indexes writes but not reads, so read and access watchpoints re-execute the
 * steps they search and ask this of each instruction.
 *
 * Covered: explicit operands, implicit stack accesses (push, pop, call, ret, iret, enter, leave),
 * string instructions with their REP count. Not covered: what the CPU reads on its own (descriptor
 * tables, the TSS, page tables, interrupt vectors): hardware data breakpoints do not see most of
 * those either. For `repe`/`repne` compares and scans the whole ECX range counts, since where they
 * stop depends on the data.
 */
import { Decoder, DecoderOptions, Instruction, InstructionInfoFactory, MemorySizeExt, OpAccess, Register } from "../disasm/iced.js";
import { CS, DS, ES, FS, GS, SS } from "../cpu/constants.js";
import type { Registers } from "../trace/trace.js";

export interface MemoryAccess {
  /** Linear address of the first byte. */
  linear: number;
  /** Bytes covered (for a REP string instruction, every element it may touch). */
  size: number;
  read: boolean;
  write: boolean;
}

/** One memory operand with its address still symbolic (registers are filled in per step). */
interface OperandTemplate {
  segment: number;
  base: keyof Registers | null;
  index: keyof Registers | null;
  scale: number;
  displacement: number;
  /** Address arithmetic wraps at 16 bits (0x67 prefix). */
  addr16: boolean;
  size: number;
  read: boolean;
  write: boolean;
  /** A REP-prefixed string operand: size is one element, repeated ECX (or CX) times. */
  rep: boolean;
}

interface Decoded {
  code: Uint8Array;
  operands: OperandTemplate[];
}

const GPRS: [Register[], keyof Registers, boolean][] = [
  [[Register.EAX], "eax", false], [[Register.ECX], "ecx", false], [[Register.EDX], "edx", false], [[Register.EBX], "ebx", false],
  [[Register.ESP], "esp", false], [[Register.EBP], "ebp", false], [[Register.ESI], "esi", false], [[Register.EDI], "edi", false],
  [[Register.AX], "eax", true], [[Register.CX], "ecx", true], [[Register.DX], "edx", true], [[Register.BX], "ebx", true],
  [[Register.SP], "esp", true], [[Register.BP], "ebp", true], [[Register.SI], "esi", true], [[Register.DI], "edi", true],
];

function gpr(reg: Register): { name: keyof Registers; is16: boolean } | null {
  for (const [regs, name, is16] of GPRS) if (regs.includes(reg)) return { name, is16 };
  return null;
}

function segmentIndex(reg: Register): number {
  switch (reg) {
    case Register.ES: return ES;
    case Register.CS: return CS;
    case Register.SS: return SS;
    case Register.FS: return FS;
    case Register.GS: return GS;
    default: return DS;
  }
}

const READS = new Set<OpAccess>([OpAccess.Read, OpAccess.CondRead, OpAccess.ReadWrite, OpAccess.ReadCondWrite]);
const WRITES = new Set<OpAccess>([OpAccess.Write, OpAccess.CondWrite, OpAccess.ReadWrite, OpAccess.ReadCondWrite]);

/**
 * Decodes instructions once per address: the same code runs many times in any trace, and iced's
 * operand analysis costs far more than filling in registers. An entry is reused only while the code
 * bytes at that address are unchanged.
 */
export class AccessAnalyzer {
  private readonly cache = new Map<number, Decoded>();
  private factory: InstructionInfoFactory | null = null;
  private readonly instr = new Instruction();

  constructor(private readonly maxEntries = 1 << 16) {}

  /**
   * The accesses of the instruction whose bytes start `code` (up to 15 bytes at CS:EIP), given the
   * registers before it and the segment bases (indexed ES, CS, SS, DS, FS, GS).
   */
  accesses(code: Uint8Array, regs: Registers, segBase: ArrayLike<number>): MemoryAccess[] {
    const decoded = this.decode(code, regs.eip);
    const out: MemoryAccess[] = [];
    for (const op of decoded.operands) {
      let ea = op.displacement;
      if (op.base !== null) ea += regs[op.base];
      if (op.index !== null) ea += regs[op.index] * op.scale;
      ea = op.addr16 ? ea & 0xffff : ea >>> 0;
      let linear = (segBase[op.segment] + ea) >>> 0;
      let size = op.size;
      if (op.rep) {
        const count = op.addr16 ? regs.ecx & 0xffff : regs.ecx >>> 0;
        if (count === 0) continue;
        size = op.size * count;
        // With DF set the string runs downwards from the first element.
        if ((regs.eflags & 0x400) !== 0) linear = (linear - (count - 1) * op.size) >>> 0;
      }
      out.push({ linear, size, read: op.read, write: op.write });
    }
    return out;
  }

  private decode(code: Uint8Array, eip: number): Decoded {
    const hit = this.cache.get(eip);
    if (hit !== undefined && sameBytes(hit.code, code)) return hit;
    const decoder = new Decoder(32, code, DecoderOptions.None);
    decoder.ip = BigInt(eip >>> 0);
    decoder.decodeOut(this.instr);
    decoder.free();
    const instr = this.instr;
    const operands: OperandTemplate[] = [];
    let length = instr.length;
    if (instr.isInvalid) {
      length = Math.min(code.length, 1);
    } else {
      if (this.factory === null) this.factory = new InstructionInfoFactory();
      const info = this.factory.info(instr);
      const rep = instr.isStringInstruction && (instr.hasRepPrefix || instr.hasRepePrefix || instr.hasRepnePrefix);
      for (const m of info.usedMemory()) {
        const access = m.access;
        const read = READS.has(access), write = WRITES.has(access);
        if (read || write) {
          const base = gpr(m.base), index = gpr(m.index);
          const element = rep ? MemorySizeExt.size(instr.memorySize) : MemorySizeExt.size(m.memorySize);
          operands.push({
            segment: segmentIndex(m.segment),
            base: base?.name ?? null,
            index: index?.name ?? null,
            scale: m.scale,
            displacement: Number(BigInt.asIntN(32, m.displacement)),
            addr16: (base?.is16 ?? false) || (index?.is16 ?? false),
            // Unknown sizes (descriptor-table loads, FPU state) count as one byte at the address.
            size: Math.max(1, element),
            read,
            write,
            rep,
          });
        }
        m.free();
      }
      info.free();
    }
    if (this.cache.size >= this.maxEntries) this.cache.clear();
    const entry = { code: code.slice(0, length), operands };
    this.cache.set(eip, entry);
    return entry;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (b.length < a.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

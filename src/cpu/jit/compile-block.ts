/**
 * Compiles a run of guest instructions (a basic block within one physical page) into a JS function.
 * Instructions are decoded with the instruction table (instructions/decode.ts). Common ones become
 * straight-line JS over the register file and the CPU's own access methods (so segment checks,
 * paging, faults and observers behave exactly as in the interpreter); any other instruction runs its
 * table handler in place, with the prefixes already decoded, and the block goes on after it (or
 * ends, when the handler transferred control or the form changes machine state, table.ts `system`).
 * Only an instruction that runs past the page is left to the interpreter.
 *
 * Block code keeps the interpreter's contract: `c.instrEip` names the instruction in progress
 * (faults restart it), `c.steps` counts every retired instruction, memory is written before
 * registers, and `c.eip` is set when the block returns. Blocks never contain instructions that
 * change interrupt state (IF, ports, MMIO), so interrupts are taken at the same steps as in the
 * interpreter.
 */
import { ByteCursor, DecodedInstruction, decodeInstruction, mandatoryPrefixOf, type ByteSource } from "../instructions/decode.js";
import type { AddressParts } from "../instructions/modrm.js";
import { Access, Kind, Size, type Handler } from "../instructions/table.js";
import { add, alu, dec, inc, logic, neg, sub } from "../alu.js";
import { shift } from "../shift.js";
import { div, idiv, imul1, imulTrunc, mul } from "../muldiv.js";
import { execute } from "../execute.js";
import { leave } from "../instructions/handlers/stack.js";
import { executeX87Decoded } from "../x87/dispatch.js";
import { lookupX87 } from "../x87/table.js";
import type { CPU } from "../cpu.js";
import { DS, ESP, IF, TF } from "../constants.js";
import { registersWrittenBy } from "../instructions/dependencies.js";
import { sseCopy128, sseLoad128, ssePxor, sseStore128 } from "../sse/compiled-moves.js";
import { rdtsc } from "../system.js";

export type BlockFn = (c: CPU, r: Int32Array, e0: number) => void;

/** Most instructions one block may hold (keeps compile time and code size bounded). */
const MAX_INSTRUCTIONS = 48;

/** JS for register `i` at operand size `sz` (0 byte, 1 word, 2 dword). */
function regGet(sz: number, i: number): string {
  if (sz === 2) return `r[${i}]`;
  if (sz === 1) return `c.regs16[${i << 1}]`;
  return `c.regs8[${i < 4 ? i << 2 : ((i - 4) << 2) + 1}]`;
}

function regSet(sz: number, i: number, v: string): string {
  return `${regGet(sz, i)} = ${v};`;
}

const SIZE_NAME = ["8", "16", "32"] as const;
const SIZE_BYTES = [1, 2, 4] as const;

function memRead(sz: number, seg: number): string {
  return `c.readMem${SIZE_NAME[sz]}(${seg}, a)`;
}

function memWrite(sz: number, seg: number, v: string): string {
  return `c.writeMem${SIZE_NAME[sz]}(${seg}, a, ${v});`;
}

/**
 * JS for ALU operation `aop` (ADD OR ADC SBB AND SUB XOR CMP) on `a` and `b` at size `s`: a call of the
 * operation's own helper, so the common ones need no dispatch (ADC and SBB go through alu()).
 */
function aluCall(aop: number, a: string, b: string, s: number): string {
  switch (aop) {
    case 0: return `add(c, ${a}, ${b}, ${s})`;
    case 1: return `logic(c, (${a}) | (${b}), ${s})`;
    case 4: return `logic(c, (${a}) & (${b}), ${s})`;
    case 5: case 7: return `sub(c, ${a}, ${b}, ${s})`;
    case 6: return `logic(c, (${a}) ^ (${b}), ${s})`;
    default: return `alu(c, ${aop}, ${a}, ${b}, ${s})`;
  }
}

/** Condition code `cc` as a JS boolean expression over the CPU's flag getters. */
const CONDITIONS = [
  "c.getOF()", "!c.getOF()", "c.getCF()", "!c.getCF()", "c.getZF()", "!c.getZF()",
  "(c.getCF() || c.getZF())", "!(c.getCF() || c.getZF())", "c.getSF()", "!c.getSF()", "c.getPF()", "!c.getPF()",
  "(c.getSF() !== c.getOF())", "(c.getSF() === c.getOF())",
  "(c.getZF() || c.getSF() !== c.getOF())", "!(c.getZF() || c.getSF() !== c.getOF())",
];

/**
 * How the instruction just compiled left the lazy flags, when a Jcc right after it can read its
 * condition from the recorded operands instead of the flag getters: "sub" (SUB/CMP: every
 * condition but OF/PF), "logic" (AND/OR/XOR/TEST: CF = OF = 0), "zs" (ADD/INC/DEC: ZF and SF only).
 */
interface FlagSource {
  kind: "sub" | "logic" | "zs";
  /** Operand size code (0 byte, 1 word, 2 dword). */
  size: number;
}

/** The flag source of a compiled instruction (see FlagSource), from its table form, or null. */
function flagSourceOf(d: DecodedInstruction): FlagSource | null {
  const kind = d.form.lazy;
  if (kind === null) return null;
  const first = d.form.operands[0];
  return { kind: kind === "result" ? "zs" : kind, size: first !== undefined && first.size === Size.B ? 0 : d.o32 ? 2 : 1 };
}

const SIGN_LITERAL = ["0x80", "0x8000", "-0x80000000"];

/**
 * Condition `cc` read straight from the operands and result the previous instruction recorded (c.lfA,
 * c.lfB, c.lfRes; see flags.ts), or null when the flag getters must decide. Same truth as the getters:
 * for a SUB, CF is the unsigned a < b, SF != OF the signed a < b, ZF the zero result.
 */
function fusedCondition(cc: number, f: FlagSource | null): string | null {
  if (f === null) return null;
  const s = f.size;
  const unsigned = (v: string) => (s === 2 ? `(${v} >>> 0)` : `(${v} & ${s === 1 ? "0xffff" : "0xff"})`);
  const signed = (v: string) => (s === 2 ? `(${v} | 0)` : `((${v} << ${s === 1 ? 16 : 24}) >> ${s === 1 ? 16 : 24})`);
  const zero = s === 2 ? "(c.lfRes === 0)" : `((c.lfRes & ${s === 1 ? "0xffff" : "0xff"}) === 0)`;
  const negative = `((c.lfRes & ${SIGN_LITERAL[s]}) !== 0)`;
  let base: string | null = null;
  switch (cc >> 1) {
    case 1: // B: CF
      base = f.kind === "sub" ? `${unsigned("c.lfA")} < ${unsigned("c.lfB")}` : f.kind === "logic" ? "false" : null;
      break;
    case 2: // E: ZF
      base = zero;
      break;
    case 3: // BE: CF || ZF
      base = f.kind === "sub" ? `${unsigned("c.lfA")} <= ${unsigned("c.lfB")}` : f.kind === "logic" ? zero : null;
      break;
    case 4: // S: SF
      base = negative;
      break;
    case 6: // L: SF != OF
      base = f.kind === "sub" ? `${signed("c.lfA")} < ${signed("c.lfB")}` : f.kind === "logic" ? negative : null;
      break;
    case 7: // LE: ZF || SF != OF
      base = f.kind === "sub" ? `${signed("c.lfA")} <= ${signed("c.lfB")}` : f.kind === "logic" ? `(${zero} || ${negative})` : null;
      break;
  }
  if (base === null) return null;
  return (cc & 1) !== 0 ? `!(${base})` : `(${base})`;
}

/** Reads guest bytes of one page starting at the block's first byte. */
class PageBytes implements ByteSource {
  constructor(private readonly mem: Uint8Array, private readonly phys: number, private readonly limit: number) {}
  byte(offset: number): number {
    if (offset >= this.limit) throw new PageEnd();
    return this.mem[this.phys + offset];
  }
}

class PageEnd extends Error {}

export interface CompiledBlock {
  fn: BlockFn;
  /** Steps the block retires when it runs to its end (an interpreted tail counts as one). */
  count: number;
  /** Physical address of the first byte and of the byte after the last one. */
  physStart: number;
  physEnd: number;
}

/** Emits an instruction; returns its JS, and whether it ends the block, or null to interpret it. */
interface Emitted {
  code: string;
  ends: boolean;
  /** Touches ESP (so the fault handler's ESP snapshot must be taken first). */
  stack: boolean;
  /** For a conditional branch: its condition and the taken target's offset from the block start. */
  branch?: { cond: string; target: number };
  /** Cannot fault and writes no memory (so EIP and step bookkeeping can be deferred past it). */
  pure?: boolean;
}

/** JS for the offset of memory operand `p` over the register file (constants folded in). */
function addressExpr(p: AddressParts): string {
  if (p.a32) {
    const parts: string[] = [];
    if (p.base >= 0) parts.push(`r[${p.base}]`);
    if (p.index >= 0) parts.push(p.scale === 0 ? `r[${p.index}]` : `(r[${p.index}] << ${p.scale})`);
    if (p.disp !== 0 || parts.length === 0) parts.push(String(p.disp | 0));
    return parts.length === 1 && parts[0].startsWith("r[") ? parts[0] : `((${parts.join(" + ")}) | 0)`;
  }
  const regs = [p.base, p.index].filter((i) => i >= 0).map((i) => `c.regs16[${i << 1}]`);
  if (regs.length === 0) return String(p.disp & 0xffff);
  const disp = (p.disp << 16) >> 16;
  return `((${regs.join("+")} + ${disp}) & 0xffff)`;
}

/** The inline JS of an instruction the compiler has a fast form for, or null (its handler then runs in place). */
function emit(d: DecodedInstruction): Emitted | null {
  const op = d.op;
  const sz = d.o32 ? 2 : 1;
  const end = d.start + d.length;
  const next = () => `((e0 + ${end}) | 0)`;
  let code: string;
  let ends = false;
  let stack = false;
  // An instruction that can fault without a ModRM memory operand (the SSE availability checks, RDTSC,
  // MOV with a direct address).
  let faults = false;
  const prefix = mandatoryPrefixOf(d);
  const mem = d.isMemory;
  const isX87 = op >= 0xd8 && op <= 0xdf;
  const seg = d.seg;
  const eaExpr = mem ? addressExpr(d.address) : "";
  const ea = `const a = ${eaExpr};`;
  const imm = d.imm;

  switch (op) {
    // ALU Eb,Gb / Ev,Gv
    case 0x00: case 0x08: case 0x10: case 0x18: case 0x20: case 0x28: case 0x30: case 0x38:
    case 0x01: case 0x09: case 0x11: case 0x19: case 0x21: case 0x29: case 0x31: case 0x39: {
      const s = (op & 1) === 0 ? 0 : sz;
      const aop = op >> 3;
      const g = regGet(s, d.reg);
      if (mem) {
        code = aop === 7
          ? `{ ${ea} ${aluCall(7, memRead(s, seg), g, s)}; }`
          : `{ ${ea} c.prepareWrite(${seg}, a, ${SIZE_BYTES[s]}); const v = ${aluCall(aop, memRead(s, seg), g, s)}; ${memWrite(s, seg, "v")} }`;
      } else if (aop === 6 && d.rm === d.reg) {
        code = `${regSet(s, d.rm, "0")} c.setLogicFlags(0, ${s});`;
      } else {
        code = aop === 7 ? `${aluCall(7, regGet(s, d.rm), g, s)};` : regSet(s, d.rm, aluCall(aop, regGet(s, d.rm), g, s));
      }
      break;
    }
    // ALU Gb,Eb / Gv,Ev
    case 0x02: case 0x0a: case 0x12: case 0x1a: case 0x22: case 0x2a: case 0x32: case 0x3a:
    case 0x03: case 0x0b: case 0x13: case 0x1b: case 0x23: case 0x2b: case 0x33: case 0x3b: {
      const s = (op & 1) === 0 ? 0 : sz;
      const aop = op >> 3;
      const src2 = mem ? memRead(s, seg) : regGet(s, d.rm);
      const body = aop === 7 ? `${aluCall(7, regGet(s, d.reg), src2, s)};` : regSet(s, d.reg, aluCall(aop, regGet(s, d.reg), src2, s));
      code = mem ? `{ ${ea} ${body} }` : body;
      break;
    }
    // ALU AL,Ib / eAX,Iv
    case 0x04: case 0x0c: case 0x14: case 0x1c: case 0x24: case 0x2c: case 0x34: case 0x3c:
    case 0x05: case 0x0d: case 0x15: case 0x1d: case 0x25: case 0x2d: case 0x35: case 0x3d: {
      const s = (op & 1) === 0 ? 0 : sz;
      const aop = op >> 3;
      code = aop === 7 ? `${aluCall(7, regGet(s, 0), String(imm), s)};` : regSet(s, 0, aluCall(aop, regGet(s, 0), String(imm), s));
      break;
    }
    case 0x40: case 0x41: case 0x42: case 0x43: case 0x44: case 0x45: case 0x46: case 0x47:
      code = regSet(sz, op & 7, `inc(c, ${regGet(sz, op & 7)}, ${sz})`);
      break;
    case 0x48: case 0x49: case 0x4a: case 0x4b: case 0x4c: case 0x4d: case 0x4e: case 0x4f:
      code = regSet(sz, op & 7, `dec(c, ${regGet(sz, op & 7)}, ${sz})`);
      break;
    case 0x50: case 0x51: case 0x52: case 0x53: case 0x54: case 0x55: case 0x56: case 0x57:
      if (!d.o32) return null;
      code = `c.push32(r[${op & 7}]);`;
      stack = true;
      break;
    case 0x58: case 0x59: case 0x5a: case 0x5b: case 0x5c: case 0x5d: case 0x5e: case 0x5f:
      if (!d.o32) return null;
      code = `{ const v = c.pop32(); r[${op & 7}] = v; }`;
      stack = true;
      break;
    case 0x68: case 0x6a:
      if (!d.o32) return null;
      code = `c.push32(${imm});`;
      stack = true;
      break;
    case 0x69: case 0x6b: {
      const a = mem ? memRead(sz, seg) : regGet(sz, d.rm);
      code = `{ ${mem ? ea : ""} ${regSet(sz, d.reg, `imulTrunc(c, ${a}, ${imm}, ${sz})`)} }`;
      break;
    }
    case 0x70: case 0x71: case 0x72: case 0x73: case 0x74: case 0x75: case 0x76: case 0x77:
    case 0x78: case 0x79: case 0x7a: case 0x7b: case 0x7c: case 0x7d: case 0x7e: case 0x7f:
    case 0x180: case 0x181: case 0x182: case 0x183: case 0x184: case 0x185: case 0x186: case 0x187:
    case 0x188: case 0x189: case 0x18a: case 0x18b: case 0x18c: case 0x18d: case 0x18e: case 0x18f:
      // With a 16-bit operand the target wraps to 16 bits: the handler does that.
      if (!d.o32) return null;
      return { code: "", ends: false, stack: false, branch: { cond: CONDITIONS[op & 15], target: (end + imm) | 0 } };
    case 0x80: case 0x81: case 0x82: case 0x83: {
      const s = op === 0x80 || op === 0x82 ? 0 : sz;
      const aop = d.reg;
      if (mem) {
        code = aop === 7
          ? `{ ${ea} ${aluCall(7, memRead(s, seg), String(imm), s)}; }`
          : `{ ${ea} c.prepareWrite(${seg}, a, ${SIZE_BYTES[s]}); const v = ${aluCall(aop, memRead(s, seg), String(imm), s)}; ${memWrite(s, seg, "v")} }`;
      } else {
        code = aop === 7 ? `${aluCall(7, regGet(s, d.rm), String(imm), s)};` : regSet(s, d.rm, aluCall(aop, regGet(s, d.rm), String(imm), s));
      }
      break;
    }
    case 0x84: case 0x85: {
      const s = op === 0x84 ? 0 : sz;
      const a = mem ? memRead(s, seg) : regGet(s, d.rm);
      code = `{ ${mem ? ea : ""} c.setLogicFlags(${a} & ${regGet(s, d.reg)}, ${s}); }`;
      break;
    }
    case 0x86: case 0x87: {
      const s = op === 0x86 ? 0 : sz;
      if (mem) {
        code = `{ ${ea} c.prepareWrite(${seg}, a, ${SIZE_BYTES[s]}); const v = ${memRead(s, seg)}; ${memWrite(s, seg, regGet(s, d.reg))} ${regSet(s, d.reg, "v")} }`;
      } else {
        code = `{ const v = ${regGet(s, d.rm)}; ${regSet(s, d.rm, regGet(s, d.reg))} ${regSet(s, d.reg, "v")} }`;
      }
      break;
    }
    case 0x88: case 0x89: {
      const s = op === 0x88 ? 0 : sz;
      code = mem ? `{ ${ea} ${memWrite(s, seg, regGet(s, d.reg))} }` : regSet(s, d.rm, regGet(s, d.reg));
      break;
    }
    case 0x8a: case 0x8b: {
      const s = op === 0x8a ? 0 : sz;
      code = mem ? `{ ${ea} ${regSet(s, d.reg, memRead(s, seg))} }` : regSet(s, d.reg, regGet(s, d.rm));
      break;
    }
    case 0x8d:
      if (!mem) return null;
      code = regSet(sz, d.reg, eaExpr);
      break;
    case 0x90:
      code = "";
      break;
    case 0x91: case 0x92: case 0x93: case 0x94: case 0x95: case 0x96: case 0x97:
      code = `{ const v = ${regGet(sz, op & 7)}; ${regSet(sz, op & 7, regGet(sz, 0))} ${regSet(sz, 0, "v")} }`;
      break;
    case 0x98:
      code = d.o32 ? "r[0] = (c.regs16[0] << 16) >> 16;" : "c.regs16[0] = (c.regs8[0] << 24) >> 24;";
      break;
    case 0x99:
      code = d.o32 ? "r[2] = r[0] >> 31;" : "c.regs16[4] = (c.regs16[0] & 0x8000) !== 0 ? 0xffff : 0;";
      break;
    // MOV AL/eAX to or from a direct address (moffs): how Linux reads and writes its per-CPU variables
    // (through FS) and many globals.
    case 0xa0: case 0xa1: case 0xa2: case 0xa3: {
      const s = (op & 1) === 0 ? 0 : sz;
      const mseg = d.segOverride >= 0 ? d.segOverride : DS;
      const offset = d.a32 ? d.imm | 0 : d.imm & 0xffff;
      code = op <= 0xa1 ? `{ const a = ${offset}; ${regSet(s, 0, memRead(s, mseg))} }` : `{ const a = ${offset}; ${memWrite(s, mseg, regGet(s, 0))} }`;
      faults = true;
      break;
    }
    case 0xa8:
      code = `c.setLogicFlags(c.regs8[0] & ${imm}, 0);`;
      break;
    case 0xa9:
      code = `c.setLogicFlags(${regGet(sz, 0)} & ${imm}, ${sz});`;
      break;
    case 0xb0: case 0xb1: case 0xb2: case 0xb3: case 0xb4: case 0xb5: case 0xb6: case 0xb7:
      code = regSet(0, op & 7, String(imm));
      break;
    case 0xb8: case 0xb9: case 0xba: case 0xbb: case 0xbc: case 0xbd: case 0xbe: case 0xbf:
      code = regSet(sz, op & 7, String(imm));
      break;
    case 0xc0: case 0xc1: case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
      const s = (op & 1) === 0 ? 0 : sz;
      const count = op === 0xc0 || op === 0xc1 ? String(imm) : op <= 0xd1 ? "1" : "c.regs8[4]";
      if (mem) {
        code = `{ ${ea} c.prepareWrite(${seg}, a, ${SIZE_BYTES[s]}); const v = shift(c, ${d.reg}, ${memRead(s, seg)}, ${count}, ${s}); ${memWrite(s, seg, "v")} }`;
      } else {
        code = regSet(s, d.rm, `shift(c, ${d.reg}, ${regGet(s, d.rm)}, ${count}, ${s})`);
      }
      break;
    }
    case 0xc2:
      if (!d.o32) return null;
      code = `{ const t = c.pop32(); c.adjustStack(${imm}); c.eip = t; }`;
      stack = true;
      ends = true;
      break;
    case 0xc3:
      if (!d.o32) return null;
      code = "c.eip = c.pop32();";
      stack = true;
      ends = true;
      break;
    case 0xc6: case 0xc7: {
      const s = op === 0xc6 ? 0 : sz;
      code = mem ? `{ ${ea} ${memWrite(s, seg, String(imm))} }` : regSet(s, d.rm, String(imm));
      break;
    }
    case 0xc9:
      // leave() reads the operand size from the CPU, so set it for this instruction.
      code = `c.o32 = ${d.o32}; leave(c);`;
      stack = true;
      break;
    case 0xe8:
      if (!d.o32) return null;
      code = `c.push32(${next()}); c.eip = (e0 + ${(end + imm) | 0}) | 0;`;
      stack = true;
      ends = true;
      break;
    case 0xe9: case 0xeb:
      if (!d.o32) return null;
      code = `c.eip = (e0 + ${(end + imm) | 0}) | 0;`;
      ends = true;
      break;
    case 0xf6: case 0xf7: {
      const s = op === 0xf6 ? 0 : sz;
      const val = mem ? memRead(s, seg) : regGet(s, d.rm);
      const pre = mem ? ea : "";
      switch (d.reg) {
        case 0: case 1:
          code = `{ ${pre} c.setLogicFlags(${val} & ${imm}, ${s}); }`;
          break;
        case 2: case 3: {
          const f = d.reg === 2 ? `~x` : `neg(c, x, ${s})`;
          code = mem
            ? `{ ${pre} c.prepareWrite(${seg}, a, ${SIZE_BYTES[s]}); const x = ${val}; ${memWrite(s, seg, f)} }`
            : `{ const x = ${val}; ${regSet(s, d.rm, f)} }`;
          break;
        }
        default: {
          const fn = ["mul", "imul1", "div", "idiv"][d.reg - 4];
          code = `{ ${pre} ${fn}(c, ${val}, ${s}); }`;
        }
      }
      break;
    }
    case 0xfe: case 0xff: {
      const s = op === 0xfe ? 0 : sz;
      const sub = d.reg;
      if (sub <= 1) {
        const f = sub === 0 ? "inc" : "dec";
        code = mem
          ? `{ ${ea} c.prepareWrite(${seg}, a, ${SIZE_BYTES[s]}); const v = ${f}(c, ${memRead(s, seg)}, ${s}); ${memWrite(s, seg, "v")} }`
          : regSet(s, d.rm, `${f}(c, ${regGet(s, d.rm)}, ${s})`);
        break;
      }
      if (op === 0xfe || !d.o32) return null;
      const val = mem ? memRead(2, seg) : regGet(2, d.rm);
      const pre = mem ? ea : "";
      if (sub === 2) {
        code = `{ ${pre} const t = ${val}; c.push32(${next()}); c.eip = t; }`;
        stack = true;
        ends = true;
      } else if (sub === 4) {
        code = `{ ${pre} c.eip = ${val}; }`;
        ends = true;
      } else if (sub === 6) {
        code = `{ ${pre} c.push32(${val}); }`;
        stack = true;
      } else {
        return null;
      }
      break;
    }
    // ---- 0F xx ----
    case 0x11f:
      code = "";
      break;
    // RDTSC reads the virtual clock, c.steps included (exact here: the steps before it are flushed);
    // #GP with CR4.TSD outside ring 0.
    case 0x131:
      code = "rdtsc(c);";
      faults = true;
      break;
    // LFENCE, MFENCE, SFENCE (0F AE E8-FF, no prefix): nothing to order on this in-order CPU. The
    // other group 15 forms (FXSAVE, LDMXCSR, CLFLUSH...) run their table handlers in place.
    case 0x1ae:
      if (mem || d.reg < 5 || prefix !== 0) return null;
      code = "";
      break;
    case 0x140: case 0x141: case 0x142: case 0x143: case 0x144: case 0x145: case 0x146: case 0x147:
    case 0x148: case 0x149: case 0x14a: case 0x14b: case 0x14c: case 0x14d: case 0x14e: case 0x14f: {
      const val = mem ? memRead(sz, seg) : regGet(sz, d.rm);
      code = `{ ${mem ? ea : ""} const v = ${val}; if (${CONDITIONS[op & 15]}) ${regSet(sz, d.reg, "v")} }`;
      break;
    }
    case 0x190: case 0x191: case 0x192: case 0x193: case 0x194: case 0x195: case 0x196: case 0x197:
    case 0x198: case 0x199: case 0x19a: case 0x19b: case 0x19c: case 0x19d: case 0x19e: case 0x19f:
      code = mem ? `{ ${ea} ${memWrite(0, seg, `${CONDITIONS[op & 15]} ? 1 : 0`)} }` : regSet(0, d.rm, `${CONDITIONS[op & 15]} ? 1 : 0`);
      break;
    case 0x1af: {
      const val = mem ? memRead(sz, seg) : regGet(sz, d.rm);
      code = `{ ${mem ? ea : ""} ${regSet(sz, d.reg, `imulTrunc(c, ${regGet(sz, d.reg)}, ${val}, ${sz})`)} }`;
      break;
    }
    case 0x1b6: case 0x1b7: case 0x1be: case 0x1bf: {
      const s = op === 0x1b6 || op === 0x1be ? 0 : 1;
      let val = mem ? memRead(s, seg) : regGet(s, d.rm);
      if (op === 0x1be) val = `((${val}) << 24) >> 24`;
      else if (op === 0x1bf) val = `((${val}) << 16) >> 16`;
      code = `{ ${mem ? ea : ""} ${regSet(sz, d.reg, val)} }`;
      break;
    }
    case 0x1c8: case 0x1c9: case 0x1ca: case 0x1cb: case 0x1cc: case 0x1cd: case 0x1ce: case 0x1cf: {
      if (!d.o32) return null;
      const i = op & 7;
      code = `{ const v = r[${i}]; r[${i}] = ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24); }`;
      break;
    }
    // SSE 128-bit moves and PXOR (sse/compiled-moves.ts); their other prefixes (MOVSS, MMX...) run their handler.
    case 0x110: case 0x111: case 0x128: case 0x129: case 0x16f: case 0x17f: case 0x1ef: {
      const low = op & 0xff;
      const legal = low === 0x6f || low === 0x7f ? prefix === 1 || prefix === 2 : low === 0xef ? prefix === 1 : prefix <= 1;
      if (!legal) return null;
      const align = !(low === 0x10 || low === 0x11 || prefix === 2);
      faults = true;
      if (low === 0xef) code = mem ? `{ ${ea} ssePxor(c, ${d.reg}, 0, ${seg}, a); }` : `ssePxor(c, ${d.reg}, ${d.rm}, -1, 0);`;
      else if (low === 0x10 || low === 0x28 || low === 0x6f) code = mem ? `{ ${ea} sseLoad128(c, ${seg}, a, ${d.reg}, ${align}); }` : `sseCopy128(c, ${d.reg}, ${d.rm});`;
      else code = mem ? `{ ${ea} sseStore128(c, ${seg}, a, ${d.reg}, ${align}); }` : `sseCopy128(c, ${d.rm}, ${d.reg});`;
      break;
    }
    // x87: the table entry is found now and its handler runs in place (a reserved encoding, which
    // raises #UD, runs the escape's handler).
    case 0xd8: case 0xd9: case 0xda: case 0xdb: case 0xdc: case 0xdd: case 0xde: case 0xdf: {
      if (lookupX87(op, d.modrm) === undefined) return null;
      const call = `c.o32 = ${d.o32}; x87(c, ${op}, ${d.modrm});`;
      code = mem ? `{ ${ea} c.eaSeg = ${seg}; c.eaOff = a; ${call} }` : call;
      break;
    }
    default:
      return null;
  }
  if (d.repPrefix !== 0 && op !== 0x90 && op !== 0xc3 && op !== 0xc2 && op !== 0x16f && op !== 0x17f && !isX87) {
    // REP on a non-string instruction is ignored by the CPU; such oddities run their handler.
    return null;
  }
  const divides = (op === 0xf6 || op === 0xf7) && d.reg >= 6;
  const pure = !mem && !stack && !ends && !divides && !faults && op !== 0xc9 && !isX87;
  return { code, ends, stack, pure };
}

/** How many memory writes `d` makes (its table form's written memory operands and implicit slots). */
function memoryWrites(d: DecodedInstruction): number {
  const f = d.form;
  let n = 0;
  for (const o of f.operands) {
    const memory = o.kind === Kind.M || o.kind === Kind.O || (o.kind === Kind.E && d.isMemory);
    if (memory && (o.access & Access.Write) !== 0) n++;
  }
  for (const m of f.memory) if ((m.access & Access.Write) !== 0) n += m.count;
  return n;
}

/**
 * JS that runs `d`'s table handler in place as handler number `h` of the block: the CPU is put in the
 * state the interpreter's dispatch leaves (EIP past the opcode, the prefixes decoded), the handler
 * fetches its operands itself. Returns whether the block must end after it.
 */
function emitHandlerCall(d: DecodedInstruction, h: number, opcodeEnd: number): { code: string; ends: boolean } {
  const f = d.form;
  const prefixes = `c.o32 = ${d.o32}; c.a32 = ${d.a32}; c.segOverride = ${d.segOverride}; c.repPrefix = ${d.repPrefix}; c.lock = ${d.lock};`;
  const setup = `c.eip = (e0 + ${opcodeEnd}) | 0; ${prefixes}`;
  // LOCK on a form that does not allow it (or without a memory destination) is #UD, as execute() checks.
  if (d.lock && !(f.lock && d.isMemory)) return { code: `${setup} c.raiseFault(6, 0);`, ends: true };
  // Forms that change machine state, deliver events, repeat (a string instruction may stop on the
  // step budget) or write memory more than once end the block, and run as the interpreter runs them:
  // an MMIO or compiled-code write goes through instead of restarting the instruction (which would
  // repeat the writes before it).
  if (f.system || f.switchesContext || f.rep || (f.flagsWritten & (IF | TF)) !== 0 || !d.valid || memoryWrites(d) > 1) {
    return { code: `${setup} c.mmu.inBlock = false; H[${h}](c); c.steps++; return;`, ends: true };
  }
  // Anything else goes on with the block unless it transferred control.
  return { code: `${setup} H[${h}](c); c.steps++; c.instrEsp = r[4]; if (c.eip !== ((e0 + ${d.start + d.length}) | 0)) return;`, ends: false };
}

const HELPERS = {
  add, sub, logic, alu, inc, dec, neg, shift, mul, imul1, div, idiv, imulTrunc, execute, leave, rdtsc,
  sseLoad128, sseStore128, sseCopy128, ssePxor,
  x87: executeX87Decoded,
};
const HELPER_NAMES = Object.keys(HELPERS);
const HELPER_VALUES = Object.values(HELPERS);

/**
 * Compiles the block starting at physical `phys` (the byte at EIP), for code whose default operand
 * size is 32 bits when `def32`. Never fails: a block may consist of just one instruction.
 */
export function compileBlock(mem: Uint8Array, phys: number, def32: boolean): CompiledBlock {
  const limit = 0x1000 - (phys & 0xfff);
  const cursor = new ByteCursor();
  cursor.src = new PageBytes(mem, phys, limit);
  const parts: string[] = [];
  // Handlers the block calls in place (H[i] in its code).
  const handlers: Handler[] = [];
  let pos = 0;
  let count = 0;
  let ended = false;
  // Retired steps not yet added to c.steps (flushed before anything that can fault or be observed).
  let pendingSteps = 0;
  const flush = () => {
    if (pendingSteps > 0) parts.push(pendingSteps === 1 ? "c.steps++;" : `c.steps += ${pendingSteps};`);
    pendingSteps = 0;
  };
  const d = new DecodedInstruction();
  // How the previous instruction left the flags, for a Jcc right after it.
  let flags: FlagSource | null = null;
  // Conditional branches forward within the block, not yet placed: parts[slot] is filled in once the
  // decoding reaches the target (a labelled block the taken branch breaks out of, so that control
  // joins the straight path there) or passes it (an exit from the block).
  const forward: { slot: number; cond: string; target: number }[] = [];
  let labels = 0;
  const exitTo = (b: { slot: number; cond: string; target: number }) => {
    parts[b.slot] = `if (${b.cond}) { c.eip = (e0 + ${b.target}) | 0; c.steps++; return; }`;
  };
  /**
   * At the instruction boundary `at`: the forward branches to it join the straight path here (the
   * steps the straight path deferred are counted first, and no flag shortcut crosses the join); those
   * aimed past a target closed here would cross its label, and those aimed before it missed every
   * boundary, so they leave the block instead.
   */
  const joinAt = (at: number) => {
    const first = forward.findIndex((b) => b.target === at);
    if (first < 0) {
      for (let i = forward.length - 1; i >= 0; i--) if (forward[i].target < at) exitTo(forward.splice(i, 1)[0]);
      return;
    }
    for (const b of forward.splice(first)) {
      if (b.target !== at) {
        exitTo(b);
        continue;
      }
      const label = `j${labels++}`;
      parts[b.slot] = `${label}: { if (${b.cond}) { c.steps++; break ${label}; }`;
      flush();
      parts.push("}");
    }
    flags = null;
    for (let i = forward.length - 1; i >= 0; i--) if (forward[i].target < at) exitTo(forward.splice(i, 1)[0]);
  };
  while (count < MAX_INSTRUCTIONS) {
    if (forward.length > 0) joinAt(pos);
    cursor.pos = pos;
    let decoded = true;
    try {
      decodeInstruction(cursor, def32, d);
    } catch (e) {
      if (!(e instanceof PageEnd)) throw e;
      decoded = false;
    }
    if (!decoded || d.op < 0) {
      // The instruction runs past the page (or its prefixes fill the length limit): the interpreter
      // fetches and decodes it across the boundary.
      flush();
      parts.push(`c.eip = (e0 + ${pos}) | 0; c.instrEip = c.eip; c.instrEsp = r[4]; c.mmu.inBlock = false; execute(c); c.steps++; return;`);
      count++;
      ended = true;
      break;
    }
    // LOCK and reserved encodings take the handler's path (which raises #UD as the interpreter does).
    const emitted = d.lock || !d.valid ? null : emit(d);
    count++;
    const flagsBefore = flags;
    if (emitted === null) {
      // No fast form: the table handler runs in place.
      flush();
      const call = emitHandlerCall(d, handlers.length, d.opcodeEnd);
      handlers.push(d.form.handler);
      parts.push(`c.instrEip = (e0 + ${d.start}) | 0; c.instrEsp = r[4]; ${call.code}`);
      pos = d.start + d.length;
      flags = null;
      if (call.ends) {
        ended = true;
        break;
      }
      continue;
    }
    const { code, ends, stack, branch, pure } = emitted;
    pos = d.start + d.length;
    flags = branch === undefined ? flagSourceOf(d) : null;
    if (branch !== undefined) {
      const cond = fusedCondition(d.op & 15, flagsBefore) ?? branch.cond;
      flush();
      if (branch.target === 0) {
        // A loop back to the block's start: iterate here while the step budget allows.
        parts.push(`if (${cond}) { c.steps++; if (c.steps + ${MAX_INSTRUCTIONS} <= c.stepLimit) continue; c.eip = e0; return; }`);
      } else if (branch.target > pos && branch.target < limit) {
        forward.push({ slot: parts.length, cond, target: branch.target });
        parts.push("");
      } else {
        parts.push(`if (${cond}) { c.eip = (e0 + ${branch.target}) | 0; c.steps++; return; }`);
      }
      pendingSteps = 1;
      continue;
    }
    // The fault handler restores ESP from instrEsp, so it is refreshed after anything that may move
    // ESP (the table says which instructions write it).
    const movesEsp = stack || (registersWrittenBy(d) & (1 << ESP)) !== 0;
    if (pure) {
      parts.push(code);
      pendingSteps++;
      if (movesEsp) parts.push("c.instrEsp = r[4];");
    } else {
      flush();
      parts.push(`c.instrEip = (e0 + ${d.start}) | 0; ${code} c.steps++;${movesEsp ? " c.instrEsp = r[4];" : ""}`);
    }
    if (ends) {
      flush();
      parts.push("return;");
      ended = true;
      break;
    }
  }
  if (!ended) {
    if (forward.length > 0) joinAt(pos);
    flush();
    parts.push(`c.eip = (e0 + ${pos}) | 0; return;`);
  }
  // Targets the block never reached: those branches leave it.
  for (const b of forward) exitTo(b);
  const body = parts.join("\n");
  const factory = new Function(...HELPER_NAMES, "H", `return function block(c, r, e0) {\nfor (;;) {\n${body}\n}\n};`);
  const fn = factory(...HELPER_VALUES, handlers) as BlockFn;
  return { fn, count, physStart: phys, physEnd: phys + pos };
}

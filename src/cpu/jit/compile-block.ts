/**
 * Compiles a run of guest instructions (a basic block within one physical page) into a JS function.
 * Common instructions become straight-line JS over the register file and the CPU's own access
 * methods (so segment checks, paging, faults and observers behave exactly as in the interpreter);
 * the first instruction the compiler does not handle ends the block and is run by the interpreter.
 *
 * Block code keeps the interpreter's contract: `c.instrEip` names the instruction in progress
 * (faults restart it), `c.steps` counts every retired instruction, memory is written before
 * registers, and `c.eip` is set when the block returns. Blocks never contain instructions that
 * change interrupt state (IF, ports, MMIO), so interrupts are taken at the same steps as in the
 * interpreter.
 */
import { Decoded, decodeModrm, read16, read32, type ByteSource } from "./decoded.js";
import { add, alu, dec, inc, logic, neg, sub } from "../alu.js";
import { shift } from "../shift.js";
import { div, idiv, imul1, imulTrunc, mul } from "../muldiv.js";
import { execute, leave } from "../execute.js";
import { executeX87Decoded } from "../x87/dispatch.js";
import { lookupX87 } from "../x87/table.js";
import type { CPU } from "../cpu.js";
import { CS, DS, ES, FS, GS, SS } from "../constants.js";
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

const ALU_FLAG_KIND: (FlagSource["kind"] | null)[] = ["zs", "logic", null, null, "logic", "sub", "logic", "sub"];

/** The flag source of a compiled instruction (see FlagSource), or null. */
function flagSourceOf(d: Decoded): FlagSource | null {
  const op = d.op;
  const sz = d.o32 ? 2 : 1;
  if (op < 0x40 && (op & 7) <= 5) {
    const kind = ALU_FLAG_KIND[op >> 3];
    return kind === null ? null : { kind, size: (op & 1) === 0 ? 0 : sz };
  }
  if (op >= 0x80 && op <= 0x83) {
    const kind = ALU_FLAG_KIND[d.reg];
    return kind === null ? null : { kind, size: op === 0x80 || op === 0x82 ? 0 : sz };
  }
  if (op === 0x84 || op === 0x85 || op === 0xa8 || op === 0xa9) return { kind: "logic", size: (op & 1) === 0 ? 0 : sz };
  if (op >= 0x40 && op <= 0x4f) return { kind: "zs", size: sz };
  return null;
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

/**
 * Decodes one instruction's prefixes and opcode at `pos`. Returns the position after the opcode
 * byte(s), with `d` filled in, or -1 when the prefixes are not ones the compiler handles.
 */
function decodePrefixes(src: ByteSource, pos: number, d: Decoded, def32: boolean): number {
  d.o32 = def32;
  d.a32 = def32;
  d.segOverride = -1;
  d.rep = 0;
  d.opsize = false;
  d.modrm = -1;
  for (let n = 0; n < 14; n++) {
    const b = src.byte(pos++);
    switch (b) {
      case 0x66: d.o32 = !def32; d.opsize = true; continue;
      case 0x67: d.a32 = !def32; continue;
      case 0x26: d.segOverride = ES; continue;
      case 0x2e: d.segOverride = CS; continue;
      case 0x36: d.segOverride = SS; continue;
      case 0x3e: d.segOverride = DS; continue;
      case 0x64: d.segOverride = FS; continue;
      case 0x65: d.segOverride = GS; continue;
      case 0xf0: return -1; // LOCK: the interpreter checks that the instruction may take it (#UD otherwise)
      case 0xf2: d.rep = 2; continue;
      case 0xf3: d.rep = 1; continue;
      case 0x0f:
        d.op = 0x100 | src.byte(pos++);
        return pos;
      default:
        d.op = b;
        return pos;
    }
  }
  return -1;
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

function emit(d: Decoded, src: ByteSource, pos: number): { e: Emitted; pos: number } | null {
  const op = d.op;
  const sz = d.o32 ? 2 : 1;
  const next = () => `((e0 + ${d.start + d.length}) | 0)`;
  let code: string;
  let ends = false;
  let stack = false;
  // An instruction that can fault without a ModRM memory operand (the SSE availability checks, RDTSC,
  // MOV with a direct address).
  let faults = false;
  // Its mandatory prefix (SSE): 0 none, 1 66, 2 F3, 3 F2 (F2/F3 win over 66).
  const prefix = d.rep === 1 ? 2 : d.rep === 2 ? 3 : d.opsize ? 1 : 0;

  // ModRM-based forms share decoding.
  const needsModrm = MODRM_OPS.has(op);
  if (needsModrm) pos = decodeModrm(src, pos, d);
  const mem = needsModrm && d.isMemory;
  const isX87 = op >= 0xd8 && op <= 0xdf;
  const seg = d.eaSeg;
  const ea = `const a = ${d.eaExpr};`;

  const imm8 = () => { const v = src.byte(pos); pos += 1; return v; };
  const simm8 = () => (imm8() << 24) >> 24;
  const immV = () => { const v = d.o32 ? read32(src, pos) : read16(src, pos); pos += d.o32 ? 4 : 2; return v; };

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
      const v = s === 0 ? imm8() : immV();
      code = aop === 7 ? `${aluCall(7, regGet(s, 0), String(v), s)};` : regSet(s, 0, aluCall(aop, regGet(s, 0), String(v), s));
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
    case 0x68:
      if (!d.o32) return null;
      code = `c.push32(${immV()});`;
      stack = true;
      break;
    case 0x6a:
      if (!d.o32) return null;
      code = `c.push32(${simm8()});`;
      stack = true;
      break;
    case 0x69: case 0x6b: {
      const v = op === 0x69 ? immV() : simm8();
      const a = mem ? memRead(sz, seg) : regGet(sz, d.rm);
      code = `{ ${mem ? ea : ""} ${regSet(sz, d.reg, `imulTrunc(c, ${a}, ${v}, ${sz})`)} }`;
      break;
    }
    case 0x70: case 0x71: case 0x72: case 0x73: case 0x74: case 0x75: case 0x76: case 0x77:
    case 0x78: case 0x79: case 0x7a: case 0x7b: case 0x7c: case 0x7d: case 0x7e: case 0x7f: {
      // With a 16-bit operand the target wraps to 16 bits: left to the interpreter.
      if (!d.o32) return null;
      const disp = simm8();
      d.length = pos - d.start;
      return { e: { code: "", ends: false, stack: false, branch: { cond: CONDITIONS[op & 15], target: d.start + d.length + disp } }, pos };
    }
    case 0x80: case 0x81: case 0x82: case 0x83: {
      const s = op === 0x80 || op === 0x82 ? 0 : sz;
      const aop = d.reg;
      const v = op === 0x81 ? immV() : op === 0x83 ? simm8() : imm8();
      if (mem) {
        code = aop === 7
          ? `{ ${ea} ${aluCall(7, memRead(s, seg), String(v), s)}; }`
          : `{ ${ea} c.prepareWrite(${seg}, a, ${SIZE_BYTES[s]}); const v = ${aluCall(aop, memRead(s, seg), String(v), s)}; ${memWrite(s, seg, "v")} }`;
      } else {
        code = aop === 7 ? `${aluCall(7, regGet(s, d.rm), String(v), s)};` : regSet(s, d.rm, aluCall(aop, regGet(s, d.rm), String(v), s));
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
      code = regSet(sz, d.reg, d.eaExpr);
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
      const offset = d.a32 ? read32(src, pos) | 0 : read16(src, pos);
      pos += d.a32 ? 4 : 2;
      code = op <= 0xa1 ? `{ const a = ${offset}; ${regSet(s, 0, memRead(s, mseg))} }` : `{ const a = ${offset}; ${memWrite(s, mseg, regGet(s, 0))} }`;
      faults = true;
      break;
    }
    case 0xa8:
      code = `c.setLogicFlags(c.regs8[0] & ${imm8()}, 0);`;
      break;
    case 0xa9:
      code = `c.setLogicFlags(${regGet(sz, 0)} & ${immV()}, ${sz});`;
      break;
    case 0xb0: case 0xb1: case 0xb2: case 0xb3: case 0xb4: case 0xb5: case 0xb6: case 0xb7:
      code = regSet(0, op & 7, String(imm8()));
      break;
    case 0xb8: case 0xb9: case 0xba: case 0xbb: case 0xbc: case 0xbd: case 0xbe: case 0xbf:
      code = regSet(sz, op & 7, String(immV()));
      break;
    case 0xc0: case 0xc1: case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
      const s = (op & 1) === 0 ? 0 : sz;
      const count = op === 0xc0 || op === 0xc1 ? String(imm8()) : op <= 0xd1 ? "1" : "c.regs8[4]";
      if (mem) {
        code = `{ ${ea} c.prepareWrite(${seg}, a, ${SIZE_BYTES[s]}); const v = shift(c, ${d.reg}, ${memRead(s, seg)}, ${count}, ${s}); ${memWrite(s, seg, "v")} }`;
      } else {
        code = regSet(s, d.rm, `shift(c, ${d.reg}, ${regGet(s, d.rm)}, ${count}, ${s})`);
      }
      break;
    }
    case 0xc2:
      if (!d.o32) return null;
      code = `{ const t = c.pop32(); c.adjustStack(${read16(src, pos)}); c.eip = t; }`;
      pos += 2;
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
      if (d.reg !== 0) return null;
      const s = op === 0xc6 ? 0 : sz;
      const v = s === 0 ? imm8() : immV();
      code = mem ? `{ ${ea} ${memWrite(s, seg, String(v))} }` : regSet(s, d.rm, String(v));
      break;
    }
    case 0xc9:
      // leave() reads the operand size from the CPU, so set it for this instruction.
      code = `c.o32 = ${d.o32}; leave(c);`;
      stack = true;
      break;
    case 0xe8: {
      if (!d.o32) return null;
      const disp = read32(src, pos);
      pos += 4;
      d.length = pos - d.start;
      code = `c.push32(${next()}); c.eip = (e0 + ${d.start + d.length + disp}) | 0;`;
      stack = true;
      ends = true;
      break;
    }
    case 0xe9: case 0xeb: {
      if (!d.o32) return null;
      const disp = op === 0xe9 ? read32(src, pos) : (src.byte(pos) << 24) >> 24;
      pos += op === 0xe9 ? 4 : 1;
      d.length = pos - d.start;
      code = `c.eip = (e0 + ${d.start + d.length + disp}) | 0;`;
      ends = true;
      break;
    }
    case 0xf6: case 0xf7: {
      const s = op === 0xf6 ? 0 : sz;
      const val = mem ? memRead(s, seg) : regGet(s, d.rm);
      const pre = mem ? ea : "";
      switch (d.reg) {
        case 0: case 1: {
          const v = s === 0 ? imm8() : immV();
          code = `{ ${pre} c.setLogicFlags(${val} & ${v}, ${s}); }`;
          break;
        }
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
        d.length = pos - d.start;
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
    // other group 15 forms (FXSAVE, LDMXCSR, CLFLUSH...) are interpreted.
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
    case 0x180: case 0x181: case 0x182: case 0x183: case 0x184: case 0x185: case 0x186: case 0x187:
    case 0x188: case 0x189: case 0x18a: case 0x18b: case 0x18c: case 0x18d: case 0x18e: case 0x18f: {
      if (!d.o32) return null;
      const disp = read32(src, pos);
      pos += 4;
      d.length = pos - d.start;
      return { e: { code: "", ends: false, stack: false, branch: { cond: CONDITIONS[op & 15], target: (d.start + d.length + disp) | 0 } }, pos };
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
    // SSE 128-bit moves and PXOR (sse/compiled-moves.ts); their other prefixes (MOVSS, MMX...) are interpreted.
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
    // raises #UD, is left to the interpreter).
    case 0xd8: case 0xd9: case 0xda: case 0xdb: case 0xdc: case 0xdd: case 0xde: case 0xdf: {
      if (lookupX87(op, d.modrm) === undefined) return null;
      const call = `c.o32 = ${d.o32}; x87(c, ${op}, ${d.modrm});`;
      code = mem ? `{ ${ea} c.eaSeg = ${seg}; c.eaOff = a; ${call} }` : call;
      break;
    }
    default:
      return null;
  }
  if (d.rep !== 0 && op !== 0x90 && op !== 0xc3 && op !== 0xc2 && op !== 0x16f && op !== 0x17f && !isX87) {
    // REP on a non-string instruction is ignored by the CPU; keep such oddities in the interpreter.
    return null;
  }
  const divides = (op === 0xf6 || op === 0xf7) && d.reg >= 6;
  const pure = !mem && !stack && !ends && !divides && !faults && op !== 0xc9 && !isX87;
  return { e: { code, ends, stack, pure }, pos };
}

/** Opcodes of the compiled subset that take a ModRM byte. */
const MODRM_OPS = new Set<number>([
  0x00, 0x01, 0x02, 0x03, 0x08, 0x09, 0x0a, 0x0b, 0x10, 0x11, 0x12, 0x13, 0x18, 0x19, 0x1a, 0x1b,
  0x20, 0x21, 0x22, 0x23, 0x28, 0x29, 0x2a, 0x2b, 0x30, 0x31, 0x32, 0x33, 0x38, 0x39, 0x3a, 0x3b,
  0x69, 0x6b, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8d,
  0xc0, 0xc1, 0xc6, 0xc7, 0xd0, 0xd1, 0xd2, 0xd3, 0xf6, 0xf7, 0xfe, 0xff,
  0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf,
  0x11f, 0x1ae, 0x1af, 0x1b6, 0x1b7, 0x1be, 0x1bf, 0x110, 0x111, 0x128, 0x129, 0x16f, 0x17f, 0x1ef,
  ...Array.from({ length: 16 }, (_, i) => 0x140 + i),
  ...Array.from({ length: 16 }, (_, i) => 0x190 + i),
]);

const HELPERS = {
  add, sub, logic, alu, inc, dec, neg, shift, mul, imul1, div, idiv, imulTrunc, execute, leave, rdtsc,
  sseLoad128, sseStore128, sseCopy128, ssePxor,
  x87: executeX87Decoded,
};
const HELPER_NAMES = Object.keys(HELPERS);
const HELPER_VALUES = Object.values(HELPERS);

/**
 * Compiles the block starting at physical `phys` (the byte at EIP), for code whose default operand
 * size is 32 bits when `def32`. Never fails: a block may consist of just the interpreted instruction.
 */
export function compileBlock(mem: Uint8Array, phys: number, def32: boolean): CompiledBlock {
  const limit = 0x1000 - (phys & 0xfff);
  const src = new PageBytes(mem, phys, limit);
  const parts: string[] = [];
  let pos = 0;
  let count = 0;
  let ended = false;
  // Retired steps not yet added to c.steps (flushed before anything that can fault or be observed).
  let pendingSteps = 0;
  const flush = () => {
    if (pendingSteps > 0) parts.push(pendingSteps === 1 ? "c.steps++;" : `c.steps += ${pendingSteps};`);
    pendingSteps = 0;
  };
  const d = new Decoded();
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
    d.start = pos;
    if (forward.length > 0) joinAt(pos);
    let emitted: { e: Emitted; pos: number } | null = null;
    try {
      const p = decodePrefixes(src, pos, d, def32);
      if (p >= 0) {
        emitted = emit(d, src, p);
        if (emitted !== null) d.length = emitted.pos - d.start;
      }
    } catch (e) {
      if (!(e instanceof PageEnd)) throw e;
      emitted = null;
      // The instruction runs past the page: let the interpreter fetch it across the boundary.
    }
    if (emitted === null) {
      // Interpreted tail: the interpreter executes this one instruction, whatever it is.
      flush();
      parts.push(`c.eip = (e0 + ${pos}) | 0; c.instrEip = c.eip; c.instrEsp = r[4]; c.mmu.inBlock = false; execute(c); c.steps++; return;`);
      count++;
      ended = true;
      break;
    }
    const { code, ends, stack, branch, pure } = emitted.e;
    count++;
    pos = emitted.pos;
    const flagsBefore = flags;
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
    if (pure) {
      parts.push(code);
      pendingSteps++;
    } else {
      flush();
      // The fault handler restores ESP from instrEsp, so it is refreshed after anything that may move ESP.
      const movesEsp = stack || code.includes("r[4]") || code.includes("regs16[8]");
      parts.push(`c.instrEip = (e0 + ${d.start}) | 0; ${code} c.steps++;${movesEsp ? " c.instrEsp = r[4];" : ""}`);
    }
    if (pure && (code.includes("r[4]") || code.includes("regs16[8]"))) parts.push("c.instrEsp = r[4];");
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
  const factory = new Function(...HELPER_NAMES, `return function block(c, r, e0) {\nfor (;;) {\n${body}\n}\n};`);
  const fn = factory(...HELPER_VALUES) as BlockFn;
  return { fn, count, physStart: phys, physEnd: phys + pos };
}

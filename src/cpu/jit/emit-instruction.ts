/**
 * The inline JS of the instructions the block compiler has a fast form for, over the block's locals
 * (block-locals.ts) and inline memory accesses (inline-memory.ts). Anything not here runs its table
 * handler in place (compile-block.ts). Every form keeps the interpreter's contract: all memory
 * accesses that can fault come before any register or flag local changes.
 */
import { mandatoryPrefixOf, type DecodedInstruction } from "../instructions/decode.js";
import type { AddressParts } from "../instructions/modrm.js";
import { DS, SS } from "../constants.js";
import { OP_ADD, OP_SUB } from "../flags.js";
import { lookupX87 } from "../x87/table.js";
import type { BlockLocals } from "./block-locals.js";
import { readInto, readModifyWrite, writeFrom } from "./inline-memory.js";

/** What emit() produced for one instruction. */
export interface Emitted {
  code: string;
  /** Control leaves the block after it: `exit` is the JS for the next EIP. */
  exit?: string;
  /** For a conditional branch: its condition code and the taken target's offset from the block start. */
  branch?: { cc: number; target: number };
  /**
   * The code calls a helper that reads or writes CPU state (registers, flags, steps): the block
   * stores its locals before it and reloads them after.
   */
  helper?: boolean;
  /** After a helper: statements run once the locals are reloaded (register writes of the helper's result). */
  after?: string;
}

/** JS for the offset of memory operand `p` over the register locals (constants folded in). */
export function addressExpr(l: BlockLocals, p: AddressParts): string {
  if (p.a32) {
    const parts: string[] = [];
    if (p.base >= 0) parts.push(l.get(2, p.base));
    if (p.index >= 0) parts.push(p.scale === 0 ? l.get(2, p.index) : `(${l.get(2, p.index)} << ${p.scale})`);
    if (p.disp !== 0 || parts.length === 0) parts.push(String(p.disp | 0));
    return parts.length === 1 && parts[0].startsWith("r") ? parts[0] : `((${parts.join(" + ")}) | 0)`;
  }
  const regs = [p.base, p.index].filter((i) => i >= 0).map((i) => l.get(1, i));
  if (regs.length === 0) return String(p.disp & 0xffff);
  const disp = (p.disp << 16) >> 16;
  return `((${regs.join(" + ")} + ${disp}) & 0xffff)`;
}

/**
 * Statements computing ALU operation `aop` (ADD OR ADC SBB AND SUB XOR CMP) on JS values `a` and `b`
 * at size `s`, leaving the result in local `v` (CMP leaves nothing but flags).
 */
function aluOp(l: BlockLocals, aop: number, a: string, b: string, s: number): string {
  switch (aop) {
    case 0: return `${l.arith(OP_ADD, a, b, s)} v = fr;`;
    case 5: case 7: return `${l.arith(OP_SUB, a, b, s)} v = fr;`;
    case 1: return `v = (${a}) | (${b}); ${l.logic("v", s)}`;
    case 4: return `v = (${a}) & (${b}); ${l.logic("v", s)}`;
    case 6: return `v = (${a}) ^ (${b}); ${l.logic("v", s)}`;
    case 2: // ADC: ADD with the carry in (recorded as OP_ADC when it is one)
      return `x2 = ${l.carry()} ? 1 : 0; fa = ${a}; fb = ${b}; fr = (fa + fb + x2) | 0; fo = x2; fs = ${s}; lz = 0x8d5; v = fr;`;
    default: // SBB
      return `x2 = ${l.carry()} ? 1 : 0; fa = ${a}; fb = ${b}; fr = (fa - fb - x2) | 0; fo = 2 + x2; fs = ${s}; lz = 0x8d5; v = fr;`;
  }
}

/**
 * Statements for a 32-bit SHL (4), SHR (5) or SAR (7) of local `x` by count `n` (1..31, a JS value),
 * leaving the result in `v`, with shift.ts's flags. `always`: the count is a constant (else the
 * caller skips this for a zero count, which leaves the flags alone).
 */
function shift32(l: BlockLocals, op: number, n: string, always: boolean): string {
  switch (op) {
    case 4: return `v = x << ${n}; ${l.resultWithCarry("v", 2, `(x >>> (32 - ${n})) & 1`, "((v >>> 31) ^ (x >>> (32 - " + n + "))) & 1", always)}`;
    // SHR's OF: the top bit of x shifted by n - 1 (x's own for a count of one, else 0), as shift.ts.
    case 5: return `v = (x >>> ${n}) | 0; ${l.resultWithCarry("v", 2, `(x >>> (${n} - 1)) & 1`, `(x >>> (${n} - 1)) >>> 31`, always)}`;
    default: return `v = x >> ${n}; ${l.resultWithCarry("v", 2, `(x >> (${n} - 1)) & 1`, "0", always)}`;
  }
}

/** The inline JS of `d` (which starts at `l.start`), or null when its table handler must run in place. */
export function emit(l: BlockLocals, d: DecodedInstruction, stack32: boolean): Emitted | null {
  const op = d.op;
  const sz = d.o32 ? 2 : 1;
  const end = d.start + d.length;
  const next = `(e0 + ${end}) | 0`;
  const prefix = mandatoryPrefixOf(d);
  const mem = d.isMemory;
  const seg = d.seg;
  const imm = d.imm;
  const addr = () => addressExpr(l, d.address);
  /** Reads the r/m operand of size `s` into local `x` (memory) or returns its register. */
  const rmValue = (s: number): { pre: string; value: string } =>
    mem ? { pre: readInto(l, s, seg, addr(), "x"), value: "x" } : { pre: "", value: l.get(s, d.rm) };
  const push32 = (value: string) => `v = ${value}; ${writeFrom(l, 2, SS, `(${l.get(2, 4)} - 4) | 0`, "v")} ${l.set(2, 4, "a")}`;

  if (d.repPrefix !== 0 && op !== 0x90 && op !== 0xc3 && op !== 0xc2 && op !== 0x16f && op !== 0x17f && !(op >= 0xd8 && op <= 0xdf)) {
    // REP on a non-string instruction is ignored by the CPU; such oddities run their handler.
    return null;
  }
  switch (op) {
    // ALU Eb,Gb / Ev,Gv
    case 0x00: case 0x08: case 0x10: case 0x18: case 0x20: case 0x28: case 0x30: case 0x38:
    case 0x01: case 0x09: case 0x11: case 0x19: case 0x21: case 0x29: case 0x31: case 0x39: {
      const s = (op & 1) === 0 ? 0 : sz;
      const aop = op >> 3;
      const g = l.get(s, d.reg);
      if (mem) {
        if (aop === 7) return { code: `${readInto(l, s, seg, addr(), "x")} ${aluOp(l, 7, "x", g, s)}` };
        return { code: readModifyWrite(l, s, seg, addr(), aluOp(l, aop, "x", g, s)) };
      }
      if (aop === 6 && d.rm === d.reg) return { code: `${l.set(s, d.rm, "0")} ${l.logic("0", s)}` };
      const body = aluOp(l, aop, l.get(s, d.rm), g, s);
      return { code: aop === 7 ? body : `${body} ${l.set(s, d.rm, "v")}` };
    }
    // ALU Gb,Eb / Gv,Ev
    case 0x02: case 0x0a: case 0x12: case 0x1a: case 0x22: case 0x2a: case 0x32: case 0x3a:
    case 0x03: case 0x0b: case 0x13: case 0x1b: case 0x23: case 0x2b: case 0x33: case 0x3b: {
      const s = (op & 1) === 0 ? 0 : sz;
      const aop = op >> 3;
      const src = rmValue(s);
      const body = aluOp(l, aop, l.get(s, d.reg), src.value, s);
      return { code: `${src.pre} ${body} ${aop === 7 ? "" : l.set(s, d.reg, "v")}` };
    }
    // ALU AL,Ib / eAX,Iv
    case 0x04: case 0x0c: case 0x14: case 0x1c: case 0x24: case 0x2c: case 0x34: case 0x3c:
    case 0x05: case 0x0d: case 0x15: case 0x1d: case 0x25: case 0x2d: case 0x35: case 0x3d: {
      const s = (op & 1) === 0 ? 0 : sz;
      const aop = op >> 3;
      const body = aluOp(l, aop, l.get(s, 0), String(imm), s);
      return { code: aop === 7 ? body : `${body} ${l.set(s, 0, "v")}` };
    }
    case 0x40: case 0x41: case 0x42: case 0x43: case 0x44: case 0x45: case 0x46: case 0x47:
    case 0x48: case 0x49: case 0x4a: case 0x4b: case 0x4c: case 0x4d: case 0x4e: case 0x4f: {
      const i = op & 7;
      const arith = l.setLazy(op < 0x48 ? OP_ADD : OP_SUB, "x", "1", `(x ${op < 0x48 ? "+" : "-"} 1) | 0`, sz, 0x8d4);
      return { code: `x = ${l.get(sz, i)}; ${l.freezeCF()} ${arith} ${l.set(sz, i, "fr")}` };
    }
    case 0x50: case 0x51: case 0x52: case 0x53: case 0x54: case 0x55: case 0x56: case 0x57:
      if (!d.o32 || !stack32) return null;
      return { code: push32(l.get(2, op & 7)) };
    case 0x58: case 0x59: case 0x5a: case 0x5b: case 0x5c: case 0x5d: case 0x5e: case 0x5f:
      if (!d.o32 || !stack32) return null;
      // ESP moves first, then the popped value lands (POP ESP loads the value).
      return { code: `${readInto(l, 2, SS, l.get(2, 4), "x")} ${l.set(2, 4, "(r4 + 4) | 0")} ${l.set(2, op & 7, "x")}` };
    case 0x68: case 0x6a:
      if (!d.o32 || !stack32) return null;
      return { code: push32(String(imm)) };
    case 0x69: case 0x6b: case 0x1af: {
      if (!d.o32) return helperImul(l, d, op);
      const src = rmValue(2);
      const b = op === 0x1af ? l.get(2, d.reg) : String(imm | 0);
      return { code: `${src.pre} x2 = ${src.value}; v = Math.imul(x2, ${b}); ${l.resultWithCarry("v", 2, `(x2 * ${b} !== v ? 1 : 0)`, `(x2 * ${b} !== v ? 1 : 0)`)} ${l.set(2, d.reg, "v")}` };
    }
    case 0x70: case 0x71: case 0x72: case 0x73: case 0x74: case 0x75: case 0x76: case 0x77:
    case 0x78: case 0x79: case 0x7a: case 0x7b: case 0x7c: case 0x7d: case 0x7e: case 0x7f:
    case 0x180: case 0x181: case 0x182: case 0x183: case 0x184: case 0x185: case 0x186: case 0x187:
    case 0x188: case 0x189: case 0x18a: case 0x18b: case 0x18c: case 0x18d: case 0x18e: case 0x18f:
      // With a 16-bit operand the target wraps to 16 bits: the handler does that.
      if (!d.o32) return null;
      return { code: "", branch: { cc: op & 15, target: (end + imm) | 0 } };
    case 0x80: case 0x81: case 0x82: case 0x83: {
      const s = op === 0x80 || op === 0x82 ? 0 : sz;
      const aop = d.reg;
      if (mem) {
        if (aop === 7) return { code: `${readInto(l, s, seg, addr(), "x")} ${aluOp(l, 7, "x", String(imm), s)}` };
        return { code: readModifyWrite(l, s, seg, addr(), aluOp(l, aop, "x", String(imm), s)) };
      }
      const body = aluOp(l, aop, l.get(s, d.rm), String(imm), s);
      return { code: aop === 7 ? body : `${body} ${l.set(s, d.rm, "v")}` };
    }
    case 0x84: case 0x85: {
      const s = op === 0x84 ? 0 : sz;
      const src = rmValue(s);
      return { code: `${src.pre} ${l.logic(`${src.value} & ${l.get(s, d.reg)}`, s)}` };
    }
    case 0x86: case 0x87: {
      const s = op === 0x86 ? 0 : sz;
      if (mem) return { code: `${readModifyWrite(l, s, seg, addr(), `v = ${l.get(s, d.reg)};`)} ${l.set(s, d.reg, "x")}` };
      return { code: `x = ${l.get(s, d.rm)}; ${l.set(s, d.rm, l.get(s, d.reg))} ${l.set(s, d.reg, "x")}` };
    }
    case 0x88: case 0x89: {
      const s = op === 0x88 ? 0 : sz;
      if (mem) return { code: `v = ${l.get(s, d.reg)}; ${writeFrom(l, s, seg, addr(), "v")}` };
      return { code: l.set(s, d.rm, l.get(s, d.reg)) };
    }
    case 0x8a: case 0x8b: {
      const s = op === 0x8a ? 0 : sz;
      const src = rmValue(s);
      return { code: `${src.pre} ${l.set(s, d.reg, src.value)}` };
    }
    case 0x8d:
      if (!mem) return null;
      return { code: l.set(sz, d.reg, addr()) };
    case 0x90:
      return { code: "" };
    case 0x91: case 0x92: case 0x93: case 0x94: case 0x95: case 0x96: case 0x97:
      return { code: `x = ${l.get(sz, op & 7)}; ${l.set(sz, op & 7, l.get(sz, 0))} ${l.set(sz, 0, "x")}` };
    case 0x98:
      return { code: d.o32 ? l.set(2, 0, `(${l.get(1, 0)} << 16) >> 16`) : l.set(1, 0, `(${l.get(0, 0)} << 24) >> 24`) };
    case 0x99:
      return { code: d.o32 ? l.set(2, 2, `${l.get(2, 0)} >> 31`) : l.set(1, 2, `(${l.get(1, 0)} & 0x8000) !== 0 ? 0xffff : 0`) };
    // MOV AL/eAX to or from a direct address (moffs): how Linux reads and writes its per-CPU variables
    // (through FS) and many globals.
    case 0xa0: case 0xa1: case 0xa2: case 0xa3: {
      const s = (op & 1) === 0 ? 0 : sz;
      const mseg = d.segOverride >= 0 ? d.segOverride : DS;
      const offset = String(d.a32 ? d.imm | 0 : d.imm & 0xffff);
      if (op <= 0xa1) return { code: `${readInto(l, s, mseg, offset, "x")} ${l.set(s, 0, "x")}` };
      return { code: `v = ${l.get(s, 0)}; ${writeFrom(l, s, mseg, offset, "v")}` };
    }
    case 0xa8:
      return { code: l.logic(`${l.get(0, 0)} & ${imm}`, 0) };
    case 0xa9:
      return { code: l.logic(`${l.get(sz, 0)} & ${imm}`, sz) };
    case 0xb0: case 0xb1: case 0xb2: case 0xb3: case 0xb4: case 0xb5: case 0xb6: case 0xb7:
      return { code: l.set(0, op & 7, String(imm)) };
    case 0xb8: case 0xb9: case 0xba: case 0xbb: case 0xbc: case 0xbd: case 0xbe: case 0xbf:
      return { code: l.set(sz, op & 7, String(imm)) };
    case 0xc0: case 0xc1: case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
      const s = (op & 1) === 0 ? 0 : sz;
      const sub = d.reg;
      const constant = op === 0xc0 || op === 0xc1 ? imm & 31 : op <= 0xd1 ? 1 : -1;
      // 32-bit SHL, SHR and SAR inline; the rest (rotates, narrow sizes) through shift.ts.
      if (s === 2 && (sub === 4 || sub === 5 || sub === 7)) {
        // A count of zero changes nothing (a memory operand is still written back, as the handler does).
        if (constant === 0) return { code: mem ? readModifyWrite(l, 2, seg, addr(), "v = x;") : "" };
        const n = constant > 0 ? String(constant) : "n";
        const count = constant > 0 ? "" : `n = ${l.get(0, 1)} & 31; `;
        const guard = (body: string) => (constant > 0 ? body : `if (n !== 0) { ${body} } else v = x;`);
        const body = shift32(l, sub, n, constant > 0);
        if (mem) return { code: count + readModifyWrite(l, 2, seg, addr(), guard(body)) };
        return { code: `${count}x = ${l.get(2, d.rm)}; ${guard(body)} ${l.set(2, d.rm, "v")}` };
      }
      const count = constant >= 0 ? String(constant) : l.get(0, 1);
      if (mem) return { code: readModifyWrite(l, s, seg, addr(), `v = shift(c, ${sub}, x, ${count}, ${s});`), helper: true };
      return { code: `x = ${l.get(s, d.rm)}; v = shift(c, ${sub}, x, ${count}, ${s});`, helper: true, after: l.set(s, d.rm, "v") };
    }
    case 0xc2: case 0xc3:
      if (!d.o32 || !stack32) return null;
      return { code: `${readInto(l, 2, SS, l.get(2, 4), "x")} ${l.set(2, 4, `(r4 + ${4 + (op === 0xc2 ? imm & 0xffff : 0)}) | 0`)}`, exit: "x" };
    case 0xc6: case 0xc7: {
      const s = op === 0xc6 ? 0 : sz;
      if (mem) return { code: `v = ${imm}; ${writeFrom(l, s, seg, addr(), "v")}` };
      return { code: l.set(s, d.rm, String(imm)) };
    }
    case 0xc9:
      if (!d.o32 || !stack32) return null;
      return { code: `${readInto(l, 2, SS, l.get(2, 5), "x")} ${l.set(2, 4, "(r5 + 4) | 0")} ${l.set(2, 5, "x")}` };
    case 0xe8:
      if (!d.o32 || !stack32) return null;
      return { code: push32(next), exit: `(e0 + ${(end + imm) | 0}) | 0` };
    case 0xe9: case 0xeb:
      if (!d.o32) return null;
      return { code: "", exit: `(e0 + ${(end + imm) | 0}) | 0` };
    case 0xf6: case 0xf7: {
      const s = op === 0xf6 ? 0 : sz;
      const src = rmValue(s);
      switch (d.reg) {
        case 0: case 1:
          return { code: `${src.pre} ${l.logic(`${src.value} & ${imm}`, s)}` };
        case 2:
          if (mem) return { code: readModifyWrite(l, s, seg, addr(), "v = ~x;") };
          return { code: l.set(s, d.rm, `~${src.value}`) };
        case 3: {
          const negate = `${l.setLazy(OP_SUB, "0", "x", "(0 - x) | 0", s, 0x8d5)} v = fr;`;
          if (mem) return { code: readModifyWrite(l, s, seg, addr(), negate) };
          return { code: `x = ${src.value}; ${negate} ${l.set(s, d.rm, "v")}` };
        }
        default: {
          // MUL, IMUL, DIV, IDIV read and write EAX/EDX (and raise #DE) through muldiv.ts.
          const fn = ["mul", "imul1", "div", "idiv"][d.reg - 4];
          return { code: `${src.pre} ${fn}(c, ${src.value}, ${s});`, helper: true };
        }
      }
    }
    case 0xfe: case 0xff: {
      const s = op === 0xfe ? 0 : sz;
      const sub = d.reg;
      if (sub <= 1) {
        const arith = `${l.freezeCF()} ${l.setLazy(sub === 0 ? OP_ADD : OP_SUB, "x", "1", `(x ${sub === 0 ? "+" : "-"} 1) | 0`, s, 0x8d4)} v = fr;`;
        if (mem) return { code: readModifyWrite(l, s, seg, addr(), arith) };
        return { code: `x = ${l.get(s, d.rm)}; ${arith} ${l.set(s, d.rm, "v")}` };
      }
      if (op === 0xfe || !d.o32) return null;
      const src = rmValue(2);
      if (sub === 2) {
        if (!stack32) return null;
        return { code: `${src.pre} x2 = ${src.value}; ${push32(next)}`, exit: "x2" };
      }
      if (sub === 4) return { code: `${src.pre} x2 = ${src.value};`, exit: "x2" };
      if (sub === 6) {
        if (!stack32) return null;
        return { code: `${src.pre} ${push32(src.value)}` };
      }
      return null;
    }
    // ---- 0F xx ----
    case 0x11f:
      return { code: "" };
    // RDTSC reads the virtual clock, c.steps included (sync() stores it); #GP with CR4.TSD outside
    // ring 0. Only EAX and EDX change: no spill of the other locals, which delay loops would pay for
    // on every iteration.
    case 0x131:
      return { code: `${l.sync()} { const tsc = readTsc(c); ${l.set(2, 0, "tsc % 4294967296")} ${l.set(2, 2, "Math.floor(tsc / 4294967296)")} }` };
    // LFENCE, MFENCE, SFENCE (0F AE E8-FF, no prefix): nothing to order on this in-order CPU. The
    // other group 15 forms (FXSAVE, LDMXCSR, CLFLUSH...) run their table handlers in place.
    case 0x1ae:
      if (mem || d.reg < 5 || prefix !== 0) return null;
      return { code: "" };
    case 0x140: case 0x141: case 0x142: case 0x143: case 0x144: case 0x145: case 0x146: case 0x147:
    case 0x148: case 0x149: case 0x14a: case 0x14b: case 0x14c: case 0x14d: case 0x14e: case 0x14f: {
      const src = rmValue(sz);
      return { code: `${src.pre} x2 = ${src.value}; if (${l.condition(op & 15)}) { ${l.set(sz, d.reg, "x2")} }` };
    }
    case 0x190: case 0x191: case 0x192: case 0x193: case 0x194: case 0x195: case 0x196: case 0x197:
    case 0x198: case 0x199: case 0x19a: case 0x19b: case 0x19c: case 0x19d: case 0x19e: case 0x19f: {
      const value = `(${l.condition(op & 15)} ? 1 : 0)`;
      if (mem) return { code: `v = ${value}; ${writeFrom(l, 0, seg, addr(), "v")}` };
      return { code: l.set(0, d.rm, value) };
    }
    case 0x1b6: case 0x1b7: case 0x1be: case 0x1bf: {
      const s = op === 0x1b6 || op === 0x1be ? 0 : 1;
      const src = rmValue(s);
      let val = src.value;
      if (op === 0x1be) val = `(${val} << 24) >> 24`;
      else if (op === 0x1bf) val = `(${val} << 16) >> 16`;
      return { code: `${src.pre} ${l.set(sz, d.reg, val)}` };
    }
    case 0x1c8: case 0x1c9: case 0x1ca: case 0x1cb: case 0x1cc: case 0x1cd: case 0x1ce: case 0x1cf: {
      if (!d.o32) return null;
      const i = op & 7;
      return { code: `x = ${l.get(2, i)}; ${l.set(2, i, "((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)")}` };
    }
    // SSE 128-bit moves and PXOR (sse/compiled-moves.ts); their other prefixes (MOVSS, MMX...) run their handler.
    case 0x110: case 0x111: case 0x128: case 0x129: case 0x16f: case 0x17f: case 0x1ef: {
      const low = op & 0xff;
      const legal = low === 0x6f || low === 0x7f ? prefix === 1 || prefix === 2 : low === 0xef ? prefix === 1 : prefix <= 1;
      if (!legal) return null;
      const align = !(low === 0x10 || low === 0x11 || prefix === 2);
      // These raise #UD/#NM/#GP/#PF from their own checks: the CPU must know the instruction first.
      const sync = l.sync();
      const a = mem ? `a = ${addr()}; ` : "";
      if (low === 0xef) return { code: mem ? `${sync} ${a}ssePxor(c, ${d.reg}, 0, ${seg}, a);` : `${sync} ssePxor(c, ${d.reg}, ${d.rm}, -1, 0);` };
      if (low === 0x10 || low === 0x28 || low === 0x6f) return { code: mem ? `${sync} ${a}sseLoad128(c, ${seg}, a, ${d.reg}, ${align});` : `${sync} sseCopy128(c, ${d.reg}, ${d.rm});` };
      return { code: mem ? `${sync} ${a}sseStore128(c, ${seg}, a, ${d.reg}, ${align});` : `${sync} sseCopy128(c, ${d.rm}, ${d.reg});` };
    }
    // x87: the table entry is found now and its handler runs in place (a reserved encoding, which
    // raises #UD, runs the escape's handler).
    case 0xd8: case 0xd9: case 0xda: case 0xdb: case 0xdc: case 0xdd: case 0xde: case 0xdf: {
      if (lookupX87(op, d.modrm) === undefined) return null;
      const call = `c.o32 = ${d.o32}; x87(c, ${op}, ${d.modrm});`;
      return { code: mem ? `a = ${addr()}; c.eaSeg = ${seg}; c.eaOff = a; ${call}` : call, helper: true };
    }
    default:
      return null;
  }
}

/** 16-bit IMUL r, r/m(, imm) through muldiv.ts's imulTrunc. */
function helperImul(l: BlockLocals, d: DecodedInstruction, op: number): Emitted {
  const src = d.isMemory ? readInto(l, 1, d.seg, addressExpr(l, d.address), "x") : "";
  const value = d.isMemory ? "x" : l.get(1, d.rm);
  const b = op === 0x1af ? l.get(1, d.reg) : String(d.imm);
  return { code: `${src} x2 = ${b}; v = imulTrunc(c, ${value}, x2, 1);`, helper: true, after: l.set(1, d.reg, "v") };
}

/**
 * How a compiled block keeps guest state in JS locals: the eight general registers (`r0`..`r7`), the
 * lazy flag state (`fl` eager flags, `lz` lazy mask, `fo` `fa` `fb` `fr` `fs` the recorded operation;
 * see flags.ts) and the retired-step count (`s`, plus a pending count known at compile time). V8 keeps
 * such locals in machine registers and drops the stores that a later instruction overwrites, which
 * fields of the CPU object or its typed arrays never allow.
 *
 * The CPU object is brought up to date only where something else looks at it: at the block's exits,
 * around a helper or table handler that reads or writes CPU state (`spill` before, `reload` after),
 * and, for faults, by the block's catch clause (registers and flags) and the slow path of a memory
 * access (step count, instrEip, instrEsp: see inline-memory.ts). This file writes the JS snippets for
 * those moves; compile-block.ts assembles them.
 */
import { ARITH_FLAGS, CF, ESP } from "../constants.js";
import { OP_ADD, OP_LOGIC, OP_SUB } from "../flags.js";

/** ZF, SF, PF and AF: the flags a logic result, a shift or a multiply leaves lazy. */
const RESULT_FLAGS = ARITH_FLAGS & ~(CF | (1 << 11));

/** What the block being compiled uses, and the pending step count at the current instruction. */
export class BlockLocals {
  /** Registers the block reads or writes (bit i for register i): loaded into locals at entry. */
  used = 0;
  /** Registers the block writes: stored back at exits and before helpers. */
  written = 0;
  /** The block reads or writes the flag state. */
  flags = false;
  /** Instructions retired since `s` was last brought up to date (known statically at each point). */
  pending = 0;
  /** Offset of the instruction being compiled from the block's first byte. */
  start = 0;
  /** Whether the block has slow paths or helpers that leave the locals (so its catch must write them back). */
  mayLeave = false;

  /** JS reading register `i` at size code `sz` (0 byte, 1 word, 2 dword). */
  get(sz: number, i: number): string {
    if (sz === 2) {
      this.used |= 1 << i;
      return `r${i}`;
    }
    if (sz === 1) {
      this.used |= 1 << i;
      return `(r${i} & 0xffff)`;
    }
    if (i < 4) {
      this.used |= 1 << i;
      return `(r${i} & 0xff)`;
    }
    this.used |= 1 << (i - 4);
    return `((r${i - 4} >> 8) & 0xff)`;
  }

  /** JS statement writing `v` to register `i` at size code `sz` (the rest of the register kept). */
  set(sz: number, i: number, v: string): string {
    const reg = sz === 0 && i >= 4 ? i - 4 : i;
    this.used |= 1 << reg;
    this.written |= 1 << reg;
    if (sz === 2) return `r${reg} = (${v}) | 0;`;
    if (sz === 1) return `r${reg} = (r${reg} & -65536) | ((${v}) & 0xffff);`;
    if (i < 4) return `r${reg} = (r${reg} & -256) | ((${v}) & 0xff);`;
    return `r${reg} = (r${reg} & -65281) | (((${v}) & 0xff) << 8);`;
  }

  /** JS for the step count at the current instruction. */
  steps(): string {
    return this.pending === 0 ? "s" : `s + ${this.pending}`;
  }

  /**
   * Statements that make the CPU ready for the current instruction to fault or to be observed: the
   * step count, instrEip and instrEsp (ESP at the instruction's start: memory is written before
   * registers, so the local still holds it).
   */
  sync(): string {
    this.used |= 1 << ESP;
    this.mayLeave = true;
    return `c.steps = ${this.steps()}; c.instrEip = (e0 + ${this.start}) | 0; c.instrEsp = r4;`;
  }

  /** Records a flag-setting operation (as CPU.setLazy does) over the flag locals. */
  setLazy(op: number, a: string, b: string, res: string, size: number, mask: number): string {
    this.flags = true;
    return `fo = ${op}; fa = ${a}; fb = ${b}; fr = ${res}; fs = ${size}; lz = ${mask};`;
  }

  /** Statements for ADD (`op` OP_ADD) or SUB of `a` and `b`, leaving the untruncated result in `fr`. */
  arith(op: typeof OP_ADD | typeof OP_SUB, a: string, b: string, size: number): string {
    this.flags = true;
    const sign = op === OP_ADD ? "+" : "-";
    return `fa = ${a}; fb = ${b}; fr = (fa ${sign} fb) | 0; fo = ${op}; fs = ${size}; lz = ${ARITH_FLAGS};`;
  }

  /** ZF/SF/PF from result `res`, CF = OF = AF = 0 (as CPU.setLogicFlags). */
  logic(res: string, size: number): string {
    return this.setLazy(OP_LOGIC, "0", "0", res, size, ARITH_FLAGS);
  }

  /** Makes CF eager (as CPU.freezeCF), for an instruction that keeps it. */
  freezeCF(): string {
    this.flags = true;
    return `if ((lz & ${CF}) !== 0) { fl = cfOf(fo, fa, fb, fr, fs) ? fl | ${CF} : fl & ${~CF}; lz &= ${~CF}; }`;
  }

  /** CF and OF set eagerly to the JS booleans-as-bits `cf` and `of` (0 or 1), the rest lazy from `res`. */
  resultWithCarry(res: string, size: number, cf: string, of: string): string {
    return `${this.setLazy(OP_LOGIC, "0", "0", res, size, RESULT_FLAGS)} fl = (fl & ${~(CF | (1 << 11))}) | (${cf}) | ((${of}) << 11);`;
  }

  /** JS boolean for condition `cc` over the flag locals (the general form; see compile-block's fused one). */
  condition(cc: number): string {
    this.flags = true;
    return `conditionOf(${cc}, fl, lz, fo, fa, fb, fr, fs)`;
  }

  /** JS boolean for CF over the flag locals. */
  carry(): string {
    this.flags = true;
    return "carryOf(fl, lz, fo, fa, fb, fr, fs)";
  }
}

/** Registers in bit mask `mask`, lowest first. */
function each(mask: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < 8; i++) if ((mask & (1 << i)) !== 0) out.push(i);
  return out;
}

/** Declarations at the block's entry: the used registers and the flag state in locals. */
export function loadLocals(l: BlockLocals): string {
  const regs = each(l.used).map((i) => `r${i} = r[${i}]`);
  const decl = regs.length > 0 ? `let ${regs.join(", ")};` : "";
  return decl + (l.flags ? loadFlags() : "");
}

function loadFlags(): string {
  return " let fl = c.flags, lz = c.lazy, fo = c.lfOp, fa = c.lfA, fb = c.lfB, fr = c.lfRes, fs = c.lfSize;";
}

/** Statements storing the written registers and the flag state back into the CPU. */
export function storeLocals(l: BlockLocals): string {
  const regs = each(l.written).map((i) => `r[${i}] = r${i};`).join(" ");
  return regs + (l.flags ? " c.flags = fl; c.lazy = lz; c.lfOp = fo; c.lfA = fa; c.lfB = fb; c.lfRes = fr; c.lfSize = fs;" : "");
}

/** Statements reloading the locals from the CPU (after a helper or handler that may have changed it). */
export function reloadLocals(l: BlockLocals): string {
  const regs = each(l.used).map((i) => `r${i} = r[${i}];`).join(" ");
  return regs + (l.flags ? " fl = c.flags; lz = c.lazy; fo = c.lfOp; fa = c.lfA; fb = c.lfB; fr = c.lfRes; fs = c.lfSize;" : "") +
    " rb = mmu.readBit; wb = mmu.writeBit; obs = mmu.observer;";
}

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
  /** Segment registers the block's memory accesses use (bit per segment): their base and access bits live in locals. */
  segments = 0;
  /**
   * What the instruction being compiled does with CF: 0 nothing, 1 reads it (or may), 2 overwrites it
   * whatever its value. Lets an INC/DEC skip making CF eager when nothing reads it before it is
   * overwritten (see freezeCF).
   */
  cfUse = 0;
  /** freezeCF tokens not yet known to be needed (their ids). */
  openFreezes: number[] = [];
  /** Resolved freezeCF tokens: id -> needed. */
  readonly freezes = new Map<number, boolean>();

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
    // A fault here delivers an exception whose frame holds EFLAGS: CF counts as read.
    this.readsCF();
    return `c.steps = ${this.steps()}; c.instrEip = (e0 + ${this.start}) | 0; c.instrEsp = r4;`;
  }

  /** Notes that the instruction reads CF, or may (conditions, carries, anything not analysed). */
  readsCF(): void {
    this.cfUse = 1;
  }

  /** Notes that the instruction overwrites CF unconditionally (unless it read it first). */
  private killsCF(): void {
    if (this.cfUse === 0) this.cfUse = 2;
  }

  /**
   * After the instruction: the open freezeCF tokens are needed when it read CF, dropped when it
   * overwrote it, and stay open when it did neither. `leaves`: control may leave the block's straight
   * path here (a branch, an exit, a helper or handler), where every flag counts as read.
   */
  settleCF(leaves: boolean): void {
    const use = leaves ? 1 : this.cfUse;
    if (use !== 0) {
      for (const id of this.openFreezes) this.freezes.set(id, use === 1);
      this.openFreezes = [];
    }
    this.cfUse = 0;
  }

  /** Replaces the freezeCF tokens in `body` by their code (or nothing), open ones counting as needed. */
  placeFreezes(body: string): string {
    this.settleCF(true);
    return body.replace(/\/\*freeze(\d+)\*\//g, (_m, id: string) =>
      this.freezes.get(Number(id)) === false ? "" : `if ((lz & ${CF}) !== 0) { fl = cfOf(fo, fa, fb, fr, fs) ? fl | ${CF} : fl & ${~CF}; lz &= ${~CF}; }`);
  }

  /**
   * The arguments that tell a slow-path helper (inline-memory.ts) what sync() would store: the step
   * count, the instruction's EIP and ESP at its start.
   */
  syncArgs(): string {
    this.used |= 1 << ESP;
    this.readsCF();
    return `${this.steps()}, e0 + ${this.start}, r4`;
  }

  /** Records a flag-setting operation (as CPU.setLazy does) over the flag locals. */
  setLazy(op: number, a: string, b: string, res: string, size: number, mask: number): string {
    this.flags = true;
    if ((mask & CF) !== 0) this.killsCF();
    return `fo = ${op}; fa = ${a}; fb = ${b}; fr = ${res}; fs = ${size}; lz = ${mask};`;
  }

  /** Statements for ADD (`op` OP_ADD) or SUB of `a` and `b`, leaving the untruncated result in `fr`. */
  arith(op: typeof OP_ADD | typeof OP_SUB, a: string, b: string, size: number): string {
    this.flags = true;
    this.killsCF();
    const sign = op === OP_ADD ? "+" : "-";
    return `fa = ${a}; fb = ${b}; fr = (fa ${sign} fb) | 0; fo = ${op}; fs = ${size}; lz = ${ARITH_FLAGS};`;
  }

  /** ZF/SF/PF from result `res`, CF = OF = AF = 0 (as CPU.setLogicFlags). */
  logic(res: string, size: number): string {
    return this.setLazy(OP_LOGIC, "0", "0", res, size, ARITH_FLAGS);
  }

  /**
   * Makes CF eager (as CPU.freezeCF), for an instruction that keeps it (INC, DEC). A token, replaced
   * at the end by placeFreezes: when CF is overwritten before anything reads it, nothing.
   */
  freezeCF(): string {
    this.flags = true;
    const id = this.freezes.size + this.openFreezes.length;
    this.openFreezes.push(id);
    return `/*freeze${id}*/`;
  }

  /**
   * CF and OF set eagerly to the JS booleans-as-bits `cf` and `of` (0 or 1), the rest lazy from `res`.
   * `always`: the caller runs this unconditionally (so CF is overwritten).
   */
  resultWithCarry(res: string, size: number, cf: string, of: string, always = true): string {
    if (always) this.killsCF();
    else this.readsCF();
    return `${this.setLazy(OP_LOGIC, "0", "0", res, size, RESULT_FLAGS)} fl = (fl & ${~(CF | (1 << 11))}) | (${cf}) | ((${of}) << 11);`;
  }

  /** JS boolean for condition `cc` over the flag locals (the general form; see compile-block's fused one). */
  condition(cc: number): string {
    this.flags = true;
    this.readsCF();
    return `cc${cc}(fl, lz, fo, fa, fb, fr, fs)`;
  }

  /** JS boolean for CF over the flag locals. */
  carry(): string {
    this.flags = true;
    this.readsCF();
    return "carryOf(fl, lz, fo, fa, fb, fr, fs)";
  }
}

/** Registers in bit mask `mask`, lowest first. */
function each(mask: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < 8; i++) if ((mask & (1 << i)) !== 0) out.push(i);
  return out;
}

/** Declarations at the block's entry: the used registers, the flag state and the segments in locals. */
export function loadLocals(l: BlockLocals): string {
  const regs = each(l.used).map((i) => `r${i} = r[${i}]`);
  const decl = regs.length > 0 ? `let ${regs.join(", ")};` : "";
  const segs = each(l.segments).map((i) => `sb${i} = 0, rb${i} = 0, wb${i} = 0`);
  return decl + (l.flags ? loadFlags() : "") + (segs.length > 0 ? ` let ${segs.join(", ")}; ${loadSegments(l)}` : "");
}

/**
 * A segment's base, and the TLB permission bits a read or write through it needs: zero when the
 * segment needs per-access checks (not flat, or not readable/writable), so that every access through
 * it takes the slow path.
 */
function loadSegments(l: BlockLocals): string {
  return each(l.segments).map((i) => `sb${i} = sb[${i}]; rb${i} = sfr[${i}] !== 0 ? rb : 0; wb${i} = sfw[${i}] !== 0 ? wb : 0;`).join(" ");
}

/** The lazy flag record's locals and the CPU fields they mirror (flags.ts). */
const FLAG_LOCALS: readonly (readonly [string, string])[] = [
  ["fl", "flags"], ["lz", "lazy"], ["fo", "lfOp"], ["fa", "lfA"], ["fb", "lfB"], ["fr", "lfRes"], ["fs", "lfSize"],
];

function loadFlags(): string {
  return ` let ${FLAG_LOCALS.map(([local, field]) => `${local} = c.${field}`).join(", ")};`;
}

/** Statements storing the written registers and the flag state back into the CPU. */
export function storeLocals(l: BlockLocals): string {
  const regs = each(l.written).map((i) => `r[${i}] = r${i};`).join(" ");
  return regs + (l.flags ? FLAG_LOCALS.map(([local, field]) => ` c.${field} = ${local};`).join("") : "");
}

/** Statements reloading the locals from the CPU (after a helper or handler that may have changed it). */
export function reloadLocals(l: BlockLocals): string {
  const regs = each(l.used).map((i) => `r${i} = r[${i}];`).join(" ");
  return regs + (l.flags ? FLAG_LOCALS.map(([local, field]) => ` ${local} = c.${field};`).join("") : "") +
    " rb = mmu.readBit; wb = mmu.writeBit; obs = mmu.observer; wf = obs !== null ? obs.writeFilter ?? null : null; " + loadSegments(l);
}

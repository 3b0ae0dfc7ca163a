/**
 * Compiles a run of guest instructions (a basic block within one physical page) into a JS function.
 * Instructions are decoded with the instruction table (instructions/decode.ts). Common ones become
 * straight-line JS (emit-instruction.ts) over guest registers and flags held in JS locals
 * (block-locals.ts), with the TLB's fast path for memory written inline (inline-memory.ts); any other
 * instruction runs its table handler in place, with the prefixes already decoded, and the block goes on
 * after it (or ends, when the handler transferred control or the form changes machine state, table.ts
 * `system`). Only an instruction that runs past the page is left to the interpreter.
 *
 * Block code keeps the interpreter's contract: a fault restarts the instruction that `c.instrEip`
 * names, with the step count, registers and flags as they were before it (memory is written before
 * registers, and the block's catch clause stores its locals back), every retired instruction is
 * counted, and `c.eip` is set when the block returns. Blocks never contain instructions that change
 * interrupt state (IF, ports, MMIO), so interrupts are taken at the same steps as in the interpreter.
 */
import { ByteCursor, DecodedInstruction, decodeInstruction, type ByteSource } from "../instructions/decode.js";
import { Access, Kind, Size, type Handler } from "../instructions/table.js";
import { shift } from "../shift.js";
import { div, idiv, imul1, imulTrunc, mul } from "../muldiv.js";
import { execute } from "../execute.js";
import { executeX87Decoded } from "../x87/dispatch.js";
import type { CPU } from "../cpu.js";
import { IF, TF } from "../constants.js";
import { carryOf, cfOf, CONDITIONS } from "../flags.js";
import { sseCopy128, sseLoad128, ssePxor, sseStore128 } from "../sse/compiled-moves.js";
import { readTsc } from "../system.js";
import { BlockLocals, loadLocals, reloadLocals, storeLocals } from "./block-locals.js";
import { emit } from "./emit-instruction.js";
import { load32, observeWrite, slowModify, slowRead, slowWrite, store32, writeNoted } from "./inline-memory.js";

export type BlockFn = (c: CPU, r: Int32Array, e0: number) => void;

/** Most instructions one block may hold (keeps compile time and code size bounded). */
export const MAX_INSTRUCTIONS = 48;

/**
 * The CPU's arrays that block code reads directly (bound into each block when it is made, so a block's
 * entry loads none of them): the TLB, guest memory, and the segment bases and fast-access flags.
 */
export interface BlockEnv {
  tlb: Int32Array;
  mem8: Uint8Array;
  mem32: Int32Array;
  segBase: Int32Array;
  segFastRead: Uint8Array;
  segFastWrite: Uint8Array;
}

/**
 * How the instruction just compiled left the lazy flags, when a Jcc right after it can read its
 * condition from the recorded operands instead of the general condition function: "sub" (SUB/CMP:
 * every condition but OF/PF), "logic" (AND/OR/XOR/TEST: CF = OF = 0), "zs" (ADD/INC/DEC: ZF and SF only).
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
 * Condition `cc` read straight from the operands and result the previous instruction left in the flag
 * locals (fa, fb, fr), or null when the general condition must decide. Same truth as conditionOf:
 * for a SUB, CF is the unsigned a < b, SF != OF the signed a < b, ZF the zero result.
 */
function fusedCondition(cc: number, f: FlagSource | null): string | null {
  if (f === null) return null;
  const s = f.size;
  const unsigned = (v: string) => (s === 2 ? `(${v} >>> 0)` : `(${v} & ${s === 1 ? "0xffff" : "0xff"})`);
  const signed = (v: string) => (s === 2 ? `(${v} | 0)` : `((${v} << ${s === 1 ? 16 : 24}) >> ${s === 1 ? 16 : 24})`);
  const zero = s === 2 ? "(fr === 0)" : `((fr & ${s === 1 ? "0xffff" : "0xff"}) === 0)`;
  const negative = `((fr & ${SIGN_LITERAL[s]}) !== 0)`;
  let base: string | null = null;
  switch (cc >> 1) {
    case 1: // B: CF
      base = f.kind === "sub" ? `${unsigned("fa")} < ${unsigned("fb")}` : f.kind === "logic" ? "false" : null;
      break;
    case 2: // E: ZF
      base = zero;
      break;
    case 3: // BE: CF || ZF
      base = f.kind === "sub" ? `${unsigned("fa")} <= ${unsigned("fb")}` : f.kind === "logic" ? zero : null;
      break;
    case 4: // S: SF
      base = negative;
      break;
    case 6: // L: SF != OF
      base = f.kind === "sub" ? `${signed("fa")} < ${signed("fb")}` : f.kind === "logic" ? negative : null;
      break;
    case 7: // LE: ZF || SF != OF
      base = f.kind === "sub" ? `${signed("fa")} <= ${signed("fb")}` : f.kind === "logic" ? `(${zero} || ${negative})` : null;
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
  /**
   * The block that last ran right after this one, kept by the run loop so that going on to it skips
   * the fetch translation and the cache lookup: valid for the linear EIP address `nextLin`, the MMU's
   * TLB generation `nextGen` and the code and stack sizes and user mode (`nextSizes`) it was found for.
   */
  next: CompiledBlock | null;
  nextLin: number;
  nextGen: number;
  nextSizes: number;
  /** Set when the block cache drops the block (its bytes were overwritten, or the cache cleared). */
  dead: boolean;
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
 * JS that runs `d`'s table handler in place as handler number `h` of the block, once the block has
 * stored its locals: the CPU is put in the state the interpreter's dispatch leaves (EIP past the
 * opcode, the prefixes decoded), the handler fetches its operands itself. Returns whether the block
 * must end after it.
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
  return { code: `${setup} H[${h}](c); c.steps++;`, ends: false };
}

// Placeholders for the locals' stores and reloads, filled in once the whole block is known (which
// registers it uses is only known at its end).
const STORE = "/*store*/";
const RELOAD = "/*reload*/";

const HELPERS = {
  shift, mul, imul1, div, idiv, imulTrunc, execute, readTsc, cfOf, carryOf,
  ...Object.fromEntries(CONDITIONS.map((f, cc) => [`cc${cc}`, f])),
  load32, store32, slowRead, slowWrite, slowModify, observeWrite, writeNoted,
  sseLoad128, sseStore128, sseCopy128, ssePxor,
  x87: executeX87Decoded,
};
const HELPER_NAMES = Object.keys(HELPERS);
const HELPER_VALUES = Object.values(HELPERS);

const EMPTY_ENV: BlockEnv = {
  tlb: new Int32Array(0), mem8: new Uint8Array(0), mem32: new Int32Array(0),
  segBase: new Int32Array(6), segFastRead: new Uint8Array(6), segFastWrite: new Uint8Array(6),
};

/**
 * Compiles the block starting at physical `phys` (the byte at EIP), for code whose default operand
 * size is 32 bits when `def32` and whose stack pointer is ESP when `stack32`. Never fails: a block may
 * consist of just one instruction. `env` is the CPU the block will run on (tests that only look at a
 * block's extent may leave it out).
 */
export function compileBlock(mem: Uint8Array, phys: number, def32: boolean, stack32 = true, env: BlockEnv = EMPTY_ENV): CompiledBlock {
  const limit = 0x1000 - (phys & 0xfff);
  const cursor = new ByteCursor();
  cursor.src = new PageBytes(mem, phys, limit);
  const l = new BlockLocals();
  const parts: string[] = [];
  // Handlers the block calls in place (H[i] in its code).
  const handlers: Handler[] = [];
  let pos = 0;
  let count = 0;
  let ended = false;
  /** Adds the pending retired steps to `s`. */
  const flush = () => {
    if (l.pending > 0) parts.push(l.pending === 1 ? "s++;" : `s += ${l.pending};`);
    l.pending = 0;
  };
  // Leaving the block: EIP and the step count set, then the locals stored once, after the loop.
  const exit = (eip: string) => `c.eip = ${eip}; c.steps = ${l.steps()}; break out;`;
  const d = new DecodedInstruction();
  // How the previous instruction left the flags, for a Jcc right after it.
  let flags: FlagSource | null = null;
  // Conditional branches forward within the block, not yet placed: parts[slot] is filled in once the
  // decoding reaches the target (a labelled block the taken branch breaks out of, so that control
  // joins the straight path there) or passes it (an exit from the block).
  const forward: { slot: number; cond: string; target: number }[] = [];
  let labels = 0;
  const exitTo = (b: { slot: number; cond: string; target: number }) => {
    parts[b.slot] = `if (${b.cond}) { c.eip = (e0 + ${b.target}) | 0; c.steps = s + 1; break out; }`;
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
      parts[b.slot] = `${label}: { if (${b.cond}) { s++; break ${label}; }`;
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
    l.start = pos;
    if (!decoded || d.op < 0) {
      l.settleCF(true);
      // The instruction runs past the page (or its prefixes fill the length limit): the interpreter
      // fetches and decodes it across the boundary.
      parts.push(`${l.sync()} c.eip = c.instrEip; ${STORE} live = false; c.mmu.inBlock = false; execute(c); c.steps++; return;`);
      count++;
      ended = true;
      break;
    }
    // LOCK and reserved encodings take the handler's path (which raises #UD as the interpreter does).
    const emitted = d.lock || !d.valid ? null : emit(l, d, stack32);
    count++;
    const flagsBefore = flags;
    pos = d.start + d.length;
    l.settleCF(emitted === null || emitted.branch !== undefined || emitted.exit !== undefined || emitted.helper === true);
    if (emitted === null) {
      // No fast form: the table handler runs in place, on the CPU's own state.
      const call = emitHandlerCall(d, handlers.length, d.opcodeEnd);
      handlers.push(d.form.handler);
      parts.push(`${STORE} ${l.sync()} live = false; ${call.code}`);
      flags = null;
      if (call.ends) {
        ended = true;
        break;
      }
      parts.push(`live = true; ${RELOAD} s = c.steps; if (c.eip !== ((e0 + ${pos}) | 0)) return;`);
      l.pending = 0;
      continue;
    }
    const { code, exit: target, branch, helper, after } = emitted;
    flags = branch === undefined ? flagSourceOf(d) : null;
    if (branch !== undefined) {
      const cond = fusedCondition(branch.cc, flagsBefore) ?? l.condition(branch.cc);
      if (flagsBefore !== null) l.flags = true;
      flush();
      if (branch.target === 0) {
        // A loop back to the block's start: iterate here while the step budget allows.
        parts.push(`if (${cond}) { s++; if (s + ${MAX_INSTRUCTIONS} <= c.stepLimit) continue; c.eip = e0; c.steps = s; break out; }`);
      } else if (branch.target > pos && branch.target < limit) {
        forward.push({ slot: parts.length, cond, target: branch.target });
        parts.push("");
      } else {
        parts.push(`if (${cond}) { c.eip = (e0 + ${branch.target}) | 0; c.steps = s + 1; break out; }`);
      }
      l.pending = 1;
      continue;
    }
    if (helper === true) {
      // The helper works on the CPU's own registers and flags: they are stored before and reloaded after.
      parts.push(`${STORE} ${l.sync()} live = false; ${code} live = true; ${RELOAD} ${after ?? ""}`);
    } else {
      parts.push(code);
    }
    l.pending++;
    if (target !== undefined) {
      parts.push(exit(target));
      ended = true;
      break;
    }
  }
  if (!ended) {
    if (forward.length > 0) joinAt(pos);
    parts.push(exit(`(e0 + ${pos}) | 0`));
  }
  // Targets the block never reached: those branches leave it.
  for (const b of forward) exitTo(b);
  const store = storeLocals(l);
  const reload = reloadLocals(l);
  const body = l.placeFreezes(parts.join("\n")).split(STORE).join(store).split(RELOAD).join(reload);
  const source =
    `return function block(c, r, e0) {\n` +
    `const mmu = c.mmu; let rb = mmu.readBit, wb = mmu.writeBit, obs = mmu.observer, wf = obs !== null ? obs.writeFilter ?? null : null;\n` +
    `let s = c.steps, live = true, a = 0, lin = 0, t = 0, p = 0, v = 0, x = 0, x2 = 0, n = 0;\n` +
    `${loadLocals(l)}\n` +
    `try {\nout: for (;;) {\n${body}\n}\n${store}\n} catch (e) { if (live) { ${store} } throw e; }\n};`;
  const factory = new Function(...HELPER_NAMES, "H", "tlb", "m8", "m32", "sb", "sfr", "sfw", source);
  const fn = factory(...HELPER_VALUES, handlers, env.tlb, env.mem8, env.mem32, env.segBase, env.segFastRead, env.segFastWrite) as BlockFn;
  return { fn, count, physStart: phys, physEnd: phys + pos, next: null, nextLin: 0, nextGen: -1, nextSizes: -1, dead: false };
}

/**
 * Memory accesses of compiled code with the TLB's fast path written inline: a flat segment, a TLB
 * entry granting the access and an access inside one page touch the guest's typed arrays directly
 * (and tell the observer of a write, with the step count exact). Anything else (a segment that needs
 * checks, a TLB miss, a page-crossing access, MMIO, a page holding compiled code, a fault) takes the
 * CPU's own access method, after the CPU has been told which instruction is in progress
 * (BlockLocals.syncArgs), so faults and observers see exactly what the interpreter would show them.
 *
 * The snippets use the block's scratch locals `a` (offset), `lin` (linear address), `t` (TLB entry),
 * `p` (physical address), the per-segment locals (`sbN`, `rbN`, `wbN`) and the ones compile-block.ts
 * declares (`tlb`, `m8`, `m32`, `obs`, and `wf` its write filter or null).
 */
import type { CPU } from "../cpu.js";
import { WriteCause, type CpuObserver, type WriteFilter } from "../observer.js";
import type { BlockLocals } from "./block-locals.js";

const SIZE_NAME = ["8", "16", "32"] as const;
const SIZE_BYTES = [1, 2, 4] as const;

/** The in-page test for an access of size code `sz` at `lin`. */
function inPage(sz: number): string {
  return sz === 0 ? "" : sz === 1 ? " && (lin & 4095) !== 4095" : " && (lin & 4095) <= 4092";
}

/** JS loading size `sz` from physical `p` (known to lie in RAM and in one page). */
function load(sz: number): string {
  if (sz === 0) return "m8[p]";
  if (sz === 1) return "(m8[p] | (m8[p + 1] << 8))";
  return "((p & 3) === 0 ? m32[p >> 2] : load32(m8, p))";
}

/** Statements storing `v` (a local name) of size `sz` at physical `p`. */
function store(sz: number, v: string): string {
  if (sz === 0) return `m8[p] = ${v};`;
  if (sz === 1) return `m8[p] = ${v}; m8[p + 1] = ${v} >> 8;`;
  return `if ((p & 3) === 0) m32[p >> 2] = ${v}; else store32(m8, p, ${v});`;
}

function observed(l: BlockLocals, sz: number, v: string): string {
  const value = sz === 0 ? `${v} & 0xff` : sz === 1 ? `${v} & 0xffff` : `${v} | 0`;
  const steps = l.steps();
  return `if (obs !== null && (wf === null || !writeNoted(wf, p, ${SIZE_BYTES[sz]}, ${steps}))) observeWrite(c, obs, ${steps}, e0 + ${l.start}, lin, p, ${SIZE_BYTES[sz]}, ${value});`;
}

/**
 * The start of an access through `seg` at `addr`: offset, linear address, TLB entry. The segment's
 * base and permission bits are the block's locals (block-locals.ts loadSegments).
 */
function locate(l: BlockLocals, seg: number, addr: string): string {
  l.segments |= 1 << seg;
  return `a = ${addr}; lin = (sb${seg} + a) | 0; t = tlb[lin >>> 12];`;
}

// ---- Run-time helpers the snippets call (compile-block.ts binds them into every block) ----------

/** An unaligned 32-bit load from one page of RAM. */
export function load32(m8: Uint8Array, p: number): number {
  return m8[p] | (m8[p + 1] << 8) | (m8[p + 2] << 16) | (m8[p + 3] << 24);
}

/** An unaligned 32-bit store to one page of RAM. */
export function store32(m8: Uint8Array, p: number, v: number): void {
  m8[p] = v;
  m8[p + 1] = v >> 8;
  m8[p + 2] = v >> 16;
  m8[p + 3] = v >> 24;
}

/**
 * Whether the observer's write filter takes a write of `size` bytes at physical `p`, at step `steps`,
 * without a call (observer.ts WriteFilter): a write inside one line already listed in the filter's
 * period, before the period's last step. Its words are added to the line's mask and it is counted.
 * Small, so that V8 inlines it into the blocks that call it: most writes the recorder sees extend a
 * line it listed a few steps before (a loop storing an array), and a call each cost the recording
 * about as much as the block code itself.
 */
export function writeNoted(f: WriteFilter, p: number, size: number, steps: number): boolean {
  const line = p >>> 6;
  const last = p + size - 1;
  const state = f.state;
  if (last >>> 6 !== line || f.lineStamp[line] !== state[0] || steps >= state[1]) return false;
  f.lineMask[line] |= (2 << ((last >>> 2) & 15)) - (1 << ((p >>> 2) & 15));
  state[2]++;
  return true;
}

/**
 * Tells the observer of a fast-path write, with the step and the instruction that made it exact (the
 * recorder files writes by step; a query's write list names the instruction).
 */
export function observeWrite(c: CPU, obs: CpuObserver, steps: number, eip: number, lin: number, p: number, size: 1 | 2 | 4, value: number): void {
  c.steps = steps;
  c.instrEip = eip | 0;
  obs.onMemoryWrite(lin, p, size, value, WriteCause.Instruction);
}

/** Tells the CPU which instruction is in progress (BlockLocals.syncArgs), before a slow path. */
function enter(c: CPU, steps: number, eip: number, esp: number): void {
  c.steps = steps;
  c.instrEip = eip | 0;
  c.instrEsp = esp;
}

/** The CPU's own read of size code `sz`, which checks the segment and walks the page tables. */
function readSized(c: CPU, sz: number, seg: number, a: number): number {
  return sz === 0 ? c.readMem8(seg, a) : sz === 1 ? c.readMem16(seg, a) : c.readMem32(seg, a);
}

/** A read's slow path. */
export function slowRead(c: CPU, sz: number, seg: number, a: number, steps: number, eip: number, esp: number): number {
  enter(c, steps, eip, esp);
  return readSized(c, sz, seg, a);
}

/** A write's slow path. */
export function slowWrite(c: CPU, sz: number, seg: number, a: number, v: number, steps: number, eip: number, esp: number): void {
  enter(c, steps, eip, esp);
  if (sz === 0) c.writeMem8(seg, a, v);
  else if (sz === 1) c.writeMem16(seg, a, v);
  else c.writeMem32(seg, a, v);
}

/** A read-modify-write's slow path, first half: the write is checked, then the old value read. */
export function slowModify(c: CPU, sz: number, seg: number, a: number, steps: number, eip: number, esp: number): number {
  enter(c, steps, eip, esp);
  c.prepareWrite(seg, a, SIZE_BYTES[sz]);
  return readSized(c, sz, seg, a);
}

/** Statements reading size `sz` at `seg`:`addr` into local `into`. */
export function readInto(l: BlockLocals, sz: number, seg: number, addr: string, into: string): string {
  return `${locate(l, seg, addr)} ` +
    `if ((t & rb${seg}) !== 0${inPage(sz)}) { p = (t & -4096) | (lin & 4095); ${into} = ${load(sz)}; } ` +
    `else ${into} = slowRead(c, ${sz}, ${seg}, a, ${l.syncArgs()});`;
}

/** Statements writing local `v` (already computed) of size `sz` to `seg`:`addr`. */
export function writeFrom(l: BlockLocals, sz: number, seg: number, addr: string, v: string): string {
  return `${locate(l, seg, addr)} ` +
    `if ((t & wb${seg}) !== 0${inPage(sz)}) { p = (t & -4096) | (lin & 4095); ${observed(l, sz, v)} ${store(sz, v)} } ` +
    `else slowWrite(c, ${sz}, ${seg}, a, ${v}, ${l.syncArgs()});`;
}

/**
 * A read-modify-write of size `sz` at `seg`:`addr`: the old value is read into `x`, `compute` (which
 * may set flags) leaves the new one in `v`, which is written. The write is checked before anything
 * changes (on the slow path by CPU.prepareWrite), so a fault leaves flags and memory untouched.
 */
export function readModifyWrite(l: BlockLocals, sz: number, seg: number, addr: string, compute: string): string {
  return `${locate(l, seg, addr)} ` +
    `if ((t & wb${seg}) !== 0${inPage(sz)}) { p = (t & -4096) | (lin & 4095); x = ${load(sz)}; ${compute} ${observed(l, sz, "v")} ${store(sz, "v")} } ` +
    `else { x = slowModify(c, ${sz}, ${seg}, a, ${l.syncArgs()}); ${compute} c.writeMem${SIZE_NAME[sz]}(${seg}, a, v); }`;
}

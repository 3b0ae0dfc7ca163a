/**
 * Memory accesses of compiled code with the TLB's fast path written inline: a flat segment, a TLB
 * entry granting the access and an access inside one page touch the guest's typed arrays directly
 * (and tell the observer of a write, with the step count exact). Anything else (a segment that needs
 * checks, a TLB miss, a page-crossing access, MMIO, a page holding compiled code, a fault) takes the
 * CPU's own access method, after the CPU has been told which instruction is in progress
 * (BlockLocals.sync), so faults and observers see exactly what the interpreter would show them.
 *
 * The snippets use the block's scratch locals `a` (offset), `lin` (linear address), `t` (TLB entry),
 * `p` (physical address), the per-segment locals (`sbN`, `rbN`, `wbN`) and the ones compile-block.ts
 * declares (`tlb`, `m8`, `m32`, `obs`, `lim`).
 */
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
  return "((p & 3) === 0 ? m32[p >> 2] : (m8[p] | (m8[p + 1] << 8) | (m8[p + 2] << 16) | (m8[p + 3] << 24)))";
}

/** Statements storing `v` (a local name) of size `sz` at physical `p`. */
function store(sz: number, v: string): string {
  if (sz === 0) return `m8[p] = ${v};`;
  if (sz === 1) return `m8[p] = ${v}; m8[p + 1] = ${v} >> 8;`;
  return `if ((p & 3) === 0) m32[p >> 2] = ${v}; else { m8[p] = ${v}; m8[p + 1] = ${v} >> 8; m8[p + 2] = ${v} >> 16; m8[p + 3] = ${v} >> 24; }`;
}

function observed(l: BlockLocals, sz: number, v: string): string {
  const value = sz === 0 ? `${v} & 0xff` : sz === 1 ? `${v} & 0xffff` : `${v} | 0`;
  return `if (obs !== null) { c.steps = ${l.steps()}; obs.onMemoryWrite(lin, p, ${SIZE_BYTES[sz]}, ${value}, 0); }`;
}

/**
 * The start of an access through `seg` at `addr`: offset, linear address, TLB entry. The segment's
 * base and permission bits are the block's locals (block-locals.ts loadSegments).
 */
function locate(l: BlockLocals, seg: number, addr: string): string {
  l.segments |= 1 << seg;
  return `a = ${addr}; lin = (sb${seg} + a) | 0; t = tlb[lin >>> 12];`;
}

/**
 * After a slow path: a device reached through MMIO may have asked the run to stop sooner
 * (CPU.requestReplan lowers the step limit), which the block's loops must honour.
 */
const AFTER_SLOW = "lim = c.stepLimit;";

/** Statements reading size `sz` at `seg`:`addr` into local `into`. */
export function readInto(l: BlockLocals, sz: number, seg: number, addr: string, into: string): string {
  return `${locate(l, seg, addr)} ` +
    `if ((t & rb${seg}) !== 0${inPage(sz)}) { p = (t & -4096) | (lin & 4095); ${into} = ${load(sz)}; } ` +
    `else { ${l.sync()} ${into} = c.readMem${SIZE_NAME[sz]}(${seg}, a); ${AFTER_SLOW} }`;
}

/** Statements writing local `v` (already computed) of size `sz` to `seg`:`addr`. */
export function writeFrom(l: BlockLocals, sz: number, seg: number, addr: string, v: string): string {
  return `${locate(l, seg, addr)} ` +
    `if ((t & wb${seg}) !== 0${inPage(sz)}) { p = (t & -4096) | (lin & 4095); ${observed(l, sz, v)} ${store(sz, v)} } ` +
    `else { ${l.sync()} c.writeMem${SIZE_NAME[sz]}(${seg}, a, ${v}); ${AFTER_SLOW} }`;
}

/**
 * A read-modify-write of size `sz` at `seg`:`addr`: the old value is read into `x`, `compute` (which
 * may set flags) leaves the new one in `v`, which is written. The write is checked before anything
 * changes (on the slow path by CPU.prepareWrite), so a fault leaves flags and memory untouched.
 */
export function readModifyWrite(l: BlockLocals, sz: number, seg: number, addr: string, compute: string): string {
  return `${locate(l, seg, addr)} ` +
    `if ((t & wb${seg}) !== 0${inPage(sz)}) { p = (t & -4096) | (lin & 4095); x = ${load(sz)}; ${compute} ${observed(l, sz, "v")} ${store(sz, "v")} } ` +
    `else { ${l.sync()} c.prepareWrite(${seg}, a, ${SIZE_BYTES[sz]}); x = c.readMem${SIZE_NAME[sz]}(${seg}, a); ${compute} c.writeMem${SIZE_NAME[sz]}(${seg}, a, v); ${AFTER_SLOW} }`;
}

/**
 * Test harness for the CPU: a small physical memory, a CPU with recording ports, and helpers that
 * build protected-mode system structures (GDT, IDT, TSS, page tables) in guest memory the way a
 * kernel would, so tests exercise the CPU's own descriptor reads rather than pre-filled caches.
 *
 * Memory map used by `setupProtected` (all physical = linear unless a test changes the page tables):
 *   0x01000 GDT (32 entries)        0x01800 LDT (8 entries)
 *   0x02000 IDT (256 gates)         0x03000 TSS (104 bytes + I/O bitmap)
 *   0x04000 exception handlers, 16 bytes per vector, filled with HLT
 *   0x05000 page directory          0x06000 page table for 0..4 MiB
 *   0x08000..0x0ffff kernel stack (top 0x10000)
 *   0x10000 code                    0x20000 data
 *   0x30000..0x3ffff user stack (top 0x40000)
 */
import { CPU, type PortIo } from "../../src/cpu/cpu.js";
import { PhysicalMemory } from "../../src/machine/memory.js";
import type { AccessSize } from "../../src/machine/bus.js";
import { StepKind, type CpuObserver, type WriteCause } from "../../src/cpu/observer.js";
import { CS, DS, ES, FS, GS, SS } from "../../src/cpu/constants.js";
import { writeCr0, writeCr3, writeCr4 } from "../../src/cpu/system.js";

export const MiB = 1 << 20;

export const GDT = 0x1000;
export const GDT_ENTRIES = 32;
export const LDT = 0x1800;
export const IDT = 0x2000;
export const TSS = 0x3000;
export const HANDLERS = 0x4000;
export const PAGE_DIR = 0x5000;
export const PAGE_TABLE0 = 0x6000;
export const KSTACK_TOP = 0x10000;
export const CODE = 0x10000;
export const DATA = 0x20000;
export const USTACK_TOP = 0x40000;

// Selectors of the standard GDT (the seL4 ia32 layout: null, CS0, DS0, CS3, DS3, TSS).
export const KCODE = 0x08;
export const KDATA = 0x10;
export const UCODE = 0x1b;
export const UDATA = 0x23;
export const TSS_SEL = 0x28;
/** First GDT slot free for test-specific descriptors (selector 0x30). */
export const FREE_SLOT = 6;

// Descriptor access bytes.
export const ACC_CODE0 = 0x9a; // present, DPL 0, code, readable
export const ACC_DATA0 = 0x92; // present, DPL 0, data, writable
export const ACC_CODE3 = 0xfa;
export const ACC_DATA3 = 0xf2;
export const ACC_TSS32 = 0x89; // present, available 32-bit TSS
/** Flags nibble: G=1 (4 KiB granularity), D/B=1 (32-bit). */
export const FLAGS_4K_32 = 0xc;

/** Ports that answer reads from a table and record every access. */
export class RecordingPorts implements PortIo {
  readonly log: { port: number; size: AccessSize; value: number; write: boolean }[] = [];
  readonly values = new Map<number, number>();
  read(port: number, size: AccessSize): number {
    const v = this.values.get(port) ?? (size === 1 ? 0xff : size === 2 ? 0xffff : -1);
    this.log.push({ port, size, value: v, write: false });
    return v;
  }
  write(port: number, size: AccessSize, value: number): void {
    this.log.push({ port, size, value, write: true });
  }
}

export interface TestMachine {
  cpu: CPU;
  mem: PhysicalMemory;
  ports: RecordingPorts;
}

/** A machine; `compile: false` makes `run()` interpret every instruction (step() always interprets). */
export function createMachine(memBytes = 4 * MiB, options: { compile?: boolean } = {}): TestMachine {
  const mem = new PhysicalMemory(memBytes);
  const ports = new RecordingPorts();
  const cpu = new CPU(mem, ports, options);
  return { cpu, mem, ports };
}

// ---- Raw memory access (physical) -------------------------------------------------------------------

export function poke(m: TestMachine, addr: number, bytes: ArrayLike<number>): void {
  for (let i = 0; i < bytes.length; i++) m.mem.u8[addr + i] = bytes[i];
}

export function rd8(m: TestMachine, addr: number): number {
  return m.mem.read(addr, 1);
}
export function rd16(m: TestMachine, addr: number): number {
  return m.mem.read(addr, 2);
}
/** Reads a dword as an unsigned number. */
export function rd32(m: TestMachine, addr: number): number {
  return m.mem.read(addr, 4) >>> 0;
}
export function wr8(m: TestMachine, addr: number, v: number): void {
  m.mem.write(addr, 1, v);
}
export function wr16(m: TestMachine, addr: number, v: number): void {
  m.mem.write(addr, 2, v);
}
export function wr32(m: TestMachine, addr: number, v: number): void {
  m.mem.write(addr, 4, v);
}

// ---- Descriptors ----------------------------------------------------------------------------------

/** The two dwords of a code/data/system segment descriptor. `limit` is the raw 20-bit field. */
export function segDesc(base: number, limit: number, access: number, flags: number): [number, number] {
  const lo = ((base & 0xffff) << 16) | (limit & 0xffff);
  const hi = ((base >>> 16) & 0xff) | ((access & 0xff) << 8) | (limit & 0xf0000) | ((flags & 0xf) << 20) | (base & 0xff000000);
  return [lo | 0, hi | 0];
}

/** An IDT gate: type 0xe (32-bit interrupt), 0xf (32-bit trap), 6/7 (16-bit). */
export function gateDesc(sel: number, offset: number, type: number, dpl: number, present = true): [number, number] {
  const lo = ((sel & 0xffff) << 16) | (offset & 0xffff);
  const hi = (offset & 0xffff0000) | ((present ? 0x80 : 0) << 8) | ((dpl & 3) << 13) | ((type & 0x1f) << 8);
  return [lo | 0, hi | 0];
}

export function writeDesc(m: TestMachine, addr: number, d: [number, number]): void {
  wr32(m, addr, d[0]);
  wr32(m, addr + 4, d[1]);
}

/** Writes GDT entry `index` (selector index * 8). */
export function setGdt(m: TestMachine, index: number, d: [number, number]): void {
  writeDesc(m, GDT + index * 8, d);
}

export function setLdt(m: TestMachine, index: number, d: [number, number]): void {
  writeDesc(m, LDT + index * 8, d);
}

export function setIdt(m: TestMachine, vector: number, d: [number, number]): void {
  writeDesc(m, IDT + vector * 8, d);
}

export function handlerAddr(vector: number): number {
  return HANDLERS + vector * 16;
}

/**
 * Loads a segment register's hidden cache straight from the descriptor in guest memory, the way a
 * mode switch by a boot loader leaves it: no checks, accessed bit untouched. Decoding here is written
 * independently of src/cpu/segments.ts.
 */
export function forceSegment(m: TestMachine, seg: number, sel: number): void {
  const table = (sel & 4) !== 0 ? LDT : GDT;
  const lo = rd32(m, table + (sel & ~7)), hi = rd32(m, table + (sel & ~7) + 4);
  const base = ((lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000)) | 0;
  let limit = (lo & 0xffff) | (hi & 0xf0000);
  if ((hi & 0x800000) !== 0) limit = ((limit << 12) | 0xfff) | 0;
  const attr = ((hi >>> 8) & 0xff) | (((hi >>> 20) & 0xf) << 12);
  m.cpu.setSegmentCache(seg, sel, base, limit, attr);
}

export interface ProtectedOptions {
  /** GDT limit (default: all 32 entries). */
  gdtLimit?: number;
  /** Gate type for every IDT entry (default 0xe, 32-bit interrupt gate). */
  gateType?: number;
  /** DPL of every IDT gate (default 3, so INT n works from ring 3). */
  gateDpl?: number;
  /** Start in ring 3 with the user segments (default ring 0). */
  ring3?: boolean;
  /** Turn paging on with an identity map of the first 4 MiB (4 KiB pages, user + writable). */
  paging?: boolean;
}

/**
 * Builds the standard GDT/IDT/TSS, enters protected mode with flat segments, and points EIP at CODE.
 * Every IDT vector leads to its own handler (HLT instructions at `handlerAddr(v)`).
 */
export function setupProtected(m: TestMachine, opts: ProtectedOptions = {}): void {
  const { cpu } = m;
  setGdt(m, 0, [0, 0]);
  setGdt(m, 1, segDesc(0, 0xfffff, ACC_CODE0, FLAGS_4K_32));
  setGdt(m, 2, segDesc(0, 0xfffff, ACC_DATA0, FLAGS_4K_32));
  setGdt(m, 3, segDesc(0, 0xfffff, ACC_CODE3, FLAGS_4K_32));
  setGdt(m, 4, segDesc(0, 0xfffff, ACC_DATA3, FLAGS_4K_32));
  setGdt(m, 5, segDesc(TSS, 0x67 + 0x2000 / 8 + 1, ACC_TSS32, 0));
  const gateType = opts.gateType ?? 0xe;
  const gateDpl = opts.gateDpl ?? 3;
  for (let v = 0; v < 256; v++) setIdt(m, v, gateDesc(KCODE, handlerAddr(v), gateType, gateDpl));
  m.mem.u8.fill(0xf4, HANDLERS, HANDLERS + 256 * 16);
  // TSS: ESP0/SS0 for ring 0 entries; I/O bitmap right after the 104-byte TSS, all ports denied.
  m.mem.u8.fill(0, TSS, TSS + 0x68);
  wr32(m, TSS + 4, KSTACK_TOP);
  wr32(m, TSS + 8, KDATA);
  wr16(m, TSS + 0x66, 0x68);
  m.mem.u8.fill(0xff, TSS + 0x68, TSS + 0x68 + 0x2000 / 8 + 1);

  cpu.gdtBase = GDT;
  cpu.gdtLimit = opts.gdtLimit ?? GDT_ENTRIES * 8 - 1;
  cpu.idtBase = IDT;
  cpu.idtLimit = 256 * 8 - 1;
  cpu.cr0 |= 1;
  loadTr(m, TSS_SEL);
  if (opts.paging) enablePaging(m);
  if (opts.ring3) enterRing3(m);
  else {
    forceSegment(m, CS, KCODE);
    for (const s of [SS, DS, ES, FS, GS]) forceSegment(m, s, KDATA);
    cpu.setCpl(0);
    cpu.regs[4] = KSTACK_TOP;
  }
  cpu.eip = CODE;
}

/** Loads TR directly (as LTR would, marking the descriptor busy). */
export function loadTr(m: TestMachine, sel: number): void {
  const addr = GDT + (sel & ~7);
  const lo = rd32(m, addr), hi = rd32(m, addr + 4) | 0x200;
  wr32(m, addr + 4, hi);
  m.cpu.trSel = sel;
  m.cpu.trBase = ((lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000)) | 0;
  m.cpu.trLimit = (lo & 0xffff) | (hi & 0xf0000);
  m.cpu.trAttr = (hi >>> 8) & 0xff;
}

/** Switches to ring 3 with the user code/data segments and the user stack. */
export function enterRing3(m: TestMachine): void {
  forceSegment(m, CS, UCODE);
  for (const s of [SS, DS, ES, FS, GS]) forceSegment(m, s, UDATA);
  m.cpu.setCpl(3);
  m.cpu.regs[4] = USTACK_TOP;
}

// Page-table entry bits.
export const PTE_P = 1, PTE_W = 2, PTE_U = 4, PTE_A = 0x20, PTE_D = 0x40, PTE_PS = 0x80, PTE_G = 0x100;

/** Identity-maps 0..4 MiB with 4 KiB pages (present, writable, user) and turns paging on. */
export function enablePaging(m: TestMachine, extraCr0 = 0): void {
  m.mem.u8.fill(0, PAGE_DIR, PAGE_DIR + 0x1000);
  wr32(m, PAGE_DIR, PAGE_TABLE0 | PTE_P | PTE_W | PTE_U);
  for (let i = 0; i < 1024; i++) wr32(m, PAGE_TABLE0 + i * 4, (i << 12) | PTE_P | PTE_W | PTE_U);
  writeCr3(m.cpu, PAGE_DIR);
  writeCr0(m.cpu, m.cpu.cr0 | 0x80000001 | extraCr0);
}

export function setCr4(m: TestMachine, v: number): void {
  writeCr4(m.cpu, v);
}

/** The PTE address for linear address `lin` under the identity page table. */
export function pteAddr(lin: number): number {
  return PAGE_TABLE0 + ((lin >>> 12) & 0x3ff) * 4;
}

// ---- Running ----------------------------------------------------------------------------------------

/** Places code at `addr` (default CODE) and points EIP there. */
export function loadCode(m: TestMachine, bytes: ArrayLike<number>, addr = CODE): void {
  poke(m, addr, bytes);
  m.cpu.eip = addr - m.cpu.segBase[CS];
}

/** Executes `n` steps; returns the kinds seen. */
export function steps(m: TestMachine, n: number): StepKind[] {
  const kinds: StepKind[] = [];
  for (let i = 0; i < n; i++) kinds.push(m.cpu.step());
  return kinds;
}

/**
 * Runs instructions until EIP reaches `end` (the byte after the test code), failing on any exception or
 * after `limit` steps. Each iteration of a repeated string instruction counts as one step.
 */
export function runTo(m: TestMachine, end: number, limit = 10_000): void {
  for (let i = 0; i < limit; i++) {
    if ((m.cpu.eip >>> 0) === end >>> 0) return;
    const k = m.cpu.step();
    if (k !== StepKind.Instruction) {
      throw new Error(`unexpected step kind ${k} at eip 0x${(m.cpu.instrEip >>> 0).toString(16)}: vector ${m.cpu.faultVector} error 0x${m.cpu.faultError.toString(16)}`);
    }
  }
  throw new Error(`did not reach 0x${end.toString(16)} in ${limit} steps (eip 0x${(m.cpu.eip >>> 0).toString(16)})`);
}

/** Loads `bytes` at CODE in the current mode and runs them to completion. */
export function run(m: TestMachine, bytes: ArrayLike<number>): void {
  loadCode(m, bytes);
  runTo(m, CODE + bytes.length - m.cpu.segBase[CS]);
}

/** A machine in 32-bit protected mode, ring 0, flat segments, no paging. */
export function flatMachine(opts: ProtectedOptions = {}): TestMachine {
  const m = createMachine();
  setupProtected(m, opts);
  return m;
}

/** Everything an observer saw, for tests that look at events and writes. */
export class RecordingObserver implements CpuObserver {
  readonly events: { kind: StepKind; step: number; vector: number; errorCode: number; eip: number; cplBefore: number; cplAfter: number }[] = [];
  readonly writes: { linear: number; physical: number; size: number; value: number; cause: WriteCause }[] = [];
  readonly ports: { port: number; size: number; value: number; isWrite: boolean }[] = [];
  onMemoryWrite(linear: number, physical: number, size: 1 | 2 | 4, value: number, cause: WriteCause): void {
    this.writes.push({ linear, physical, size, value, cause });
  }
  onEvent(kind: StepKind, step: number, vector: number, errorCode: number, eip: number, cplBefore: number, cplAfter: number): void {
    this.events.push({ kind, step, vector, errorCode, eip, cplBefore, cplAfter });
  }
  onPortIo(port: number, size: 1 | 2 | 4, value: number, isWrite: boolean): void {
    this.ports.push({ port, size, value, isWrite });
  }
}

/**
 * Attaches an observer to the CPU (events, port I/O) and to its MMU (memory writes): the CPU does not
 * forward its observer to the MMU, so both fields are set.
 */
export function attachObserver(m: TestMachine, obs: CpuObserver): void {
  m.cpu.observer = obs;
  m.cpu.mmu.observer = obs;
}

/**
 * Steps until an exception has been delivered (Fault then Exception), returning its vector and error
 * code as seen on the handler's stack. Fails if the instruction retires instead.
 */
export function expectException(m: TestMachine, maxSteps = 1000): { vector: number; error: number } {
  for (let i = 0; i < maxSteps; i++) {
    const k = m.cpu.step();
    if (k === StepKind.Fault) {
      const vector = m.cpu.faultVector, error = m.cpu.faultError;
      const next = m.cpu.step();
      if (next !== StepKind.Exception && m.cpu.stopReason === 0) throw new Error(`fault not followed by its delivery (kind ${next})`);
      return { vector, error };
    }
    if (k !== StepKind.Instruction) throw new Error(`unexpected step kind ${k}`);
  }
  throw new Error(`no exception in ${maxSteps} steps (eip 0x${(m.cpu.eip >>> 0).toString(16)})`);
}

/** Pops (reads) dword `i` of the current stack without moving ESP. */
export function stackWord(m: TestMachine, i: number): number {
  return rd32(m, (m.cpu.segBase[SS] + m.cpu.regs[4] + i * 4) >>> 0);
}

/** Register snapshot as unsigned numbers, for readable assertions. */
export function u32(v: number): number {
  return v >>> 0;
}

export { CS, DS, ES, FS, GS, SS };

// ---- Register helpers ---------------------------------------------------------------------------------

export const REG = { eax: 0, ecx: 1, edx: 2, ebx: 3, esp: 4, ebp: 5, esi: 6, edi: 7 } as const;
export type RegName = keyof typeof REG;

export function setRegs(m: TestMachine, values: Partial<Record<RegName, number>>): void {
  for (const [name, v] of Object.entries(values)) m.cpu.regs[REG[name as RegName]] = v as number;
}

/** A general register as an unsigned 32-bit value. */
export function reg(m: TestMachine, name: RegName): number {
  return m.cpu.regs[REG[name]] >>> 0;
}

/** Status-flag bits. */
export const F = { CF: 0x1, PF: 0x4, AF: 0x10, ZF: 0x40, SF: 0x80, TF: 0x100, IF: 0x200, DF: 0x400, OF: 0x800 } as const;
export const ARITH = F.CF | F.PF | F.AF | F.ZF | F.SF | F.OF;

/** Readable flag list for failure messages. */
export function flagNames(f: number): string {
  return (Object.keys(F) as (keyof typeof F)[]).filter((k) => (f & F[k]) !== 0).join(" ") || "-";
}

export interface ExecInit {
  regs?: Partial<Record<RegName, number>>;
  /** EFLAGS before the instruction (bit 1 is forced on). */
  flags?: number;
}

/**
 * Runs one straight-line snippet on an existing machine: sets registers and flags, loads the code at
 * CODE and executes until EIP passes its end. Other state (memory, segments) is left as the test set it.
 */
export function exec(m: TestMachine, bytes: ArrayLike<number>, init: ExecInit = {}): void {
  if (init.regs) setRegs(m, init.regs);
  m.cpu.setEflags((init.flags ?? 0) | 2);
  run(m, bytes);
}

/** PF of the low byte of `v`: set when it has an even number of one bits. */
export function parity(v: number): boolean {
  let b = v & 0xff, n = 0;
  while (b) { n += b & 1; b >>= 1; }
  return (n & 1) === 0;
}

/** ZF, SF and PF of a result of `bits` width, as flag bits. */
export function zsp(res: number, bits: number): number {
  const mask = bits === 32 ? 0xffffffff : (1 << bits) - 1;
  const r = (res & mask) >>> 0;
  let f = 0;
  if (r === 0) f |= F.ZF;
  if ((r >>> (bits - 1)) & 1) f |= F.SF;
  if (parity(r)) f |= F.PF;
  return f;
}

/** The low `bits` bits of `v`, unsigned. */
export function low(v: number, bits: number): number {
  return bits === 32 ? v >>> 0 : v & ((1 << bits) - 1);
}

/** A small deterministic PRNG (xorshift32): the same seed gives the same sequence on every host. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  /** Next 32-bit value, unsigned. */
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  /** Integer in [0, n). */
  below(n: number): number {
    return this.next() % n;
  }
}

/**
 * Linear-to-physical translation: 4 KiB and 4 MiB (PSE) pages, CR0.WP, user/supervisor and
 * read/write checks, accessed/dirty bits written back to the page tables, #PF with its error code
 * and CR2, and a TLB.
 *
 * The TLB is one Int32Array entry per 4 KiB linear page: the physical page base in the high bits and
 * permission bits in the low ones. A permission bit is set only when that kind of access may proceed
 * without touching the page tables, so a write to a clean page misses and takes the slow path that
 * sets the dirty bit. With paging off the TLB holds identity entries, so the fast path is the same.
 */
import type { PhysicalMemory } from "../machine/memory.js";
import type { AccessSize } from "../machine/bus.js";
import { BLOCK_EXIT } from "./fault.js";
import { PF_VECTOR } from "./constants.js";
import { WriteCause, type CpuObserver } from "./observer.js";

// TLB entry permission bits.
const T_READ_SUP = 1;
const T_WRITE_SUP = 2;
const T_READ_USER = 4;
const T_WRITE_USER = 8;
const T_GLOBAL = 16;
const T_PAGE_MASK = ~0xfff;

// Page-table entry bits.
const P_PRESENT = 1;
const P_RW = 2;
const P_USER = 4;
const P_ACCESSED = 0x20;
const P_DIRTY = 0x40;
const P_LARGE = 0x80;
const P_GLOBAL = 0x100;

/** What the MMU needs from the CPU when a translation faults. */
export interface FaultSink {
  cr2: number;
  raiseFault(vector: number, errorCode: number): never;
}

const TLB_LIST_CAPACITY = 8192;

export class Mmu {
  readonly mem: PhysicalMemory;
  readonly mem8: Uint8Array;
  readonly mem32: Int32Array;
  readonly memSize: number;
  readonly tlb = new Int32Array(1 << 20);
  /** Linear pages with a TLB entry, so a flush clears only those. */
  private readonly tlbList = new Int32Array(TLB_LIST_CAPACITY);
  private tlbCount = 0;
  private tlbOverflow = false;

  paging = false;
  writeProtect = false;
  pse = false;
  pge = false;
  cr3 = 0;
  /** True when data accesses are made at CPL 3. */
  user = false;
  /** Permission bit a read needs in the current privilege. */
  readBit = T_READ_SUP;
  /** Permission bit a write needs in the current privilege. */
  writeBit = T_WRITE_SUP;
  /** Bumped whenever TLB entries are dropped, so cached fetch translations know to redo theirs. */
  generation = 0;

  observer: CpuObserver | null = null;
  /** Physical pages holding compiled code (from the block cache): their TLB entries never grant writes. */
  codePages: Uint8Array | null = null;
  /** Told of every write to a code page, so overwritten blocks are dropped. */
  onCodeWrite: ((phys: number, size: number) => void) | null = null;
  /** Whether a write would overwrite compiled code (checked while a block runs). */
  overlapsCode: ((phys: number, size: number) => boolean) | null = null;
  /** True while compiled block code runs (MMIO writes then restart the instruction in the interpreter). */
  inBlock = false;
  /** Cause reported for writes: the CPU sets it around interrupt frame pushes and the like. */
  writeCause: WriteCause = WriteCause.Instruction;
  /**
   * ANDed into every physical address translate() produces (page-table reads included): all ones
   * while the A20 gate is on, bit 20 clear while it is off. Only translate() applies it, and the TLB
   * holds translated pages, so the fast paths never look at it; setA20() flushes the TLB instead.
   */
  a20Mask = -1;

  constructor(mem: PhysicalMemory, private readonly sink: FaultSink) {
    this.mem = mem;
    this.mem8 = mem.u8;
    this.mem32 = mem.i32;
    this.memSize = mem.size;
  }

  setUser(user: boolean): void {
    this.user = user;
    this.readBit = user ? T_READ_USER : T_READ_SUP;
    this.writeBit = user ? T_WRITE_USER : T_WRITE_SUP;
  }

  // ---- TLB management -------------------------------------------------------------------------

  /** Drops every entry (CR0.PG/WP or CR4 changes), or every non-global one (a CR3 load). */
  flush(keepGlobal: boolean): void {
    this.generation++;
    const tlb = this.tlb;
    if (this.tlbOverflow) {
      if (keepGlobal) {
        for (let i = 0; i < tlb.length; i++) if ((tlb[i] & T_GLOBAL) === 0) tlb[i] = 0;
      } else {
        tlb.fill(0);
      }
      this.tlbOverflow = false;
      this.tlbCount = 0;
      if (keepGlobal) this.rebuildListFromTable();
      return;
    }
    let kept = 0;
    for (let i = 0; i < this.tlbCount; i++) {
      const page = this.tlbList[i];
      if (keepGlobal && (tlb[page] & T_GLOBAL) !== 0) this.tlbList[kept++] = page;
      else tlb[page] = 0;
    }
    this.tlbCount = kept;
  }

  private rebuildListFromTable(): void {
    const tlb = this.tlb;
    for (let i = 0; i < tlb.length; i++) {
      if (tlb[i] !== 0) {
        if (this.tlbCount === TLB_LIST_CAPACITY) {
          this.tlbOverflow = true;
          return;
        }
        this.tlbList[this.tlbCount++] = i;
      }
    }
  }

  /** Opens or closes the A20 gate: every cached translation (global ones too) may now be wrong. */
  setA20(enabled: boolean): void {
    const mask = enabled ? -1 : ~0x100000;
    if (mask === this.a20Mask) return;
    this.a20Mask = mask;
    this.flush(false);
  }

  /** INVLPG: drops the entry for one linear page, global or not. */
  invalidatePage(linear: number): void {
    this.generation++;
    this.tlb[linear >>> 12] = 0;
  }

  private fill(page: number, entry: number): void {
    if (this.tlb[page] === 0) {
      if (this.tlbCount < TLB_LIST_CAPACITY) this.tlbList[this.tlbCount++] = page;
      else this.tlbOverflow = true;
    }
    this.tlb[page] = entry;
  }

  // ---- Translation ----------------------------------------------------------------------------

  /**
   * Translates `lin` for an access of the given kind, walking the page tables, setting A/D bits,
   * filling the TLB and raising #PF as the hardware would. Returns the physical address.
   */
  translate(lin: number, write: boolean, user: boolean): number {
    const page = lin >>> 12;
    const cached = this.tlb[page];
    const need = write ? (user ? T_WRITE_USER : T_WRITE_SUP) : (user ? T_READ_USER : T_READ_SUP);
    if ((cached & need) !== 0) return (cached & T_PAGE_MASK) | (lin & 0xfff);

    const a20 = this.a20Mask;
    if (!this.paging) {
      // Identity map; MMIO pages are never cached so their accesses always reach the slow path.
      const phys = lin & T_PAGE_MASK & a20;
      if ((phys >>> 0) < this.memSize) {
        const w = this.isCodePage(phys) ? 0 : T_WRITE_SUP | T_WRITE_USER;
        this.fill(page, phys | T_READ_SUP | T_READ_USER | w);
      }
      return lin & a20;
    }

    const pdeAddr = ((this.cr3 & T_PAGE_MASK) + ((lin >>> 22) << 2)) & a20;
    let pde = this.mem.read(pdeAddr, 4);
    if ((pde & P_PRESENT) === 0) this.pageFault(lin, 0, write, user);

    let entryAddr: number, entry: number, physPage: number, permBits: number;
    if ((pde & P_LARGE) !== 0 && this.pse) {
      entryAddr = pdeAddr;
      entry = pde;
      permBits = pde;
      physPage = ((pde & 0xffc00000) | (lin & 0x003ff000)) & a20;
    } else {
      const pteAddr = ((pde & T_PAGE_MASK) + (((lin >>> 12) & 0x3ff) << 2)) & a20;
      const pte = this.mem.read(pteAddr, 4);
      if ((pte & P_PRESENT) === 0) this.pageFault(lin, 0, write, user);
      entryAddr = pteAddr;
      entry = pte;
      permBits = pde & pte;
      physPage = pte & T_PAGE_MASK & a20;
      // The directory entry's accessed bit is set on every walk that reaches the table.
      if ((pde & P_ACCESSED) === 0) {
        pde |= P_ACCESSED;
        this.writeTableEntry(pdeAddr, pde);
      }
    }

    const userOk = (permBits & P_USER) !== 0;
    const writableByUser = userOk && (permBits & P_RW) !== 0;
    const writableBySup = (permBits & P_RW) !== 0 || !this.writeProtect;
    if (user && !userOk) this.pageFault(lin, 1, write, user);
    if (write && (user ? !writableByUser : !writableBySup)) this.pageFault(lin, 1, write, user);

    let newEntry = entry | P_ACCESSED;
    if (write) newEntry |= P_DIRTY;
    if (newEntry !== entry) this.writeTableEntry(entryAddr, newEntry);

    const dirty = (newEntry & P_DIRTY) !== 0;
    let bits = T_READ_SUP;
    if (userOk) bits |= T_READ_USER;
    if (dirty && writableBySup) bits |= T_WRITE_SUP;
    if (dirty && writableByUser) bits |= T_WRITE_USER;
    if (this.pge && (entry & P_GLOBAL) !== 0) bits |= T_GLOBAL;
    if (this.isCodePage(physPage)) bits &= ~(T_WRITE_SUP | T_WRITE_USER);
    if ((physPage >>> 0) < this.memSize) this.fill(page, physPage | bits);
    return physPage | (lin & 0xfff);
  }

  private isCodePage(phys: number): boolean {
    const cp = this.codePages;
    return cp !== null && (phys >>> 0) < this.memSize && cp[phys >>> 12] !== 0;
  }

  /** Before a slow-path write to physical `p`: leave compiled code on MMIO, drop overwritten blocks. */
  private beforeWrite(p: number, size: number): void {
    if ((p >>> 0) >= this.memSize) {
      if (this.inBlock) throw BLOCK_EXIT;
    } else if (this.codePages !== null && this.codePages[p >>> 12] !== 0) {
      // Compiled code must not run on past a write to compiled code (it may be its own next
      // instruction): the instruction restarts in the interpreter, which then drops the blocks.
      if (this.inBlock && this.overlapsCode!(p, size)) throw BLOCK_EXIT;
      this.onCodeWrite!(p, size);
    }
  }

  private writeTableEntry(addr: number, value: number): void {
    this.beforeWrite(addr, 4);
    if (this.observer !== null) {
      this.observer.onMemoryWrite(addr, addr, 4, value, WriteCause.PageTable);
    }
    this.mem.write(addr, 4, value);
  }

  private pageFault(lin: number, protection: number, write: boolean, user: boolean): never {
    this.sink.cr2 = lin;
    return this.sink.raiseFault(PF_VECTOR, protection | (write ? 2 : 0) | (user ? 4 : 0));
  }

  // ---- Data access at the current privilege -----------------------------------------------------

  read8(lin: number): number {
    const e = this.tlb[lin >>> 12];
    if ((e & this.readBit) !== 0) return this.mem8[(e & T_PAGE_MASK) | (lin & 0xfff)];
    return this.readSlow(lin, 1, this.user);
  }

  read16(lin: number): number {
    const e = this.tlb[lin >>> 12];
    if ((e & this.readBit) !== 0 && (lin & 0xfff) !== 0xfff) {
      const p = (e & T_PAGE_MASK) | (lin & 0xfff);
      return this.mem8[p] | (this.mem8[p + 1] << 8);
    }
    return this.readSlow(lin, 2, this.user);
  }

  read32(lin: number): number {
    const e = this.tlb[lin >>> 12];
    if ((e & this.readBit) !== 0 && (lin & 0xfff) <= 0xffc) {
      const p = (e & T_PAGE_MASK) | (lin & 0xfff);
      if ((p & 3) === 0) return this.mem32[p >> 2];
      const m = this.mem8;
      return m[p] | (m[p + 1] << 8) | (m[p + 2] << 16) | (m[p + 3] << 24);
    }
    return this.readSlow(lin, 4, this.user);
  }

  write8(lin: number, v: number): void {
    const e = this.tlb[lin >>> 12];
    if ((e & this.writeBit) !== 0) {
      const p = (e & T_PAGE_MASK) | (lin & 0xfff);
      if (this.observer !== null) this.observer.onMemoryWrite(lin, p, 1, v & 0xff, this.writeCause);
      this.mem8[p] = v;
      return;
    }
    this.writeSlow(lin, 1, v, this.user);
  }

  write16(lin: number, v: number): void {
    const e = this.tlb[lin >>> 12];
    if ((e & this.writeBit) !== 0 && (lin & 0xfff) !== 0xfff) {
      const p = (e & T_PAGE_MASK) | (lin & 0xfff);
      if (this.observer !== null) this.observer.onMemoryWrite(lin, p, 2, v & 0xffff, this.writeCause);
      this.mem8[p] = v;
      this.mem8[p + 1] = v >> 8;
      return;
    }
    this.writeSlow(lin, 2, v, this.user);
  }

  write32(lin: number, v: number): void {
    const e = this.tlb[lin >>> 12];
    if ((e & this.writeBit) !== 0 && (lin & 0xfff) <= 0xffc) {
      const p = (e & T_PAGE_MASK) | (lin & 0xfff);
      if (this.observer !== null) this.observer.onMemoryWrite(lin, p, 4, v | 0, this.writeCause);
      if ((p & 3) === 0) {
        this.mem32[p >> 2] = v;
      } else {
        const m = this.mem8;
        m[p] = v;
        m[p + 1] = v >> 8;
        m[p + 2] = v >> 16;
        m[p + 3] = v >> 24;
      }
      return;
    }
    this.writeSlow(lin, 4, v, this.user);
  }

  /** Checks that a write of `size` bytes at `lin` would succeed, without writing (for RMW and frames). */
  probeWrite(lin: number, size: number, user: boolean): void {
    const p = this.translate(lin, true, user);
    if (this.inBlock) this.checkBlockWrite(p, Math.min(size, 0x1000 - (lin & 0xfff)));
    if (((lin & 0xfff) + size) > 0x1000) {
      const p2 = this.translate((lin + size - 1) | 0, true, user);
      if (this.inBlock) this.checkBlockWrite(p2 & ~0xfff, ((lin + size) & 0xfff) || 0x1000);
    }
  }

  /** In compiled code, a write that will reach MMIO or compiled code leaves the block before anything changes. */
  private checkBlockWrite(p: number, size: number): void {
    if ((p >>> 0) >= this.memSize) throw BLOCK_EXIT;
    if (this.codePages !== null && this.codePages[p >>> 12] !== 0 && this.overlapsCode!(p, size)) throw BLOCK_EXIT;
  }

  // ---- Supervisor ("system") accesses: descriptor tables, TSS, made regardless of CPL -------------

  readSys(lin: number, size: AccessSize): number {
    return this.readSlow(lin, size, false);
  }

  writeSys(lin: number, size: AccessSize, v: number): void {
    this.writeSlow(lin, size, v, false);
  }

  writeAs(lin: number, size: AccessSize, v: number, user: boolean): void {
    this.writeSlow(lin, size, v, user);
  }

  // ---- Slow paths -------------------------------------------------------------------------------

  readSlow(lin: number, size: AccessSize, user: boolean): number {
    const off = lin & 0xfff;
    if (off + size <= 0x1000) {
      const p = this.translate(lin, false, user);
      return this.mem.read(p, size);
    }
    // Crosses a page: translate both halves before reading either, as the hardware does.
    const first = 0x1000 - off;
    const p1 = this.translate(lin, false, user);
    const p2 = this.translate((lin + first) | 0, false, user);
    let v = 0;
    for (let i = 0; i < size; i++) {
      const b = i < first ? this.mem.read(p1 + i, 1) : this.mem.read(p2 + (i - first), 1);
      v |= b << (8 * i);
    }
    return size === 4 ? v | 0 : v;
  }

  writeSlow(lin: number, size: AccessSize, v: number, user: boolean): void {
    const off = lin & 0xfff;
    const masked = size === 1 ? v & 0xff : size === 2 ? v & 0xffff : v | 0;
    if (off + size <= 0x1000) {
      const p = this.translate(lin, true, user);
      this.beforeWrite(p, size);
      if (this.observer !== null && (p >>> 0) < this.memSize) this.observer.onMemoryWrite(lin, p, size, masked, this.writeCause);
      this.mem.write(p, size, v);
      return;
    }
    // Crosses a page: both pages must be writable before any byte is stored. Reported byte by byte.
    const first = 0x1000 - off;
    const p1 = this.translate(lin, true, user);
    const p2 = this.translate((lin + first) | 0, true, user);
    this.beforeWrite(p1, first);
    this.beforeWrite(p2, size - first);
    for (let i = 0; i < size; i++) {
      const p = i < first ? p1 + i : p2 + (i - first);
      const b = (v >> (8 * i)) & 0xff;
      if (this.observer !== null && (p >>> 0) < this.memSize) this.observer.onMemoryWrite((lin + i) | 0, p, 1, b, this.writeCause);
      this.mem.write(p, 1, b);
    }
  }
}

/**
 * A reference trace from QEMU: the guest's EIP, general registers and EFLAGS before every instruction,
 * read from `qemu-system-i386 -singlestep -d exec,cpu,nochain` (one translation block per instruction,
 * every block execution logged with the CPU state it starts from).
 *
 * What the log contains, found by running small guests under QEMU 7.2 (the numbers of records are
 * what our emulator's step counter has to reproduce for a lockstep comparison):
 * - One record per instruction, holding the state *before* it executes.
 * - `rep` string instructions: one record per iteration, all at the instruction's EIP, ECX counting
 *   down (rep movsb with ECX=3 gives records with ECX=3, 2, 1, then the next instruction's record with
 *   ECX=0). With ECX=0 on entry there is exactly one record. repe/repne that stop early give one record
 *   per iteration actually executed (repe cmpsb, ECX=4, mismatch on the third byte: 3 records).
 * - `hlt`: one record for the hlt itself; the halted time and the interrupt that ends it leave no
 *   record: the next record is the handler's first instruction.
 * - Interrupt and exception delivery are not records. A faulting instruction (ud2, a #PF) has its own
 *   record, then the handler's first instruction follows; `int n` likewise is one record.
 * - Spurious repeats: when QEMU is asked to leave the CPU loop (timers, I/O thread) it can enter a
 *   block and return before executing it. It then logs "Stopped execution of TB chain before <host>
 *   [<pc>]" after that block's record, and the same instruction is logged again when it really runs.
 *   Such records are dropped here; they are timing-dependent and would otherwise shift the stream.
 * - Before the kernel, QEMU runs SeaBIOS and its multiboot option ROM (hundreds of thousands of
 *   records, most of them `rep insb` iterations loading the image). Records are skipped until EIP
 *   equals the ELF entry point with CR0.PE set; `-dfilter` limited to the image's executable segments
 *   keeps QEMU from writing most of them at all.
 * - Registers at the entry are the loader's: QEMU's option ROM leaves EBX pointing at its own
 *   multiboot info, ESP at its own stack and ECX/EDX/EDI with leftovers. A comparison has to adopt
 *   them (or start once the guest has set them itself).
 *
 * The log is big (about 900 bytes per record, 3 GB for 3.6 million instructions), so QEMU writes it
 * into a named pipe that is parsed as a stream, and QEMU is killed once enough records are read. The
 * records are kept (recordQemuLog) or handed to a consumer as they come and dropped (streamQemuLog),
 * which bounds memory for logs of any length.
 */
import { spawn, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { Elf32, PT_LOAD } from "../elf/elf32.js";

/** Register order used everywhere in ttd (and in `QemuTrace.regs`): the x86 encoding order. */
export const REG_NAMES = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"] as const;

/** QEMU's state before each instruction from the kernel's entry on. */
export interface QemuTrace {
  /** The ELF entry point; record 0 is the first instruction there. */
  entry: number;
  /** Number of records. */
  count: number;
  /** EIP of each record. */
  eip: Uint32Array;
  /** General registers, 8 per record in REG_NAMES order. */
  regs: Int32Array;
  /** EFLAGS of each record. */
  eflags: Uint32Array;
  /** True when QEMU ran the guest to its end: the last record is the last instruction it executed. */
  complete: boolean;
  /** Records dropped because QEMU logged a block it then did not execute ("Stopped execution ..."). */
  droppedRepeats: number;
  /**
   * With `-d fpu` (RecordOptions.fpu): the x87 state of each record, FPU_WORDS words: FCW, FSW (TOP
   * included), the abridged tag byte (bit i set: physical register i not empty), then for physical
   * registers 0-7 the significand's low and high dwords and the sign/exponent word.
   */
  fpu?: Uint32Array;
}

/** Words per record in QemuTrace.fpu. */
export const FPU_WORDS = 27;

export class QemuLogError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "QemuLogError";
  }
}

const NL = 0x0a;
const CH_T = 0x54; // 'T' of "Trace"
const CH_S = 0x53; // 'S' of "Stopped"
const CH_EQ = 0x3d;
const NO_BYTES = Buffer.alloc(0);

/** Value of the hex digit `c`, or -1. */
function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

/** Parses the 8 hex digits at `off` (QEMU prints 32-bit registers as %08x). */
function hex8(buf: Uint8Array, off: number): number {
  let v = 0;
  for (let i = 0; i < 8; i++) {
    const d = hexDigit(buf[off + i]);
    if (d < 0) throw new QemuLogError(`expected 8 hex digits in QEMU log line: ${lineText(buf, off)}`);
    v = (v << 4) | d;
  }
  return v >>> 0;
}

/** Parses hex digits starting at `off` until a non-digit; returns the value (up to 64 bits folded to 32). */
function hexVar(buf: Uint8Array, off: number, end: number): number {
  let v = 0;
  let n = 0;
  for (let i = off; i < end; i++) {
    const d = hexDigit(buf[i]);
    if (d < 0) break;
    v = ((v << 4) | d) >>> 0;
    n++;
  }
  if (n === 0) throw new QemuLogError(`expected a hex number in QEMU log line: ${lineText(buf, off)}`);
  return v;
}

function lineText(buf: Uint8Array, off: number): string {
  let s = off;
  while (s > 0 && buf[s - 1] !== NL) s--;
  let e = off;
  while (e < buf.length && buf[e] !== NL) e++;
  return JSON.stringify(Buffer.from(buf.buffer, buf.byteOffset + s, Math.min(e - s, 200)).toString("latin1"));
}

function startsWith(buf: Uint8Array, off: number, end: number, lit: Uint8Array): boolean {
  if (end - off < lit.length) return false;
  for (let i = 0; i < lit.length; i++) if (buf[off + i] !== lit[i]) return false;
  return true;
}

const LIT_TRACE = Buffer.from("Trace ", "latin1");
const LIT_STOPPED = Buffer.from("Stopped execution", "latin1");
const LIT_EAX = Buffer.from("EAX=", "latin1");
const LIT_ESI = Buffer.from("ESI=", "latin1");
const LIT_EIP = Buffer.from("EIP=", "latin1");
const LIT_CR0 = Buffer.from("CR0=", "latin1");
const LIT_FCW = Buffer.from("FCW=", "latin1");
const LIT_FPR = Buffer.from("FPR", "latin1");

const SEEN_EAX = 1, SEEN_ESI = 2, SEEN_EIP = 4, SEEN_CR0 = 8, SEEN_ALL = 15;

/**
 * Streaming parser for the `-d exec,cpu` log. Feed chunks with `push` (it returns false once
 * `maxRecords` records after the entry have been collected) and call `end` when the log is over.
 */
export class QemuLogParser {
  private readonly entry: number;
  private readonly maxRecords: number;
  private carry: Buffer = NO_BYTES;
  private eip: Uint32Array;
  private regs: Int32Array;
  private eflags: Uint32Array;
  /** Records in the buffer (since the last take()). */
  private count = 0;
  /** Records since the entry, taken or not. */
  private total = 0;
  private started = false;
  private done = false;
  private dropped = 0;
  // The record being read; committed when the next record starts (a "Stopped" line may cancel it).
  private pending = false;
  private inDump = false;
  private seen = 0;
  private pc = 0;
  private readonly pRegs = new Int32Array(8);
  private pEip = 0;
  private pEfl = 0;
  private pCr0 = 0;
  // The last record kept, for the rules that recognise QEMU's repeated records (it may already have
  // been handed out by take()).
  private haveLast = false;
  private lastEip = 0;
  private lastEfl = 0;
  private readonly lastRegs = new Int32Array(8);

  /** Set for logs of QEMU run with -icount, whose I/O re-execution duplicates records. */
  icount = false;
  /**
   * For a log of some instructions only (-dfilter), where two records in a row at one address are
   * usually two turns of a loop: the addresses of rep string instructions, the only ones where the
   * -icount re-entry below is recognised. Null (every instruction logged): any address.
   */
  repStrings: ReadonlySet<number> | null = null;
  /** Set for logs of QEMU run with -d fpu: the FCW/FSW/FTW and FPR lines are kept per record. */
  fpu = false;
  private fpuWords = new Uint32Array(0);
  private readonly pFpu = new Uint32Array(FPU_WORDS);

  /** `capacity`: records to make room for at first (the arrays grow as needed). */
  constructor(entry: number, maxRecords: number, capacity = 1 << 20) {
    this.entry = entry >>> 0;
    this.maxRecords = maxRecords;
    const cap = Math.max(16, Math.min(maxRecords, capacity));
    this.eip = new Uint32Array(cap);
    this.regs = new Int32Array(cap * 8);
    this.eflags = new Uint32Array(cap);
  }

  /** True once `maxRecords` records have been collected. */
  get full(): boolean {
    return this.done;
  }

  /** Records collected so far (taken or not). */
  get records(): number {
    return this.total;
  }

  /**
   * The records parsed since the previous take(), which leave the parser: it keeps no more than one
   * chunk's worth, so a stream of any length is read in bounded memory. The arrays are views that the
   * next push() overwrites.
   */
  take(): QemuTrace {
    const n = this.count;
    this.count = 0;
    return {
      entry: this.entry,
      count: n,
      eip: this.eip.subarray(0, n),
      regs: this.regs.subarray(0, n * 8),
      eflags: this.eflags.subarray(0, n),
      complete: false,
      droppedRepeats: this.dropped,
      ...(this.fpu ? { fpu: this.fpuWords.subarray(0, n * FPU_WORDS) } : {}),
    };
  }

  /**
   * Parses a chunk; returns false when no more input is wanted. The chunk is not kept (the caller may
   * reuse its buffer): only a line it leaves unfinished is copied.
   */
  push(chunk: Uint8Array): boolean {
    if (this.done) return false;
    const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let pos = 0;
    if (this.carry.length > 0) {
      const nl = buf.indexOf(NL);
      if (nl < 0) {
        this.carry = Buffer.concat([this.carry, buf]);
        return true;
      }
      const first = Buffer.concat([this.carry, buf.subarray(0, nl)]);
      this.carry = NO_BYTES;
      this.line(first, 0, first.length);
      pos = nl + 1;
    }
    const len = buf.length;
    while (pos < len && !this.done) {
      const nl = buf.indexOf(NL, pos);
      if (nl < 0) break;
      this.line(buf, pos, nl);
      pos = nl + 1;
    }
    this.carry = this.done || pos >= len ? NO_BYTES : Buffer.from(buf.subarray(pos));
    return !this.done;
  }

  /**
   * Ends the stream and returns the records not taken (all of them when take() was never called).
   * `guestFinished` says QEMU exited on its own (the guest ended) rather than being stopped by us,
   * which makes the trace complete.
   */
  end(guestFinished: boolean): QemuTrace {
    if (!this.done && this.carry.length > 0) {
      const tail = this.carry;
      this.carry = Buffer.alloc(0);
      this.line(tail, 0, tail.length);
    }
    if (!this.done) this.commit();
    if (!this.started) {
      throw new QemuLogError(`QEMU's log never reached the kernel entry 0x${this.entry.toString(16)} in protected mode`);
    }
    const n = this.count;
    return {
      entry: this.entry,
      count: n,
      eip: this.eip.slice(0, n),
      regs: this.regs.slice(0, n * 8),
      eflags: this.eflags.slice(0, n),
      complete: guestFinished && !this.done,
      droppedRepeats: this.dropped,
      ...(this.fpu ? { fpu: this.fpuWords.slice(0, n * FPU_WORDS) } : {}),
    };
  }

  private line(buf: Uint8Array, s: number, e: number): void {
    const c0 = buf[s];
    if (c0 === CH_T && startsWith(buf, s, e, LIT_TRACE)) {
      this.commit();
      if (this.done) return;
      // "Trace 0: 0x7f34... [cs_base/pc/flags/cflags] symbol": the pc is the second field.
      const open = buf.indexOf(0x5b, s);
      if (open < 0 || open >= e) throw new QemuLogError(`unexpected Trace line in QEMU log: ${lineText(buf, s)}`);
      const slash = buf.indexOf(0x2f, open);
      if (slash < 0 || slash >= e) throw new QemuLogError(`unexpected Trace line in QEMU log: ${lineText(buf, s)}`);
      this.pc = hexVar(buf, slash + 1, e);
      this.pending = true;
      this.inDump = true;
      this.seen = 0;
      return;
    }
    if (c0 === CH_S && startsWith(buf, s, e, LIT_STOPPED)) {
      // "Stopped execution of TB chain before 0x7f34... [0010022b] fib": the block logged last did not run.
      const open = buf.indexOf(0x5b, s);
      const pc = open >= 0 && open < e ? hexVar(buf, open + 1, e) : -1;
      if (!this.pending || pc !== this.pc) {
        throw new QemuLogError(`"Stopped execution" does not follow a record of the same block: ${lineText(buf, s)}`);
      }
      this.pending = false;
      this.inDump = false;
      if (this.started) this.dropped++;
      return;
    }
    if (!this.inDump) return;
    // The CPU dump's lines all have '=' at column 3 or 4 ("EAX=", "ES =", "EFER="). Anything else (an
    // interrupt report from `-d int`, a message) ends the dump so that a later register dump printed
    // for an interrupt cannot overwrite the record's values.
    if (e - s < 5 || (buf[s + 3] !== CH_EQ && buf[s + 4] !== CH_EQ)) {
      this.inDump = false;
      return;
    }
    if ((this.seen & SEEN_EAX) === 0 && startsWith(buf, s, e, LIT_EAX)) {
      // EAX=xxxxxxxx EBX=xxxxxxxx ECX=xxxxxxxx EDX=xxxxxxxx
      const r = this.pRegs;
      r[0] = hex8(buf, s + 4);
      r[3] = hex8(buf, s + 17);
      r[1] = hex8(buf, s + 30);
      r[2] = hex8(buf, s + 43);
      this.seen |= SEEN_EAX;
    } else if ((this.seen & SEEN_ESI) === 0 && startsWith(buf, s, e, LIT_ESI)) {
      // ESI=xxxxxxxx EDI=xxxxxxxx EBP=xxxxxxxx ESP=xxxxxxxx
      const r = this.pRegs;
      r[6] = hex8(buf, s + 4);
      r[7] = hex8(buf, s + 17);
      r[5] = hex8(buf, s + 30);
      r[4] = hex8(buf, s + 43);
      this.seen |= SEEN_ESI;
    } else if ((this.seen & SEEN_EIP) === 0 && startsWith(buf, s, e, LIT_EIP)) {
      // EIP=xxxxxxxx EFL=xxxxxxxx [flags] CPL=0 ...
      this.pEip = hex8(buf, s + 4);
      this.pEfl = hex8(buf, s + 17);
      this.seen |= SEEN_EIP;
    } else if ((this.seen & SEEN_CR0) === 0 && startsWith(buf, s, e, LIT_CR0)) {
      this.pCr0 = hex8(buf, s + 4);
      this.seen |= SEEN_CR0;
    } else if (this.fpu) {
      this.fpuLine(buf, s, e);
    }
  }

  /** "FCW=037f FSW=0000 [ST=0] FTW=00 ..." and "FPR0=<16 hex digits> <4 hex digits> FPR1=...". */
  private fpuLine(buf: Uint8Array, s: number, e: number): void {
    const f = this.pFpu;
    if (startsWith(buf, s, e, LIT_FCW)) {
      f[0] = hexVar(buf, s + 4, s + 8);
      f[1] = hexVar(buf, s + 13, s + 17);
      f[2] = hexVar(buf, s + 29, s + 31); // after " [ST=n] FTW="
    } else if (startsWith(buf, s, e, LIT_FPR)) {
      // Two registers per line, 27 characters apart.
      for (let at = s; at + 26 <= e && startsWith(buf, at, e, LIT_FPR); at += 27) {
        const i = buf[at + 3] - 0x30;
        f[3 + 3 * i + 1] = hexVar(buf, at + 5, at + 13);
        f[3 + 3 * i] = hexVar(buf, at + 13, at + 21);
        f[3 + 3 * i + 2] = hexVar(buf, at + 22, at + 26);
      }
    }
  }

  private commit(): void {
    if (!this.pending) return;
    this.pending = false;
    this.inDump = false;
    if (this.seen !== SEEN_ALL) {
      throw new QemuLogError(
        `QEMU log record at pc 0x${this.pc.toString(16)} lacks register lines (was it run with -d exec,cpu?)`,
      );
    }
    if (!this.started) {
      if (this.pEip !== this.entry || (this.pCr0 & 1) === 0) return;
      this.started = true;
    }
    const n = this.count;
    // Under -icount QEMU re-enters a rep string instruction once more after its last iteration (ECX
    // 1 -> 0 at the same EIP) before moving on. A CPU advances EIP after the last iteration, so a record
    // at the previous record's EIP with ECX 0 right after ECX 1 is that artefact, never an instruction.
    const again = this.haveLast && this.lastEip === this.pEip;
    if (again && this.lastRegs[1] === 1 && this.pRegs[1] === 0 && (this.repStrings === null || this.repStrings.has(this.pEip))) {
      this.dropped++;
      return;
    }
    // Also under -icount, an instruction that touches I/O or MMIO in the middle of a block is abandoned
    // and re-run alone, so its record appears twice with identical state. Only in that mode: elsewhere
    // two identical records can be a real `jmp .`.
    if (this.icount && again && this.lastEfl === this.pEfl && sameRegs(this.lastRegs, this.pRegs)) {
      this.dropped++;
      return;
    }
    this.haveLast = true;
    this.lastEip = this.pEip;
    this.lastEfl = this.pEfl;
    this.lastRegs.set(this.pRegs);
    if (n === this.eip.length) this.grow();
    if (this.fpu) {
      if (this.fpuWords.length < this.eip.length * FPU_WORDS) {
        const w = new Uint32Array(this.eip.length * FPU_WORDS);
        w.set(this.fpuWords);
        this.fpuWords = w;
      }
      this.fpuWords.set(this.pFpu, n * FPU_WORDS);
    }
    this.eip[n] = this.pEip;
    this.eflags[n] = this.pEfl;
    this.regs.set(this.pRegs, n * 8);
    this.count = n + 1;
    this.total++;
    if (this.total >= this.maxRecords) this.done = true;
  }

  private grow(): void {
    const cap = Math.min(this.eip.length * 2, Math.max(this.maxRecords, this.eip.length + 1));
    const eip = new Uint32Array(cap);
    eip.set(this.eip);
    const regs = new Int32Array(cap * 8);
    regs.set(this.regs);
    const efl = new Uint32Array(cap);
    efl.set(this.eflags);
    this.eip = eip;
    this.regs = regs;
    this.eflags = efl;
  }
}

/** String instruction opcodes: ins, outs, movs, cmps, stos, lods, scas. */
const STRING_OPCODES = new Set([0x6c, 0x6d, 0x6e, 0x6f, 0xa4, 0xa5, 0xa6, 0xa7, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf]);
/** Prefixes that may come with a rep: operand and address size, segment overrides, lock. */
const OTHER_PREFIXES = new Set([0x66, 0x67, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0xf0]);

/** Whether the instruction at `addr` in `ram` is a string instruction with a rep/repe/repne prefix. */
export function isRepStringAt(ram: Uint8Array, addr: number): boolean {
  let rep = false;
  for (let i = 0; i < 15 && addr + i < ram.length; i++) {
    const b = ram[addr + i];
    if (b === 0xf2 || b === 0xf3) rep = true;
    else if (!OTHER_PREFIXES.has(b)) return rep && STRING_OPCODES.has(b);
  }
  return false;
}

/** Path of qemu-system-i386 on PATH (or $TTD_QEMU), or null. */
export function findQemu(): string | null {
  const explicit = process.env.TTD_QEMU;
  if (explicit) return fs.existsSync(explicit) ? explicit : null;
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, "qemu-system-i386");
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // not in this directory
    }
  }
  return null;
}

export const QEMU_MISSING =
  "qemu-system-i386 not found: install it (Debian: apt-get install -y qemu-system-x86) or set TTD_QEMU to its path";

/** QEMU's version as [major, minor], from `--version`. */
export function qemuVersion(qemu: string): [number, number] {
  const out = execFileSync(qemu, ["--version"], { encoding: "utf8" });
  const m = /version (\d+)\.(\d+)/.exec(out);
  if (!m) throw new QemuLogError(`cannot read the version of ${qemu} from: ${out.split("\n")[0]}`);
  return [Number(m[1]), Number(m[2])];
}

/** The command line that runs `elfPath` the way src/guests/workload/README.md describes (exit via port 0xf4). */
/** Bumped when the parser changes what it keeps, so cached traces from an older parser are not reused. */
const PARSER_REVISION = "2";

function sameRegs(a: Int32Array, b: Int32Array): boolean {
  for (let i = 0; i < 8; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function qemuBaseArgs(elfPath: string, icount = false): string[] {
  const extra = icount ? ["-icount", "shift=0,sleep=off"] : [];
  return [
    "-display", "none", "-no-reboot", "-net", "none", "-monitor", "none", "-serial", "stdio",
    "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", ...extra, "-kernel", elfPath,
  ];
}

/**
 * `-dfilter` ranges covering the image's executable segments at both their virtual and physical
 * addresses (code that runs before paging is on executes at the physical ones). QEMU filters on the
 * block's linear pc.
 */
export function imageCodeRanges(elf: Elf32): string {
  const ranges = new Set<string>();
  for (const ph of elf.programHeaders) {
    if (ph.type !== PT_LOAD || (ph.flags & 1) === 0 || ph.memsz === 0) continue;
    ranges.add(`0x${ph.vaddr.toString(16)}+0x${ph.memsz.toString(16)}`);
    ranges.add(`0x${ph.paddr.toString(16)}+0x${ph.memsz.toString(16)}`);
  }
  return [...ranges].join(",");
}

export interface RecordOptions {
  /** Stop after this many records from the entry on (Infinity: until the guest ends). */
  maxRecords: number;
  /** qemu-system-i386 to use (default: findQemu()). */
  qemu?: string;
  /**
   * Log only the image's executable segments (default true). Code run anywhere else (copied or
   * generated at run time) then leaves no records and a comparison would see a jump; false logs
   * everything, which is much slower because the firmware's records are written too.
   */
  filterToImage?: boolean;
  /** Give up after this long (default 10 minutes). */
  timeoutMs?: number;
  /**
   * Count time in instructions (`-icount shift=0,sleep=off`): QEMU's clock then advances one
   * nanosecond per instruction and skips idle time as ttd's does, so timer interrupts land on the
   * same instructions and guests with interrupts compare whole. Default false.
   */
  icount?: boolean;
  /** Also log and keep the x87 registers (`-d fpu`; QemuTrace.fpu). Default false. */
  fpu?: boolean;
  /** QemuLogParser.repStrings, for a log of some instructions only. */
  repStrings?: ReadonlySet<number>;
}

export interface RecordResult {
  trace: QemuTrace;
  /** What the guest wrote to COM1 while the log was read. */
  serial: string;
  /** QEMU's exit status when it ended by itself (isa-debug-exit gives (value << 1) | 1), else null. */
  exitStatus: number | null;
}

/** Runs the ELF under QEMU with the per-instruction log and parses it. */
export async function recordQemuTrace(elfPath: string, opts: RecordOptions): Promise<RecordResult> {
  const elf = new Elf32(new Uint8Array(fs.readFileSync(elfPath)));
  const ranges = opts.filterToImage !== false ? imageCodeRanges(elf) : "";
  return recordQemuLog(qemuBaseArgs(path.resolve(elfPath), opts.icount === true), elf.entry, ranges, opts);
}

/**
 * Runs QEMU with `machineArgs` (the machine and the kernel to load: -kernel, -initrd, -append, -cpu...)
 * and the per-instruction log from the first time `entry` runs in protected mode; `ranges` is a
 * `-dfilter` list of the code to log ("" logs everything). Used for kernels that are not an ELF, such
 * as a Linux bzImage entered at its code32_start.
 */
export async function recordQemuLog(machineArgs: string[], entry: number, ranges: string, opts: RecordOptions): Promise<RecordResult> {
  const r = await runQemuLog(machineArgs, entry, ranges, opts, null);
  return { trace: r.rest, serial: r.serial, exitStatus: r.exitStatus };
}

/** What streamQemuLog saw. */
export interface StreamResult {
  /** Records handed to the consumer. */
  records: number;
  /** True when QEMU ran the guest to its end before maxRecords (and the consumer never stopped it). */
  complete: boolean;
  droppedRepeats: number;
  serial: string;
  exitStatus: number | null;
}

/**
 * Like recordQemuLog, but the records go to `consume` batch by batch as QEMU writes them, and are not
 * kept: QEMU and the consumer run side by side, and memory stays bounded however long the log is (a
 * per-instruction log is about 900 bytes a record, 90 GB for 100 million instructions). `consume`
 * returns false to stop QEMU (a divergence); each batch's arrays are only valid during the call.
 */
export async function streamQemuLog(
  machineArgs: string[], entry: number, ranges: string, opts: RecordOptions, consume: (batch: QemuTrace) => boolean,
  addresses?: AddressStream,
): Promise<StreamResult> {
  const r = await runQemuLog(machineArgs, entry, ranges, opts, consume, addresses ?? null);
  return { records: r.records, complete: r.rest.complete, droppedRepeats: r.rest.droppedRepeats, serial: r.serial, exitStatus: r.exitStatus };
}

/**
 * Reads the plugin's FIFO of 32-bit addresses (little-endian, as the host) until its end or until
 * `consume` says stop (then true). A read can end inside a word: its bytes wait for the next.
 */
async function readAddresses(fifo: string, consume: (addresses: Uint32Array) => boolean): Promise<boolean> {
  const file = await fs.promises.open(fifo, "r");
  // An ArrayBuffer of its own, so the words are aligned.
  const buf = Buffer.allocUnsafeSlow(1 << 20);
  let carry = 0;
  try {
    for (;;) {
      const { bytesRead } = await file.read(buf, carry, buf.length - carry, null);
      if (bytesRead === 0) return false;
      const total = carry + bytesRead;
      const words = total >>> 2;
      if (!consume(new Uint32Array(buf.buffer, buf.byteOffset, words))) return true;
      carry = total - words * 4;
      buf.copyWithin(0, words * 4, total);
    }
  } finally {
    await file.close();
  }
}

/** A read of the log FIFO shorter than this is followed by a pause of PAUSE_MS. */
const SHORT_READ = 16 * 1024;
const PAUSE_MS = 0.25;
/** Never notified: Atomics.wait on it is a sleep. */
const PAUSE = new Int32Array(new SharedArrayBuffer(4));

/**
 * A second stream from the same QEMU run: the address of every instruction it executes, written by a
 * plugin (qemu-insn-trace.ts) into a FIFO of its own.
 */
export interface AddressStream {
  /** QEMU's options that load the plugin, writing to `fifo`. */
  pluginArgs: (fifo: string) => string[];
  /** Takes the next addresses (valid during the call only); false stops QEMU. */
  consume: (addresses: Uint32Array) => boolean;
}

/**
 * Runs QEMU with the log in a FIFO; batches go to `consume` when given, the rest is returned. With
 * `addresses`, the plugin's FIFO is read alongside.
 */
async function runQemuLog(
  machineArgs: string[], entry: number, ranges: string, opts: RecordOptions, consume: ((batch: QemuTrace) => boolean) | null,
  addresses: AddressStream | null = null,
): Promise<{ rest: QemuTrace; records: number; serial: string; exitStatus: number | null }> {
  const qemu = opts.qemu ?? findQemu();
  if (!qemu) throw new QemuLogError(QEMU_MISSING);
  const [major, minor] = qemuVersion(qemu);
  // -singlestep was replaced by the one-insn-per-tb accelerator property in QEMU 8.1.
  const oneInsn = major > 8 || (major === 8 && minor >= 1)
    ? ["-accel", "tcg,one-insn-per-tb=on"]
    : ["-singlestep"];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ttd-qemu-"));
  const fifo = path.join(dir, "exec.log");
  execFileSync("mkfifo", [fifo]);
  const args = [...machineArgs, ...oneInsn, "-d", opts.fpu === true ? "exec,cpu,fpu,nochain" : "exec,cpu,nochain", "-D", fifo];
  if (ranges) args.push("-dfilter", ranges);
  const addressFifo = addresses !== null ? path.join(dir, "insn.bin") : null;
  if (addresses !== null && addressFifo !== null) {
    execFileSync("mkfifo", [addressFifo]);
    args.push(...addresses.pluginArgs(addressFifo));
  }
  // Streamed, the parser holds one read's records at a time (a 1 MiB read is about 1,200).
  const parser = new QemuLogParser(entry, opts.maxRecords, consume !== null ? 4096 : undefined);
  parser.icount = opts.icount === true;
  parser.fpu = opts.fpu === true;
  parser.repStrings = opts.repStrings ?? null;
  const child = spawn(qemu, args, { stdio: ["ignore", "pipe", "pipe"] });
  let serial = "";
  let stderr = "";
  child.stdout.setEncoding("latin1");
  child.stdout.on("data", (s: string) => { serial += s; });
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (s: string) => { stderr += s; });
  let exited = false;
  let exitStatus: number | null = null;
  let killedByUs = false;
  const exitPromise = new Promise<void>((resolve) => {
    child.on("exit", (code) => {
      exited = true;
      exitStatus = code;
      resolve();
    });
    child.on("error", (err) => {
      exited = true;
      stderr += String(err);
      resolve();
    });
  });
  const stop = (): void => {
    if (!exited) {
      killedByUs = true;
      child.kill("SIGKILL");
    }
  };
  // If QEMU dies before opening the log, the reader's open() would wait forever: opening the FIFO
  // for writing ourselves releases it with an immediate end of file.
  void exitPromise.then(() => {
    for (const f of addressFifo !== null ? [fifo, addressFifo] : [fifo]) {
      try {
        const fd = fs.openSync(f, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
        fs.closeSync(fd);
      } catch {
        // no reader waiting: nothing to release
      }
    }
  });
  const timeoutMs = opts.timeoutMs ?? 600_000;
  let timedOut = false;
  const timeout = setTimeout(() => {
    timedOut = true;
    stop();
  }, timeoutMs);
  try {
    // One buffer for every read: QEMU flushes each record, so reads are often a record long, and a
    // fresh buffer per read (as a read stream allocates) costs more in garbage collection than the
    // parsing. The open waits for QEMU to open its end (the exit handler above releases it if QEMU
    // dies first).
    let enough = false;
    const addressReader = addresses !== null && addressFifo !== null
      ? readAddresses(addressFifo, addresses.consume).then((stopped) => {
        if (stopped) {
          enough = true;
          stop();
        }
      }, (err: unknown) => {
        stop();
        throw err;
      })
      : Promise.resolve();
    // Awaited once the log is read; until then a failure must not count as unhandled.
    addressReader.catch(() => {});
    const file = await fs.promises.open(fifo, "r");
    const buf = Buffer.allocUnsafe(1 << 20);
    try {
      for (;;) {
        const { bytesRead } = await file.read(buf, 0, buf.length, null);
        if (bytesRead === 0) break;
        // A short read means QEMU writes slower than this reads: each read would then be a record or
        // less, and the cost of a read (a thread hand-off and a wake-up, some microseconds) as much as
        // QEMU's per record. A pause shorter than QEMU takes to fill the pipe (64 KiB, 0.5 ms at its
        // fastest) lets records gather without ever stopping QEMU.
        if (bytesRead < SHORT_READ) Atomics.wait(PAUSE, 0, 0, PAUSE_MS);
        const more = parser.push(buf.subarray(0, bytesRead));
        if (consume !== null && !consume(parser.take())) {
          enough = true;
          break;
        }
        // With addresses, the last records may still wait for theirs, which the plugin writes a
        // buffer at a time: QEMU runs on (its log read and dropped) until the consumer has them.
        if (!more && addresses === null) {
          enough = true;
          break;
        }
      }
    } catch (err) {
      stop();
      throw err;
    } finally {
      await file.close();
    }
    // Enough records: QEMU is still running and is stopped here. Otherwise the log ended because
    // QEMU exited (the end of file can arrive before the exit is reported, so wait for it).
    if (enough) stop();
    await exitPromise;
    await addressReader;
    if (timedOut) throw new QemuLogError(`QEMU did not finish within ${timeoutMs / 1000} s`);
    if (!killedByUs && exitStatus === null) {
      throw new QemuLogError(`QEMU failed: ${stderr.trim() || "killed by a signal"}`);
    }
    if (!killedByUs && exitStatus !== null && (exitStatus & 1) === 0 && exitStatus !== 0) {
      // Exit statuses from isa-debug-exit are odd; an even non-zero status is QEMU itself failing.
      throw new QemuLogError(`QEMU exited with status ${exitStatus}: ${stderr.trim()}`);
    }
    let rest: QemuTrace;
    try {
      rest = parser.end(!killedByUs);
    } catch (err) {
      // Usually QEMU refused the image (no multiboot header, ...): say what it said.
      const said = stderr.trim();
      if (err instanceof QemuLogError && said) throw new QemuLogError(`${err.message}; QEMU said: ${said}`);
      throw err;
    }
    // The records of the log's last lines, parsed at the end of the stream.
    if (consume !== null && rest.count > 0 && !killedByUs) consume(rest);
    return { rest, records: parser.records, serial, exitStatus: killedByUs ? null : exitStatus };
  } finally {
    clearTimeout(timeout);
    stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// ---- cache ---------------------------------------------------------------------------------------

const CACHE_MAGIC = "TTDQTR01";
const HEADER_BYTES = 32;

/** Where parsed QEMU traces are kept: $TTD_CACHE_DIR or <tmp>/ttd-cache. */
export function defaultCacheDir(): string {
  return process.env.TTD_CACHE_DIR ?? path.join(os.tmpdir(), "ttd-cache");
}

export function encodeTrace(t: QemuTrace): Buffer {
  const n = t.count;
  const raw = Buffer.alloc(HEADER_BYTES + n * 40);
  raw.write(CACHE_MAGIC, 0, "latin1");
  raw.writeUInt32LE(n, 8);
  raw.writeUInt32LE(t.entry >>> 0, 12);
  raw.writeUInt32LE(t.complete ? 1 : 0, 16);
  raw.writeUInt32LE(t.droppedRepeats, 20);
  let o = HEADER_BYTES;
  Buffer.from(t.eip.buffer, t.eip.byteOffset, n * 4).copy(raw, o);
  o += n * 4;
  Buffer.from(t.regs.buffer, t.regs.byteOffset, n * 32).copy(raw, o);
  o += n * 32;
  Buffer.from(t.eflags.buffer, t.eflags.byteOffset, n * 4).copy(raw, o);
  return zlib.gzipSync(raw, { level: 1 });
}

export function decodeTrace(data: Buffer): QemuTrace {
  const raw = zlib.gunzipSync(data);
  if (raw.length < HEADER_BYTES || raw.toString("latin1", 0, 8) !== CACHE_MAGIC) {
    throw new QemuLogError("not a cached QEMU trace");
  }
  const n = raw.readUInt32LE(8);
  if (raw.length !== HEADER_BYTES + n * 40) throw new QemuLogError("cached QEMU trace is truncated");
  // Copy into fresh aligned arrays (the gunzip buffer may sit at any offset of a shared pool).
  const ab = raw.buffer.slice(raw.byteOffset + HEADER_BYTES, raw.byteOffset + raw.length);
  return {
    entry: raw.readUInt32LE(12),
    count: n,
    eip: new Uint32Array(ab, 0, n),
    regs: new Int32Array(ab, n * 4, n * 8),
    eflags: new Uint32Array(ab, n * 36, n),
    complete: raw.readUInt32LE(16) === 1,
    droppedRepeats: raw.readUInt32LE(20),
  };
}

/** The first `n` records of `t` (a view, no copy). */
export function truncateTrace(t: QemuTrace, n: number): QemuTrace {
  if (n >= t.count) return t;
  return {
    ...t,
    count: n,
    eip: t.eip.subarray(0, n),
    regs: t.regs.subarray(0, n * 8),
    eflags: t.eflags.subarray(0, n),
    complete: false,
  };
}

export interface CachedTraceOptions extends RecordOptions {
  /** Cache directory; null disables the cache. Default: defaultCacheDir(). */
  cacheDir?: string | null;
  /** Called with a line of progress text (QEMU runs can take a while). */
  log?: (line: string) => void;
}

/**
 * The QEMU trace of `elfPath`, from the cache when a cached one is long enough (or complete),
 * otherwise recorded and stored. Cache files are keyed by the SHA-256 of the ELF.
 */
export async function loadQemuTrace(
  elfPath: string,
  opts: CachedTraceOptions,
): Promise<{ trace: QemuTrace; fromCache: boolean }> {
  // The cache key covers the image and any extra QEMU options (they change the log).
  const hash = createHash("sha256").update(fs.readFileSync(elfPath)).update(opts.icount ? "icount" : "").update(PARSER_REVISION).digest("hex");
  const dir = opts.cacheDir === undefined ? defaultCacheDir() : opts.cacheDir;
  const file = dir ? path.join(dir, `qemu-trace-${hash}${opts.filterToImage === false ? "-all" : ""}${opts.icount ? "-icount" : ""}.gz`) : null;
  if (file && fs.existsSync(file)) {
    try {
      const cached = decodeTrace(fs.readFileSync(file));
      if (cached.complete || cached.count >= opts.maxRecords) {
        return { trace: truncateTrace(cached, opts.maxRecords), fromCache: true };
      }
    } catch {
      // unreadable or from another format: record again
    }
  }
  const what = Number.isFinite(opts.maxRecords) ? `${opts.maxRecords} instructions` : "the whole run";
  opts.log?.(`recording ${what} of ${path.basename(elfPath)} under QEMU (single-step log)...`);
  const started = Date.now();
  const { trace } = await recordQemuTrace(elfPath, opts);
  opts.log?.(`QEMU trace: ${trace.count} records${trace.complete ? " (guest ran to its end)" : ""} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (file && dir) {
    fs.mkdirSync(dir, { recursive: true });
    // Write then rename, so a concurrent reader never sees half a file.
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, encodeTrace(trace));
    fs.renameSync(tmp, file);
  }
  return { trace, fromCache: false };
}

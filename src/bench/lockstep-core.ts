/**
 * Lockstep comparison of ttd's CPU against a QEMU trace: before every instruction, EIP and the eight
 * general registers must be equal. The first difference is reported with the instructions leading
 * to it, which is normally enough to name the faulty instruction.
 *
 * How steps line up with QEMU's records (see qemu-log.ts for what QEMU logs): a ttd step that retires
 * an instruction, a `rep` iteration, a software interrupt (`int n` is one step with its delivery) or
 * an instruction that faults corresponds to one QEMU record. Interrupt and exception deliveries are
 * steps of their own in ttd but leave no record in QEMU's log, so they are stepped over without
 * consuming a record. The comparison is made before each step and only counted once the step turns
 * out to be one that has a record.
 *
 * For long runs QEMU may log only some instructions (`logged`, its -dfilter): ttd then runs the others
 * between records. The address of every instruction can still be compared, from a second stream
 * (`addresses`, QEMU's plugin in qemu-insn-trace.c): the two streams arrive independently and what
 * cannot be compared yet waits.
 */
import { StepKind } from "../cpu/observer.js";
import type { CodeView } from "./disasm.js";
import type { CodeRanges } from "./code-ranges.js";
import { REG_NAMES, type QemuTrace } from "./qemu-log.js";

/** What the comparison needs from ttd's machine (Machine from src/machine satisfies it). */
export interface LockstepMachine {
  readonly cpu: {
    readonly regs: Int32Array;
    readonly eip: number;
    readonly steps: number;
    getEflags(): number;
    /** When present, used to adopt the loader-defined status flags at the entry. */
    setEflags?(value: number): void;
  };
  step(): number;
}

export interface LockstepOptions {
  /** Compare at most this many records (default: the whole trace). */
  limit?: number;
  /**
   * EFLAGS bits compared too (default 0, none). Flags the SDM leaves undefined (after shifts, mul,
   * bsf, ...) can legitimately differ from QEMU's, so include only bits you know are defined.
   */
  eflagsMask?: number;
  /** Called about every `progressInterval` records with the number compared so far. */
  onProgress?: (records: number) => void;
  progressInterval?: number;
  /**
   * More state to compare before each record whose EIP and general registers match (the x87 unit, for
   * a trace recorded with `fpu`): returns a description of the difference, or null.
   */
  check?: (record: number) => string | null;
  /**
   * The instructions QEMU logs (its -dfilter, under -singlestep): ttd's instructions elsewhere are
   * executed without a record to compare. Default: every instruction has a record.
   */
  logged?: CodeRanges;
  /** With `logged`: more instructions than this in a row without a record is a divergence (default 50 M). */
  maxUnlogged?: number;
  /**
   * QEMU also reports every executed instruction's address (Lockstep.feedAddresses); `isRepStringAt`
   * reads ttd's memory for the -icount re-entry of rep string instructions.
   */
  addresses?: { isRepStringAt: (addr: number) => boolean };
}

export interface RegisterDifference {
  name: string;
  ttd: number;
  qemu: number;
}

export interface StateSnapshot {
  eip: number;
  regs: number[];
  eflags: number;
}

export type DivergenceKind =
  /** Registers differ before an instruction. */
  | "state"
  /** ttd's step() threw a host exception. */
  | "host-error"
  /** ttd kept delivering events without executing an instruction. */
  | "stall"
  /** One call to step() did not advance the step counter by exactly one. */
  | "step-count";

export interface Divergence {
  kind: DivergenceKind;
  /** Index of the QEMU record: records since the kernel entry (instructions, when every one is logged). */
  record: number;
  /** ttd's step counter before that instruction. */
  step: number;
  differences: RegisterDifference[];
  /** ttd's state before the instruction. */
  ttd: StateSnapshot;
  /** QEMU's record there (null when the stream had no record left to compare). */
  qemu: StateSnapshot | null;
  /** The last record both agreed on. */
  previous: (StateSnapshot & { record: number }) | null;
  /** The records before this one, oldest first (up to RECENT_RECORDS), all agreed on. */
  recent: { record: number; eip: number }[];
  /**
   * With `logged`: the instructions ttd executed since the previous record, which QEMU did not log
   * (the latest UNLOGGED_PATH of them, oldest first, and how many there were).
   */
  unlogged?: { eips: number[]; count: number };
  message?: string;
}

export interface LockstepResult {
  /** Records that matched. */
  compared: number;
  /** ttd's instructions executed up to the last record compared (the records' and those in between). */
  instructions: number;
  /** Interrupt and exception deliveries ttd made (steps without a QEMU record). */
  events: number;
  /** With `addresses`: instructions whose address was compared with QEMU's. */
  addresses: number;
  /**
   * Registers the loader set differently from QEMU's at the entry; QEMU's values were adopted (for
   * "eflags", only the status flags and DF).
   */
  adopted: RegisterDifference[];
  divergence: Divergence | null;
}

/**
 * EFLAGS bits the multiboot specification leaves to the loader (it fixes only IF and VM): the status
 * flags and DF. They are adopted from QEMU at the entry like the general registers.
 */
const LOADER_DEFINED_FLAGS = 0x0cd5;

/** More consecutive deliveries than this without an instruction is reported as a stall. */
const MAX_CONSECUTIVE_EVENTS = 64;
/** Records kept for a divergence report. */
const RECENT_RECORDS = 64;
/** Unlogged instructions kept for a divergence report. */
const UNLOGGED_PATH = 64;
/** nextAddress(): none has arrived yet. */
const WAIT = -1;
/** The comparison has no address stream. */
const NO_ADDRESSES = -2;
/** Default for LockstepOptions.maxUnlogged. */
const DEFAULT_MAX_UNLOGGED = 50_000_000;

function snapshot(m: LockstepMachine): StateSnapshot {
  return { eip: m.cpu.eip >>> 0, regs: Array.from(m.cpu.regs, (r) => r >>> 0), eflags: m.cpu.getEflags() >>> 0 };
}

function recordState(t: { eip: Uint32Array; regs: Int32Array; flags: Uint32Array }, k: number): StateSnapshot {
  return { eip: t.eip[k] >>> 0, regs: Array.from(t.regs.subarray(k * 8, k * 8 + 8), (r) => r >>> 0), eflags: t.flags[k] >>> 0 };
}

function differences(s: StateSnapshot, q: StateSnapshot, eflagsMask: number): RegisterDifference[] {
  const out: RegisterDifference[] = [];
  if (s.eip !== q.eip) out.push({ name: "eip", ttd: s.eip, qemu: q.eip });
  for (let r = 0; r < 8; r++) {
    if (s.regs[r] !== q.regs[r]) out.push({ name: REG_NAMES[r], ttd: s.regs[r], qemu: q.regs[r] });
  }
  if (eflagsMask !== 0 && ((s.eflags ^ q.eflags) & eflagsMask) !== 0) {
    out.push({ name: "eflags", ttd: s.eflags, qemu: q.eflags });
  }
  return out;
}

/**
 * Sets the registers the loader leaves undefined to QEMU's values at the entry (the general
 * registers, and the status flags and DF when the machine can set EFLAGS); returns what changed.
 */
export function adoptLoaderState(m: LockstepMachine, regs: ArrayLike<number>, eflags: number): RegisterDifference[] {
  const adopted: RegisterDifference[] = [];
  const cpu = m.cpu;
  for (let r = 0; r < 8; r++) {
    if (cpu.regs[r] !== (regs[r] | 0)) {
      adopted.push({ name: REG_NAMES[r], ttd: cpu.regs[r] >>> 0, qemu: regs[r] >>> 0 });
      cpu.regs[r] = regs[r];
    }
  }
  const flags = cpu.getEflags() >>> 0;
  if (cpu.setEflags && ((flags ^ eflags) & LOADER_DEFINED_FLAGS) !== 0) {
    adopted.push({ name: "eflags", ttd: flags, qemu: eflags >>> 0 });
    cpu.setEflags(((flags & ~LOADER_DEFINED_FLAGS) | (eflags & LOADER_DEFINED_FLAGS)) >>> 0);
  }
  return adopted;
}

/**
 * Runs `m` against QEMU's records from the kernel entry, fed in batches as they arrive (feed()), so a
 * stream of any length is compared in bounded memory. `m` must be freshly loaded (about to execute
 * the entry instruction). The registers the loader leaves undefined (EBX's info pointer, ESP,
 * leftovers in ECX/EDX/EDI) are set to QEMU's values first, so the comparison tests the CPU and not
 * the two loaders' choices; they are listed in the result. EFLAGS are compared under `eflagsMask`
 * from the entry on, so a machine without `setEflags` must start with QEMU's flags in those bits.
 *
 * With `addresses`, QEMU also reports the address of every instruction it executes
 * (feedAddresses()), and each of ttd's instructions is checked against it, logged or not. The two
 * streams arrive independently: what cannot be compared yet waits in a queue.
 */
export class Lockstep {
  readonly result: LockstepResult = { compared: 0, instructions: 0, events: 0, addresses: 0, adopted: [], divergence: null };
  private readonly cpu: LockstepMachine["cpu"];
  private readonly limit: number;
  private readonly eflagsMask: number;
  private readonly progressInterval: number;
  private readonly maxUnlogged: number;
  private nextProgress: number;
  private consecutiveEvents = 0;
  private started = false;
  private readonly firstStep: number;
  /** EIPs of the last RECENT_RECORDS records (a ring indexed by record number). */
  private readonly recentEip = new Uint32Array(RECENT_RECORDS);
  /** The last agreed record's state: EIP, the 8 registers, EFLAGS. */
  private readonly previous = new Int32Array(10);
  /** ttd's unlogged instructions since the last record (a ring) and their number. */
  private readonly path = new Uint32Array(UNLOGGED_PATH);
  private pathCount = 0;
  /** Unlogged instructions run since the last record (for maxUnlogged). */
  private unlogged = 0;
  /** Records waiting for addresses: [head, tail) of growable arrays. */
  private qEip = new Uint32Array(0);
  private qRegs = new Int32Array(0);
  private qFlags = new Uint32Array(0);
  private qHead = 0;
  private qTail = 0;
  /** Instruction addresses not yet compared: [head, tail). */
  private aBuf = new Uint32Array(0);
  private aHead = 0;
  private aTail = 0;
  /** The address of the instruction ttd executed last (-1 before the first). */
  private lastAddress = -1;
  /** The record arrays being compared (a fed batch, or the queue). */
  private src: { eip: Uint32Array; regs: Int32Array; flags: Uint32Array; end: number } = { eip: new Uint32Array(0), regs: new Int32Array(0), flags: new Uint32Array(0), end: 0 };

  constructor(private readonly m: LockstepMachine, private readonly opts: LockstepOptions = {}) {
    this.cpu = m.cpu;
    this.limit = opts.limit ?? Infinity;
    this.eflagsMask = opts.eflagsMask ?? 0;
    this.progressInterval = opts.progressInterval ?? 100_000;
    this.maxUnlogged = opts.maxUnlogged ?? DEFAULT_MAX_UNLOGGED;
    this.nextProgress = this.progressInterval;
    this.firstStep = m.cpu.steps;
  }

  /** True once a divergence was found or `limit` records were compared: feed() takes no more. */
  get done(): boolean {
    return this.result.divergence !== null || this.result.compared >= this.limit;
  }

  /** Compares the next records of the stream (as far as the addresses allow); returns false once done. */
  feed(batch: QemuTrace): boolean {
    if (this.done || batch.count === 0) return !this.done;
    if (!this.started) {
      this.started = true;
      if (this.cpu.eip >>> 0 !== batch.eip[0]) {
        this.src = { eip: batch.eip, regs: batch.regs, flags: batch.eflags, end: batch.count };
        this.diverge("state", 0, snapshot(this.m), "ttd does not start at the kernel entry");
        return false;
      }
      this.result.adopted = adoptLoaderState(this.m, batch.regs.subarray(0, 8), batch.eflags[0]);
    }
    let from = 0;
    if (this.qHead === this.qTail) {
      // Nothing waits: compare straight from the batch, and queue only what is left.
      this.src = { eip: batch.eip, regs: batch.regs, flags: batch.eflags, end: batch.count };
      from = this.compare(0);
      if (this.done || from === batch.count) return !this.done;
    }
    this.enqueue(batch, from);
    this.pump();
    return !this.done;
  }

  /** The next addresses of the instructions QEMU executed (option `addresses`); false once done. */
  feedAddresses(addresses: Uint32Array): boolean {
    if (this.done) return false;
    const n = addresses.length;
    if (this.aHead === this.aTail) this.aHead = this.aTail = 0;
    if (this.aTail + n > this.aBuf.length) {
      // Move what is left to the front, in a larger array if it does not fit with the new ones.
      const live = this.aTail - this.aHead;
      if (live + n <= this.aBuf.length) {
        this.aBuf.copyWithin(0, this.aHead, this.aTail);
      } else {
        const grown = new Uint32Array(Math.max(2 * this.aBuf.length, live + n, 1 << 16));
        grown.set(this.aBuf.subarray(this.aHead, this.aTail));
        this.aBuf = grown;
      }
      this.aTail = live;
      this.aHead = 0;
    }
    this.aBuf.set(addresses, this.aTail);
    this.aTail += n;
    if (this.started) this.pump();
    return !this.done;
  }

  /** Compares queued records as far as possible. */
  private pump(): void {
    if (this.qHead === this.qTail || this.done) return;
    this.src = { eip: this.qEip, regs: this.qRegs, flags: this.qFlags, end: this.qTail };
    this.qHead = this.compare(this.qHead);
    if (this.qHead === this.qTail) this.qHead = this.qTail = 0;
  }

  private enqueue(batch: QemuTrace, from: number): void {
    const n = batch.count - from;
    if (this.qTail + n > this.qEip.length) {
      const live = this.qTail - this.qHead;
      const cap = Math.max(2 * this.qEip.length, live + n, 1024);
      const eip = new Uint32Array(cap);
      const regs = new Int32Array(cap * 8);
      const flags = new Uint32Array(cap);
      eip.set(this.qEip.subarray(this.qHead, this.qTail));
      regs.set(this.qRegs.subarray(this.qHead * 8, this.qTail * 8));
      flags.set(this.qFlags.subarray(this.qHead, this.qTail));
      this.qEip = eip;
      this.qRegs = regs;
      this.qFlags = flags;
      this.qTail = live;
      this.qHead = 0;
    }
    this.qEip.set(batch.eip.subarray(from, batch.count), this.qTail);
    this.qRegs.set(batch.regs.subarray(from * 8, batch.count * 8), this.qTail * 8);
    this.qFlags.set(batch.eflags.subarray(from, batch.count), this.qTail);
    this.qTail += n;
  }

  /**
   * Compares the records of `src` from index `k` on; returns the index of the first one not compared
   * (its end, unless done or waiting for addresses).
   */
  private compare(k: number): number {
    const res = this.result;
    const cpu = this.cpu;
    const regs = cpu.regs;
    const logged = this.opts.logged;
    const withAddresses = this.opts.addresses !== undefined;
    const eflagsMask = this.eflagsMask;
    const { eip: tEip, regs: tRegs, flags: tFlags, end } = this.src;
    while (k < end && !this.done) {
      const j = res.compared;
      // Instructions QEMU does not log are run without a comparison of registers.
      if (logged !== undefined) {
        while (!logged.has(cpu.eip)) {
          if (this.unlogged >= this.maxUnlogged) {
            this.diverge("stall", k, null, `ttd ran ${this.maxUnlogged} instructions without reaching one QEMU logs`);
            return k;
          }
          const address = withAddresses ? this.nextAddress() : NO_ADDRESSES;
          if (address === WAIT) return k;
          const eip = cpu.eip >>> 0;
          const kind = this.stepOnce(k, null);
          if (kind < 0) return k;
          if (kind !== StepKind.Interrupt && kind !== StepKind.Exception) {
            if (address !== NO_ADDRESSES && !this.tookAddress(k, eip, address)) return k;
            this.path[this.pathCount++ % UNLOGGED_PATH] = eip;
            this.unlogged++;
          }
        }
      }
      const address = withAddresses ? this.nextAddress() : NO_ADDRESSES;
      if (address === WAIT) return k;
      let differs = cpu.eip >>> 0 !== tEip[k];
      const base = k * 8;
      for (let r = 0; r < 8 && !differs; r++) differs = regs[r] !== tRegs[base + r];
      if (!differs && eflagsMask !== 0) differs = ((cpu.getEflags() ^ tFlags[k]) & eflagsMask) !== 0;
      const extra = !differs && this.opts.check !== undefined ? this.opts.check(j) : null;
      if (extra !== null) {
        this.diverge("state", k, snapshot(this.m), extra);
        return k;
      }
      // The state is kept only when it differs: if the step turns out to be an event delivery the
      // difference means nothing (QEMU has no record there), otherwise it is the divergence.
      const before = differs ? snapshot(this.m) : null;
      const stepsBefore = cpu.steps;
      const eip = cpu.eip >>> 0;
      const kind = this.stepOnce(k, before);
      if (kind < 0) return k;
      if (kind === StepKind.Interrupt || kind === StepKind.Exception) continue;
      if (before) {
        this.diverge("state", k, before, undefined, stepsBefore);
        return k;
      }
      if (address !== NO_ADDRESSES && !this.tookAddress(k, eip, address)) return k;
      const prev = this.previous;
      prev[0] = tEip[k];
      for (let r = 0; r < 8; r++) prev[1 + r] = tRegs[base + r];
      prev[9] = tFlags[k];
      this.recentEip[j % RECENT_RECORDS] = tEip[k];
      this.pathCount = 0;
      this.unlogged = 0;
      k++;
      res.compared = j + 1;
      res.instructions = cpu.steps - this.firstStep - res.events;
      if (res.compared >= this.nextProgress) {
        this.nextProgress += this.progressInterval;
        this.opts.onProgress?.(res.compared);
      }
    }
    return k;
  }

  /**
   * QEMU's next instruction address, or WAIT when it has not arrived. Under -icount QEMU runs a rep
   * string instruction once more after its last iteration has emptied ECX, to find the count at zero
   * and move on (the parser's rule for records): an address that repeats the instruction ttd has just
   * finished, when that was a rep string instruction and ECX is 0, is that re-entry and is passed over.
   */
  private nextAddress(): number {
    const isRep = this.opts.addresses!.isRepStringAt;
    for (;;) {
      if (this.aHead === this.aTail) return WAIT;
      const q = this.aBuf[this.aHead];
      if (q !== this.lastAddress || q === this.cpu.eip >>> 0 || this.cpu.regs[1] !== 0 || !isRep(q)) return q;
      this.aHead++;
    }
  }

  /**
   * ttd executed the instruction at `eip` (a step that was not an event delivery), where QEMU's next
   * address was `address`: taken when they agree, a divergence otherwise (false).
   */
  private tookAddress(k: number, eip: number, address: number): boolean {
    if (address !== eip) {
      this.diverge("state", k, snapshot(this.m), `QEMU executed the instruction at 0x${address.toString(16)} where ttd executed 0x${eip.toString(16)}`, this.cpu.steps - 1, false);
      this.result.divergence!.differences = [{ name: "eip", ttd: eip, qemu: address }];
      return false;
    }
    this.aHead++;
    this.lastAddress = eip;
    this.result.addresses++;
    return true;
  }

  /**
   * One step of ttd, with its failures turned into a divergence at record `k` (`before`: the state
   * already found different there, if any). Returns the step kind, or -1 after a divergence.
   */
  private stepOnce(k: number, before: StateSnapshot | null): number {
    const cpu = this.cpu;
    const stepsBefore = cpu.steps;
    let kind: number;
    try {
      kind = this.m.step();
    } catch (err) {
      this.diverge(before ? "state" : "host-error", k, before ?? snapshot(this.m),
        `ttd's step() threw: ${err instanceof Error ? err.stack ?? err.message : String(err)}`, stepsBefore);
      return -1;
    }
    if (cpu.steps !== stepsBefore + 1) {
      this.diverge("step-count", k, before ?? snapshot(this.m), `one step() moved the step counter from ${stepsBefore} to ${cpu.steps}`, stepsBefore, before !== null);
      return -1;
    }
    if (kind === StepKind.Interrupt || kind === StepKind.Exception) {
      this.result.events++;
      if (++this.consecutiveEvents > MAX_CONSECUTIVE_EVENTS) {
        this.diverge("stall", k, null, `ttd delivered ${this.consecutiveEvents} interrupts/exceptions in a row without executing an instruction`);
        return -1;
      }
    } else {
      this.consecutiveEvents = 0;
    }
    return kind;
  }

  private diverge(kind: DivergenceKind, k: number, state: StateSnapshot | null, message?: string, step = this.cpu.steps, compare = true): void {
    const res = this.result;
    const j = res.compared;
    const ttd = state ?? snapshot(this.m);
    const src = this.src;
    const qemu = k < src.end ? recordState(src, k) : null;
    const first = Math.max(0, j - RECENT_RECORDS);
    const recent: { record: number; eip: number }[] = [];
    for (let i = first; i < j; i++) recent.push({ record: i, eip: this.recentEip[i % RECENT_RECORDS] });
    const p = this.previous;
    const d: Divergence = {
      kind,
      record: j,
      step,
      differences: qemu && compare ? differences(ttd, qemu, this.eflagsMask) : [],
      ttd,
      qemu,
      previous: j > 0 ? { record: j - 1, eip: p[0] >>> 0, regs: Array.from(p.subarray(1, 9), (r) => r >>> 0), eflags: p[9] >>> 0 } : null,
      recent,
      ...(message !== undefined ? { message } : {}),
    };
    if (this.opts.logged !== undefined) {
      const n = this.pathCount;
      const eips: number[] = [];
      for (let i = Math.max(0, n - UNLOGGED_PATH); i < n; i++) eips.push(this.path[i % UNLOGGED_PATH]);
      d.unlogged = { eips, count: n };
    }
    res.divergence = d;
  }
}

/** Compares `m` against a whole QEMU trace (see Lockstep). */
export function runLockstep(m: LockstepMachine, trace: QemuTrace, opts: LockstepOptions = {}): LockstepResult {
  const l = new Lockstep(m, { ...opts, limit: Math.min(opts.limit ?? trace.count, trace.count) });
  l.feed(trace);
  return l.result;
}

const h8 = (v: number): string => `0x${(v >>> 0).toString(16).padStart(8, "0")}`;

/**
 * A readable report of a divergence: what differs, the instructions before it with their
 * disassembly (when `code` can read them), and both register sets.
 */
export function formatDivergence(d: Divergence, code: CodeView | null, context = 8): string {
  const lines: string[] = [];
  const sparse = d.unlogged !== undefined;
  const where = `${sparse ? "logged instruction" : "instruction"} #${d.record} after the kernel entry (ttd step ${d.step})`;
  switch (d.kind) {
    case "state":
      lines.push(`ttd diverges from QEMU before ${where}`);
      break;
    case "host-error":
      lines.push(`ttd failed with a host exception at ${where}`);
      break;
    case "stall":
      lines.push(`ttd stalls at ${where}`);
      break;
    case "step-count":
      lines.push(`ttd's step() did not take exactly one step at ${where}`);
      break;
  }
  if (d.message) lines.push(`  ${d.message}`);
  for (const diff of d.differences) {
    lines.push(`  ${diff.name}: ttd ${h8(diff.ttd)}  qemu ${h8(diff.qemu)}`);
  }
  const describe = (addr: number): string => {
    if (!code) return "";
    const sym = code.symbolize(addr);
    return `${sym ? `<${sym}>` : ""}`.padEnd(22) + code.disassemble(addr).padEnd(34);
  };
  const line = (label: string, eip: number, mark: string): string => `  ${label.padEnd(10)} ${h8(eip)}  ${describe(eip)}${mark}`.trimEnd();
  lines.push("", `${sparse ? "logged instructions" : "instructions"} up to it (ttd and QEMU agree on all but the last line):`);
  const unlogged = d.unlogged !== undefined && d.unlogged.count > 0 ? d.unlogged : null;
  const recent = d.recent.slice(Math.max(0, d.recent.length - context));
  recent.forEach((r, i) => lines.push(line(`#${r.record}`, r.eip, i === recent.length - 1 && !unlogged ? "<- executed last" : "")));
  if (unlogged) {
    const skipped = unlogged.count - unlogged.eips.length;
    lines.push(`  then ${unlogged.count} instructions QEMU does not log${skipped > 0 ? ` (the last ${unlogged.eips.length} shown)` : ""}:`);
    unlogged.eips.forEach((eip, i) => lines.push(line("", eip, i === unlogged.eips.length - 1 ? "<- executed last" : "")));
  }
  if (d.qemu) lines.push(line(`#${d.record}`, d.qemu.eip, "<- state differs before this one"));
  if (d.qemu) {
    const p = d.previous;
    const col = (text: string): string => text.padEnd(18);
    lines.push("", `  ${"".padEnd(8)}${col(p ? `before #${p.record}` : "")}${col(`qemu #${d.record}`)}${col(`ttd #${d.record}`)}`.trimEnd());
    const row = (name: string, pv: number | null, q: number, t: number): string =>
      `  ${name.padEnd(8)}${col(pv === null ? "" : h8(pv))}${col(h8(q))}${col(h8(t))}${(q >>> 0) !== (t >>> 0) ? "<- differs" : ""}`.trimEnd();
    lines.push(row("eip", p ? p.eip : null, d.qemu.eip, d.ttd.eip));
    for (let r = 0; r < 8; r++) lines.push(row(REG_NAMES[r], p ? p.regs[r] : null, d.qemu.regs[r], d.ttd.regs[r]));
    lines.push(row("eflags", p ? p.eflags : null, d.qemu.eflags, d.ttd.eflags));
  }
  return lines.join("\n");
}

/** One line describing the registers adopted from QEMU at the entry. */
export function formatAdopted(adopted: RegisterDifference[]): string {
  if (adopted.length === 0) return "loader state at the entry matches QEMU's";
  return "adopted QEMU's loader-defined registers at the entry: " +
    adopted.map((a) => `${a.name} (ttd ${h8(a.ttd)}, qemu ${h8(a.qemu)})`).join(", ");
}

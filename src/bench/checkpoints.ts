/**
 * Which instructions QEMU logs in a long lockstep comparison. QEMU 7.2 writes its per-instruction
 * register dump (`-singlestep -d exec,cpu`) at about 130,000 records per second of CPU, ~900 bytes
 * each: the 100 million instructions of a kernel's first second would take a quarter of an hour and
 * 90 GB of text. Logged at a chosen set of instruction addresses instead (`-dfilter`), every execution
 * of those addresses is still a record, in the same order on both sides, so ttd's state is compared
 * wherever it reaches one of them and its other instructions run in between.
 *
 * The set comes from ttd's own run over the same instructions: every address it executed is counted,
 * and the least executed ones are taken until the records they make reach a budget. So all code that
 * runs rarely (set-up, the firmware scan, the start and end of every loop) is compared instruction by
 * instruction, and only the hottest inner loops run between comparisons; their results are checked
 * where they next reach a logged address. If ttd's path were wrong, QEMU's log would show a logged
 * address ttd does not reach, or reach it with other registers: a divergence either way.
 */
import { StepKind } from "../cpu/observer.js";
import { CodeRanges, type AddressRange } from "./code-ranges.js";
import type { LockstepMachine } from "./lockstep-core.js";

/** How often each instruction address ran. */
export interface CodeProfile {
  /** Address -> executions. */
  counts: Map<number, number>;
  /** Instructions counted. */
  instructions: number;
}

/**
 * Steps `m` through `instructions` instructions, counting each address (interrupt and exception
 * deliveries are not instructions and are not counted). `onNewAddress` is called with each address
 * the first time it is executed (after the step: the code is still in memory as it ran).
 */
export function profileCode(m: LockstepMachine, instructions: number, onNewAddress?: (addr: number) => void): CodeProfile {
  const counter = new AddressCounter();
  const cpu = m.cpu;
  let n = 0;
  while (n < instructions) {
    const eip = cpu.eip;
    const kind = m.step();
    if (kind === StepKind.Interrupt || kind === StepKind.Exception) continue;
    if (counter.add(eip) && onNewAddress) onNewAddress(eip >>> 0);
    n++;
  }
  return { counts: counter.toMap(), instructions: n };
}

export interface CheckpointPlan {
  /** The addresses QEMU logs and ttd compares at. */
  logged: CodeRanges;
  /** Records they make over the profiled instructions. */
  records: number;
  /** Distinct addresses logged, and executed at all. */
  loggedAddresses: number;
  executedAddresses: number;
  /** Executions of the most executed logged address (every address run at most this often is logged). */
  hottestLogged: number;
}

/**
 * Picks the least executed addresses of `profile` until their records would pass `budget`; `always`
 * (the entry) is logged whatever its count. The ranges handed to QEMU cover runs of picked addresses
 * that no executed address left out interrupts, so there are few of them (QEMU tests each block's pc
 * against every range).
 */
export function chooseCheckpoints(profile: CodeProfile, budget: number, always: readonly number[] = []): CheckpointPlan {
  const byCount = [...profile.counts].sort((a, b) => a[1] - b[1] || a[0] - b[0]);
  const picked = new Set<number>();
  let records = 0;
  for (const a of always) {
    const c = profile.counts.get(a >>> 0);
    if (c !== undefined && !picked.has(a >>> 0)) {
      picked.add(a >>> 0);
      records += c;
    }
  }
  let hottest = 0;
  for (const [addr, count] of byCount) {
    if (picked.has(addr)) continue;
    if (records + count > budget) break;
    picked.add(addr);
    records += count;
    hottest = count;
  }
  const executed = [...profile.counts.keys()].sort((a, b) => a - b);
  const ranges: AddressRange[] = [];
  let start = -1;
  let last = -1;
  for (const addr of executed) {
    if (picked.has(addr)) {
      if (start < 0) start = addr;
      last = addr;
    } else if (start >= 0) {
      ranges.push([start, last + 1]);
      start = -1;
    }
  }
  if (start >= 0) ranges.push([start, last + 1]);
  return { logged: new CodeRanges(ranges), records, loggedAddresses: picked.size, executedAddresses: executed.length, hottestLogged: hottest };
}

/**
 * Steps `m` until it is about to execute a logged instruction (at most `max` steps); returns the
 * instructions executed, or -1 when it did not get there.
 */
export function runToLogged(m: LockstepMachine, logged: CodeRanges, max: number): number {
  let n = 0;
  for (let steps = 0; !logged.has(m.cpu.eip); steps++) {
    if (steps >= max) return -1;
    const kind = m.step();
    if (kind !== StepKind.Interrupt && kind !== StepKind.Exception) n++;
  }
  return n;
}

/** Counts per 32-bit address in an open-addressing table: no allocation per step. */
class AddressCounter {
  private bits = 14;
  private keys = new Int32Array(1 << this.bits);
  private values = new Float64Array(1 << this.bits);
  private used = new Uint8Array(1 << this.bits);
  private size = 0;

  /** Adds `by` to the count of `addr`; true when the address is new. */
  add(addr: number, by = 1): boolean {
    const mask = this.keys.length - 1;
    let i = Math.imul(addr, 0x9e3779b1) >>> (32 - this.bits);
    while (this.used[i] !== 0 && this.keys[i] !== (addr | 0)) i = (i + 1) & mask;
    if (this.used[i] !== 0) {
      this.values[i] += by;
      return false;
    }
    this.used[i] = 1;
    this.keys[i] = addr;
    this.values[i] = by;
    if (++this.size * 2 > this.keys.length) this.grow();
    return true;
  }

  toMap(): Map<number, number> {
    const out = new Map<number, number>();
    for (let i = 0; i < this.keys.length; i++) if (this.used[i] !== 0) out.set(this.keys[i] >>> 0, this.values[i]);
    return out;
  }

  private grow(): void {
    const { keys, values, used } = this;
    this.bits++;
    this.keys = new Int32Array(1 << this.bits);
    this.values = new Float64Array(1 << this.bits);
    this.used = new Uint8Array(1 << this.bits);
    this.size = 0;
    for (let i = 0; i < keys.length; i++) if (used[i] !== 0) this.add(keys[i], values[i]);
  }
}

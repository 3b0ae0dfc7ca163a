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
 */
import { StepKind } from "../cpu/observer.js";
import type { ImageCode } from "./disasm.js";
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
  /** Index of the QEMU record: instructions executed since the kernel entry. */
  record: number;
  /** ttd's step counter before that instruction. */
  step: number;
  differences: RegisterDifference[];
  /** ttd's state before the instruction. */
  ttd: StateSnapshot;
  message?: string;
}

export interface LockstepResult {
  /** Records that matched. */
  compared: number;
  /** Interrupt and exception deliveries ttd made (steps without a QEMU record). */
  events: number;
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

function snapshot(m: LockstepMachine): StateSnapshot {
  return { eip: m.cpu.eip >>> 0, regs: Array.from(m.cpu.regs, (r) => r >>> 0), eflags: m.cpu.getEflags() >>> 0 };
}

function differences(s: StateSnapshot, t: QemuTrace, j: number, eflagsMask: number): RegisterDifference[] {
  const out: RegisterDifference[] = [];
  if (s.eip !== t.eip[j]) out.push({ name: "eip", ttd: s.eip, qemu: t.eip[j] });
  for (let r = 0; r < 8; r++) {
    const q = t.regs[j * 8 + r] >>> 0;
    if (s.regs[r] !== q) out.push({ name: REG_NAMES[r], ttd: s.regs[r], qemu: q });
  }
  if (eflagsMask !== 0 && ((s.eflags ^ t.eflags[j]) & eflagsMask) !== 0) {
    out.push({ name: "eflags", ttd: s.eflags, qemu: t.eflags[j] });
  }
  return out;
}

/**
 * Runs `m` against `trace` from the kernel entry. `m` must be freshly loaded (about to execute the
 * entry instruction). The registers the multiboot loader leaves undefined (EBX's info pointer, ESP,
 * leftovers in ECX/EDX/EDI) are set to QEMU's values first, so the comparison tests the CPU and not
 * the two loaders' choices; they are listed in the result. EFLAGS are compared under
 * `eflagsMask` from the entry on, so a machine without `setEflags` must start with QEMU's flags
 * in those bits.
 */
export function runLockstep(m: LockstepMachine, trace: QemuTrace, opts: LockstepOptions = {}): LockstepResult {
  const limit = Math.min(opts.limit ?? trace.count, trace.count);
  const eflagsMask = opts.eflagsMask ?? 0;
  const progressInterval = opts.progressInterval ?? 100_000;
  const cpu = m.cpu;
  const regs = cpu.regs;
  const tEip = trace.eip;
  const tRegs = trace.regs;
  const tFlags = trace.eflags;
  const result: LockstepResult = { compared: 0, events: 0, adopted: [], divergence: null };
  if (limit === 0) return result;

  if (cpu.eip >>> 0 !== tEip[0]) {
    const s = snapshot(m);
    result.divergence = { kind: "state", record: 0, step: cpu.steps, differences: differences(s, trace, 0, 0), ttd: s, message: "ttd does not start at the kernel entry" };
    return result;
  }
  for (let r = 0; r < 8; r++) {
    if (regs[r] !== tRegs[r]) {
      result.adopted.push({ name: REG_NAMES[r], ttd: regs[r] >>> 0, qemu: tRegs[r] >>> 0 });
      regs[r] = tRegs[r];
    }
  }
  const flags = cpu.getEflags() >>> 0;
  if (cpu.setEflags && ((flags ^ tFlags[0]) & LOADER_DEFINED_FLAGS) !== 0) {
    const adopted = ((flags & ~LOADER_DEFINED_FLAGS) | (tFlags[0] & LOADER_DEFINED_FLAGS)) >>> 0;
    result.adopted.push({ name: "eflags", ttd: flags, qemu: tFlags[0] });
    cpu.setEflags(adopted);
  }

  let j = 0;
  let consecutiveEvents = 0;
  let nextProgress = progressInterval;
  while (j < limit) {
    const base = j * 8;
    let differs = cpu.eip >>> 0 !== tEip[j];
    for (let r = 0; r < 8 && !differs; r++) differs = regs[r] !== tRegs[base + r];
    if (!differs && eflagsMask !== 0) differs = ((cpu.getEflags() ^ tFlags[j]) & eflagsMask) !== 0;
    const extra = !differs && opts.check !== undefined ? opts.check(j) : null;
    if (extra !== null) {
      const s = snapshot(m);
      result.divergence = { kind: "state", record: j, step: cpu.steps, differences: [], ttd: s, message: extra };
      return result;
    }
    // The state is kept only when it differs: if the step turns out to be an event delivery the
    // difference means nothing (QEMU has no record there), otherwise it is the divergence.
    const before = differs ? snapshot(m) : null;
    const stepsBefore = cpu.steps;
    let kind: number;
    try {
      kind = m.step();
    } catch (err) {
      const s = before ?? snapshot(m);
      result.divergence = {
        kind: before ? "state" : "host-error",
        record: j,
        step: stepsBefore,
        differences: differences(s, trace, j, eflagsMask),
        ttd: s,
        message: `ttd's step() threw: ${err instanceof Error ? err.stack ?? err.message : String(err)}`,
      };
      return result;
    }
    if (cpu.steps !== stepsBefore + 1) {
      const s = before ?? snapshot(m);
      result.divergence = {
        kind: "step-count", record: j, step: stepsBefore, differences: before ? differences(s, trace, j, eflagsMask) : [], ttd: s,
        message: `one step() moved the step counter from ${stepsBefore} to ${cpu.steps}`,
      };
      return result;
    }
    if (kind === StepKind.Interrupt || kind === StepKind.Exception) {
      result.events++;
      if (++consecutiveEvents > MAX_CONSECUTIVE_EVENTS) {
        const s = snapshot(m);
        result.divergence = {
          kind: "stall", record: j, step: cpu.steps, differences: differences(s, trace, j, eflagsMask), ttd: s,
          message: `ttd delivered ${consecutiveEvents} interrupts/exceptions in a row without executing an instruction`,
        };
        return result;
      }
      continue;
    }
    consecutiveEvents = 0;
    if (before) {
      result.divergence = { kind: "state", record: j, step: stepsBefore, differences: differences(before, trace, j, eflagsMask), ttd: before };
      return result;
    }
    j++;
    result.compared = j;
    if (j >= nextProgress) {
      nextProgress += progressInterval;
      opts.onProgress?.(j);
    }
  }
  return result;
}

const h8 = (v: number): string => `0x${(v >>> 0).toString(16).padStart(8, "0")}`;

/**
 * A readable report of a divergence: what differs, the instructions before it with their
 * disassembly, and both register sets.
 */
export function formatDivergence(d: Divergence, trace: QemuTrace, code: ImageCode | null, context = 8): string {
  const lines: string[] = [];
  const where = `instruction #${d.record} after the kernel entry (ttd step ${d.step})`;
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
  lines.push("", "instructions up to it (ttd and QEMU agree on all but the last line):");
  const first = Math.max(0, d.record - context);
  for (let j = first; j <= d.record && j < trace.count; j++) {
    const mark = j === d.record ? "<- state differs before this one" : j === d.record - 1 ? "<- executed last" : "";
    lines.push(`  #${String(j).padEnd(9)} ${h8(trace.eip[j])}  ${describe(trace.eip[j])}${mark}`.trimEnd());
  }
  if (d.record < trace.count) {
    const prev = d.record > 0 ? d.record - 1 : -1;
    const col = (text: string): string => text.padEnd(18);
    lines.push("", `  ${"".padEnd(8)}${col(prev >= 0 ? `before #${prev}` : "")}${col(`qemu #${d.record}`)}${col(`ttd #${d.record}`)}`.trimEnd());
    const row = (name: string, p: number | null, q: number, t: number): string =>
      `  ${name.padEnd(8)}${col(p === null ? "" : h8(p))}${col(h8(q))}${col(h8(t))}${(q >>> 0) !== (t >>> 0) ? "<- differs" : ""}`.trimEnd();
    lines.push(row("eip", prev >= 0 ? trace.eip[prev] : null, trace.eip[d.record], d.ttd.eip));
    for (let r = 0; r < 8; r++) {
      lines.push(row(REG_NAMES[r], prev >= 0 ? trace.regs[prev * 8 + r] : null, trace.regs[d.record * 8 + r], d.ttd.regs[r]));
    }
    lines.push(row("eflags", prev >= 0 ? trace.eflags[prev] : null, trace.eflags[d.record], d.ttd.eflags));
  }
  return lines.join("\n");
}

/** One line describing the registers adopted from QEMU at the entry. */
export function formatAdopted(adopted: RegisterDifference[]): string {
  if (adopted.length === 0) return "loader state at the entry matches QEMU's";
  return "adopted QEMU's loader-defined registers at the entry: " +
    adopted.map((a) => `${a.name} (ttd ${h8(a.ttd)}, qemu ${h8(a.qemu)})`).join(", ");
}

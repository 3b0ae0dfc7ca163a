/**
 * A window of consecutive steps replayed once and kept: the registers before every step and each
 * step's kind and code bytes. Backward questions near one point (which step last changed ESP, and the
 * one before that...) are then answered from memory instead of replaying per question. The window
 * grows backwards on demand.
 */
import type { Trace, StepRecord, Registers } from "../trace/trace.js";

/** GPR names in encoding order, as used by dependency analysis. */
export const GPR_NAMES = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"] as const;
export type GprName = (typeof GPR_NAMES)[number];

export interface RegisterChangeAt {
  /** The step whose execution changed the register. */
  step: number;
  before: number;
  after: number;
  record: StepRecord;
}

const FIRST_WINDOW = 64;

export class StepWindow {
  /** First step covered. */
  private start: number;
  /** records[i] describes step start + i; regsAfter is the state after the last one. */
  private records: StepRecord[] = [];
  private regsAfter: Registers | null = null;

  constructor(private readonly trace: Trace, private readonly end: number) {
    this.start = end;
  }

  /** Ensures steps [step, end) are loaded. Returns false if `step` lies before the trace. */
  private cover(step: number): boolean {
    const first = this.trace.startStep;
    if (step < first) return false;
    if (step >= this.start) return true;
    const want = Math.max(first, Math.min(step, this.start - Math.max(FIRST_WINDOW, this.end - this.start)));
    const fresh: StepRecord[] = [];
    const cursor = this.trace.cursor(want);
    while (cursor.step < this.start) {
      const rec = cursor.next();
      if (rec === null) break;
      fresh.push(rec);
    }
    if (this.regsAfter === null) this.regsAfter = this.trace.stateAt(this.end).regs;
    this.records = fresh.concat(this.records);
    this.start = want;
    return true;
  }

  /** The step record of `step` (registers before it, kind, code bytes). */
  record(step: number): StepRecord | null {
    if (step >= this.end || !this.cover(step)) return null;
    return this.records[step - this.start] ?? null;
  }

  /** Registers before `step` (for step == end: the state at the end). */
  regsBefore(step: number): Registers | null {
    if (step === this.end) {
      if (!this.cover(step - 1) && this.regsAfter === null) this.regsAfter = this.trace.stateAt(this.end).regs;
      return this.regsAfter ?? this.trace.stateAt(this.end).regs;
    }
    return this.record(step)?.regs ?? null;
  }

  /** The last step before `before` that changed register `name`, or null if none did since the trace began. */
  lastChange(name: keyof Registers, before: number): RegisterChangeAt | null {
    let s = before - 1;
    let after = this.regsBefore(before)?.[name];
    if (after === undefined) return null;
    for (;;) {
      if (s < this.trace.startStep) return null;
      if (!this.cover(s)) return null;
      for (; s >= this.start; s--) {
        const rec = this.records[s - this.start];
        const v = rec.regs[name];
        if (v !== after) return { step: s, before: v, after, record: rec };
        after = v;
      }
    }
  }
}

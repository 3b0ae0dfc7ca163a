/**
 * Checkpoints: machine states a replay takes in memory while it re-executes, so that a later seek
 * backwards restores the nearest one instead of the keyframe stored in the trace, which may be a
 * keyframe interval (262,144 steps by default) back. Queries go back and forth over a few hundred
 * steps (a write, the step that moved the register its address came from, the one before that...);
 * without checkpoints each move back re-executes from the keyframe again.
 *
 * A checkpoint is what a keyframe is (device and CPU state, RAM, disk overlays), held in this process
 * only: RAM as the keyframe's image plus copies of the pages dirtied since it. Pages unchanged since
 * the previous checkpoint of the same re-execution share its copy. The set is bounded by the bytes it
 * copied; the least recently used checkpoints go first.
 *
 * Where: at multiples of CHECKPOINT_STEPS, once re-execution since the last keyframe or checkpoint
 * has taken CHECKPOINT_REPLAY_MS. What a checkpoint saves is re-execution time, and that varies a
 * hundredfold: code run for the first time is interpreted (the demo's first replay, about a
 * microsecond a step), hot code compiled (a long compute guest, a hundred times faster). Spaced by
 * time, checkpoints are dense where going back is slow and cost little where it is fast (a checkpoint
 * takes a few tenths of a millisecond).
 */

/** Checkpoints are taken only at multiples of this many steps (where re-execution splits its runs). */
export const CHECKPOINT_STEPS = 4096;

/** Re-execution time since the last keyframe or checkpoint after which the next grid point gets one. */
export const CHECKPOINT_REPLAY_MS = 4;

/** Bytes of page and sector copies the checkpoints of one replay may hold. */
const CHECKPOINT_BUDGET_BYTES = 64 * 1024 * 1024;

export interface Checkpoint {
  /** The step the machine was at (after this many steps). */
  readonly step: number;
  /** The keyframe whose RAM image `pages` overlay. */
  readonly keyframe: number;
  /** The machine state as JSON text (parsed afresh on every restore: devices keep arrays they load). */
  readonly state: string;
  /** Contents at `step` of every page dirtied since `keyframe`. */
  readonly pages: ReadonlyMap<number, Uint8Array>;
  /** Each disk's overlay (sector -> bytes) at `step`, by drive; null for a machine without disks. */
  readonly disks: ReadonlyMap<number, Uint8Array>[] | null;
  /** Bytes this checkpoint copied itself (pages shared with an earlier checkpoint are not counted). */
  readonly ownBytes: number;
}

export class CheckpointSet {
  /** Steps of the checkpoints held, ascending. */
  private steps: number[] = [];
  /** By step, least recently used first. */
  private readonly byStep = new Map<number, Checkpoint>();
  private bytes = 0;

  constructor(private readonly budgetBytes = CHECKPOINT_BUDGET_BYTES) {}

  get size(): number {
    return this.byStep.size;
  }

  has(step: number): boolean {
    return this.byStep.has(step);
  }

  /** The latest checkpoint at or before `step` (marked as just used), or null. */
  atOrBefore(step: number): Checkpoint | null {
    const s = this.steps;
    let lo = 0, hi = s.length - 1, found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (s[mid] <= step) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (found < 0) return null;
    const cp = this.byStep.get(s[found])!;
    this.byStep.delete(cp.step);
    this.byStep.set(cp.step, cp);
    return cp;
  }

  add(cp: Checkpoint): void {
    if (this.byStep.has(cp.step)) return;
    this.byStep.set(cp.step, cp);
    let i = this.steps.length;
    while (i > 0 && this.steps[i - 1] > cp.step) i--;
    this.steps.splice(i, 0, cp.step);
    this.bytes += cp.ownBytes;
    while (this.bytes > this.budgetBytes && this.byStep.size > 1) {
      const oldest = this.byStep.values().next().value!;
      this.byStep.delete(oldest.step);
      this.steps.splice(this.steps.indexOf(oldest.step), 1);
      this.bytes -= oldest.ownBytes;
    }
  }
}

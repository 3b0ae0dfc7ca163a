/**
 * The input feed of a replay: the inputs a recording stored, each delivered at the step it entered
 * (the first run-loop boundary at that step, before the step executes, exactly where the recording's
 * feed delivered it). After a keyframe is restored the feed is moved to that step: inputs at the
 * keyframe's own step come after it (a keyframe holds the state before them).
 */
import type { Machine } from "../machine/machine.js";
import type { InputFeed } from "../machine/input-feed.js";
import type { StoredInput } from "./store.js";

export class RecordedInputs implements InputFeed {
  nextStep = Infinity;
  private next = 0;

  constructor(private readonly inputs: readonly StoredInput[]) {
    this.seek(0);
  }

  /** Positions the feed for a machine at `step`: every input at `step` or later is still to come. */
  seek(step: number): void {
    let lo = 0, hi = this.inputs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.inputs[mid].step < step) lo = mid + 1;
      else hi = mid;
    }
    this.next = lo;
    this.nextStep = lo < this.inputs.length ? this.inputs[lo].step : Infinity;
  }

  poll(machine: Machine): void {
    const steps = machine.cpu.steps;
    const list = this.inputs;
    let i = this.next;
    while (i < list.length && list[i].step <= steps) {
      machine.deliverInput(list[i].device, list[i].data);
      i++;
    }
    this.next = i;
    this.nextStep = i < list.length ? list[i].step : Infinity;
  }
}

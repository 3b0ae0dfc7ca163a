/**
 * Input from outside the machine (typed keys, piped bytes, a replayed recording's inputs) enters only
 * through an InputFeed, at step boundaries the run loop already stops at. The machine asks the feed
 * at the first boundary at or after `nextStep` (and whenever the CPU is halted, so a guest waiting in
 * `hlt` can be woken); the feed then calls `machine.deliverInput`. With no feed, or a feed with
 * nothing pending (`nextStep` Infinity), the run loop costs nothing more than before.
 *
 * A recording stores every delivery with its step (`Machine.onInput`), and a replay feeds them back at
 * the same steps, so a run with input re-executes exactly.
 */
import type { Machine } from "./machine.js";

/** Where an input goes. The numbers are stored in traces (table `input`, column `device`). */
export const enum InputDevice {
  /** A byte on COM1's receive line. */
  Com1 = 0,
  /** The bytes of one key event (scan codes) from the PS/2 keyboard behind the 8042. */
  Keyboard = 1,
}

export const INPUT_DEVICE_NAMES: Record<number, string> = { [InputDevice.Com1]: "com1", [InputDevice.Keyboard]: "keyboard" };

export interface InputFeed {
  /** The first step at which the feed wants to be asked again; Infinity when nothing is pending. */
  readonly nextStep: number;
  /**
   * Called at a step boundary, when `machine.cpu.steps >= nextStep` or the CPU is halted. Delivers
   * what is due through `machine.deliverInput`, and may ask the run to return with
   * `machine.requestInputWait()` (a live source that has nothing yet while the guest waits for it).
   */
  poll(machine: Machine): void;
}

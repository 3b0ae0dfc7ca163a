/**
 * Input from outside a running machine (a file, a pipe, a terminal) handed to the guest as it becomes
 * ready for it. The rule is a function of guest state and steps only, so the same bytes given to the
 * same guest enter at the same steps however fast the host produces them:
 *
 *  - the feed looks every `delay` steps while it holds bytes (the run loop stops there, nothing is
 *    checked in between);
 *  - a byte enters when the device has been ready at two looks in a row (COM1: its receiver empty
 *    and the guest listening, see Uart.readyToReceive; keyboard: the 8042's buffer empty and the
 *    keyboard scanning), so a guest that is still setting the device up does not lose it;
 *  - a halted CPU is waiting: a byte enters at once when the device is ready;
 *  - a pipe that has not delivered (and not ended) while the guest is ready makes the run return
 *    "input-wait": the caller waits for the pipe and runs on from the same step. A terminal never
 *    blocks the guest; its keys enter when typed (their steps are recorded like any other input).
 *
 * Keyboard input turns each byte into the scan codes of typing it (scancodes.ts); bytes no key types
 * are dropped. COM1 input is delivered byte for byte, whatever the bytes are.
 */
import type { Machine } from "../machine/machine.js";
import { InputDevice, type InputFeed } from "../machine/input-feed.js";
import { IF } from "../cpu/constants.js";
import { keyEventFor } from "./scancodes.js";

/** Steps between looks (and so at least half the steps between two bytes) unless --input-delay says otherwise. */
export const DEFAULT_INPUT_DELAY = 1000;

export interface LiveFeedOptions {
  device: InputDevice;
  /** Steps between looks. */
  delay: number;
  /** True for a pipe or file: the guest waits for bytes not read yet. False for a terminal. */
  waitsForSource: boolean;
}

export class LiveInputFeed implements InputFeed {
  nextStep = Infinity;
  /** Bytes not yet delivered: `queue[head..]`. */
  private queue: number[] = [];
  private head = 0;
  private ended = false;
  private readyAtLastLook = false;
  /** Bytes delivered (or dropped as untypable, for the keyboard). */
  delivered = 0;

  constructor(private readonly options: LiveFeedOptions) {
    // A pipe is looked at from the first step on: its bytes have to enter at steps of the guest's choosing.
    if (options.waitsForSource) this.nextStep = 0;
  }

  get device(): InputDevice {
    return this.options.device;
  }

  /** Bytes waiting to be delivered. */
  get pending(): number {
    return this.queue.length - this.head;
  }

  /** Whether more bytes may come (the source has not ended). */
  get open(): boolean {
    return !this.ended;
  }

  /** Adds bytes read from the source. */
  push(bytes: Uint8Array): void {
    for (const b of bytes) this.queue.push(b);
    // Looked at from the next boundary (the run loop calls poll as soon as nextStep is reached).
    if (this.nextStep === Infinity && bytes.length > 0) this.nextStep = 0;
  }

  /** The source has ended: no more bytes will come. */
  end(): void {
    this.ended = true;
  }

  poll(machine: Machine): void {
    const cpu = machine.cpu;
    const steps = cpu.steps;
    const ready = machine.readyForInput(this.options.device);
    if (this.pending === 0) {
      if (this.ended) {
        this.nextStep = Infinity;
        return;
      }
      if (this.options.waitsForSource) {
        this.nextStep = steps + this.options.delay;
        if (ready && (this.readyAtLastLook || cpu.halted)) machine.requestInputWait();
        else this.readyAtLastLook = ready;
      } else {
        // A terminal: nothing to do until a key comes; a guest halted until an interrupt lets the
        // host wait for a key (or for wall time to catch up with virtual time).
        this.nextStep = Infinity;
        if (cpu.halted && (cpu.flags & IF) !== 0) machine.requestInputWait();
      }
      return;
    }
    this.nextStep = steps + this.options.delay;
    if (ready && (this.readyAtLastLook || cpu.halted)) {
      this.deliverOne(machine);
      this.readyAtLastLook = false;
    } else {
      this.readyAtLastLook = ready;
    }
  }

  private deliverOne(machine: Machine): void {
    const byte = this.queue[this.head++];
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.delivered++;
    if (this.options.device === InputDevice.Com1) {
      machine.deliverInput(InputDevice.Com1, Uint8Array.of(byte));
    } else {
      const key = keyEventFor(byte);
      if (key !== null) machine.deliverInput(InputDevice.Keyboard, key);
    }
  }
}

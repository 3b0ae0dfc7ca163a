/**
 * The text of a keyframe's machine state: exactly `JSON.stringify(machine.saveState())`, built from the
 * text of each device's state, reused while that state is the value it was at the previous keyframe.
 * Most devices change rarely (the VGA registers, PCI configuration, the disks' registers), and turning
 * their numbers into text was most of the cost of a keyframe: on probe-r300, 3,842 keyframes spent
 * 0.4 s in JSON.stringify on a busy host. Comparing values costs a fraction of writing them.
 */
import type { MachineState } from "../machine/machine.js";

export class StateText {
  /** Per device: the value its text was made from, and the text. */
  private readonly devices = new Map<string, { value: unknown; text: string }>();

  /** JSON.stringify(state), byte for byte. */
  text(state: MachineState): string {
    let out = "{";
    for (const [key, value] of Object.entries(state)) {
      if (value === undefined) continue;
      if (out.length > 1) out += ",";
      out += `${JSON.stringify(key)}:${key === "devices" ? this.devicesText(value as Record<string, unknown>) : JSON.stringify(value)}`;
    }
    return `${out}}`;
  }

  private devicesText(devices: Record<string, unknown>): string {
    let out = "{";
    for (const [name, value] of Object.entries(devices)) {
      if (value === undefined) continue;
      let entry = this.devices.get(name);
      if (entry === undefined || !sameJsonValue(entry.value, value)) {
        entry = { value, text: JSON.stringify(value) };
        this.devices.set(name, entry);
      }
      if (out.length > 1) out += ",";
      out += `${JSON.stringify(name)}:${entry.text}`;
    }
    return `${out}}`;
  }
}

/**
 * True when `a` and `b` are plain data (numbers, strings, booleans, null, arrays and objects of them)
 * that JSON.stringify turns into the same text: the same primitives, the same keys in the same order.
 * Anything else (a toJSON method, a typed array, a NaN, the very same object) counts as different,
 * which only costs a JSON.stringify.
 */
export function sameJsonValue(a: unknown, b: unknown): boolean {
  // The same object may have changed since (a device handing out its own array): never trusted.
  if (a === b) return a === null || (typeof a !== "object" && typeof a !== "function");
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) {
      const x: unknown = a[i], y: unknown = b[i];
      // Most arrays in a state are register files: numbers compared in place.
      if (x === y && typeof x === "number") continue;
      if (!sameJsonValue(x, y)) return false;
    }
    return true;
  }
  if (Array.isArray(b) || Object.getPrototypeOf(a) !== Object.prototype || Object.getPrototypeOf(b) !== Object.prototype) return false;
  const ka = Object.keys(a), kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) {
    if (ka[i] !== kb[i]) return false;
    if (!sameJsonValue((a as Record<string, unknown>)[ka[i]], (b as Record<string, unknown>)[kb[i]])) return false;
  }
  return true;
}

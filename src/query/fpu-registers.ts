/**
 * The x87 and SSE registers of one state as named text values, for `ttd log --fpu`, the TUI's FPU
 * panel and JSON output: ST0-ST7 in stack order with their value (printf %.21Lg of the exact bits)
 * and raw bits, the x87 control and status registers, MXCSR and XMM0-XMM7. One list, so every view
 * names and formats a register the same way and "changed since the previous step" means one thing.
 */
import { fullTagWord, TAG_EMPTY, type FpuStateData } from "../cpu/fpu-state.js";
import { formatExtended } from "../symbols/float-text.js";

export interface FpuRegister {
  /** st0..st7, fcw, fsw, ftw, fop, fip, fcs, fdp, fds, mxcsr, xmm0..xmm7. */
  name: string;
  /** What a reader wants first: the number for ST(i) ("empty" when tagged empty), hex otherwise. */
  value: string;
  /** The raw bits in hex: for ST(i) sign/exponent and significand, for XMM the four dwords high to low. */
  raw: string;
}

const hex = (v: number, digits: number): string => (v >>> 0).toString(16).padStart(digits, "0");

/** Every register of `d`, in the order above. */
export function fpuRegisters(d: FpuStateData): FpuRegister[] {
  const out: FpuRegister[] = [];
  for (let i = 0; i < 8; i++) {
    const p = (d.top + i) & 7;
    const lo = d.st[3 * p], hi = d.st[3 * p + 1], se = d.st[3 * p + 2];
    const raw = `${hex(se, 4)}:${hex(hi, 8)}${hex(lo, 8)}`;
    const empty = ((d.ftw >> (2 * p)) & 3) === TAG_EMPTY;
    out.push({ name: `st${i}`, value: empty ? "empty" : formatExtended(lo, hi, se), raw });
  }
  const fsw = (d.fsw & ~0x3800) | (d.top << 11);
  const control: [string, number, number][] = [
    ["fcw", d.fcw, 4], ["fsw", fsw, 4], ["ftw", fullTagWord(d), 4], ["fop", d.fop, 3],
    ["fip", d.fip, 8], ["fcs", d.fcs, 4], ["fdp", d.fdp, 8], ["fds", d.fds, 4], ["mxcsr", d.mxcsr, 8],
  ];
  for (const [name, v, digits] of control) out.push({ name, value: hex(v, digits), raw: hex(v, digits) });
  for (let i = 0; i < 8; i++) {
    const x = d.xmm;
    const raw = `${hex(x[4 * i + 3], 8)} ${hex(x[4 * i + 2], 8)} ${hex(x[4 * i + 1], 8)} ${hex(x[4 * i], 8)}`;
    out.push({ name: `xmm${i}`, value: raw, raw });
  }
  return out;
}

/** Names of the registers whose raw bits or emptiness differ between two states. */
export function changedFpuRegisters(before: FpuStateData, after: FpuStateData): Set<string> {
  const a = fpuRegisters(before), b = fpuRegisters(after);
  const changed = new Set<string>();
  for (let i = 0; i < a.length; i++) if (a[i].raw !== b[i].raw || a[i].value !== b[i].value) changed.add(a[i].name);
  return changed;
}

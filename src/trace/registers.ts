/** Register snapshots and register names, for states, log records and "last change" queries. */
import type { CPU } from "../cpu/cpu.js";
import { CS, DS, ES, FS, GS, SS } from "../cpu/constants.js";

/** Register values as unsigned numbers. */
export interface Registers {
  eax: number;
  ebx: number;
  ecx: number;
  edx: number;
  esi: number;
  edi: number;
  ebp: number;
  esp: number;
  eip: number;
  eflags: number;
  cs: number;
  ds: number;
  es: number;
  fs: number;
  gs: number;
  ss: number;
  cr0: number;
  cr2: number;
  cr3: number;
  cr4: number;
  cpl: number;
}

export function snapshotRegisters(cpu: CPU): Registers {
  const r = cpu.regs;
  const s = cpu.segSel;
  return {
    eax: r[0] >>> 0,
    ecx: r[1] >>> 0,
    edx: r[2] >>> 0,
    ebx: r[3] >>> 0,
    esp: r[4] >>> 0,
    ebp: r[5] >>> 0,
    esi: r[6] >>> 0,
    edi: r[7] >>> 0,
    eip: cpu.eip >>> 0,
    eflags: cpu.getEflags() >>> 0,
    es: s[ES],
    cs: s[CS],
    ss: s[SS],
    ds: s[DS],
    fs: s[FS],
    gs: s[GS],
    cr0: cpu.cr0 >>> 0,
    cr2: cpu.cr2 >>> 0,
    cr3: cpu.cr3 >>> 0,
    cr4: cpu.cr4 >>> 0,
    cpl: cpu.cpl,
  };
}

const GPR32 = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"];
const GPR16 = ["ax", "cx", "dx", "bx", "sp", "bp", "si", "di"];
const GPR8 = ["al", "cl", "dl", "bl", "ah", "ch", "dh", "bh"];
const SEGS = ["es", "cs", "ss", "ds", "fs", "gs"];

/** Every name registerReader() accepts. */
export const REGISTER_NAMES: readonly string[] = [...GPR32, ...GPR16, ...GPR8, "eip", "eflags", ...SEGS, "cr0", "cr2", "cr3", "cr4"];

/** The 32-bit general register (0 EAX .. 7 EDI) holding register `name`, or -1 for any other register. */
export function containingGpr(name: string): number {
  const n = name.toLowerCase();
  let i = GPR32.indexOf(n);
  if (i < 0) i = GPR16.indexOf(n);
  if (i >= 0) return i;
  i = GPR8.indexOf(n);
  return i >= 0 ? i & 3 : -1;
}

/** A function reading register `name` (case-insensitive) from a CPU, or null for an unknown name. */
export function registerReader(name: string): ((cpu: CPU) => number) | null {
  const n = name.toLowerCase();
  let i = GPR32.indexOf(n);
  if (i >= 0) return (cpu) => cpu.regs[i] >>> 0;
  i = GPR16.indexOf(n);
  if (i >= 0) return (cpu) => cpu.regs[i] & 0xffff;
  i = GPR8.indexOf(n);
  if (i >= 0) {
    const reg = i & 3, shift = i >= 4 ? 8 : 0;
    return (cpu) => (cpu.regs[reg] >>> shift) & 0xff;
  }
  i = SEGS.indexOf(n);
  if (i >= 0) return (cpu) => cpu.segSel[i];
  switch (n) {
    case "eip": return (cpu) => cpu.eip >>> 0;
    case "eflags": return (cpu) => cpu.getEflags() >>> 0;
    case "cr0": return (cpu) => cpu.cr0 >>> 0;
    case "cr2": return (cpu) => cpu.cr2 >>> 0;
    case "cr3": return (cpu) => cpu.cr3 >>> 0;
    case "cr4": return (cpu) => cpu.cr4 >>> 0;
  }
  return null;
}

/**
 * The register file gdb sees, and the target description (qXfer:features:read:target.xml) that
 * tells gdb its layout, in gdb's own i386 numbering (the order of the `g` packet): the 16 core
 * registers, the x87 unit (16-31, which gdb's i386 architecture requires in the core feature), the
 * SSE unit (xmm0-7 and mxcsr, 32-40, gdb's org.gnu.gdb.i386.sse feature), then the control
 * registers in a feature of our own, which gdb shows as `$cr0`... and in `info registers`.
 * The x87 and SSE values come from the FPU state at the position: ST(i) is physical register
 * (TOP + i) mod 8, sent as its 10 bytes; ftag is the full tag word, recomputed from the registers'
 * contents as FNSTENV reports it.
 */
import type { Registers } from "../trace/trace.js";
import { fullTagWord, type FpuStateData } from "../cpu/fpu-state.js";
import { le32Hex } from "./protocol.js";

interface RegisterDef {
  name: string;
  bits: 32 | 80 | 128;
  type: string;
  group?: string;
  /** The value as little-endian hex digits. */
  encode(regs: Registers, fpu: FpuStateData): string;
}

const hexBytes = (v: number, bytes: number): string => {
  let out = "";
  for (let i = 0; i < bytes; i++) out += ((v >>> (8 * i)) & 0xff).toString(16).padStart(2, "0");
  return out;
};

const gpr = (name: keyof Registers, type: string): RegisterDef => ({ name, bits: 32, type, encode: (r) => le32Hex(r[name]) });
const x87Control = (name: string, value: (f: FpuStateData) => number): RegisterDef =>
  ({ name, bits: 32, type: "int", group: "float", encode: (_r, f) => le32Hex(value(f) >>> 0) });
const stack = (i: number): RegisterDef => ({
  name: `st${i}`, bits: 80, type: "i387_ext", group: "float",
  encode: (_r, f) => {
    const p = (f.top + i) & 7;
    return hexBytes(f.st[3 * p], 4) + hexBytes(f.st[3 * p + 1], 4) + hexBytes(f.st[3 * p + 2], 2);
  },
});
const xmm = (i: number): RegisterDef => ({
  name: `xmm${i}`, bits: 128, type: "vec128", group: "vector",
  encode: (_r, f) => hexBytes(f.xmm[4 * i], 4) + hexBytes(f.xmm[4 * i + 1], 4) + hexBytes(f.xmm[4 * i + 2], 4) + hexBytes(f.xmm[4 * i + 3], 4),
});

/** gdb's i386 core registers, numbered 0-31 in this order. */
const CORE: RegisterDef[] = [
  gpr("eax", "int32"), gpr("ecx", "int32"), gpr("edx", "int32"), gpr("ebx", "int32"),
  gpr("esp", "data_ptr"), gpr("ebp", "data_ptr"), gpr("esi", "int32"), gpr("edi", "int32"),
  gpr("eip", "code_ptr"), gpr("eflags", "i386_eflags"),
  gpr("cs", "int32"), gpr("ss", "int32"), gpr("ds", "int32"), gpr("es", "int32"), gpr("fs", "int32"), gpr("gs", "int32"),
  ...[0, 1, 2, 3, 4, 5, 6, 7].map(stack),
  x87Control("fctrl", (f) => f.fcw),
  x87Control("fstat", (f) => (f.fsw & ~0x3800) | (f.top << 11)),
  x87Control("ftag", (f) => fullTagWord(f)),
  x87Control("fiseg", (f) => f.fcs),
  x87Control("fioff", (f) => f.fip),
  x87Control("foseg", (f) => f.fds),
  x87Control("fooff", (f) => f.fdp),
  x87Control("fop", (f) => f.fop),
];

/** The SSE unit, numbered 32-40. */
const SSE: RegisterDef[] = [
  ...[0, 1, 2, 3, 4, 5, 6, 7].map(xmm),
  { name: "mxcsr", bits: 32, type: "i386_mxcsr", group: "vector", encode: (_r, f) => le32Hex(f.mxcsr >>> 0) },
];

/** MXCSR bits as gdb's i386 description names them. */
const MXCSR_BITS: [number, string][] = [
  [0, "IE"], [1, "DE"], [2, "ZE"], [3, "OE"], [4, "UE"], [5, "PE"], [6, "DAZ"],
  [7, "IM"], [8, "DM"], [9, "ZM"], [10, "OM"], [11, "UM"], [12, "PM"], [15, "FZ"],
];

const control = (name: "cr0" | "cr2" | "cr3" | "cr4"): RegisterDef =>
  ({ name, bits: 32, type: "int32", group: "system", encode: (r) => le32Hex(r[name]) });

/** Control registers, numbered after SSE (41-44): a kernel debugger wants CR3 and CR2 at hand. */
const SYSTEM: RegisterDef[] = [control("cr0"), control("cr2"), control("cr3"), control("cr4")];

/** Every register in gdb's numbering. */
export const GDB_REGISTERS: readonly RegisterDef[] = [...CORE, ...SSE, ...SYSTEM];

/** EFLAGS bits as gdb's own i386 description names them. */
const EFLAGS_BITS: [number, string][] = [
  [0, "CF"], [1, ""], [2, "PF"], [4, "AF"], [6, "ZF"], [7, "SF"], [8, "TF"], [9, "IF"], [10, "DF"], [11, "OF"],
  [14, "NT"], [16, "RF"], [17, "VM"], [18, "AC"], [19, "VIF"], [20, "VIP"], [21, "ID"],
];

function reg(def: RegisterDef, regnum: number): string {
  const group = def.group !== undefined ? ` group="${def.group}"` : "";
  return `  <reg name="${def.name}" bitsize="${def.bits}" type="${def.type}" regnum="${regnum}"${group}/>`;
}

/** The target description: architecture i386, the core and SSE features, and our control-register feature. */
export const TARGET_XML = [
  `<?xml version="1.0"?>`,
  `<!DOCTYPE target SYSTEM "gdb-target.dtd">`,
  `<target version="1.0">`,
  `<architecture>i386</architecture>`,
  `<feature name="org.gnu.gdb.i386.core">`,
  `  <flags id="i386_eflags" size="4">`,
  ...EFLAGS_BITS.map(([bit, name]) => `    <field name="${name}" start="${bit}" end="${bit}"/>`),
  `  </flags>`,
  ...CORE.map((d, i) => reg(d, i)),
  `</feature>`,
  `<feature name="org.gnu.gdb.i386.sse">`,
  // gdb's 128-bit vector view: every lane width as a union member.
  `  <vector id="v4f" type="ieee_single" count="4"/>`,
  `  <vector id="v2d" type="ieee_double" count="2"/>`,
  `  <vector id="v16i8" type="int8" count="16"/>`,
  `  <vector id="v8i16" type="int16" count="8"/>`,
  `  <vector id="v4i32" type="int32" count="4"/>`,
  `  <vector id="v2i64" type="int64" count="2"/>`,
  `  <union id="vec128">`,
  `    <field name="v4_float" type="v4f"/>`,
  `    <field name="v2_double" type="v2d"/>`,
  `    <field name="v16_int8" type="v16i8"/>`,
  `    <field name="v8_int16" type="v8i16"/>`,
  `    <field name="v4_int32" type="v4i32"/>`,
  `    <field name="v2_int64" type="v2i64"/>`,
  `    <field name="uint128" type="uint128"/>`,
  `  </union>`,
  `  <flags id="i386_mxcsr" size="4">`,
  ...MXCSR_BITS.map(([bit, name]) => `    <field name="${name}" start="${bit}" end="${bit}"/>`),
  `  </flags>`,
  ...SSE.map((d, i) => reg(d, CORE.length + i)),
  `</feature>`,
  `<feature name="org.ttd.i386.system">`,
  ...SYSTEM.map((d, i) => reg(d, CORE.length + SSE.length + i)),
  `</feature>`,
  `</target>`,
  ``,
].join("\n");

/** The `g` reply: every register in number order, in target byte order. */
export function encodeAllRegisters(regs: Registers, fpu: FpuStateData): string {
  return GDB_REGISTERS.map((d) => d.encode(regs, fpu)).join("");
}

/** One register for `p n`, or null for a number gdb should not ask about. */
export function encodeRegister(regs: Registers, fpu: FpuStateData, regnum: number): string | null {
  const def = GDB_REGISTERS[regnum];
  return def === undefined ? null : def.encode(regs, fpu);
}

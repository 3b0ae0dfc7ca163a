/**
 * The register file gdb sees, and the target description (qXfer:features:read:target.xml) that
 * tells gdb its layout: the 16 i386 core registers in gdb's own order (the order of the `g` packet),
 * then the control registers in a feature of our own, which gdb shows as `$cr0`... and in
 * `info registers` like any other register.
 *
 * gdb's i386 architecture rejects a core feature without the x87 registers ("Architecture rejected
 * target-supplied description"), so they are described too. The emulated CPU has no FPU: they are
 * reported as unavailable (`x` digits), which gdb prints as `<unavailable>`.
 */
import type { Registers } from "../trace/trace.js";
import { le32Hex } from "./protocol.js";

interface RegisterDef {
  name: string;
  /** Where the value comes from, or null for a register this CPU does not have (unavailable). */
  source: keyof Registers | null;
  bits: 32 | 80;
  type: string;
  group?: string;
}

const gpr = (name: keyof Registers, type: string): RegisterDef => ({ name, source: name, bits: 32, type });
const x87 = (name: string, bits: 32 | 80, type: string): RegisterDef => ({ name, source: null, bits, type, group: "float" });

/** gdb's i386 core registers, numbered 0-15 in this order. */
const CORE: RegisterDef[] = [
  gpr("eax", "int32"), gpr("ecx", "int32"), gpr("edx", "int32"), gpr("ebx", "int32"),
  gpr("esp", "data_ptr"), gpr("ebp", "data_ptr"), gpr("esi", "int32"), gpr("edi", "int32"),
  gpr("eip", "code_ptr"), gpr("eflags", "i386_eflags"),
  gpr("cs", "int32"), gpr("ss", "int32"), gpr("ds", "int32"), gpr("es", "int32"), gpr("fs", "int32"), gpr("gs", "int32"),
  // 16-31: the x87 unit, which gdb requires in the core feature.
  ...[0, 1, 2, 3, 4, 5, 6, 7].map((i) => x87(`st${i}`, 80, "i387_ext")),
  x87("fctrl", 32, "int"), x87("fstat", 32, "int"), x87("ftag", 32, "int"), x87("fiseg", 32, "int"),
  x87("fioff", 32, "int"), x87("foseg", 32, "int"), x87("fooff", 32, "int"), x87("fop", 32, "int"),
];

/** Control registers, numbered after the core (32-35): a kernel debugger wants CR3 and CR2 at hand. */
const SYSTEM: RegisterDef[] = [
  { name: "cr0", source: "cr0", bits: 32, type: "int32", group: "system" },
  { name: "cr2", source: "cr2", bits: 32, type: "int32", group: "system" },
  { name: "cr3", source: "cr3", bits: 32, type: "int32", group: "system" },
  { name: "cr4", source: "cr4", bits: 32, type: "int32", group: "system" },
];

/** Every register in gdb's numbering. */
export const GDB_REGISTERS: readonly RegisterDef[] = [...CORE, ...SYSTEM];

/** EFLAGS bits as gdb's own i386 description names them. */
const EFLAGS_BITS: [number, string][] = [
  [0, "CF"], [1, ""], [2, "PF"], [4, "AF"], [6, "ZF"], [7, "SF"], [8, "TF"], [9, "IF"], [10, "DF"], [11, "OF"],
  [14, "NT"], [16, "RF"], [17, "VM"], [18, "AC"], [19, "VIF"], [20, "VIP"], [21, "ID"],
];

function reg(def: RegisterDef, regnum: number): string {
  const group = def.group !== undefined ? ` group="${def.group}"` : "";
  return `  <reg name="${def.name}" bitsize="${def.bits}" type="${def.type}" regnum="${regnum}"${group}/>`;
}

/** The target description: architecture i386, core feature, and our control-register feature. */
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
  `<feature name="org.ttd.i386.system">`,
  ...SYSTEM.map((d, i) => reg(d, CORE.length + i)),
  `</feature>`,
  `</target>`,
  ``,
].join("\n");

function encode(def: RegisterDef, regs: Registers): string {
  return def.source === null ? "x".repeat(def.bits / 4) : le32Hex(regs[def.source]);
}

/** The `g` reply: every register in number order, in target byte order (`x` digits: unavailable). */
export function encodeAllRegisters(regs: Registers): string {
  return GDB_REGISTERS.map((d) => encode(d, regs)).join("");
}

/** One register for `p n`, or null for a number gdb should not ask about. */
export function encodeRegister(regs: Registers, regnum: number): string | null {
  const def = GDB_REGISTERS[regnum];
  return def === undefined ? null : encode(def, regs);
}

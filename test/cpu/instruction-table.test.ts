/**
 * The instruction table (src/cpu/instructions/) against iced-x86's decoder: for every opcode form the
 * table lists, in representative ModRM/SIB/displacement and prefix variants, decode.ts and iced must
 * agree on the length, on the operands (kind, size and register), on the registers and memory read
 * and written and on the flags read, written and left undefined, so the table cannot drift from the
 * architecture unnoticed. Where iced has no account of faults, the `faults` field is held to what iced
 * says of the opcode (LOCK and REP, privileged and I/O instructions) and to the form's operands;
 * instruction-faults.test.ts checks it against what the handlers raise.
 */
import { describe, expect, it } from "vitest";
import { Decoder, DecoderOptions, FlowControl, InstructionInfoFactory, MemorySizeExt, OpAccess, OpKind, Register, RflagsBits, type Instruction } from "../../src/disasm/iced.js";
import { dependenciesOf, registersWrittenBy } from "../../src/cpu/instructions/dependencies.js";
import { ArrayBytes, ByteCursor, DecodedInstruction, decodeInstruction } from "../../src/cpu/instructions/decode.js";
import { Access, Escape, Kind, SEGMENT_LOAD_FAULTS, Size, type InstructionForm, type Operand } from "../../src/cpu/instructions/table.js";
import { AC, AF, CF, DF, GP, IF, OF, PF, SF, UD, ZF } from "../../src/cpu/constants.js";
import { vectorInstruction } from "../../src/cpu/sse/instruction-table.js";
import { lookupX87 } from "../../src/cpu/x87/table.js";
import { tableForms } from "./table-forms.js";
import { OPCODES } from "../../src/cpu/instructions/opcodes.js";

/** ModRM tails: a register operand, and memory through disp32, SIB with disp8, and [ebp+disp32]. */
const REGISTER = { name: "reg", rm: 1, mod: 3, tail: [] as number[] };
const MEMORY = [
  { name: "[disp32]", rm: 5, mod: 0, tail: [0x78, 0x56, 0x34, 0x12] },
  { name: "[eax+ecx*4+disp8]", rm: 4, mod: 1, tail: [0x88, 0x10] },
  { name: "[ebp+disp32]", rm: 5, mod: 2, tail: [0x00, 0x10, 0x00, 0x00] },
];
/** With a 67 prefix: [bx+si+disp8] and [disp16]. */
const MEMORY16 = [
  { name: "[bx+si+disp8]", rm: 0, mod: 1, tail: [0x10] },
  { name: "[disp16]", rm: 6, mod: 0, tail: [0x34, 0x12] },
];
/**
 * The first byte is also a shift count, and iced's flags depend on it (a masked count of 0 changes
 * none, 1 defines OF): 20 is neither once masked to five bits, nor modulo 9 or 17 (RCL/RCR of a byte
 * or word), so iced reports what a count in general may do, which is what the table says.
 */
const IMMEDIATE_BYTES = [0x14, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88];

interface Variant {
  bytes: number[];
  label: string;
  o32: boolean;
  a32: boolean;
}

function hasMemoryOperand(f: InstructionForm): boolean {
  return f.operands.some((o) => o.kind === Kind.E || o.kind === Kind.M);
}

function allowsRegister(f: InstructionForm): boolean {
  return !f.operands.some((o) => o.kind === Kind.M);
}

/** Byte sequences for opcode `op`, group member `reg` (or -1), with the form's prefix variants. */
function variants(op: number, reg: number, f: InstructionForm): Variant[] {
  const opcode = op >= 0x100 ? [0x0f, op & 0xff] : [op];
  const out: Variant[] = [];
  const sizes: [number[], boolean][] = [[[], true], [[0x66], false]];
  for (const [pfx, o32] of sizes) {
    if (!f.modrm) {
      out.push({ bytes: [...pfx, ...opcode, ...IMMEDIATE_BYTES], label: "", o32, a32: true });
      // moffs and the address size: also with 67.
      if (f.operands.some((o) => o.kind === Kind.O)) out.push({ bytes: [0x67, ...pfx, ...opcode, ...IMMEDIATE_BYTES], label: "a16", o32, a32: false });
      continue;
    }
    const regField = reg >= 0 ? reg : 0;
    if (allowsRegister(f)) out.push({ bytes: [...pfx, ...opcode, 0xc0 | (regField << 3) | REGISTER.rm, ...IMMEDIATE_BYTES], label: REGISTER.name, o32, a32: true });
    if (hasMemoryOperand(f) || f.escape !== Escape.None) {
      for (const m of MEMORY) out.push({ bytes: [...pfx, ...opcode, (m.mod << 6) | (regField << 3) | m.rm, ...m.tail, ...IMMEDIATE_BYTES], label: m.name, o32, a32: true });
      for (const m of MEMORY16) out.push({ bytes: [0x67, ...pfx, ...opcode, (m.mod << 6) | (regField << 3) | m.rm, ...m.tail, ...IMMEDIATE_BYTES], label: m.name, o32, a32: false });
    }
  }
  return out;
}

function iced(bytes: number[]): Instruction {
  const decoder = new Decoder(32, new Uint8Array(bytes), DecoderOptions.None);
  const ins = decoder.decode();
  decoder.free();
  return ins;
}

const GPRS = [
  [Register.EAX, Register.AX, Register.AL], [Register.ECX, Register.CX, Register.CL], [Register.EDX, Register.DX, Register.DL],
  [Register.EBX, Register.BX, Register.BL], [Register.ESP, Register.SP, Register.AH], [Register.EBP, Register.BP, Register.CH],
  [Register.ESI, Register.SI, Register.DH], [Register.EDI, Register.DI, Register.BH],
];
const SEGMENTS = [Register.ES, Register.CS, Register.SS, Register.DS, Register.FS, Register.GS];

/** The register a register operand names, in iced's terms. */
function expectedRegister(o: Operand, d: DecodedInstruction): Register {
  const width = o.size === Size.B ? 2 : o.size === Size.W ? 1 : o.size === Size.D ? 0 : d.o32 ? 0 : 1;
  switch (o.kind) {
    case Kind.E: case Kind.R: return GPRS[d.rm][width];
    case Kind.G: return GPRS[d.reg][width];
    case Kind.Z: return GPRS[d.op & 7][width];
    case Kind.Fixed: return GPRS[o.reg][width];
    case Kind.S: return SEGMENTS[d.reg];
    case Kind.Sreg: return SEGMENTS[o.reg];
    case Kind.C: return Register.CR0 + d.reg;
    default: return Register.DR0 + d.reg;
  }
}

/** iced's operand kind for one of the table's operands. */
function expectedKind(o: Operand, d: DecodedInstruction, index: number): OpKind {
  switch (o.kind) {
    case Kind.E: return d.isMemory ? OpKind.Memory : OpKind.Register;
    case Kind.M: case Kind.O: return OpKind.Memory;
    case Kind.I:
      if (o.size === Size.Bs) return d.o32 ? OpKind.Immediate8to32 : OpKind.Immediate8to16;
      if (o.size === Size.B) return index === 1 && d.form.operands[0].kind === Kind.I ? OpKind.Immediate8_2nd : OpKind.Immediate8;
      if (o.size === Size.W) return OpKind.Immediate16;
      return d.o32 ? OpKind.Immediate32 : OpKind.Immediate16;
    case Kind.One: return OpKind.Immediate8;
    case Kind.J: return d.o32 ? OpKind.NearBranch32 : OpKind.NearBranch16;
    case Kind.A: return d.o32 ? OpKind.FarBranch32 : OpKind.FarBranch16;
    default: return OpKind.Register;
  }
}

/**
 * Whether iced's register is the expected one. A general register counts by number and byte-ness: a
 * 16-bit operand (Ew) in register form is shown by iced as the 32-bit register when the instruction
 * zero-extends or ignores the upper half (MOV Sreg, SLDT, LAR...).
 */
function sameRegister(actual: Register, expected: Register): boolean {
  const a = GPRS.findIndex((g) => g.includes(actual)), e = GPRS.findIndex((g) => g.includes(expected));
  if (a < 0 || e < 0) return actual === expected;
  const byte = (r: Register) => GPRS.some((g) => g[2] === r);
  return a === e && byte(actual) === byte(expected);
}

const READS = [OpAccess.Read, OpAccess.ReadWrite, OpAccess.CondRead, OpAccess.ReadCondWrite];
const WRITES = [OpAccess.Write, OpAccess.ReadWrite, OpAccess.CondWrite, OpAccess.ReadCondWrite];
/** iced's general registers folded onto the 32-bit register that holds them (AH is part of EAX). */
const FOLDED = [
  [Register.EAX, Register.AX, Register.AL, Register.AH], [Register.ECX, Register.CX, Register.CL, Register.CH],
  [Register.EDX, Register.DX, Register.DL, Register.DH], [Register.EBX, Register.BX, Register.BL, Register.BH],
  [Register.ESP, Register.SP], [Register.EBP, Register.BP], [Register.ESI, Register.SI], [Register.EDI, Register.DI],
];
const gpr = (r: Register) => FOLDED.findIndex((g) => g.includes(r));
let infoFactory: InstructionInfoFactory | null = null;

/** iced's account of the GPRs and memory an instruction reads and writes, in the table's terms. */
function icedDependencies(ins: Instruction): { read: number[]; written: number[]; memory: string[] } {
  infoFactory ??= new InstructionInfoFactory();
  const info = infoFactory.info(ins);
  const read = new Set<number>(), written = new Set<number>(), memory: string[] = [];
  for (const u of info.usedRegisters()) {
    const i = gpr(u.register);
    if (i >= 0 && READS.includes(u.access)) read.add(i);
    if (i >= 0 && WRITES.includes(u.access)) written.add(i);
    u.free();
  }
  for (const m of info.usedMemory()) {
    const size = MemorySizeExt.size(m.memorySize) || MemorySizeExt.size(ins.memorySize);
    memory.push(memoryKey(gpr(m.base), gpr(m.index), m.scale, Number(BigInt.asIntN(32, m.displacement)), size, READS.includes(m.access), WRITES.includes(m.access)));
    m.free();
  }
  info.free();
  return { read: [...read].sort(), written: [...written].sort(), memory: memory.sort() };
}

function memoryKey(base: number, index: number, scale: number, disp: number, size: number, reads: boolean, writes: boolean): string {
  return `[${base}+${index}*${index >= 0 ? scale : 1}+${disp}] ${size} ${reads ? "r" : ""}${writes ? "w" : ""}`;
}

/** iced's RFLAGS bits and the EFLAGS bits they stand for (iced does not track TF, NT, RF, VM...). */
const RFLAGS: [RflagsBits, number][] = [
  [RflagsBits.OF, OF], [RflagsBits.SF, SF], [RflagsBits.ZF, ZF], [RflagsBits.AF, AF], [RflagsBits.CF, CF],
  [RflagsBits.PF, PF], [RflagsBits.DF, DF], [RflagsBits.IF, IF], [RflagsBits.AC, AC],
];
const COMPARED_FLAGS = RFLAGS.reduce((m, [, f]) => m | f, 0);
const eflags = (rflags: number) => RFLAGS.reduce((m, [r, f]) => ((rflags & r) !== 0 ? m | f : m), 0);

/**
 * Where iced's flags leave out what the table says: delivering a software interrupt clears IF
 * (through an interrupt gate, or in real mode) and AC (in real mode), which iced does not list for
 * INT n, INT3, INTO and INT1.
 */
const FLAGS_ICED_OMITS: Record<string, number> = { int: IF | AC, int3: IF | AC, into: IF | AC, int1: IF | AC };

/** PUSHF, POPF and IRET with a 16-bit operand move FLAGS, the low half of EFLAGS (AC stays). */
const FLAGS_IMAGE = new Set(["pushf", "popf", "iret"]);

/** Flags read, written (defined) and left undefined, as "CF|ZF" lists, ours and iced's. */
function flagSets(f: InstructionForm, ins: Instruction, o32: boolean): { ours: string[]; theirs: string[] } {
  const names = (m: number) => ([["OF", OF], ["SF", SF], ["ZF", ZF], ["AF", AF], ["CF", CF], ["PF", PF], ["DF", DF], ["IF", IF], ["AC", AC]] as const)
    .filter(([, b]) => (m & b) !== 0).map(([n]) => n).join("|") || "-";
  const omitted = FLAGS_ICED_OMITS[f.mnemonic] ?? 0;
  const moved = !o32 && FLAGS_IMAGE.has(f.mnemonic) ? 0xffff : -1;
  return {
    ours: [f.flagsRead, f.flagsWritten & ~omitted, f.flagsUndefined].map((m) => names(m & moved & COMPARED_FLAGS)),
    theirs: [ins.rflagsRead, ins.rflagsWritten | ins.rflagsCleared | ins.rflagsSet, ins.rflagsUndefined].map((m) => names(eflags(m))),
  };
}

/**
 * The EFLAGS an escape's instructions read, write and leave undefined, together: its table entry
 * stands for all of them (an x87 opcode byte, a vector opcode with any mandatory prefix).
 */
class EscapeFlags {
  private read = 0;
  private written = 0;
  private undefinedFlags = 0;
  add(ins: Instruction): void {
    this.read |= eflags(ins.rflagsRead);
    this.written |= eflags(ins.rflagsWritten | ins.rflagsCleared | ins.rflagsSet);
    this.undefinedFlags |= eflags(ins.rflagsUndefined);
  }
  iced(): number[] {
    return [this.read, this.written, this.undefinedFlags];
  }
  of(f: InstructionForm): number[] {
    return [f.flagsRead & COMPARED_FLAGS, f.flagsWritten & COMPARED_FLAGS, f.flagsUndefined & COMPARED_FLAGS];
  }
}

const d = new DecodedInstruction();
const cursor = new ByteCursor();

function decodeOurs(bytes: number[]): DecodedInstruction {
  cursor.src = new ArrayBytes(new Uint8Array(bytes));
  cursor.pos = 0;
  decodeInstruction(cursor, true, d);
  return d;
}

/**
 * Where the table's account of registers and memory deliberately differs from iced's: instructions
 * whose effects depend on the machine state beyond what a static reading can know (far transfers,
 * interrupts, task and privilege changes), which the dependency analysis does not follow.
 */
const DEPENDENCY_EXCEPTIONS = new Set<string>([
  // POPA reads all eight slots (the saved ESP is discarded); iced lists seven.
  "popa",
  // ENTER's nesting level copies frame pointers: iced lists a slot per possible level.
  "enter",
]);

/**
 * What the form's faults, LOCK and REP permission must say given iced's opcode description and the
 * form's operands; one line per disagreement.
 */
function prefixAndFaultProblems(f: InstructionForm, ins: Instruction, registerForm: Instruction | null): string[] {
  const problems: string[] = [];
  const has = (v: number) => (f.faults & (1 << v)) !== 0;
  const oc = ins.opCode;
  if (f.lock !== oc.canUseLockPrefix) problems.push(`LOCK allowed: table ${f.lock}, iced ${oc.canUseLockPrefix}`);
  const rep = oc.canUseRepPrefix || oc.canUseRepnePrefix;
  if (f.rep !== rep) problems.push(`REP: table ${f.rep}, iced ${rep}`);
  // CPUID may fault at CPL > 0 only with CPUID faulting, an MSR feature this CPU does not have.
  const privileged = oc.isPrivileged || oc.mustBeCpl0 || oc.isInputOutput || (oc.mayRequireCpl0 && f.mnemonic !== "cpuid");
  if (privileged && !has(GP)) problems.push("privileged or I/O, without #GP");
  oc.free();
  // An interrupt or an exception always raised (INT n, UD2...) loads ESP and more from the IDT and TSS.
  const flow = ins.flowControl;
  if ((flow === FlowControl.Interrupt || flow === FlowControl.Exception) && !f.switchesContext) problems.push(`${FlowControl[flow]} flow, not switchesContext`);
  // LOCK needs a memory destination: with a register one it is #UD.
  const dst = f.operands[0];
  if (f.lock && !(dst !== undefined && (dst.kind === Kind.E || dst.kind === Kind.M) && (dst.access & Access.Write) !== 0)) problems.push("LOCK allowed without an r/m destination");
  // A memory-only operand given a register: #UD, unless that encoding is another instruction (a hint NOP).
  if (registerForm !== null && registerForm.isInvalid && !has(UD)) problems.push("memory-only operand, without #UD for a register ModRM");
  const loadsSegment = f.operands.some((o) => ((o.kind === Kind.S || o.kind === Kind.Sreg) && (o.access & Access.Write) !== 0) || o.size === Size.P);
  if (loadsSegment && !SEGMENT_LOAD_FAULTS.every(has)) problems.push("loads a segment register, without #GP, #NP and #SS");
  // A new segment changes how later instructions run: compiled code must end its block after it.
  if (loadsSegment && !f.system && !f.switchesContext) problems.push("loads a segment register, not marked system");
  return problems;
}

describe("instruction table vs iced-x86", () => {
  const all = tableForms();

  it.each(all.filter((c) => c.form.escape === Escape.None))("$name: LOCK, REP and faults consistent with iced and the operands", ({ op, opcode, reg, form: f }) => {
    const vs = variants(op, reg, f);
    const memoryOnly = f.operands.some((o) => o.kind === Kind.M);
    const registerForm = memoryOnly ? iced([...opcode, 0xc1 | ((reg >= 0 ? reg : 0) << 3), ...IMMEDIATE_BYTES]) : null;
    expect(prefixAndFaultProblems(f, iced(vs[0].bytes), registerForm)).toEqual([]);
  });

  it("lists the whole integer opcode space it implements", () => {
    expect(all.length).toBeGreaterThan(400);
  });

  it.each(all.filter((c) => c.form.escape === Escape.None))("$name: same length, operands, dependencies and flags", ({ op, reg, form: f }) => {
    for (const v of variants(op, reg, f)) {
      const ins = iced(v.bytes);
      const ours = decodeOurs(v.bytes);
      const what = `${v.bytes.map((b) => b.toString(16).padStart(2, "0")).join(" ")} (${v.label})`;
      expect(ins.isInvalid, `iced rejects ${what}`).toBe(false);
      expect(ours.valid, what).toBe(true);
      expect(ours.length, `length of ${what}`).toBe(ins.length);
      // Hint NOPs that later CPUs named (PREFETCHIT0/1 at 0F 18 /7 /6, CLDEMOTE at 0F 1C /0): iced
      // shows their memory forms with one operand that it reads the address of; they are NOPs here.
      if (ours.isMemory && ((op === 0x118 && ours.reg >= 6) || (op === 0x11c && ours.reg === 0))) continue;
      if (!DEPENDENCY_EXCEPTIONS.has(f.mnemonic)) {
        const deps = dependenciesOf(new Uint8Array(v.bytes));
        const theirs = icedDependencies(ins);
        expect([...deps.regsRead].sort(), `registers read by ${what}`).toEqual(theirs.read);
        expect([...deps.regsWritten].sort(), `registers written by ${what}`).toEqual(theirs.written);
        expect(registersWrittenBy(decodeOurs(v.bytes)), `written-register mask of ${what}`).toBe(theirs.written.reduce((m, r) => m | (1 << r), 0));
        expect(deps.memory.map((m) => memoryKey(m.base, m.index, m.scale, m.displacement, m.size, m.reads, m.writes)).sort(), `memory of ${what}`).toEqual(theirs.memory);
      }
      const flags = flagSets(f, ins, v.o32);
      expect(flags.ours, `flags read, written, undefined by ${what}`).toEqual(flags.theirs);
      // String instructions and a few others name their implicit operands (iced lists them): their
      // operands are the table's implicit registers and memory instead.
      if (f.rep || f.operands.length === 0) continue;
      expect(ours.form.operands.length, `operand count of ${what}`).toBe(ins.opCount);
      ours.form.operands.forEach((o, i) => {
        expect(ins.opKind(i), `operand ${i} kind of ${what}`).toBe(expectedKind(o, ours, i));
        if (ins.opKind(i) === OpKind.Register) expect(sameRegister(ins.opRegister(i), expectedRegister(o, ours)), `operand ${i} of ${what}: ${Register[ins.opRegister(i)]}`).toBe(true);
      });
    }
  });

  it("decodes the x87 escape's forms to iced's lengths; each escape's EFLAGS are its forms' together", () => {
    for (let op = 0xd8; op <= 0xdf; op++) {
      const flags = new EscapeFlags();
      for (let modrm = 0; modrm < 256; modrm++) {
        if (lookupX87(op, modrm) === undefined) continue;
        const bytes = [op, modrm, 0x78, 0x56, 0x34, 0x12, 0x90, 0x90];
        const ins = iced(bytes);
        const ours = decodeOurs(bytes);
        expect(ours.valid).toBe(true);
        expect(ours.length, `${op.toString(16)} ${modrm.toString(16)}`).toBe(ins.length);
        flags.add(ins);
      }
      expect(flags.of(OPCODES[op]), `EFLAGS of escape ${op.toString(16)}: table`).toEqual(flags.iced());
    }
  });

  it("decodes the vector unit's forms to iced's lengths, with each mandatory prefix; each opcode's EFLAGS are its forms' together", () => {
    const prefixes = [[], [0x66], [0xf3], [0xf2]];
    let checked = 0;
    for (let op = 0; op < 256; op++) {
      const flags = new EscapeFlags();
      for (let p = 0; p < 4; p++) {
        const e = vectorInstruction(op, p);
        if (e === undefined) continue;
        for (const modrm of e.regOnly ? [0xc1] : e.memOnly ? [0x04, 0x45] : [0xc1, 0x04, 0x45, 0x85]) {
          const modrmBytes = op === 0x77 ? [] : [modrm, 0x88, 0x10, 0x20, 0x30];
          const bytes = [...prefixes[p], 0x0f, op, ...modrmBytes, 0x90, 0x90];
          const ins = iced(bytes);
          if (ins.isInvalid) continue; // reserved group-15 encodings that the unit decodes itself
          const ours = decodeOurs(bytes);
          expect(ours.valid).toBe(true);
          expect(ours.length, bytes.map((b) => b.toString(16)).join(" ")).toBe(ins.length);
          flags.add(ins);
          checked++;
        }
      }
      if (OPCODES[0x100 + op].escape === Escape.Vector) expect(flags.of(OPCODES[0x100 + op]), `EFLAGS of 0f ${op.toString(16)}: table`).toEqual(flags.iced());
    }
    expect(checked).toBeGreaterThan(300);
  });
});

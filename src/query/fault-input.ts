/**
 * Which input made an instruction fault, worked out from the instruction's semantics and the fault:
 * the selector an `iret` popped for a #GP on a segment load, the register that formed a #PF's
 * address, the divisor of a #DE, the control transfer (and where its target came from) that brought
 * EIP to a #UD. The answer names a subject to follow backwards: a memory word (who wrote it) or a
 * register (what last changed it). Nothing here knows any particular kernel.
 *
 * Addresses are linear: segment bases are taken as zero (flat segments, as the kernels ttd runs use).
 */
import { Code, FlowControl, Mnemonic, OpKind, Register, type Instruction } from "../disasm/iced.js";
import { decodeAt } from "../disasm/disassembler.js";
import type { Registers, StepRecord } from "../trace/trace.js";
import { type QueryContext, hex } from "./context.js";
import type { CrashPoint } from "./crash.js";
import { GPR_NAMES, type GprName } from "./step-window.js";

/** Where to look next: a memory location's last writer, or a register's last change, before `step`. */
export type Subject =
  | { kind: "memory"; address: number; size: number; step: number }
  | { kind: "register"; register: GprName; step: number };

export interface FaultInput {
  /** One sentence: what the instruction consumed that made it fault. */
  text: string;
  /** The offending value, when there is one. */
  value: number | null;
  /** What the faulting instruction took that value to be ("CS", "return address", "divisor"...). */
  role: string | null;
  /** For values popped from a frame (iret, retf): the frame's base and the value's offset in it. */
  frame: { base: number; offset: number } | null;
  /** What to follow backwards, or null when the input is a constant of the code. */
  subject: Subject | null;
  /** For faults at a bad EIP: the step that transferred control there. */
  transferStep: number | null;
}

export function faultInput(ctx: QueryContext, crash: CrashPoint): FaultInput {
  const rec = ctx.trace.describeStep(crash.step);
  if (rec === null) return plain(`the step record of ${crash.step} is not available`);
  const instr = decodeAt(rec.bytes, rec.regs.eip);
  const insn = instr.isInvalid ? null : ctx.describeCode(rec.regs.eip, rec.bytes).disasm;
  switch (crash.vector) {
    case 0:
      return insn === null ? plain("the instruction does not decode") : divideInput(ctx, rec, instr, insn);
    case 6:
      return undefinedOpcode(ctx, rec, instr, insn);
    case 14:
      return pageFault(ctx, crash, rec, instr, insn);
    case 10:
    case 11:
    case 12:
    case 13:
      if (crash.errorCode !== null && (crash.errorCode & 0xfffc) !== 0 && (crash.errorCode & 2) === 0 && insn !== null) {
        const s = selectorInput(ctx, rec, instr, insn, crash.errorCode & 0xfffc) ?? innerStackInput(ctx, rec, insn, crash.errorCode & 0xfffc);
        if (s !== null) return s;
      }
      if (crash.errorCode !== null && (crash.errorCode & 2) !== 0) {
        return plain(`the error code ${hex(crash.errorCode)} names IDT entry ${crash.errorCode >>> 3}: delivering that vector found a bad gate`);
      }
      return plain(insn === null ? "the instruction does not decode" : `\`${insn}\` faulted`);
    default:
      return plain(insn === null ? "the instruction does not decode" : `\`${insn}\` faulted`);
  }
}

function plain(text: string): FaultInput {
  return { text, value: null, role: null, frame: null, subject: null, transferStep: null };
}

function reg(regs: Registers, i: number): number {
  return regs[GPR_NAMES[i]] >>> 0;
}

function readWord(ctx: QueryContext, step: number, address: number, size: number): number | null {
  const b = ctx.trace.stateAt(step).readLinear(address >>> 0, size);
  if (b === null) return null;
  let v = 0;
  for (let i = size - 1; i >= 0; i--) v = v * 256 + b[i];
  return v >>> 0;
}

function named(ctx: QueryContext, address: number): string {
  const n = ctx.describeData(address);
  return n ? ` (&${n})` : "";
}

/** GPR number for an iced register (EAX/AX/AL/AH all map to 0), or -1 for anything else. */
function gprIndex(r: Register): number {
  return GPR_REGISTERS.findIndex((g) => g.includes(r));
}

const GPR_REGISTERS: Register[][] = [
  [Register.EAX, Register.AX, Register.AL, Register.AH], [Register.ECX, Register.CX, Register.CL, Register.CH],
  [Register.EDX, Register.DX, Register.DL, Register.DH], [Register.EBX, Register.BX, Register.BL, Register.BH],
  [Register.ESP, Register.SP], [Register.EBP, Register.BP], [Register.ESI, Register.SI], [Register.EDI, Register.DI],
];

/** Bytes of the memory operand, from the instruction form's name (`Div_rm32` -> 4). */
function operandBytes(instr: Instruction): number {
  const m = /(?:rm|m)(8|16|32)/.exec(Code[instr.code] ?? "");
  return m ? Number(m[1]) / 8 : 4;
}

/** The linear address of the instruction's explicit memory operand, with the registers that formed it. */
function memoryOperand(instr: Instruction, regs: Registers): { address: number; base: number; index: number } {
  const base = gprIndex(instr.memoryBase);
  const index = gprIndex(instr.memoryIndex);
  let a = Number(BigInt.asUintN(32, instr.memoryDisplacement));
  if (base >= 0) a += reg(regs, base);
  if (index >= 0) a += reg(regs, index) * instr.memoryIndexScale;
  return { address: a >>> 0, base, index };
}

/** The register that formed an address: the base, unless it is the stack pointer and an index exists. */
function addressRegister(base: number, index: number): number {
  if (base >= 0 && !(base === 4 && index >= 0)) return base;
  return index;
}

// ---- #DE ------------------------------------------------------------------------------------------

function divideInput(ctx: QueryContext, rec: StepRecord, instr: Instruction, insn: string): FaultInput {
  if (instr.mnemonic !== Mnemonic.Div && instr.mnemonic !== Mnemonic.Idiv) return plain(`\`${insn}\` raised #DE`);
  if (instr.op0Kind === OpKind.Register) {
    const r = gprIndex(instr.op0Register);
    if (r < 0) return plain(`\`${insn}\` raised #DE`);
    const v = reg(rec.regs, r);
    const why = v === 0 ? "the divisor is zero" : "the quotient does not fit the destination";
    return { text: `\`${insn}\` divided by ${GPR_NAMES[r].toUpperCase()} = ${hex(v)}: ${why}`, value: v, role: "divisor", frame: null, subject: { kind: "register", register: GPR_NAMES[r], step: rec.step }, transferStep: null };
  }
  const m = memoryOperand(instr, rec.regs);
  const size = operandBytes(instr);
  const v = readWord(ctx, rec.step, m.address, size);
  const why = v === 0 ? "the divisor is zero" : "the quotient does not fit the destination";
  return {
    text: `\`${insn}\` divided by the ${size}-byte value at ${hex(m.address)}${named(ctx, m.address)} = ${v === null ? "(unmapped)" : hex(v)}: ${why}`,
    value: v, role: "divisor", frame: null, subject: { kind: "memory", address: m.address, size, step: rec.step }, transferStep: null,
  };
}

// ---- #GP/#NP/#SS/#TS with a selector --------------------------------------------------------------

/** Values a segment-loading instruction reads from the stack or memory, with the role of each. */
function selectorCandidates(instr: Instruction, regs: Registers): { address: number; size: number; role: string; frameBase: number; offset: number }[] | { register: number } | null {
  const esp = regs.esp >>> 0;
  const mn = instr.mnemonic;
  if (mn === Mnemonic.Iret || mn === Mnemonic.Iretd) {
    const os = mn === Mnemonic.Iretd ? 4 : 2;
    return [
      { address: esp + os, size: os, role: "CS", frameBase: esp, offset: os },
      { address: esp + 4 * os, size: os, role: "SS", frameBase: esp, offset: 4 * os },
    ];
  }
  if (mn === Mnemonic.Retf) {
    const os = instr.code === Code.Retfw || instr.code === Code.Retfw_imm16 ? 2 : 4;
    const imm = instr.opCount > 0 && instr.op0Kind === OpKind.Immediate16 ? instr.immediate16 : 0;
    return [
      { address: esp + os, size: os, role: "CS", frameBase: esp, offset: os },
      { address: esp + 3 * os + imm, size: os, role: "SS", frameBase: esp, offset: 3 * os + imm },
    ];
  }
  if (mn === Mnemonic.Pop && instr.op0Kind === OpKind.Register && isSegment(instr.op0Register)) {
    return [{ address: esp, size: 2, role: Register[instr.op0Register], frameBase: esp, offset: 0 }];
  }
  if ((mn === Mnemonic.Mov && instr.op0Kind === OpKind.Register && isSegment(instr.op0Register)) || mn === Mnemonic.Ltr || mn === Mnemonic.Lldt) {
    const src = mn === Mnemonic.Mov ? 1 : 0;
    const kind = src === 1 ? instr.op1Kind : instr.op0Kind;
    if (kind === OpKind.Register) return { register: gprIndex(src === 1 ? instr.op1Register : instr.op0Register) };
    const m = memoryOperand(instr, regs);
    return [{ address: m.address, size: 2, role: mn === Mnemonic.Mov ? Register[instr.op0Register] : "selector", frameBase: m.address, offset: 0 }];
  }
  const far = [Mnemonic.Lds, Mnemonic.Les, Mnemonic.Lfs, Mnemonic.Lgs, Mnemonic.Lss].includes(mn) || ((mn === Mnemonic.Jmp || mn === Mnemonic.Call) && instr.op0Kind === OpKind.Memory);
  if (far) {
    const m = memoryOperand(instr, regs);
    // A far pointer m16:16 or m16:32: the selector follows a 2- or 4-byte offset.
    const os = /m1616/.test(Code[instr.code] ?? "") ? 2 : 4;
    return [{ address: m.address + os, size: 2, role: mn === Mnemonic.Lss ? "SS" : "selector", frameBase: m.address, offset: os }];
  }
  return null;
}

function isSegment(r: Register): boolean {
  return r === Register.ES || r === Register.CS || r === Register.SS || r === Register.DS || r === Register.FS || r === Register.GS;
}

function selectorInput(ctx: QueryContext, rec: StepRecord, instr: Instruction, insn: string, selector: number): FaultInput | null {
  const c = selectorCandidates(instr, rec.regs);
  if (c === null) return null;
  const mnemonic = insn.split(" ")[0];
  if ("register" in c) {
    if (c.register < 0) return null;
    const v = reg(rec.regs, c.register);
    return {
      text: `\`${insn}\` loaded selector ${hex(v & 0xffff)} from ${GPR_NAMES[c.register].toUpperCase()}; the error code ${hex(selector)} is that selector${descriptorNote(ctx, rec.step, selector)}`,
      value: v & 0xffff, role: "selector", frame: null, subject: { kind: "register", register: GPR_NAMES[c.register], step: rec.step }, transferStep: null,
    };
  }
  for (const cand of c) {
    const v = readWord(ctx, rec.step, cand.address, cand.size);
    if (v === null || (v & 0xfffc) !== selector) continue;
    const where = cand.frameBase === (rec.regs.esp >>> 0) ? `[ESP${cand.offset ? `+${cand.offset}` : ""}] = ${hex(cand.address)}` : hex(cand.address);
    const rpl = (v & 3) !== 0 ? " with its RPL bits cleared" : "";
    return {
      text: `${mnemonic} ${mnemonic.startsWith("pop") || mnemonic.startsWith("iret") || mnemonic.startsWith("lret") || mnemonic.startsWith("ret") ? "popped" : "read"} ${cand.role} = ${hex(v)} from ${where}${named(ctx, cand.address)}; the error code ${hex(selector)} is that value${rpl}${descriptorNote(ctx, rec.step, selector)}`,
      value: v, role: cand.role, frame: { base: cand.frameBase, offset: cand.offset }, subject: { kind: "memory", address: cand.address, size: cand.size, step: rec.step }, transferStep: null,
    };
  }
  return null;
}

/**
 * A #TS or #SS raised while an `int n` (or an interrupt or exception arriving outside ring 0) entered
 * an inner ring: the CPU loads that ring's SS:ESP from the TSS, and the selector it found there is the
 * error code.
 */
function innerStackInput(ctx: QueryContext, rec: StepRecord, insn: string, selector: number): FaultInput | null {
  const cpl = rec.regs.cpl;
  if (cpl === 0) return null;
  const cpu = ctx.trace.stateAt(rec.step).machine.cpu;
  const trBase = cpu.trBase >>> 0, tss32 = (cpu.trAttr & 0x8) !== 0;
  for (let ring = 0; ring < cpl; ring++) {
    const at = (trBase + (tss32 ? 8 + ring * 8 : 4 + ring * 4)) >>> 0;
    const v = readWord(ctx, rec.step, at, 2);
    if (v === null || (v & 0xfffc) !== selector) continue;
    const entry = /^int/.test(insn) ? `\`${insn}\` entered ring ${ring} from ring ${cpl}` : `an interrupt or exception arriving while \`${insn}\` ran in ring ${cpl} entered ring ${ring}`;
    return {
      text: `${entry}, so the CPU loaded the new stack from the TSS: it read SS${ring} = ${hex(v)} from ${hex(at)}${named(ctx, at)}; the error code ${hex(selector)} is that value${descriptorNote(ctx, rec.step, selector)}`,
      value: v, role: `SS${ring}`, frame: null, subject: { kind: "memory", address: at, size: 2, step: rec.step }, transferStep: null,
    };
  }
  return null;
}

/** What the descriptor table holds for `selector` at `step`, as a clause: why the load was refused. */
function descriptorNote(ctx: QueryContext, step: number, selector: number): string {
  const cpu = ctx.trace.stateAt(step).machine.cpu;
  const ldt = (selector & 4) !== 0;
  const table = ldt ? "LDT" : "GDT", index = selector >>> 3;
  const base = ldt ? cpu.ldtBase >>> 0 : cpu.gdtBase >>> 0, limit = ldt ? cpu.ldtLimit >>> 0 : cpu.gdtLimit >>> 0;
  if ((selector & 0xfff8) + 7 > limit) return `: entry ${index} lies beyond the ${table}'s limit (${hex(limit)})`;
  const hi = readWord(ctx, step, base + (selector & 0xfff8) + 4, 4);
  if (hi === null) return `: ${table} entry ${index}`;
  const access = (hi >>> 8) & 0xff;
  const kind = (access & 0x10) === 0 ? `a system descriptor (type ${access & 0xf})` : (access & 0x8) !== 0 ? "a code segment" : (access & 0x2) !== 0 ? "a writable data segment" : "a read-only data segment";
  return `: ${table} entry ${index} is ${kind}, DPL ${(access >>> 5) & 3}, ${(access & 0x80) !== 0 ? "present" : "not present"}`;
}

// ---- #PF ------------------------------------------------------------------------------------------

function pageFault(ctx: QueryContext, crash: CrashPoint, rec: StepRecord, instr: Instruction, insn: string | null): FaultInput {
  // CR2 is set when the fault is raised: read it in the state after the abort.
  let cr2 = ctx.trace.stateAt(Math.min(crash.step + 1, ctx.trace.steps)).regs.cr2 >>> 0;
  if (cr2 === (rec.regs.cr2 >>> 0) && crash.step + 2 <= ctx.trace.steps) cr2 = ctx.trace.stateAt(crash.step + 2).regs.cr2 >>> 0;
  const eip = rec.regs.eip >>> 0;
  const access = crash.errorCode !== null ? `${(crash.errorCode & 2) !== 0 ? "write" : "read"}${(crash.errorCode & 1) !== 0 ? ", page present (protection)" : ", page not present"}${(crash.errorCode & 4) !== 0 ? ", from user mode" : ""}` : "";
  if (insn === null || (cr2 >= eip && cr2 < eip + 16 && !coversData(instr, rec.regs, cr2))) {
    const t = transferInput(ctx, rec, `fetching code at ${hex(cr2)} faulted (CR2 = ${hex(cr2)}; ${access})`);
    return t;
  }
  const stack = stackAccess(instr, rec.regs);
  if (stack !== null && cr2 >= ((stack - 16) >>> 0) && cr2 < ((stack + 16) >>> 0)) {
    return { text: `\`${insn}\` touched the stack at CR2 = ${hex(cr2)} (${access}): ESP was ${hex(rec.regs.esp)}`, value: cr2, role: "stack pointer", frame: null, subject: { kind: "register", register: "esp", step: rec.step }, transferStep: null };
  }
  if (instr.mnemonic === Mnemonic.Movsb || instr.mnemonic === Mnemonic.Movsd || instr.mnemonic === Mnemonic.Movsw || instr.mnemonic === Mnemonic.Stosb || instr.mnemonic === Mnemonic.Stosd || instr.mnemonic === Mnemonic.Stosw || instr.mnemonic === Mnemonic.Lodsb || instr.mnemonic === Mnemonic.Lodsd || instr.mnemonic === Mnemonic.Cmpsb || instr.mnemonic === Mnemonic.Scasb) {
    const r = Math.abs(cr2 - (rec.regs.edi >>> 0)) < Math.abs(cr2 - (rec.regs.esi >>> 0)) ? 7 : 6;
    return { text: `\`${insn}\` accessed ${hex(cr2)} (${access}) through ${GPR_NAMES[r].toUpperCase()} = ${hex(reg(rec.regs, r))}`, value: reg(rec.regs, r), role: "pointer", frame: null, subject: { kind: "register", register: GPR_NAMES[r], step: rec.step }, transferStep: null };
  }
  if (!hasMemoryOperand(instr)) return plain(`\`${insn}\` faulted at CR2 = ${hex(cr2)} (${access})`);
  const m = memoryOperand(instr, rec.regs);
  // A fault while delivering this one (no usable IDT) overwrites CR2: then the operand tells the address.
  const address = cr2 >= m.address && cr2 < m.address + 16 ? cr2 : m.address;
  const r = addressRegister(m.base, m.index);
  if (r < 0) {
    return { text: `\`${insn}\` accessed ${hex(address)} (${access}), an address written into the instruction itself`, value: address, role: "address", frame: null, subject: null, transferStep: null };
  }
  const v = reg(rec.regs, r);
  const disp = m.address - v;
  return {
    text: `\`${insn}\` accessed ${hex(address)} (${access}): its address came from ${GPR_NAMES[r].toUpperCase()} = ${hex(v)}${named(ctx, v)}${disp !== 0 && m.index < 0 ? ` ${disp > 0 ? "+" : "-"} ${hex(Math.abs(disp))}` : ""}`,
    value: v, role: "pointer", frame: null, subject: { kind: "register", register: GPR_NAMES[r], step: rec.step }, transferStep: null,
  };
}

function hasMemoryOperand(instr: Instruction): boolean {
  for (let i = 0; i < instr.opCount; i++) if (instr.opKind(i) === OpKind.Memory) return true;
  return false;
}

function coversData(instr: Instruction, regs: Registers, address: number): boolean {
  if (!hasMemoryOperand(instr)) return false;
  const m = memoryOperand(instr, regs);
  return address >= m.address && address < m.address + 16;
}

/** ESP for instructions that push or pop (their implicit memory operand), else null. */
function stackAccess(instr: Instruction, regs: Registers): number | null {
  if (instr.stackPointerIncrement !== 0) return regs.esp >>> 0;
  return null;
}

// ---- #UD and faults at a bad EIP -----------------------------------------------------------------

function undefinedOpcode(ctx: QueryContext, rec: StepRecord, instr: Instruction, insn: string | null): FaultInput {
  const eip = rec.regs.eip >>> 0;
  const shown = Array.from(rec.bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, "0")).join(" ");
  const what = insn !== null && !instr.isInvalid
    ? (instr.mnemonic === Mnemonic.Ud2 || instr.mnemonic === Mnemonic.Ud0 || instr.mnemonic === Mnemonic.Ud1 ? `\`${insn}\` at ${hex(eip)} is an undefined opcode on purpose` : `the bytes at ${hex(eip)} (${shown}) decode as \`${insn}\`, which raised #UD (an instruction the CPU does not implement, or not in this mode)`)
    : `the bytes at ${hex(eip)} (${shown}) are not an instruction`;
  return transferInput(ctx, rec, what);
}

/**
 * How EIP got to the faulting address: the instruction before it, if it transferred control, and
 * where that transfer's target came from; if execution just fell through, the code bytes themselves.
 */
function transferInput(ctx: QueryContext, rec: StepRecord, what: string): FaultInput {
  const eip = rec.regs.eip >>> 0;
  const prev = rec.step > ctx.trace.startStep ? ctx.trace.describeStep(rec.step - 1) : null;
  if (prev === null) return { text: `${what}; it is where the trace began`, value: eip, role: "EIP", frame: null, subject: null, transferStep: null };
  if (prev.kind !== "instruction") {
    return { text: `${what}; EIP came from the IDT entry of vector ${prev.vector ?? "?"} (delivered at step ${prev.step})`, value: eip, role: "EIP", frame: null, subject: null, transferStep: prev.step };
  }
  const p = decodeAt(prev.bytes, prev.regs.eip);
  const pInsn = ctx.describeCode(prev.regs.eip, prev.bytes).disasm;
  const fellThrough = !p.isInvalid && ((prev.regs.eip + p.length) >>> 0) === eip;
  if (fellThrough || p.isInvalid) {
    return { text: `${what}; execution reached it straight from the previous instruction, so the code bytes themselves are the input`, value: eip, role: "code", frame: null, subject: { kind: "memory", address: eip, size: Math.min(4, Math.max(1, rec.bytes.length)), step: rec.step }, transferStep: null };
  }
  const head = `${what}; control came from \`${pInsn}\` at step ${prev.step}`;
  const fc = p.flowControl;
  if (fc === FlowControl.Return) {
    const esp = prev.regs.esp >>> 0;
    const os = p.mnemonic === Mnemonic.Iret || p.code === Code.Retnw || p.code === Code.Retnw_imm16 ? 2 : 4;
    return { text: `${head}, which popped the return address ${hex(eip)} from [ESP] = ${hex(esp)}${named(ctx, esp)}`, value: eip, role: "return address", frame: { base: esp, offset: 0 }, subject: { kind: "memory", address: esp, size: os, step: prev.step }, transferStep: prev.step };
  }
  if (fc === FlowControl.IndirectBranch || fc === FlowControl.IndirectCall) {
    if (p.op0Kind === OpKind.Register) {
      const r = gprIndex(p.op0Register);
      if (r >= 0) return { text: `${head}, which jumped to ${GPR_NAMES[r].toUpperCase()} = ${hex(eip)}`, value: eip, role: "branch target", frame: null, subject: { kind: "register", register: GPR_NAMES[r], step: prev.step }, transferStep: prev.step };
    }
    const m = memoryOperand(p, prev.regs);
    return { text: `${head}, which jumped to the pointer ${hex(eip)} stored at ${hex(m.address)}${named(ctx, m.address)}`, value: eip, role: "code pointer", frame: null, subject: { kind: "memory", address: m.address, size: 4, step: prev.step }, transferStep: prev.step };
  }
  return { text: `${head}, whose target ${hex(eip)} is encoded in the instruction`, value: eip, role: "branch target", frame: null, subject: null, transferStep: prev.step };
}

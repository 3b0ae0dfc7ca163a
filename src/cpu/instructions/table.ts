/**
 * The shape of the instruction table (one-byte.ts, two-byte.ts) and the small language its entries
 * are written in. Each opcode form says, as data, everything the rest of the CPU core needs to know
 * about it: its operands (kind, size and whether they are read or written, in the SDM's opcode-map
 * notation: Eb, Gv, Iz...), whether it has a ModRM byte, which flags it reads, writes and leaves
 * undefined, the registers and memory it touches implicitly (ESP for PUSH, EDX:EAX for MUL, ESI/EDI/ECX
 * for string instructions...), whether LOCK may prefix it, the faults it can raise, and the function
 * that executes it. The interpreter dispatches on it, the block compiler takes its coverage and flag
 * analysis from it, and the debugger's dependency analysis derives register and memory use from it.
 */
import type { CPU } from "../cpu.js";
import { AF, CF, DF, GP, NP, OF, PF, PF_VECTOR, SF, SS_FAULT, TS, UD, ZF } from "../constants.js";

export type Handler = (cpu: CPU) => void;

export type LazyFlags = "sub" | "logic" | "result";

/** Operand kinds, after the SDM's opcode-map letters. */
export const enum Kind {
  /** E: ModRM r/m, a register or memory. */
  E,
  /** G: ModRM reg, a general register. */
  G,
  /** M: ModRM r/m that must be memory. */
  M,
  /** R: ModRM r/m that must be a register. */
  R,
  /** S: ModRM reg names a segment register. */
  S,
  /** C, D: ModRM reg names a control / debug register (MOV CRn, DRn). */
  C,
  D,
  /** I: immediate. */
  I,
  /** J: relative branch displacement. */
  J,
  /** O: absolute offset (moffs) of the address size. */
  O,
  /** A: far pointer immediate (offset then selector). */
  A,
  /** Z: general register in the opcode's low three bits. */
  Z,
  /** A fixed general register (AL, eAX, CL, DX...). */
  Fixed,
  /** The constant 1 (shift count of D0-D3). */
  One,
  /** A segment register fixed by the opcode (PUSH ES...). */
  Sreg,
}

/**
 * Operand sizes: b byte, w word, d dword, v operand size, z operand-size immediate, p far pointer, a BOUND
 * pair, q qword, bs byte sign-extended to the operand size, s descriptor-table pseudo-descriptor (6 bytes).
 */
export const enum Size { None, B, W, D, V, Z, P, A, Q, Bs, S }

/**
 * How an operand is accessed: read, written, both; Address: only its address is computed (LEA,
 * INVLPG); None: not at all (hint NOPs, UD0/UD1).
 */
export const enum Access { None = 0, Read = 1, Write = 2, ReadWrite = 3, Address = 4 }

export interface Operand {
  kind: Kind;
  size: Size;
  access: Access;
  /** GPR number for Kind.Fixed, segment number for Kind.Sreg. */
  reg: number;
}

/** Memory an instruction touches without naming it in an operand. */
export const enum Implicit {
  /** Below SS:ESP (PUSH, CALL): `count` slots of `size`. */
  Push,
  /** At SS:ESP (POP, RET). */
  Pop,
  /** DS:ESI (string source; the segment can be overridden). */
  Source,
  /** ES:EDI (string destination). */
  Destination,
  /** DS:[EBX + AL] (XLAT). */
  Xlat,
  /** SS:[EBP] (LEAVE's saved frame pointer). */
  Frame,
}

export interface ImplicitMemory {
  kind: Implicit;
  access: Access;
  size: Size;
  /** Slots (PUSHA pushes eight; ENTER at least one). */
  count: number;
}

/** Escapes to the units that keep tables of their own. */
export const enum Escape { None, X87, Vector }

export interface InstructionForm {
  mnemonic: string;
  operands: readonly Operand[];
  modrm: boolean;
  /** The ModRM's mod field is ignored: r/m always names a register (MOV CRn/DRn). */
  registerOnly: boolean;
  /**
   * EFLAGS bits read; written with a defined value (set, cleared or computed); left undefined. Written
   * and undefined are disjoint, and a flag that some operands define and others do not (OF of a shift
   * by CL, defined for a count of one) is undefined. A form may write nothing at all in some cases (a
   * shift by zero, an INTO that does not trap): written means "may write".
   */
  flagsRead: number;
  flagsWritten: number;
  flagsUndefined: number;
  /** GPRs read / written implicitly (bit i = GPR i), beyond the operands. */
  regsRead: number;
  regsWritten: number;
  memory: readonly ImplicitMemory[];
  /** LOCK allowed (with a memory destination); otherwise LOCK is #UD. */
  lock: boolean;
  /** A string instruction: F2/F3 repeat it. */
  rep: boolean;
  /**
   * Exception vectors it can raise (bit n = vector n); memory operands add #GP, #SS and #PF. Left out:
   * what any instruction may raise (#PF and #GP fetching it, #DB, #UD for a LOCK it does not allow) and
   * #AC, which this CPU does not check.
   */
  faults: number;
  /**
   * May load ESP, or through a task switch any register, from somewhere its operands do not name
   * (far transfers, INT/IRET, SYSENTER/SYSEXIT, and what always raises an exception).
   */
  switchesContext: boolean;
  /**
   * Changes machine state beyond registers, flags and memory (segment registers, control registers,
   * descriptor tables, ports, interrupt state, halting): compiled code ends its block after it, so the
   * run loop sees the change (an interrupt it enables, a mode it switches) at the next boundary.
   */
  system: boolean;
  /**
   * What the handler leaves in the lazy-flag record, for a following Jcc that reads its condition
   * from the recorded operands (jit/compile-block.ts): "sub" (SUB/CMP: lfA - lfB), "logic" (AND/OR/
   * XOR/TEST: CF = OF = 0, the result), "result" (ADD/INC/DEC: only ZF and SF follow the result); null
   * when it records nothing a branch could use.
   */
  lazy: LazyFlags | null;
  /** Executes it: prefixes are decoded (cpu.o32, cpu.a32...) and EIP is past the opcode byte(s). */
  handler: Handler;
  /** For a group opcode (80, F6, FF, 0F 01...): the forms by ModRM.reg; null otherwise. */
  group: readonly InstructionForm[] | null;
  /** D8-DF and the vector unit's opcodes decode their operands from their own tables. */
  escape: Escape;
}

/** Arithmetic result flags. */
export const ARITH = OF | SF | ZF | AF | PF | CF;
export { AF, CF, DF, OF, PF, SF, ZF };

export interface FormOptions {
  /** Flags read, written with a defined value and left undefined (disjoint from `w`). */
  r?: number;
  w?: number;
  u?: number;
  /** GPRs read / written implicitly, by name: "eax edx". */
  reads?: string;
  writes?: string;
  mem?: ImplicitMemory[];
  lock?: boolean;
  rep?: boolean;
  /** Vectors it can raise beyond the memory faults. */
  faults?: number[];
  switchesContext?: boolean;
  system?: boolean;
  lazy?: LazyFlags;
  escape?: Escape;
}

const GPR_NAMES = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"];
const FIXED: Record<string, [number, Size]> = {
  AL: [0, Size.B], CL: [1, Size.B], AX: [0, Size.W], DX: [2, Size.W], eAX: [0, Size.V],
};
const SREGS: Record<string, number> = { ES: 0, CS: 1, SS: 2, DS: 3, FS: 4, GS: 5 };
const KIND_LETTERS: Record<string, Kind> = {
  E: Kind.E, G: Kind.G, M: Kind.M, R: Kind.R, S: Kind.S, C: Kind.C, D: Kind.D, I: Kind.I, J: Kind.J,
  O: Kind.O, A: Kind.A, Z: Kind.Z,
};
const SIZE_LETTERS: Record<string, Size> = {
  "": Size.None, b: Size.B, w: Size.W, d: Size.D, v: Size.V, z: Size.Z, p: Size.P, a: Size.A, q: Size.Q, bs: Size.Bs, s: Size.S,
};
const ACCESS: Record<string, Access> = { r: Access.Read, w: Access.Write, rw: Access.ReadWrite, a: Access.Address, "-": Access.None };

function parseOperand(token: string, access: Access): Operand {
  if (token in FIXED) return { kind: Kind.Fixed, size: FIXED[token][1], access, reg: FIXED[token][0] };
  if (token in SREGS) return { kind: Kind.Sreg, size: Size.W, access, reg: SREGS[token] };
  if (token === "1") return { kind: Kind.One, size: Size.B, access, reg: -1 };
  const kind = KIND_LETTERS[token[0]];
  const size = SIZE_LETTERS[token.slice(1)];
  if (kind === undefined || size === undefined) throw new Error(`instruction table: bad operand ${token}`);
  return { kind, size, access, reg: -1 };
}

function regMask(names: string | undefined): number {
  if (names === undefined || names === "") return 0;
  let m = 0;
  for (const n of names.split(" ")) {
    const i = GPR_NAMES.indexOf(n);
    if (i < 0) throw new Error(`instruction table: bad register ${n}`);
    m |= 1 << i;
  }
  return m;
}

const MEMORY_FAULTS = (1 << GP) | (1 << SS_FAULT) | (1 << PF_VECTOR);

/**
 * Loading a segment register from a selector: #GP for a null, out-of-table or unsuitable one, #NP when
 * the segment is not present (#SS for SS).
 */
export const SEGMENT_LOAD_FAULTS = [GP, NP, SS_FAULT];
/**
 * A far transfer or interrupt delivery: a segment load, and a task switch or a stack taken from the
 * TSS, which raise #TS when the TSS or what it names is invalid.
 */
export const FAR_TRANSFER_FAULTS = [GP, NP, SS_FAULT, TS];

/**
 * One opcode form: `operands` in the map's notation ("Eb,Gb"), `access` one of r / w / rw / a / - per
 * operand ("rw,r").
 */
export function form(mnemonic: string, operands: string, access: string, handler: Handler, o: FormOptions = {}): InstructionForm {
  const tokens = operands === "" ? [] : operands.split(",");
  const accesses = access === "" ? [] : access.split(",");
  if (tokens.length !== accesses.length) throw new Error(`instruction table: ${mnemonic} ${operands} needs one access per operand`);
  if (((o.w ?? 0) & (o.u ?? 0)) !== 0) throw new Error(`instruction table: ${mnemonic} ${operands} has flags both written and undefined`);
  const ops = tokens.map((t, i) => parseOperand(t, ACCESS[accesses[i]]));
  const modrm = ops.some((p) => p.kind === Kind.E || p.kind === Kind.G || p.kind === Kind.M || p.kind === Kind.R || p.kind === Kind.S || p.kind === Kind.C || p.kind === Kind.D) || o.escape !== undefined;
  const touchesMemory = ops.some((p) => p.kind === Kind.E || p.kind === Kind.M || p.kind === Kind.O) || (o.mem?.length ?? 0) > 0 || o.escape !== undefined;
  let faults = touchesMemory ? MEMORY_FAULTS : 0;
  for (const v of o.faults ?? []) faults |= 1 << v;
  return {
    mnemonic, operands: ops, modrm, registerOnly: ops.some((p) => p.kind === Kind.R),
    flagsRead: o.r ?? 0, flagsWritten: o.w ?? 0, flagsUndefined: o.u ?? 0,
    regsRead: regMask(o.reads), regsWritten: regMask(o.writes),
    memory: o.mem ?? [], lock: o.lock ?? false, rep: o.rep ?? false, faults, switchesContext: o.switchesContext ?? false,
    system: o.system ?? false, lazy: o.lazy ?? null, handler,
    group: null, escape: o.escape ?? Escape.None,
  };
}

/** Implicit memory descriptors. */
export function push(size: Size = Size.V, count = 1): ImplicitMemory {
  return { kind: Implicit.Push, access: Access.Write, size, count };
}
export function pop(size: Size = Size.V, count = 1): ImplicitMemory {
  return { kind: Implicit.Pop, access: Access.Read, size, count };
}
export function source(size: Size): ImplicitMemory {
  return { kind: Implicit.Source, access: Access.Read, size, count: 1 };
}
export function destination(size: Size, access: Access = Access.Write): ImplicitMemory {
  return { kind: Implicit.Destination, access, size, count: 1 };
}

/** An opcode whose ModRM.reg selects the instruction (`forms` by reg; missing ones are #UD). */
export function group(mnemonic: string, forms: (InstructionForm | undefined)[]): InstructionForm {
  const members: InstructionForm[] = [];
  for (let r = 0; r < 8; r++) members.push(forms[r] ?? invalidWithModrm);
  return { ...form(mnemonic, "", "", () => {}), modrm: true, group: members };
}

/** #UD after the ModRM operand is decoded (a group's reserved encodings). */
export const invalidWithModrm: InstructionForm = form("(bad)", "", "", (cpu) => {
  cpu.decodeModrm();
  cpu.raiseFault(UD, 0);
}, { faults: [UD], switchesContext: true });
invalidWithModrm.modrm = true;

/** An opcode no table entry names: #UD, remembered as the first unimplemented opcode. */
export function unimplemented(name: string): InstructionForm {
  return form("(bad)", "", "", (cpu) => cpu.unimplemented(`opcode ${name}`), { faults: [UD], switchesContext: true });
}

/** Operand size in bytes for size code `s` with operand size 32 when `o32`. */
export function sizeBytes(s: Size, o32: boolean): number {
  switch (s) {
    case Size.B: case Size.Bs: return 1;
    case Size.W: return 2;
    case Size.D: return 4;
    case Size.V: case Size.Z: return o32 ? 4 : 2;
    case Size.P: return o32 ? 6 : 4;
    case Size.A: return o32 ? 8 : 4;
    case Size.Q: return 8;
    case Size.S: return 6;
    default: return 0;
  }
}

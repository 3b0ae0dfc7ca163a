/**
 * Calls and returns as re-execution sees them, for reconstructing who called whom at a step (the call
 * path, src/query/call-path.ts). Each transfer names the stack slot of its return address: a call or
 * an interrupt delivery writes it, the return or iret that ends the frame reads it from the same slot.
 * Matching by slot (and the address returned to) rather than by nesting depth keeps frames right across
 * stack switches (an interrupt stack, another task's stack) and frames abandoned without a return.
 *
 * Only the opcode is decoded (past its prefixes), so classifying a step costs a few byte reads.
 */
import { translateLinear, type PagingRegisters } from "./paging.js";

export type ControlTransferKind =
  /** A near or far call: `slot` holds the return address `returnTo`. */
  | "call"
  /** An interrupt or exception delivered (or `int n`): `slot` holds the EIP an iret goes back to. */
  | "delivery"
  /** A near or far return, popping the return address at `slot`. */
  | "return"
  /** An iret, popping the EIP at `slot`. */
  | "iret"
  /**
   * An unconditional jump: no frame begins or ends. `slot` is ESP after it: a jump made with the
   * caller's return address on top of the stack is a tail call, the jumped-to function returning for
   * the one that jumped.
   */
  | "jump"
  /**
   * A return reading the word the latest push wrote (`slot`), no call having written there since: a
   * return used as a jump (`push X; ret`, a retpoline), unless that word was a frame's return address
   * popped and pushed back.
   */
  | "pushed-return"
  /** A `sysenter` (no return address is stored: `slot` is NaN, matching no return). */
  | "sysenter"
  /** A `sysexit`, ending the innermost `sysenter` frame. */
  | "sysexit";

export interface ControlTransfer {
  step: number;
  kind: ControlTransferKind;
  /** Linear address of the return-address word the transfer wrote or read. */
  slot: number;
  /** Calls and deliveries: where the matching return goes. Returns and irets: where they went. */
  returnTo: number;
  /** The EIP the step ran at: the call or return instruction, or for a delivery the interrupted or faulting instruction, or the `int n`. */
  from: number;
  /** EIP after the step: the callee's or handler's first instruction, or the code returned to. */
  to: number;
  /** Deliveries: the vector, and whether it was an external interrupt. */
  vector: number | null;
  external: boolean;
  /** Made in user mode (CPL 3): a delivery or `sysenter` from user code enters the kernel. */
  fromUser: boolean;
  /** Deliveries: made by an `int n` instruction (a software interrupt, as a system call). */
  software: boolean;
}

/** What an instruction's opcode makes of it (for this purpose). */
export const enum OpcodeClass {
  Other = 0,
  Call = 1,
  Return = 2,
  Iret = 3,
  /** An unconditional near or far jump (not a conditional one: those stay inside a function). */
  Jump = 4,
  Sysenter = 5,
  Sysexit = 6,
  /** `int n`, `int3`, `into`. */
  SoftwareInterrupt = 7,
}

const PREFIXES = new Set([0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3]);

/**
 * Classifies the instruction at a linear EIP, reading its bytes through the page tables without side
 * effects (`regs` is read at each call, so one classifier serves a whole re-execution).
 */
export class InstructionClassifier {
  /** The linear page last translated in this classification, and its physical base. */
  private page = -1;
  private base = 0;

  constructor(
    private readonly mem: Uint8Array,
    private readonly regs: PagingRegisters,
  ) {}

  /** The class of the instruction at linear `eip` (Other when its bytes are not mapped). */
  classify(eip: number): OpcodeClass {
    this.page = -1;
    let at = eip >>> 0;
    let op = this.byte(at);
    for (let i = 0; i < 14 && op >= 0 && PREFIXES.has(op); i++) {
      at = (at + 1) >>> 0;
      op = this.byte(at);
    }
    switch (op) {
      case 0xe8: // call rel
      case 0x9a: // call ptr16:32
        return OpcodeClass.Call;
      case 0xc2: case 0xc3: case 0xca: case 0xcb: // ret (near, far; with or without imm16)
        return OpcodeClass.Return;
      case 0xcf:
        return OpcodeClass.Iret;
      case 0xe9: case 0xeb: case 0xea: // jmp rel32, rel8, ptr16:32
        return OpcodeClass.Jump;
      case 0xcc: case 0xcd: case 0xce:
        return OpcodeClass.SoftwareInterrupt;
      case 0x0f: {
        const op2 = this.byte((at + 1) >>> 0);
        return op2 === 0x34 ? OpcodeClass.Sysenter : op2 === 0x35 ? OpcodeClass.Sysexit : OpcodeClass.Other;
      }
      case 0xff: {
        const modrm = this.byte((at + 1) >>> 0);
        if (modrm < 0) return OpcodeClass.Other;
        const reg = (modrm >> 3) & 7;
        if (reg === 2 || reg === 3) return OpcodeClass.Call; // call r/m, call m16:32
        return reg === 4 || reg === 5 ? OpcodeClass.Jump : OpcodeClass.Other; // jmp r/m, jmp m16:32
      }
      default:
        return OpcodeClass.Other;
    }
  }

  /** The byte at linear `lin`, or -1 when unmapped. */
  private byte(lin: number): number {
    const p = lin >>> 12;
    if (p !== this.page) {
      const phys = translateLinear(this.mem, this.regs, (p << 12) >>> 0);
      if (phys === null || phys + 0x1000 > this.mem.length) return -1;
      this.page = p;
      this.base = phys;
    }
    return this.mem[this.base + (lin & 0xfff)];
  }
}

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
  | "iret";

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
}

/** What an instruction's opcode makes of it (for this purpose). */
export const enum OpcodeClass {
  Other = 0,
  Call = 1,
  Return = 2,
  Iret = 3,
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
      case 0xff: {
        const modrm = this.byte((at + 1) >>> 0);
        if (modrm < 0) return OpcodeClass.Other;
        const reg = (modrm >> 3) & 7;
        return reg === 2 || reg === 3 ? OpcodeClass.Call : OpcodeClass.Other; // call r/m, call m16:32
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

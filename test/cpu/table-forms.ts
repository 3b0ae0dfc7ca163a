/**
 * Every form the instruction table lists, for the tests that go through them all
 * (instruction-table.test.ts, instruction-faults.test.ts): each opcode's form, or each member of a
 * group opcode, named "0f b1 cmpxchg" or "f7 /3 neg"; the #UD placeholders are left out.
 */
import { OPCODES } from "../../src/cpu/instructions/opcodes.js";
import type { InstructionForm } from "../../src/cpu/instructions/table.js";

export interface TableForm {
  name: string;
  /** Opcode number: 0x00-0xFF, or 0x100 + the second byte for 0F xx. */
  op: number;
  /** The opcode's bytes. */
  opcode: number[];
  /** ModRM.reg of a group member, or -1. */
  reg: number;
  form: InstructionForm;
}

export function tableForms(): TableForm[] {
  const out: TableForm[] = [];
  for (let op = 0; op < OPCODES.length; op++) {
    const f = OPCODES[op];
    if (f.mnemonic === "(bad)") continue;
    const opcode = op >= 0x100 ? [0x0f, op & 0xff] : [op];
    const name = opcode.map((b) => b.toString(16).padStart(2, "0")).join(" ");
    if (f.group === null) out.push({ name: `${name} ${f.mnemonic}`, op, opcode, reg: -1, form: f });
    else f.group.forEach((m, reg) => { if (m.mnemonic !== "(bad)") out.push({ name: `${name} /${reg} ${m.mnemonic}`, op, opcode, reg, form: m }); });
  }
  return out;
}

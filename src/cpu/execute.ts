/**
 * The interpreter's step: decode the prefixes and opcode, find the form in the instruction table
 * (instructions/), check LOCK against it, and run its handler. Handlers write registers only after the
 * instruction's last memory access that can fault, except ESP, which the fault handler restores.
 */
import type { CPU } from "./cpu.js";
import { readOpcode } from "./instructions/prefixes.js";
import { OPCODES } from "./instructions/opcodes.js";
import type { InstructionForm } from "./instructions/table.js";
import { UD } from "./constants.js";

/** Executes the instruction at CS:EIP. */
export function execute(cpu: CPU): void {
  const op = readOpcode(cpu, cpu, cpu.codeDefault32);
  // An instruction is at most 15 bytes: prefixes that leave no room for an opcode are #GP(0).
  if (op < 0) cpu.gp(0);
  let f = OPCODES[op];
  const members = f.group;
  if (members !== null) f = members[(cpu.peek8() >> 3) & 7];
  if (cpu.lock) checkLock(cpu, f);
  f.handler(cpu);
}

/**
 * LOCK is valid only on the read-modify-write forms the table marks (ADD ADC AND BTC BTR BTS CMPXCHG
 * CMPXCHG8B DEC INC NEG NOT OR SBB SUB XOR XADD XCHG), and only with a memory destination; anything
 * else is #UD.
 */
function checkLock(cpu: CPU, f: InstructionForm): void {
  if (!f.lock || cpu.peek8() >= 0xc0) cpu.raiseFault(UD, 0);
}

/**
 * Entry from the one-byte opcode map for the x87 escape (D8-DF) and WAIT (9B): the #NM rules of the
 * SDM's "CR0.EM/MP/TS interaction" table, pending unmasked exceptions (#MF when CR0.NE is set, the
 * FERR# line to IRQ 13 when it is clear), the table lookup and the last-instruction pointers.
 */
import type { CPU } from "../cpu.js";
import { CR0_EM, CR0_MP, CR0_NE, CR0_TS, MF, NM, UD } from "../constants.js";
import { lookupX87 } from "./table.js";
import { recordLastInstruction } from "./control.js";
import { FSW_ES } from "./stack.js";

/**
 * A waiting instruction met a pending unmasked exception (FSW.ES). With CR0.NE the instruction faults
 * with #MF before it executes. Without it, the PC's legacy wiring applies: FERR# is asserted, which the
 * chipset routes to IRQ 13 until software writes port 0xF0, and the instruction goes on.
 */
function signalPending(cpu: CPU): void {
  if ((cpu.cr0 & CR0_NE) !== 0) cpu.raiseFault(MF, 0);
  cpu.fpuError?.(true);
}

/** WAIT/FWAIT. */
export function executeWait(cpu: CPU): void {
  if ((cpu.cr0 & (CR0_MP | CR0_TS)) === (CR0_MP | CR0_TS)) cpu.raiseFault(NM, 0);
  if ((cpu.fpu.fsw & FSW_ES) !== 0) signalPending(cpu);
}

/** An x87 instruction: opcode `op` (D8-DF) has been fetched. */
export function executeX87(cpu: CPU, op: number): void {
  if ((cpu.cr0 & (CR0_EM | CR0_TS)) !== 0) cpu.raiseFault(NM, 0);
  executeX87Decoded(cpu, op, cpu.decodeModrm());
}

/**
 * An x87 instruction whose ModRM (and memory operand: cpu.eaSeg/eaOff, operand size cpu.o32) is
 * decoded: from executeX87, or called in place by compiled code (compile-block.ts).
 */
export function executeX87Decoded(cpu: CPU, op: number, modrm: number): void {
  if ((cpu.cr0 & (CR0_EM | CR0_TS)) !== 0) cpu.raiseFault(NM, 0);
  const entry = lookupX87(op, modrm);
  if (entry === undefined) cpu.raiseFault(UD, 0);
  const pending = cpu.fpu.fsw & FSW_ES;
  if (entry.kind !== 2 && pending !== 0) signalPending(cpu);
  entry.handler(cpu, modrm & 7);
  if (entry.kind === 0) recordLastInstruction(cpu, op, modrm, pending === 0 && (cpu.fpu.fsw & FSW_ES) !== 0);
}

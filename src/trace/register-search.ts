/**
 * "When did this general register last change?" at compiled speed. Registers are not indexed in a
 * trace, so the answer comes from re-execution; stepping every instruction would cost minutes on a
 * long stretch where the register sits still (ESP in a call-free loop). Instead the replay machine
 * runs compiled code with a register watch (CPU.control.registerWatch): compiled blocks that cannot write
 * the register run as usual, and everything else (blocks that may write it, interrupts, exceptions)
 * goes one step at a time with the register looked at before each. What may write a register is
 * read from the instructions themselves (the instruction table's register usage), conservatively:
 * anything that can switch stacks or tasks counts as writing every register.
 */
import type { CPU } from "../cpu/cpu.js";
import type { RegisterWatch } from "../cpu/run-control.js";
import type { CompiledBlock } from "../cpu/jit/compile-block.js";
import { writtenRegisters } from "../cpu/instructions/dependencies.js";

/** Bit mask meaning "may write any register". */
const ALL = 0xff;
/** The longest x86 instruction. */
const MAX_INSTRUCTION = 15;

/**
 * GPRs that the block's instructions may write: every instruction from its first byte up to and
 * including one starting at its end (the interpreted instruction a block may finish with). 16-bit
 * code is not analysed (all registers).
 */
export function blockWriteMask(mem: Uint8Array, block: CompiledBlock, def32: boolean): number {
  if (!def32) return ALL;
  const length = block.physEnd - block.physStart;
  let mask = 0;
  for (let offset = 0; offset <= length && mask !== ALL; ) {
    const at = block.physStart + offset;
    if (at >= mem.length) return ALL;
    const w = writtenRegisters(mem.subarray(at, Math.min(mem.length, at + MAX_INSTRUCTION)));
    mask |= w.mask;
    if (w.length === 0) return ALL;
    offset += w.length;
  }
  return mask;
}

/**
 * Write masks by compiled block, kept across searches: a block's code never changes (a write to it
 * makes the block cache drop it, and a new block object is compiled).
 */
const WRITE_MASKS = new WeakMap<CompiledBlock, number>();

/**
 * Watches one register through a run: remembers the last span of steps over which its value
 * changed. A span is one step when the run looked at the register before and after that step; it
 * is longer only when the CPU took a fault's abort and delivery together (the caller steps it).
 */
export class RegisterChangeWatch implements RegisterWatch {
  private value: number;
  private lastStep: number;
  /** The last span [changeFrom, changeTo) in which the value changed, or changeFrom -1. */
  changeFrom = -1;
  changeTo = -1;

  constructor(
    private readonly read: (cpu: CPU) => number,
    /** The 32-bit register (0 EAX .. 7 EDI) that holds the watched one. */
    private readonly gpr: number,
    private readonly mem: Uint8Array,
    cpu: CPU,
  ) {
    this.value = read(cpu);
    this.lastStep = cpu.steps;
  }

  observe(cpu: CPU): void {
    const steps = cpu.steps;
    if (steps === this.lastStep) return;
    const v = this.read(cpu);
    if (v !== this.value) {
      this.changeFrom = this.lastStep;
      this.changeTo = steps;
      this.value = v;
    }
    this.lastStep = steps;
  }

  mayWrite(block: CompiledBlock, def32: boolean): boolean {
    let mask = WRITE_MASKS.get(block);
    if (mask === undefined) {
      mask = blockWriteMask(this.mem, block, def32);
      WRITE_MASKS.set(block, mask);
    }
    return (mask & (1 << this.gpr)) !== 0;
  }
}

/**
 * Privileged and machine-state instructions of the one-byte map and their operand forms: HLT, CLI/STI,
 * the flag instructions (CLC STC CMC CLD STD), segment register loads (MOV Sreg, LDS/LES/LSS/LFS/LGS),
 * ARPL. The two-byte system instructions' semantics are in ../../system.ts.
 */
import type { CPU } from "../../cpu.js";
import type { Handler } from "../table.js";
import { loadDataSegment } from "../../segments.js";
import { CF, CR0_PE, CS, DF, EFLAGS_IOPL_SHIFT, IF, IOPL, SS, UD, ZF } from "../../constants.js";

/** HLT is privileged; it retires, then the CPU waits for an interrupt. */
export function hlt(cpu: CPU): void {
  if (cpu.cpl !== 0 && (cpu.cr0 & CR0_PE) !== 0) cpu.gp(0);
  cpu.halted = true;
}

/** CLI/STI privilege: in protected mode CPL must not exceed IOPL (no VME/PVI support). */
function ioplAllows(cpu: CPU): boolean {
  return (cpu.cr0 & CR0_PE) === 0 || cpu.cpl <= ((cpu.flags & IOPL) >> EFLAGS_IOPL_SHIFT);
}

export function cli(cpu: CPU): void {
  if (!ioplAllows(cpu)) cpu.gp(0);
  cpu.flags &= ~IF;
}

export function sti(cpu: CPU): void {
  if (!ioplAllows(cpu)) cpu.gp(0);
  // STI delays interrupts until after the next instruction (so STI; HLT cannot miss one).
  if ((cpu.flags & IF) === 0) cpu.interruptShadowUntil = cpu.steps + 2;
  cpu.flags |= IF;
}

export function cmc(cpu: CPU): void {
  cpu.setFlag(CF, !cpu.getCF());
}

export function clc(cpu: CPU): void {
  cpu.setFlag(CF, false);
}

export function stc(cpu: CPU): void {
  cpu.setFlag(CF, true);
}

export function cld(cpu: CPU): void {
  cpu.flags &= ~DF;
}

export function std(cpu: CPU): void {
  cpu.flags |= DF;
}

/** 8C: MOV Ev, Sreg. To a register with a 32-bit operand the selector is zero-extended; to memory it is 16 bits. */
export function movEvSw(cpu: CPU): void {
  cpu.decodeModrm();
  const sreg = (cpu.modrm >> 3) & 7;
  if (sreg > 5) cpu.raiseFault(UD, 0);
  const v = cpu.segSel[sreg];
  if (cpu.modrm >= 0xc0 && cpu.o32) cpu.regs[cpu.modrm & 7] = v;
  else cpu.writeE16(v);
}

/** 8E: MOV Sreg, Ew. */
export function movSwEw(cpu: CPU): void {
  cpu.decodeModrm();
  const sreg = (cpu.modrm >> 3) & 7;
  if (sreg === CS || sreg > 5) cpu.raiseFault(UD, 0);
  loadDataSegment(cpu, sreg, cpu.readE16());
  if (sreg === SS) {
    // MOV/POP SS hold off interrupts and debug traps for one instruction so SS:ESP can be loaded as a pair.
    cpu.interruptShadowUntil = cpu.steps + 2;
    cpu.debugShadowUntil = cpu.steps + 2;
  }
}

/** LES/LDS/LSS/LFS/LGS: offset then selector from memory. */
export function loadFarPointer(seg: number): Handler {
  return (cpu) => {
    cpu.decodeModrm();
    if (cpu.modrm >= 0xc0) cpu.raiseFault(UD, 0);
    const off = cpu.o32 ? cpu.readMem32(cpu.eaSeg, cpu.eaOff) : cpu.readMem16(cpu.eaSeg, cpu.eaOff);
    const sel = cpu.readMem16(cpu.eaSeg, (cpu.eaOff + (cpu.o32 ? 4 : 2)) | 0);
    loadDataSegment(cpu, seg, sel);
    cpu.setRegV((cpu.modrm >> 3) & 7, off);
    if (seg === SS) cpu.interruptShadowUntil = cpu.steps + 2;
  };
}

export function arpl(cpu: CPU): void {
  if ((cpu.cr0 & CR0_PE) === 0) cpu.raiseFault(UD, 0);
  cpu.decodeModrm();
  const dst = cpu.readE16W();
  const src = cpu.getReg16((cpu.modrm >> 3) & 7);
  if ((dst & 3) < (src & 3)) {
    cpu.writeE16((dst & ~3) | (src & 3));
    cpu.setFlag(ZF, true);
  } else {
    cpu.setFlag(ZF, false);
  }
}

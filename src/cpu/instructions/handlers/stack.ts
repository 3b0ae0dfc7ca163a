/**
 * Stack instructions: PUSH/POP in their forms (registers, immediates, r/m, segment registers), PUSHA/
 * POPA, PUSHF/POPF, ENTER/LEAVE.
 */
import type { CPU } from "../../cpu.js";
import type { Handler } from "../table.js";
import { mergeEflags } from "../../interrupts.js";
import { loadDataSegment } from "../../segments.js";
import { EBP, ESP, RF, SS, VM } from "../../constants.js";

/** 50-57: PUSH r16/32. */
export function pushZv(r: number): Handler {
  return (cpu) => {
    if (cpu.o32) cpu.push32(cpu.regs[r]);
    else cpu.push16(cpu.getReg16(r));
  };
}

/** 58-5F: POP r16/32. POP ESP loads the popped value (the increment happens first, then the write). */
export function popZv(r: number): Handler {
  return (cpu) => {
    if (cpu.o32) { const v = cpu.pop32(); cpu.regs[r] = v; }
    else { const v = cpu.pop16(); cpu.setReg16(r, v); }
  };
}

export function pushIz(cpu: CPU): void {
  cpu.pushV(cpu.fetchImm());
}

export function pushIbs(cpu: CPU): void {
  cpu.pushV(cpu.fetchS8());
}

/** FF /6: PUSH r/m. */
export function pushEv(cpu: CPU): void {
  cpu.decodeModrm();
  cpu.pushV(cpu.readEv());
}

/** 8F: POP r/m. The address is computed with ESP already incremented. */
export function popEv(cpu: CPU): void {
  const v = cpu.o32 ? cpu.pop32() : cpu.pop16();
  cpu.decodeModrm();
  cpu.writeEv(v);
}

/** PUSH ES/CS/SS/DS/FS/GS. */
export function pushSreg(seg: number): Handler {
  return (cpu) => cpu.pushV(cpu.segSel[seg]);
}

/** POP ES/SS/DS/FS/GS. */
export function popSreg(seg: number): Handler {
  return (cpu) => {
    const v = cpu.o32 ? cpu.peekStack(0, 4) : cpu.peekStack(0, 2);
    loadDataSegment(cpu, seg, v & 0xffff);
    cpu.adjustStack(cpu.o32 ? 4 : 2);
    if (seg === SS) {
      // MOV/POP SS hold off interrupts and debug traps for one instruction so SS:ESP can be loaded as a pair.
      cpu.interruptShadowUntil = cpu.steps + 2;
      cpu.debugShadowUntil = cpu.steps + 2;
    }
  };
}

export function pusha(cpu: CPU): void {
  const regs = cpu.regs;
  const sp = cpu.instrEsp;
  if (cpu.o32) {
    for (let r = 0; r < 8; r++) cpu.push32(r === ESP ? sp : regs[r]);
  } else {
    for (let r = 0; r < 8; r++) cpu.push16(r === ESP ? sp & 0xffff : cpu.getReg16(r));
  }
}

export function popa(cpu: CPU): void {
  // Read all eight first (so a fault changes nothing), skipping the saved ESP.
  const size = cpu.o32 ? 4 : 2;
  const vals = POPA_SCRATCH;
  for (let i = 0; i < 8; i++) vals[7 - i] = cpu.peekStack(i * size, size);
  cpu.adjustStack(8 * size);
  for (let r = 0; r < 8; r++) if (r !== ESP) cpu.setRegV(r, vals[r]);
}
const POPA_SCRATCH = new Int32Array(8);

/**
 * PUSHF. PUSHF/POPF fault on IOPL only in virtual-8086 mode (unsupported); in protected mode POPF just
 * leaves IF (and IOPL) alone when the privilege does not allow changing them. PUSHF never pushes VM
 * or RF set.
 */
export function pushf(cpu: CPU): void {
  const f = cpu.getEflags() & ~(VM | RF);
  if (cpu.o32) cpu.push32(f);
  else cpu.push16(f);
}

export function popf(cpu: CPU): void {
  const v = cpu.o32 ? cpu.pop32() : cpu.pop16();
  cpu.setEflags(mergeEflags(cpu, v, cpu.o32, cpu.cpl) & ~RF);
}

export function enter(cpu: CPU): void {
  const size = cpu.fetch16();
  const level = cpu.fetch8() & 31;
  const regs = cpu.regs;
  const o32 = cpu.o32;
  cpu.pushV(o32 ? regs[EBP] : cpu.getReg16(EBP));
  const frameTemp = cpu.stack32 ? regs[ESP] : cpu.getReg16(ESP);
  if (level > 0) {
    let bp = cpu.stack32 ? regs[EBP] : cpu.getReg16(EBP);
    const step = o32 ? 4 : 2;
    for (let i = 1; i < level; i++) {
      bp = cpu.stack32 ? (bp - step) | 0 : (bp - step) & 0xffff;
      cpu.pushV(o32 ? cpu.readMem32(SS, bp) : cpu.readMem16(SS, bp));
    }
    cpu.pushV(frameTemp);
  }
  cpu.adjustStack(-size);
  // The new ESP must be writable (the SDM checks the whole frame).
  cpu.prepareWrite(SS, cpu.stack32 ? regs[ESP] : cpu.getReg16(ESP), 1);
  cpu.setRegV(EBP, frameTemp);
}

/** LEAVE: ESP = EBP, then pop EBP (the read comes first, so a fault changes nothing). */
export function leave(cpu: CPU): void {
  const o32 = cpu.o32;
  const frame = cpu.stack32 ? cpu.regs[EBP] : cpu.getReg16(EBP);
  const v = o32 ? cpu.readMem32(SS, frame) : cpu.readMem16(SS, frame);
  if (cpu.stack32) cpu.regs[ESP] = (frame + (o32 ? 4 : 2)) | 0;
  else cpu.setReg16(ESP, frame + (o32 ? 4 : 2));
  cpu.setRegV(EBP, v);
}

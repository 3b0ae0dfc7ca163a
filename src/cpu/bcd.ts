/**
 * Decimal-adjust instructions: DAA, DAS, AAA, AAS, AAM, AAD (SDM pseudo-code). The flags the SDM
 * leaves undefined follow QEMU: OF cleared by DAA, DAS, AAM and AAD; AAA and AAS leave OF, SF, ZF and
 * PF alone.
 */
import type { CPU } from "./cpu.js";
import { AF, CF, OF, PF, SF, ZF } from "./constants.js";
import { PARITY } from "./flags.js";

function setResultFlags(cpu: CPU, al: number, cf: boolean, af: boolean): void {
  let f = cpu.flags & ~(CF | PF | AF | ZF | SF | OF);
  if (cf) f |= CF;
  if (af) f |= AF;
  if (PARITY[al & 0xff]) f |= PF;
  if ((al & 0xff) === 0) f |= ZF;
  if (al & 0x80) f |= SF;
  cpu.flags = f;
}

export function daa(cpu: CPU): void {
  cpu.freezeFlags();
  const oldAl = cpu.regs8[0], oldCf = cpu.getCF();
  let al = oldAl, cf = false, af = false;
  if ((al & 0xf) > 9 || cpu.getAF()) {
    al += 6;
    cf = oldCf || al > 0xff;
    af = true;
  }
  if (oldAl > 0x99 || oldCf) {
    al += 0x60;
    cf = true;
  }
  cpu.regs8[0] = al;
  setResultFlags(cpu, al, cf, af);
}

export function das(cpu: CPU): void {
  cpu.freezeFlags();
  const oldAl = cpu.regs8[0], oldCf = cpu.getCF();
  let al = oldAl, cf = false, af = false;
  if ((al & 0xf) > 9 || cpu.getAF()) {
    cf = oldCf || al < 6;
    al -= 6;
    af = true;
  }
  if (oldAl > 0x99 || oldCf) {
    al -= 0x60;
    cf = true;
  }
  cpu.regs8[0] = al;
  setResultFlags(cpu, al, cf, af);
}

/** AAA and AAS set CF and AF to whether they adjusted; OF, SF, ZF and PF keep their values, as in QEMU. */
function setAdjustFlags(cpu: CPU, adjust: boolean): void {
  cpu.flags = adjust ? cpu.flags | CF | AF : cpu.flags & ~(CF | AF);
}

export function aaa(cpu: CPU): void {
  cpu.freezeFlags();
  const adjust = (cpu.regs8[0] & 0xf) > 9 || cpu.getAF();
  if (adjust) {
    cpu.regs16[0] = cpu.regs16[0] + 0x106;
  }
  cpu.regs8[0] &= 0xf;
  setAdjustFlags(cpu, adjust);
}

export function aas(cpu: CPU): void {
  cpu.freezeFlags();
  const adjust = (cpu.regs8[0] & 0xf) > 9 || cpu.getAF();
  if (adjust) {
    cpu.regs16[0] = cpu.regs16[0] - 6;
    cpu.regs8[1] = cpu.regs8[1] - 1;
  }
  cpu.regs8[0] &= 0xf;
  setAdjustFlags(cpu, adjust);
}

export function aam(cpu: CPU, base: number): void {
  if (base === 0) cpu.divideError();
  cpu.freezeFlags();
  const al = cpu.regs8[0];
  cpu.regs8[1] = Math.floor(al / base);
  cpu.regs8[0] = al % base;
  setResultFlags(cpu, cpu.regs8[0], false, false);
}

export function aad(cpu: CPU, base: number): void {
  cpu.freezeFlags();
  const al = (cpu.regs8[0] + cpu.regs8[1] * base) & 0xff;
  cpu.regs8[0] = al;
  cpu.regs8[1] = 0;
  setResultFlags(cpu, al, false, false);
}

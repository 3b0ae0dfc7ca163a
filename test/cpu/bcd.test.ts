/**
 * Decimal adjust: DAA, DAS (every AL with every AF/CF), AAA, AAS, AAM, AAD, against the SDM's
 * pseudo-code. Defined flags: DAA/DAS set CF AF SF ZF PF (OF undefined); AAA/AAS set AF and CF (OF SF ZF
 * PF undefined); AAM/AAD set SF ZF PF (OF AF CF undefined). AAM 0 is #DE.
 */
import { describe, expect, it } from "vitest";
import { F, KSTACK_TOP, exec, expectException, flagNames, flatMachine, loadCode, reg, setRegs, zsp } from "./harness.js";

const m = flatMachine();

function refDaa(al: number, af: boolean, cf: boolean, sub: boolean): { al: number; flags: number } {
  const oldAl = al, oldCf = cf;
  let c = false, a = false;
  if ((al & 0xf) > 9 || af) {
    const t = sub ? al - 6 : al + 6;
    c = oldCf || t < 0 || t > 0xff;
    al = t & 0xff;
    a = true;
  }
  if (oldAl > 0x99 || oldCf) {
    al = (sub ? al - 0x60 : al + 0x60) & 0xff;
    c = true;
  } else if (!sub) {
    c = false;
  }
  return { al, flags: zsp(al, 8) | (c ? F.CF : 0) | (a ? F.AF : 0) };
}

describe("DAA and DAS", () => {
  it.each([["daa", 0x27, false], ["das", 0x2f, true]] as const)("%s over every AL, AF and CF", (_n, opcode, sub) => {
    const mask = F.CF | F.AF | F.SF | F.ZF | F.PF;
    for (let al = 0; al < 256; al++) for (const af of [false, true]) for (const cf of [false, true]) {
      exec(m, [opcode], { regs: { eax: 0x5500 | al }, flags: (af ? F.AF : 0) | (cf ? F.CF : 0) });
      const want = refDaa(al, af, cf, sub);
      expect({ al: reg(m, "eax") & 0xff, ah: (reg(m, "eax") >> 8) & 0xff, flags: flagNames(m.cpu.getEflags() & mask) }, `AL=0x${al.toString(16)} AF=${af} CF=${cf}`)
        .toEqual({ al: want.al, ah: 0x55, flags: flagNames(want.flags) });
    }
  });
  it("daa after add gives packed BCD: 0x38 + 0x45 = 0x83", () => {
    exec(m, [0x04, 0x45, 0x27], { regs: { eax: 0x38 } }); // add al, 0x45; daa
    expect(reg(m, "eax") & 0xff).toBe(0x83);
    exec(m, [0x04, 0x45, 0x27], { regs: { eax: 0x79 } }); // 79 + 45 = 124: AL=0x24, CF
    expect(reg(m, "eax") & 0xff).toBe(0x24);
    expect(m.cpu.getEflags() & F.CF).toBe(F.CF);
  });
});

describe("AAA and AAS", () => {
  it.each([["aaa", 0x37, false], ["aas", 0x3f, true]] as const)("%s over every AL and AF, with AH", (_n, opcode, sub) => {
    for (let al = 0; al < 256; al++) for (const af of [false, true]) for (const ah of [0, 0x7f, 0xff]) {
      exec(m, [opcode], { regs: { eax: (ah << 8) | al }, flags: af ? F.AF : 0 });
      const adjust = (al & 0xf) > 9 || af;
      let ax = (ah << 8) | al;
      if (adjust) {
        if (sub) {
          ax = (ax - 6) & 0xffff;
          ax = (ax - 0x100) & 0xffff;
        } else {
          ax = (ax + 0x106) & 0xffff;
        }
      }
      ax = (ax & 0xff00) | (ax & 0x0f);
      expect({ ax: reg(m, "eax") & 0xffff, cfaf: m.cpu.getEflags() & (F.CF | F.AF) }, `AX=0x${((ah << 8) | al).toString(16)} AF=${af}`)
        .toEqual({ ax, cfaf: adjust ? F.CF | F.AF : 0 });
    }
  });
  it.each([["aaa", 0x37], ["aas", 0x3f]] as const)("%s leaves OF, SF, ZF and PF as they were (as QEMU does)", (_n, opcode) => {
    for (const [al, flags] of [[0, F.OF | F.SF], [0x0a, F.ZF | F.PF], [0x05, 0]]) {
      exec(m, [opcode], { regs: { eax: al }, flags });
      expect(flagNames(m.cpu.getEflags() & (F.OF | F.SF | F.ZF | F.PF)), `AL=0x${al.toString(16)}`).toBe(flagNames(flags));
    }
  });
});

describe("AAM and AAD", () => {
  it("aam 10 splits AL into AH:AL; aam 16 into nibbles; SF ZF PF from AL", () => {
    for (let al = 0; al < 256; al++) {
      exec(m, [0xd4, 0x0a], { regs: { eax: al } });
      expect(reg(m, "eax") & 0xffff).toBe((Math.floor(al / 10) << 8) | (al % 10));
      expect(m.cpu.getEflags() & (F.SF | F.ZF | F.PF)).toBe(zsp(al % 10, 8));
    }
    exec(m, [0xd4, 0x10], { regs: { eax: 0xab } });
    expect(reg(m, "eax") & 0xffff).toBe(0x0a0b);
  });
  it("aad 10 joins AH:AL; AH becomes 0", () => {
    for (const ax of [0x0000, 0x0109, 0x0909, 0xff05, 0x1234]) {
      exec(m, [0xd5, 0x0a], { regs: { eax: ax } });
      const al = ((ax & 0xff) + (ax >> 8) * 10) & 0xff;
      expect(reg(m, "eax") & 0xffff).toBe(al);
      expect(m.cpu.getEflags() & (F.SF | F.ZF | F.PF)).toBe(zsp(al, 8));
    }
  });
  it("aam 0 is #DE", () => {
    setRegs(m, { eax: 5, esp: KSTACK_TOP });
    loadCode(m, [0xd4, 0x00]);
    expect(expectException(m).vector).toBe(0);
  });
});

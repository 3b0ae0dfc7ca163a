/**
 * Shifts and rotates (ROL ROR RCL RCR SHL SHR SAL SAR) and SHLD/SHRD, checked against a bit-by-bit
 * reference written from the SDM's pseudo-code.
 *
 * Defined vs undefined (SDM vol. 2, SAL/SAR/SHL/SHR, RCL/RCR/ROL/ROR, SHLD, SHRD):
 * - The count is masked to 5 bits; a masked count of 0 changes nothing, flags included.
 * - OF is defined only for a masked count of 1 (undefined otherwise: not asserted).
 * - AF is undefined after every shift with a non-zero count (not asserted).
 * - SHL/SHR: CF is undefined when the count is >= the operand width (not asserted). SAR's CF stays
 *   defined (the sign bit shifted in keeps coming out).
 * - Rotates change only CF (and OF for count 1); SF, ZF, PF and AF must be preserved.
 * - RCL/RCR rotate by (count & 31) mod 9 (bytes) or mod 17 (words).
 * - SHLD/SHRD: result, CF and flags undefined when the count exceeds the operand width (16-bit forms
 *   with counts 17..31): not asserted. AF undefined.
 */
import { describe, expect, it } from "vitest";
import { ARITH, DATA, F, exec, flagNames, flatMachine, low, rd16, rd32, reg, wr16, wr32, zsp } from "./harness.js";

const m = flatMachine();
const NAMES = ["rol", "ror", "rcl", "rcr", "shl", "shr", "sal", "sar"] as const;

interface Ref {
  res: number;
  /** Flags whose value is defined, and their expected values. */
  defined: number;
  flags: number;
}

/** One bit at a time, straight from the SDM's loops. */
function refShift(op: number, bits: number, a: number, count: number, cfIn: number, flagsIn: number): Ref {
  const msb = bits - 1;
  const bit = (v: number, i: number) => Math.floor(v / 2 ** i) % 2;
  const mod = 2 ** bits;
  let v = low(a, bits);
  const masked = count & 31;
  if (masked === 0) return { res: v, defined: ARITH, flags: flagsIn & ARITH };
  let cf = cfIn;
  let n = masked;
  if (op === 0 || op === 1) n = masked % bits;
  if (op === 2 || op === 3) n = bits === 8 ? masked % 9 : bits === 16 ? masked % 17 : masked;
  const orig = v;
  for (let i = 0; i < n; i++) {
    switch (op) {
      case 0: { const out = bit(v, msb); v = (v * 2) % mod + out; cf = out; break; }
      case 1: { const out = v % 2; v = Math.floor(v / 2) + out * 2 ** msb; cf = out; break; }
      case 2: { const out = bit(v, msb); v = (v * 2) % mod + cf; cf = out; break; }
      case 3: { const out = v % 2; v = Math.floor(v / 2) + cf * 2 ** msb; cf = out; break; }
      case 4: case 6: { cf = bit(v, msb); v = (v * 2) % mod; break; }
      case 5: { cf = v % 2; v = Math.floor(v / 2); break; }
      default: { cf = v % 2; v = Math.floor(v / 2) + bit(v, msb) * 2 ** msb; break; }
    }
  }
  let defined = 0, flags = 0;
  if (op <= 3) {
    // Rotates: SF ZF PF AF untouched; CF set from the rotation.
    defined = F.SF | F.ZF | F.PF | F.AF | F.CF;
    flags = flagsIn & (F.SF | F.ZF | F.PF | F.AF);
    if (op === 0) cf = v % 2; // ROL: CF is the result's low bit, even for rotations by a multiple of the width
    if (op === 1) cf = bit(v, msb); // ROR: CF is the result's top bit
    if (cf) flags |= F.CF;
    if (masked === 1) {
      defined |= F.OF;
      let of = 0;
      if (op === 0 || op === 2) of = bit(v, msb) ^ cf;
      else if (op === 1) of = bit(v, msb) ^ bit(v, msb - 1);
      else of = bit(orig, msb) ^ cfIn; // RCR: computed before the rotation
      if (of) flags |= F.OF;
    }
    return { res: v, defined, flags };
  }
  defined = F.SF | F.ZF | F.PF;
  flags = zsp(v, bits);
  const cfDefined = op === 7 || masked < bits;
  if (cfDefined) {
    defined |= F.CF;
    if (cf) flags |= F.CF;
  }
  if (masked === 1) {
    defined |= F.OF;
    let of = 0;
    if (op === 4 || op === 6) of = bit(v, msb) ^ cf;
    else if (op === 5) of = bit(orig, msb);
    if (of) flags |= F.OF;
  }
  return { res: v, defined, flags };
}

const VALUES: Record<number, number[]> = {
  8: [0, 1, 0x80, 0x81, 0x40, 0xc0, 0x7f, 0xff, 0x5a],
  16: [0, 1, 0x8000, 0x8001, 0x4000, 0xc000, 0x7fff, 0xffff, 0x5a3c],
  32: [0, 1, 0x80000000, 0x80000001, 0x40000000, 0xc0000000, 0x7fffffff, 0xffffffff, 0x5a3c96e1],
};
const COUNTS = [0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 18, 31, 32, 33, 63, 255];
const FLAG_PRESETS = [0, ARITH, F.CF, F.ZF | F.SF | F.PF | F.AF | F.OF];
const prefix = (bits: number) => (bits === 16 ? [0x66] : []);

function compare(label: string, r: Ref, res: number, flags: number, bits: number): void {
  expect({ res: low(res, bits), flags: flagNames(flags & r.defined) }, label).toEqual({ res: r.res, flags: flagNames(r.flags) });
}

describe("anchors", () => {
  it("shl eax, 1 with EAX=0x80000000: 0, CF ZF PF OF", () => {
    exec(m, [0xd1, 0xe0], { regs: { eax: 0x80000000 } }); // shl eax, 1
    expect(reg(m, "eax")).toBe(0);
    expect(m.cpu.getEflags() & (ARITH & ~F.AF)).toBe(F.CF | F.ZF | F.PF | F.OF);
  });
  it("sar bl, 1 with BL=0x81: 0xc0, CF SF PF, OF clear", () => {
    exec(m, [0xd0, 0xfb], { regs: { ebx: 0x81 }, flags: F.OF }); // sar bl, 1
    expect(reg(m, "ebx")).toBe(0xc0);
    expect(m.cpu.getEflags() & (ARITH & ~F.AF)).toBe(F.CF | F.SF | F.PF);
  });
  it("rcr al, 1 with CF=1 and AL=1: 0x80, CF, OF=1 (old MSB 0 xor CF 1)", () => {
    exec(m, [0xd0, 0xd8], { regs: { eax: 1 }, flags: F.CF }); // rcr al, 1
    expect(reg(m, "eax")).toBe(0x80);
    expect(m.cpu.getEflags() & (F.CF | F.OF)).toBe(F.CF | F.OF);
  });
  it("shl ecx-count 33 acts as 1; count 32 changes nothing", () => {
    exec(m, [0xd3, 0xe3], { regs: { ebx: 3, ecx: 33 } }); // shl ebx, cl
    expect(reg(m, "ebx")).toBe(6);
    exec(m, [0xd3, 0xe3], { regs: { ebx: 3, ecx: 32 }, flags: F.CF | F.OF | F.ZF });
    expect(reg(m, "ebx")).toBe(3);
    expect(m.cpu.getEflags() & ARITH).toBe(F.CF | F.OF | F.ZF);
  });
  it("rcl bl, 9 rotates through carry back to the start: nothing changes", () => {
    exec(m, [0xc0, 0xd3, 9], { regs: { ebx: 0xa5 }, flags: F.CF }); // rcl bl, 9
    expect(reg(m, "ebx")).toBe(0xa5);
    expect(m.cpu.getEflags() & F.CF).toBe(F.CF);
  });
});

// The flags the SDM leaves undefined, as QEMU 7.2 leaves them (arith-flags-qemu.test.ts compares a
// whole grid against QEMU when it is installed; these are lines of that grid).
describe("undefined flags as QEMU leaves them", () => {
  it("rcl al, 8 with AL=1: OF is the top bit of operand xor result (clear), not result xor CF", () => {
    exec(m, [0xc0, 0xd0, 8], { regs: { eax: 1 } }); // rcl al, 8
    expect([reg(m, "eax"), flagNames(m.cpu.getEflags() & ARITH)]).toEqual([0, flagNames(F.CF)]);
  });
  it("rcr al, 2 with AL=0 and CF=1: 0x40, OF clear", () => {
    exec(m, [0xc0, 0xd8, 2], { regs: { eax: 0 }, flags: ARITH }); // rcr al, 2
    expect([reg(m, "eax"), flagNames(m.cpu.getEflags() & ARITH)]).toEqual([0x40, flagNames(F.SF | F.ZF | F.AF | F.PF)]);
  });
  it("rcl ax, 17 (a multiple of 17) leaves every flag, OF included", () => {
    exec(m, [0x66, 0xc1, 0xd0, 17], { regs: { eax: 0x8000 }, flags: F.CF | F.OF }); // rcl ax, 17
    expect([reg(m, "eax"), flagNames(m.cpu.getEflags() & ARITH)]).toEqual([0x8000, flagNames(F.CF | F.OF)]);
  });
  it("shr al, 2 with AL=0x80: 0x20, OF clear (the count-one formula would set it)", () => {
    exec(m, [0xc0, 0xe8, 2], { regs: { eax: 0x80 } }); // shr al, 2
    expect([reg(m, "eax"), flagNames(m.cpu.getEflags() & ARITH)]).toEqual([0x20, "-"]);
  });
  it("shld ax, dx, 18 with AX=2, DX=0x4000: 0, CF and OF from src:dst shifted by 17", () => {
    exec(m, [0x66, 0x0f, 0xa4, 0xd0, 18], { regs: { eax: 2, edx: 0x4000 } }); // shld ax, dx, 18
    expect([reg(m, "eax"), flagNames(m.cpu.getEflags() & ARITH)]).toEqual([0, flagNames(F.OF | F.ZF | F.PF | F.CF)]);
  });
});

describe.each([8, 16, 32])("group 2, %i-bit", (bits) => {
  describe.each(NAMES.map((n, i) => [n, i] as const))("%s", (_name, op) => {
    it("by CL, every count and flag preset, on EBX", () => {
      for (const a of VALUES[bits]) for (const count of COUNTS) for (const preset of FLAG_PRESETS) {
        // op bl/bx/ebx, cl
        exec(m, [...prefix(bits), bits === 8 ? 0xd2 : 0xd3, 0xc0 | (op << 3) | 3], { regs: { ebx: a, ecx: count }, flags: preset });
        const r = refShift(op, bits, a, count, preset & 1, preset);
        compare(`${NAMES[op]}${bits} 0x${a.toString(16)} by ${count} flags ${flagNames(preset)}`, r, reg(m, "ebx"), m.cpu.getEflags(), bits);
      }
    });
    it("by imm8 and by the 1-forms, on memory", () => {
      for (const a of VALUES[bits]) for (const count of [1, 4, bits - 1, bits, bits + 1]) for (const preset of [0, ARITH]) {
        if (bits === 8) m.mem.write(DATA, 1, a); else if (bits === 16) wr16(m, DATA, a); else wr32(m, DATA, a);
        // op [esi], imm8 (C0/C1 /op ib) or op [esi], 1 (D0/D1 /op)
        const code = count === 1 ? [...prefix(bits), bits === 8 ? 0xd0 : 0xd1, (op << 3) | 6] : [...prefix(bits), bits === 8 ? 0xc0 : 0xc1, (op << 3) | 6, count];
        exec(m, code, { regs: { esi: DATA }, flags: preset });
        const got = bits === 8 ? m.mem.read(DATA, 1) : bits === 16 ? rd16(m, DATA) : rd32(m, DATA);
        const r = refShift(op, bits, a, count, preset & 1, preset);
        compare(`${NAMES[op]}${bits} [mem] 0x${a.toString(16)} by ${count}`, r, got, m.cpu.getEflags(), bits);
      }
    });
  });
});

/** SHLD/SHRD reference: the destination shifted with bits from the source, per the SDM. */
function refDouble(left: boolean, bits: number, dst: number, src: number, count: number, flagsIn: number): Ref | null {
  const n = count & 31;
  dst = low(dst, bits);
  src = low(src, bits);
  if (n === 0) return { res: dst, defined: ARITH, flags: flagsIn & ARITH };
  if (n > bits) return null; // undefined
  const D = BigInt(dst), S = BigInt(src), W = BigInt(bits), N = BigInt(n), mask = (1n << W) - 1n;
  let res: bigint, cf: bigint;
  if (left) {
    const cat = (D << W) | S; // dst:src
    res = ((cat << N) >> W) & mask;
    cf = (D >> (W - N)) & 1n;
  } else {
    const cat = (S << W) | D; // src:dst
    res = (cat >> N) & mask;
    cf = (D >> (N - 1n)) & 1n;
  }
  const r = Number(res);
  let flags = zsp(r, bits);
  let defined = F.SF | F.ZF | F.PF | F.CF;
  if (cf) flags |= F.CF;
  if (n === 1) {
    defined |= F.OF;
    // OF: the sign changed.
    if (((r >>> (bits - 1)) & 1) !== ((dst >>> (bits - 1)) & 1)) flags |= F.OF;
  }
  return { res: r, defined, flags };
}

describe.each([16, 32])("SHLD/SHRD %i-bit", (bits) => {
  const srcs = bits === 16 ? [0, 0xffff, 0x8001, 0x1234] : [0, 0xffffffff, 0x80000001, 0x12345678];
  it.each([["shld", true], ["shrd", false]] as const)("%s by CL and by imm8", (_n, left) => {
    for (const dst of VALUES[bits]) for (const src of srcs) for (const count of COUNTS) for (const preset of [0, ARITH]) {
      const r = refDouble(left, bits, dst, src, count, preset);
      // shld/shrd ebx, edx, cl
      exec(m, [...prefix(bits), 0x0f, left ? 0xa5 : 0xad, 0xd3], { regs: { ebx: dst, edx: src, ecx: count }, flags: preset });
      if (r !== null) compare(`${left ? "shld" : "shrd"}${bits} 0x${dst.toString(16)},0x${src.toString(16)} cl=${count}`, r, reg(m, "ebx"), m.cpu.getEflags(), bits);
      expect(low(reg(m, "edx"), bits), "source untouched").toBe(src);
      // shld/shrd ebx, edx, imm8
      exec(m, [...prefix(bits), 0x0f, left ? 0xa4 : 0xac, 0xd3, count & 0xff], { regs: { ebx: dst, edx: src }, flags: preset });
      if (r !== null) compare(`${left ? "shld" : "shrd"}${bits} imm 0x${dst.toString(16)},0x${src.toString(16)} ${count}`, r, reg(m, "ebx"), m.cpu.getEflags(), bits);
    }
  });
  it("shld to memory: [esi], edx, cl", () => {
    const dst = bits === 16 ? 0x8123 : 0x81234567;
    const src = bits === 16 ? 0xf00f : 0xf000000f;
    if (bits === 16) wr16(m, DATA, dst); else wr32(m, DATA, dst);
    exec(m, [...prefix(bits), 0x0f, 0xa5, 0x16], { regs: { esi: DATA, edx: src, ecx: 4 } });
    const r = refDouble(true, bits, dst, src, 4, 0)!;
    compare("shld mem", r, bits === 16 ? rd16(m, DATA) : rd32(m, DATA), m.cpu.getEflags(), bits);
  });
});

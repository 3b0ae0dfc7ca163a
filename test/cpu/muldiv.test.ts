/**
 * MUL, IMUL (one-, two- and three-operand forms), DIV and IDIV at every size, against BigInt
 * arithmetic, and #DE for a zero divisor and for quotients that do not fit.
 *
 * Flags: MUL/IMUL define only CF and OF (both set when the upper half is significant); SF, ZF, AF and
 * PF are undefined (not asserted). DIV/IDIV leave all six status flags undefined (not asserted).
 * #DE is a fault: the handler sees the DIV's own address and every register unchanged.
 */
import { describe, expect, it } from "vitest";
import { DATA, F, Rng, exec, expectException, flatMachine, handlerAddr, loadCode, low, reg, setRegs, stackWord, wr32, CODE } from "./harness.js";

const m = flatMachine();
const prefix = (bits: number) => (bits === 16 ? [0x66] : []);

const sx = (v: number, bits: number) => BigInt.asIntN(bits, BigInt(low(v, bits)));
const zx = (v: number, bits: number) => BigInt(low(v, bits));

const EDGE: Record<number, number[]> = {
  8: [0, 1, 2, 0x7f, 0x80, 0x81, 0xff, 0xfe, 0x10, 0x0b],
  16: [0, 1, 2, 0x7fff, 0x8000, 0x8001, 0xffff, 0xfffe, 0x100, 0x1234],
  32: [0, 1, 2, 0x7fffffff, 0x80000000, 0x80000001, 0xffffffff, 0xfffffffe, 0x10000, 0x12345678],
};

function values(bits: number, seed: number): number[] {
  const rng = new Rng(seed);
  const out = [...EDGE[bits]];
  for (let i = 0; i < 20; i++) out.push(low(rng.next(), bits));
  return out;
}

const CFOF = F.CF | F.OF;

describe("MUL (unsigned, one operand)", () => {
  it.each([8, 16, 32])("%i-bit: AX / DX:AX / EDX:EAX and CF=OF=upper half non-zero", (bits) => {
    const vals = values(bits, 11 + bits);
    for (const a of vals) for (const b of vals) {
      // mul bl / mul bx / mul ebx
      exec(m, [...prefix(bits), bits === 8 ? 0xf6 : 0xf7, 0xe3], { regs: { eax: a, ebx: b, edx: 0x5555aaaa } });
      const p = zx(a, bits) * zx(b, bits);
      const lowHalf = Number(p & ((1n << BigInt(bits)) - 1n));
      const high = Number(p >> BigInt(bits));
      const label = `mul${bits} 0x${a.toString(16)} * 0x${b.toString(16)}`;
      if (bits === 8) {
        expect(low(reg(m, "eax"), 16), label).toBe(Number(p));
        expect(reg(m, "edx"), "DX untouched by a byte MUL").toBe(0x5555aaaa);
      } else {
        expect([low(reg(m, "eax"), bits), low(reg(m, "edx"), bits)], label).toEqual([lowHalf, high]);
        if (bits === 16) expect(reg(m, "edx") >>> 16, "upper EDX kept").toBe(0x5555);
      }
      expect(m.cpu.getEflags() & CFOF, label).toBe(high !== 0 ? CFOF : 0);
    }
  });
});

describe("IMUL one operand (signed)", () => {
  it.each([8, 16, 32])("%i-bit: CF=OF unless the product fits the low half", (bits) => {
    const vals = values(bits, 21 + bits);
    for (const a of vals) for (const b of vals) {
      // imul bl / imul bx / imul ebx
      exec(m, [...prefix(bits), bits === 8 ? 0xf6 : 0xf7, 0xeb], { regs: { eax: a, ebx: b, edx: 0 } });
      const p = sx(a, bits) * sx(b, bits);
      const label = `imul${bits} ${sx(a, bits)} * ${sx(b, bits)}`;
      const width = BigInt(bits);
      const lowHalf = Number(BigInt.asUintN(bits, p));
      const high = Number(BigInt.asUintN(bits, p >> width));
      if (bits === 8) expect(low(reg(m, "eax"), 16), label).toBe(Number(BigInt.asUintN(16, p)));
      else expect([low(reg(m, "eax"), bits), low(reg(m, "edx"), bits)], label).toEqual([lowHalf, high]);
      const fits = BigInt.asIntN(bits, p) === p;
      expect(m.cpu.getEflags() & CFOF, label).toBe(fits ? 0 : CFOF);
    }
  });
});

describe("IMUL two and three operands (truncated)", () => {
  it.each([16, 32])("%i-bit imul ecx, ebx and imul ecx, [esi]", (bits) => {
    const vals = values(bits, 31 + bits);
    for (const a of vals) for (const b of vals) {
      const p = sx(a, bits) * sx(b, bits);
      const want = Number(BigInt.asUintN(bits, p));
      const fits = BigInt.asIntN(bits, p) === p;
      const label = `imul${bits} ${sx(a, bits)} * ${sx(b, bits)}`;
      exec(m, [...prefix(bits), 0x0f, 0xaf, 0xcb], { regs: { ecx: a, ebx: b, edx: 0x77 } }); // imul ecx, ebx
      expect(low(reg(m, "ecx"), bits), label).toBe(want);
      expect(m.cpu.getEflags() & CFOF, label).toBe(fits ? 0 : CFOF);
      expect(reg(m, "edx"), "EDX untouched").toBe(0x77);
      wr32(m, DATA, b);
      exec(m, [...prefix(bits), 0x0f, 0xaf, 0x0e], { regs: { ecx: a, esi: DATA } }); // imul ecx, [esi]
      expect(low(reg(m, "ecx"), bits), label).toBe(want);
      expect(m.cpu.getEflags() & CFOF, label).toBe(fits ? 0 : CFOF);
    }
  });
  it.each([16, 32])("%i-bit imul ecx, ebx, imm (69) and imm8 (6B, sign-extended)", (bits) => {
    const vals = values(bits, 41 + bits);
    const imms = bits === 16 ? [0, 1, 0x7fff, 0x8000, 0xffff, 300] : [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0x12345678];
    for (const a of vals) {
      for (const imm of imms) {
        const p = sx(a, bits) * sx(imm, bits);
        const bytes = bits === 16 ? [imm & 0xff, imm >> 8] : [imm & 0xff, (imm >>> 8) & 0xff, (imm >>> 16) & 0xff, imm >>> 24];
        exec(m, [...prefix(bits), 0x69, 0xcb, ...bytes], { regs: { ebx: a, ecx: 0 } }); // imul ecx, ebx, imm
        expect(low(reg(m, "ecx"), bits)).toBe(Number(BigInt.asUintN(bits, p)));
        expect(m.cpu.getEflags() & CFOF).toBe(BigInt.asIntN(bits, p) === p ? 0 : CFOF);
        expect(low(reg(m, "ebx"), bits), "source untouched").toBe(a);
      }
      for (const imm8 of [0, 1, 0x7f, 0x80, 0xfd, 0xff]) {
        const p = sx(a, bits) * sx(imm8, 8);
        exec(m, [...prefix(bits), 0x6b, 0xcb, imm8], { regs: { ebx: a, ecx: 0 } }); // imul ecx, ebx, imm8
        expect(low(reg(m, "ecx"), bits), `imul ${sx(a, bits)} * ${sx(imm8, 8)}`).toBe(Number(BigInt.asUintN(bits, p)));
        expect(m.cpu.getEflags() & CFOF).toBe(BigInt.asIntN(bits, p) === p ? 0 : CFOF);
      }
    }
  });
});

/** Expects `code` (a DIV/IDIV at CODE) to raise #DE with every register unchanged. */
function expectDivideError(code: number[], regs: { eax: number; edx: number; ebx: number }): void {
  setRegs(m, { ...regs, esp: 0x10000 });
  m.cpu.setEflags(2);
  loadCode(m, code);
  const { vector, error } = expectException(m);
  expect(vector).toBe(0);
  expect(error).toBe(0);
  expect(m.cpu.eip >>> 0).toBe(handlerAddr(0));
  // The frame: EIP (the faulting DIV itself), CS, EFLAGS.
  expect(stackWord(m, 0)).toBe(CODE);
  expect(stackWord(m, 1)).toBe(0x08);
  expect([reg(m, "eax"), reg(m, "edx"), reg(m, "ebx")]).toEqual([regs.eax >>> 0, regs.edx >>> 0, regs.ebx >>> 0]);
}

describe("DIV (unsigned)", () => {
  it.each([8, 16, 32])("%i-bit quotient and remainder", (bits) => {
    const rng = new Rng(51 + bits);
    for (let i = 0; i < 300; i++) {
      const d = low(rng.next(), bits) || 1;
      // A dividend whose quotient fits: high part below the divisor.
      const hi = i % 3 === 0 ? 0 : rng.next() % d;
      const lo = low(rng.next(), bits);
      const n = (BigInt(hi) << BigInt(bits)) | BigInt(lo);
      const q = n / BigInt(d), r = n % BigInt(d);
      if (bits === 8) {
        exec(m, [0xf6, 0xf3], { regs: { eax: (hi << 8) | lo, ebx: d } }); // div bl
        expect([reg(m, "eax") & 0xff, (reg(m, "eax") >> 8) & 0xff], `${n} / ${d}`).toEqual([Number(q), Number(r)]);
      } else {
        exec(m, [...prefix(bits), 0xf7, 0xf3], { regs: { eax: lo, edx: hi, ebx: d } }); // div bx / div ebx
        expect([low(reg(m, "eax"), bits), low(reg(m, "edx"), bits)], `${n} / ${d}`).toEqual([Number(q), Number(r)]);
      }
    }
  });
  it("div dword [esi] from memory", () => {
    wr32(m, DATA, 7);
    exec(m, [0xf7, 0x36], { regs: { eax: 100, edx: 0, esi: DATA } }); // div dword [esi]
    expect([reg(m, "eax"), reg(m, "edx")]).toEqual([14, 2]);
  });
  it("#DE on a zero divisor (8, 16, 32 bits)", () => {
    expectDivideError([0xf6, 0xf3], { eax: 0x1234, edx: 0, ebx: 0x100 }); // div bl (BL = 0)
    expectDivideError([0x66, 0xf7, 0xf3], { eax: 0x1234, edx: 0, ebx: 0x10000 }); // div bx (BX = 0)
    expectDivideError([0xf7, 0xf3], { eax: 5, edx: 0, ebx: 0 }); // div ebx
  });
  it("#DE when the quotient overflows", () => {
    expectDivideError([0xf6, 0xf3], { eax: 0x100, edx: 0, ebx: 1 }); // 256 / 1 does not fit AL
    expectDivideError([0x66, 0xf7, 0xf3], { eax: 0, edx: 2, ebx: 2 }); // 0x20000 / 2
    expectDivideError([0xf7, 0xf3], { eax: 0, edx: 1, ebx: 1 }); // 2^32 / 1
    expectDivideError([0xf7, 0xf3], { eax: -1, edx: -1, ebx: -1 }); // hi == divisor
  });
  it("the largest quotient that fits does not fault", () => {
    exec(m, [0xf7, 0xf3], { regs: { eax: -1, edx: 0xfffffffe, ebx: -1 } }); // (2^64 - 2^32 - 1) / (2^32 - 1)
    expect([reg(m, "eax"), reg(m, "edx")]).toEqual([0xffffffff, 0xfffffffe]);
  });
});

describe("IDIV (signed, truncating toward zero)", () => {
  it.each([8, 16, 32])("%i-bit quotient and remainder, remainder has the dividend's sign", (bits) => {
    const rng = new Rng(61 + bits);
    const W = BigInt(bits);
    let checked = 0;
    for (let i = 0; i < 600; i++) {
      const d = sx(rng.next(), bits >= 16 && i % 2 === 0 ? 8 : bits) || 1n; // mix small and large divisors
      const n = BigInt.asIntN(2 * bits, (BigInt(rng.next()) << 32n) | BigInt(rng.next())) >> BigInt(i % 4 === 0 ? 0 : bits + (i % 7));
      const q = n / d, r = n % d; // BigInt division truncates toward zero like IDIV
      const fits = q >= -(1n << (W - 1n)) && q < 1n << (W - 1n);
      if (!fits) continue;
      checked++;
      const nu = BigInt.asUintN(2 * bits, n);
      const lo = Number(nu & ((1n << W) - 1n)), hi = Number(nu >> W);
      const dv = Number(BigInt.asUintN(bits, d));
      if (bits === 8) {
        exec(m, [0xf6, 0xfb], { regs: { eax: (hi << 8) | lo, ebx: dv } }); // idiv bl
        expect([reg(m, "eax") & 0xff, (reg(m, "eax") >> 8) & 0xff], `${n} / ${d}`).toEqual([Number(BigInt.asUintN(8, q)), Number(BigInt.asUintN(8, r))]);
      } else {
        exec(m, [...prefix(bits), 0xf7, 0xfb], { regs: { eax: lo, edx: hi, ebx: dv } }); // idiv bx / idiv ebx
        expect([low(reg(m, "eax"), bits), low(reg(m, "edx"), bits)], `${n} / ${d}`).toEqual([Number(BigInt.asUintN(bits, q)), Number(BigInt.asUintN(bits, r))]);
      }
    }
    expect(checked).toBeGreaterThan(100);
  });
  it("quotients at the negative limit fit: -2^31 / 1 and 2^31 / -1", () => {
    exec(m, [0xf7, 0xfb], { regs: { eax: 0x80000000, edx: -1, ebx: 1 } });
    expect([reg(m, "eax"), reg(m, "edx")]).toEqual([0x80000000, 0]);
    exec(m, [0xf7, 0xfb], { regs: { eax: 0x80000000, edx: 0, ebx: -1 } });
    expect([reg(m, "eax"), reg(m, "edx")]).toEqual([0x80000000, 0]);
    exec(m, [0xf6, 0xfb], { regs: { eax: 0xff80, ebx: 1 } }); // idiv bl: -128 / 1
    expect(reg(m, "eax") & 0xffff).toBe(0x0080);
  });
  it("-7 / 2 = -3 remainder -1; 7 / -2 = -3 remainder 1", () => {
    exec(m, [0xf7, 0xfb], { regs: { eax: -7, edx: -1, ebx: 2 } });
    expect([reg(m, "eax"), reg(m, "edx")]).toEqual([0xfffffffd, 0xffffffff]);
    exec(m, [0xf7, 0xfb], { regs: { eax: 7, edx: 0, ebx: -2 } });
    expect([reg(m, "eax"), reg(m, "edx")]).toEqual([0xfffffffd, 1]);
  });
  it("#DE on zero divisors", () => {
    expectDivideError([0xf6, 0xfb], { eax: 5, edx: 0, ebx: 0 });
    expectDivideError([0x66, 0xf7, 0xfb], { eax: 5, edx: 0, ebx: 0xffff0000 });
    expectDivideError([0xf7, 0xfb], { eax: 5, edx: 0, ebx: 0 });
  });
  it("#DE on overflow: 0x80000000:00000000 / -1, -2^31 / -1, and the byte and word limits", () => {
    expectDivideError([0xf7, 0xfb], { eax: 0, edx: 0x80000000, ebx: -1 }); // -2^63 / -1
    expectDivideError([0xf7, 0xfb], { eax: 0x80000000, edx: -1, ebx: -1 }); // -2^31 / -1 = 2^31
    expectDivideError([0xf7, 0xfb], { eax: 0, edx: 1, ebx: 1 }); // 2^32 / 1
    expectDivideError([0xf6, 0xfb], { eax: 0xff80, edx: 0, ebx: 0xff }); // -128 / -1
    expectDivideError([0xf6, 0xfb], { eax: 0x0080, edx: 0, ebx: 1 }); // 128 / 1
    expectDivideError([0x66, 0xf7, 0xfb], { eax: 0x8000, edx: 0xffff, ebx: 0xffff }); // -32768 / -1
  });
});

/**
 * ADD/ADC/SUB/SBB/CMP/NEG/INC/DEC and AND/OR/XOR/TEST at 8, 16 and 32 bits, in every encoding form.
 *
 * Expected results come from a reference model written from the SDM's flag definitions (below), checked
 * against literal anchor cases first. All six status flags are defined for ADD/ADC/SUB/SBB/CMP/NEG;
 * INC/DEC leave CF unchanged; for AND/OR/XOR/TEST, CF=OF=0 and ZF/SF/PF are defined while AF is
 * undefined (not asserted). Flags outside the six status flags must be left alone by all of them.
 */
import { describe, expect, it } from "vitest";
import { ARITH, DATA, F, exec, flagNames, flatMachine, low, rd16, rd32, rd8, reg, wr16, wr32, wr8, zsp, type TestMachine } from "./harness.js";

type Op = "add" | "or" | "adc" | "sbb" | "and" | "sub" | "xor" | "cmp";
const OPS: Op[] = ["add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"];
const LOGIC_OPS: Op[] = ["and", "or", "xor"];

/** Reference ALU: result and status flags from the SDM definitions; AF omitted for logic ops. */
function reference(op: Op, bits: number, a: number, b: number, cin: number): { res: number; flags: number; afDefined: boolean } {
  const mask = bits === 32 ? 0xffffffff : (1 << bits) - 1;
  const sign = 2 ** (bits - 1);
  a = (a & mask) >>> 0;
  b = (b & mask) >>> 0;
  let full: number;
  let cf = false, of = false;
  const sa = a >= sign, sb = b >= sign;
  switch (op) {
    case "add": case "adc": {
      const c = op === "adc" ? cin : 0;
      full = a + b + c;
      cf = full > mask;
      const sr = (full & mask) >>> 0 >= sign;
      of = sa === sb && sr !== sa;
      break;
    }
    case "sub": case "sbb": case "cmp": {
      const c = op === "sbb" ? cin : 0;
      full = a - b - c;
      cf = a < b + c;
      const sr = ((full & mask) >>> 0) >= sign;
      of = sa !== sb && sr !== sa;
      break;
    }
    case "and": full = (a & b) >>> 0; break;
    case "or": full = (a | b) >>> 0; break;
    default: full = (a ^ b) >>> 0; break;
  }
  const res = ((full % 2 ** bits) + 2 ** bits) % 2 ** bits;
  let flags = zsp(res, bits);
  if (cf) flags |= F.CF;
  if (of) flags |= F.OF;
  const logic = op === "and" || op === "or" || op === "xor";
  if (!logic && ((a ^ b ^ res) & 0x10) !== 0) flags |= F.AF;
  return { res, flags, afDefined: !logic };
}

const m: TestMachine = flatMachine();
/** Flags outside ARITH that must survive every ALU instruction: DF and IF set beforehand. */
const KEEP = F.DF | F.IF;

function check(label: string, op: Op, bits: number, a: number, b: number, cin: number, actual: number, flagsAfter: number, flagsBefore: number): void {
  const want = reference(op, bits, a, b, cin);
  const mask = want.afDefined ? ARITH : ARITH & ~F.AF;
  const expectedRes = op === "cmp" ? (a & (bits === 32 ? -1 : (1 << bits) - 1)) >>> 0 : want.res;
  const got = { res: actual >>> 0, flags: flagNames(flagsAfter & mask), keep: flagsAfter & KEEP };
  const exp = { res: expectedRes, flags: flagNames(want.flags & mask), keep: flagsBefore & KEEP };
  expect(got, `${label}: ${op}${bits} a=0x${a.toString(16)} b=0x${b.toString(16)} cf=${cin}`).toEqual(exp);
}

// Operand sets that hit every carry, overflow, auxiliary-carry and zero boundary.
const EDGE: Record<number, number[]> = {
  8: [0, 1, 0x0f, 0x10, 0x7f, 0x80, 0x81, 0xfe, 0xff, 0x5a],
  16: [0, 1, 0x0f, 0xff, 0x7fff, 0x8000, 0x8001, 0xfffe, 0xffff, 0x1234],
  32: [0, 1, 0x0f, 0xffff, 0x7fffffff, 0x80000000, 0x80000001, 0xfffffffe, 0xffffffff, 0x12345678],
};
const OPCODE_BASE: Record<Op, number> = { add: 0x00, or: 0x08, adc: 0x10, sbb: 0x18, and: 0x20, sub: 0x28, xor: 0x30, cmp: 0x38 };
const OP_INDEX: Record<Op, number> = { add: 0, or: 1, adc: 2, sbb: 3, and: 4, sub: 5, xor: 6, cmp: 7 };

const prefix = (bits: number) => (bits === 16 ? [0x66] : []);
const w = (bits: number) => (bits === 8 ? 0 : 1);

function pairs(bits: number): [number, number][] {
  const out: [number, number][] = [];
  for (const a of EDGE[bits]) for (const b of EDGE[bits]) out.push([a, b]);
  return out;
}

describe("anchors: literal results from the SDM", () => {
  it("add al,1 with AL=0x7f: 0x80, OF SF AF", () => {
    exec(m, [0x04, 0x01], { regs: { eax: 0x7f } }); // add al, 1
    expect(reg(m, "eax")).toBe(0x80);
    expect(m.cpu.getEflags()).toBe(0x2 | F.OF | F.SF | F.AF);
  });
  it("add eax,1 with EAX=0xffffffff: 0, CF ZF PF AF", () => {
    exec(m, [0x83, 0xc0, 0x01], { regs: { eax: -1 } }); // add eax, 1
    expect(reg(m, "eax")).toBe(0);
    expect(m.cpu.getEflags()).toBe(0x2 | F.CF | F.ZF | F.PF | F.AF);
  });
  it("sub ax,1 with AX=0x8000: 0x7fff, OF AF PF", () => {
    exec(m, [0x66, 0x83, 0xe8, 0x01], { regs: { eax: 0x8000 } }); // sub ax, 1
    expect(reg(m, "eax")).toBe(0x7fff);
    expect(m.cpu.getEflags()).toBe(0x2 | F.OF | F.AF | F.PF);
  });
  it("sbb eax,0 with CF=1 and EAX=0: 0xffffffff, CF SF PF AF", () => {
    exec(m, [0x83, 0xd8, 0x00], { regs: { eax: 0 }, flags: F.CF }); // sbb eax, 0
    expect(reg(m, "eax")).toBe(0xffffffff);
    expect(m.cpu.getEflags()).toBe(0x2 | F.CF | F.SF | F.PF | F.AF);
  });
  it("adc al,0xff with CF=1 and AL=0: 0, CF ZF PF AF (carry-in makes the carry)", () => {
    exec(m, [0x14, 0xff], { regs: { eax: 0 }, flags: F.CF }); // adc al, 0xff
    expect(reg(m, "eax") & 0xff).toBe(0);
    expect(m.cpu.getEflags()).toBe(0x2 | F.CF | F.ZF | F.PF | F.AF);
  });
  it("cmp eax,ebx leaves EAX and sets flags of EAX-EBX", () => {
    exec(m, [0x39, 0xd8], { regs: { eax: 5, ebx: 7 } }); // cmp eax, ebx
    expect(reg(m, "eax")).toBe(5);
    expect(m.cpu.getEflags()).toBe(0x2 | F.CF | F.SF | F.AF);
  });
});

describe.each(OPS)("%s", (op) => {
  const aop = OP_INDEX[op];
  const base = OPCODE_BASE[op];
  // CF-in feeds ADC/SBB and must not matter for the others.
  const cins = [0, 1];
  describe.each([8, 16, 32])("%i-bit", (bits) => {
    const before = (cin: number) => cin | KEEP;

    it("r/m, reg with register operands (byte form uses BL and CH)", () => {
      for (const [a, b] of pairs(bits)) for (const cin of cins) {
        // 8: op bl, ch (modrm 0xeb); 16/32: op ebx, ecx (modrm 0xcb)
        const modrm = bits === 8 ? 0xc0 | (5 << 3) | 3 : 0xc0 | (1 << 3) | 3;
        const ecx = bits === 8 ? (b << 8) | 0x11 : b;
        exec(m, [...prefix(bits), base | w(bits), modrm], { regs: { ebx: bits === 8 ? 0xa5a5a500 | a : bits === 16 ? 0xa5a50000 | a : a, ecx }, flags: before(cin) });
        const mask = bits === 32 ? 0xffffffff : (1 << bits) - 1;
        const upper = bits === 32 ? 0 : bits === 16 ? 0xa5a50000 : 0xa5a5a500;
        expect(reg(m, "ebx") & ~mask & 0xffffffff, "upper bits of EBX preserved").toBe(upper >>> 0 & ~mask);
        check("r/m,reg", op, bits, a, b, cin, low(reg(m, "ebx"), bits), m.cpu.getEflags(), before(cin));
        expect(reg(m, "ecx"), "source untouched").toBe(ecx >>> 0);
      }
    });

    it("reg, r/m with a memory source", () => {
      for (const [a, b] of pairs(bits)) for (const cin of cins) {
        // op dl/dx/edx, [esi]
        if (bits === 8) wr8(m, DATA, b); else if (bits === 16) wr16(m, DATA, b); else wr32(m, DATA, b);
        exec(m, [...prefix(bits), base | 2 | w(bits), (2 << 3) | 6], { regs: { edx: a, esi: DATA }, flags: before(cin) });
        check("reg,mem", op, bits, a, b, cin, low(reg(m, "edx"), bits), m.cpu.getEflags(), before(cin));
      }
    });

    it("r/m, reg with a memory destination (read-modify-write)", () => {
      for (const [a, b] of pairs(bits)) for (const cin of cins) {
        // op [esi], bl/bx/ebx
        if (bits === 8) wr8(m, DATA, a); else if (bits === 16) wr16(m, DATA, a); else wr32(m, DATA, a);
        wr8(m, DATA + bits / 8, 0xcc); // the byte after the operand must not be touched
        exec(m, [...prefix(bits), base | w(bits), (3 << 3) | 6], { regs: { ebx: b, esi: DATA }, flags: before(cin) });
        const v = bits === 8 ? rd8(m, DATA) : bits === 16 ? rd16(m, DATA) : rd32(m, DATA);
        check("mem,reg", op, bits, a, b, cin, v, m.cpu.getEflags(), before(cin));
        expect(rd8(m, DATA + bits / 8)).toBe(0xcc);
      }
    });

    it("accumulator, immediate (short form)", () => {
      for (const [a, b] of pairs(bits)) for (const cin of cins) {
        const imm = bits === 8 ? [b] : bits === 16 ? [b & 0xff, b >> 8] : [b & 0xff, (b >>> 8) & 0xff, (b >>> 16) & 0xff, b >>> 24];
        exec(m, [...prefix(bits), base | 4 | w(bits), ...imm], { regs: { eax: a }, flags: before(cin) });
        check("acc,imm", op, bits, a, b, cin, low(reg(m, "eax"), bits), m.cpu.getEflags(), before(cin));
      }
    });

    it("group 1 r/m, immediate (0x80/0x81) on EDI", () => {
      for (const [a, b] of pairs(bits)) for (const cin of cins) {
        const imm = bits === 8 ? [b] : bits === 16 ? [b & 0xff, b >> 8] : [b & 0xff, (b >>> 8) & 0xff, (b >>> 16) & 0xff, b >>> 24];
        // 8-bit: op bh, imm8 (modrm rm=7 is BH); 16/32: op di/edi, imm
        const rm = 7;
        const edi = bits === 8 ? 0 : a;
        const ebx = bits === 8 ? a << 8 : 0;
        exec(m, [...prefix(bits), bits === 8 ? 0x80 : 0x81, 0xc0 | (aop << 3) | rm, ...imm], { regs: { edi, ebx }, flags: before(cin) });
        const v = bits === 8 ? (reg(m, "ebx") >>> 8) & 0xff : low(reg(m, "edi"), bits);
        check("grp1 imm", op, bits, a, b, cin, v, m.cpu.getEflags(), before(cin));
      }
    });

    if (bits !== 8) {
      it("group 1 r/m, sign-extended imm8 (0x83)", () => {
        for (const a of EDGE[bits]) for (const imm of [0, 1, 0x7f, 0x80, 0xff]) for (const cin of cins) {
          const mask = bits === 32 ? 0xffffffff : 0xffff;
          const b = ((imm << 24) >> 24) & mask;
          exec(m, [...prefix(bits), 0x83, 0xc0 | (aop << 3) | 2, imm], { regs: { edx: a }, flags: before(cin) });
          check("0x83", op, bits, a, b >>> 0, cin, low(reg(m, "edx"), bits), m.cpu.getEflags(), before(cin));
        }
      });
    }
  });
});

describe("NEG", () => {
  it.each([8, 16, 32])("%i-bit: CF unless zero, OF only for the most negative value", (bits) => {
    for (const a of EDGE[bits]) {
      // neg bl / neg bx / neg ebx
      exec(m, [...prefix(bits), bits === 8 ? 0xf6 : 0xf7, 0xdb], { regs: { ebx: a }, flags: KEEP });
      const want = reference("sub", bits, 0, a, 0);
      expect(low(reg(m, "ebx"), bits), `neg ${a}`).toBe(want.res);
      expect(flagNames(m.cpu.getEflags() & ARITH), `neg${bits} 0x${a.toString(16)}`).toBe(flagNames(want.flags));
      expect((m.cpu.getEflags() & F.CF) !== 0).toBe(a !== 0);
    }
  });
  it("neg byte [edi] in memory", () => {
    wr8(m, DATA, 0x80);
    exec(m, [0xf6, 0x1f], { regs: { edi: DATA } }); // neg byte [edi]
    expect(rd8(m, DATA)).toBe(0x80);
    expect(m.cpu.getEflags() & ARITH).toBe(F.CF | F.OF | F.SF);
  });
});

describe("INC and DEC", () => {
  it.each([8, 16, 32])("%i-bit: like ADD/SUB 1 with CF preserved (both CF states)", (bits) => {
    for (const a of EDGE[bits]) for (const cin of [0, 1]) {
      // inc / dec: FE /0, FE /1 on CL for bytes; 40+r / 48+r for words and dwords (ECX)
      const incCode = bits === 8 ? [0xfe, 0xc1] : [...prefix(bits), 0x41];
      const decCode = bits === 8 ? [0xfe, 0xc9] : [...prefix(bits), 0x49];
      exec(m, incCode, { regs: { ecx: a }, flags: cin | KEEP });
      let want = reference("add", bits, a, 1, 0);
      expect(low(reg(m, "ecx"), bits)).toBe(want.res);
      expect(flagNames(m.cpu.getEflags() & (ARITH | KEEP)), `inc${bits} 0x${a.toString(16)} cf=${cin}`).toBe(flagNames((want.flags & ~F.CF) | cin | KEEP));
      exec(m, decCode, { regs: { ecx: a }, flags: cin | KEEP });
      want = reference("sub", bits, a, 1, 0);
      expect(low(reg(m, "ecx"), bits)).toBe(want.res);
      expect(flagNames(m.cpu.getEflags() & (ARITH | KEEP)), `dec${bits} 0x${a.toString(16)} cf=${cin}`).toBe(flagNames((want.flags & ~F.CF) | cin | KEEP));
    }
  });
  it("CF from a lazy ADD survives a following INC and DEC", () => {
    // add eax, ebx (carry out); inc ecx; dec edx
    exec(m, [0x01, 0xd8, 0x41, 0x4a], { regs: { eax: -1, ebx: 1, ecx: 0x7fffffff, edx: 1 } });
    // Final flags are DEC's (1 - 1 = 0: ZF PF) plus the ADD's carry.
    expect(m.cpu.getEflags() & ARITH).toBe(F.CF | F.ZF | F.PF);
    expect(reg(m, "ecx")).toBe(0x80000000);
  });
  it("inc dword [eax] and dec word [eax] in memory", () => {
    wr32(m, DATA, 0x7fffffff);
    exec(m, [0xff, 0x00], { regs: { eax: DATA } }); // inc dword [eax]
    expect(rd32(m, DATA)).toBe(0x80000000);
    expect(m.cpu.getEflags() & ARITH).toBe(F.OF | F.SF | F.AF | F.PF);
    wr16(m, DATA, 0);
    exec(m, [0x66, 0xff, 0x08], { regs: { eax: DATA }, flags: F.CF }); // dec word [eax]
    expect(rd16(m, DATA)).toBe(0xffff);
    expect(m.cpu.getEflags() & ARITH).toBe(F.CF | F.SF | F.AF | F.PF);
  });
});

describe("TEST", () => {
  it.each([8, 16, 32])("%i-bit: AND without storing; CF=OF=0", (bits) => {
    for (const [a, b] of pairs(bits)) {
      // test ebx, ecx (85 cb) / test bl, cl (84 cb)
      exec(m, [...prefix(bits), bits === 8 ? 0x84 : 0x85, 0xcb], { regs: { ebx: a, ecx: b }, flags: F.CF | F.OF | KEEP });
      expect(low(reg(m, "ebx"), bits)).toBe(a);
      const want = reference("and", bits, a, b, 0);
      expect(flagNames(m.cpu.getEflags() & (ARITH & ~F.AF)), `test${bits} ${a} ${b}`).toBe(flagNames(want.flags));
      expect(m.cpu.getEflags() & KEEP).toBe(KEEP);
    }
  });
  it("test al, imm8 / test eax, imm32 / test dword [eax], imm32 / F6 /0 on memory", () => {
    exec(m, [0xa8, 0x80], { regs: { eax: 0x80 } }); // test al, 0x80
    expect(m.cpu.getEflags() & ARITH & ~F.AF).toBe(F.SF);
    exec(m, [0xa9, 0, 0, 0, 0x80], { regs: { eax: 0x7fffffff } }); // test eax, 0x80000000
    expect(m.cpu.getEflags() & ARITH & ~F.AF).toBe(F.ZF | F.PF);
    wr32(m, DATA, 0x1000);
    exec(m, [0xf7, 0x00, 0x00, 0x10, 0x00, 0x00], { regs: { eax: DATA } }); // test dword [eax], 0x1000
    expect(m.cpu.getEflags() & ARITH & ~F.AF).toBe(F.PF);
    wr8(m, DATA, 0x03);
    exec(m, [0xf6, 0x00, 0x01], { regs: { eax: DATA } }); // test byte [eax], 1
    expect(m.cpu.getEflags() & ARITH & ~F.AF).toBe(0);
  });
});

describe("logic ops clear CF and OF even when set before", () => {
  it.each(LOGIC_OPS)("%s", (op) => {
    // op eax, ebx
    exec(m, [OPCODE_BASE[op] | 1, 0xd8], { regs: { eax: 0xf0f0f0f0, ebx: 0x0f0f0f0f }, flags: F.CF | F.OF });
    expect(m.cpu.getEflags() & (F.CF | F.OF)).toBe(0);
  });
});

describe("NOT", () => {
  it("complements without touching flags", () => {
    // not ecx ; not byte [esi]
    wr8(m, DATA, 0x0f);
    exec(m, [0xf7, 0xd1, 0xf6, 0x16], { regs: { ecx: 0x12345678, esi: DATA }, flags: F.CF | F.ZF | F.OF });
    expect(reg(m, "ecx")).toBe(0xedcba987);
    expect(rd8(m, DATA)).toBe(0xf0);
    expect(m.cpu.getEflags() & ARITH).toBe(F.CF | F.ZF | F.OF);
  });
});

/**
 * The vector unit through the CPU: availability faults (#UD, #NM, #MF), alignment #GP, #XM and its
 * #UD fallback, MXCSR loads, mandatory-prefix decoding, the MMX/x87 aliasing, FXSAVE/FXRSTOR and the
 * XSAVE family's checks and init optimisation, XGETBV/XSETBV, and a few instructions' bit patterns from
 * the SDM. The lane arithmetic itself is compared with the host (host-oracle.test.ts) and QEMU (guest.test.ts).
 */
import { beforeEach, describe, expect, it } from "vitest";
import {
  DATA, KSTACK_TOP, enterRing3, exec, expectException, flatMachine, loadCode, rd32, reg, setCr4, setRegs, wr32,
  type TestMachine,
} from "../cpu/harness.js";
import { loadCpuState, saveCpuState } from "../../src/cpu/cpu-state.js";

const OSFXSR = 1 << 9, OSXMMEXCPT = 1 << 10, OSXSAVE = 1 << 18;
const le32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
/** ModRM byte `00 reg 101` + disp32: an absolute memory operand. */
const mem = (regField: number, addr: number) => [(regField << 3) | 5, ...le32(addr)];

let m: TestMachine;
beforeEach(() => {
  m = flatMachine();
  setRegs(m, { esp: KSTACK_TOP });
  setCr4(m, OSFXSR | OSXMMEXCPT | OSXSAVE);
});

function xmm(i: number): number[] {
  return Array.from(m.cpu.fpu.xmm.subarray(4 * i, 4 * i + 4), (v) => v >>> 0);
}
function setXmm(i: number, v: number[]): void {
  m.cpu.fpu.xmm.set(v.map((x) => x >>> 0), 4 * i);
}
function fault(code: number[]): number {
  loadCode(m, code);
  return expectException(m, 1).vector;
}

describe("availability", () => {
  const ADDPS = [0x0f, 0x58, 0xc1], PADDB_MM = [0x0f, 0xfc, 0xc1];
  it("SSE: #UD without CR4.OSFXSR or with CR0.EM, #NM with CR0.TS", () => {
    setCr4(m, 0);
    expect(fault(ADDPS)).toBe(6);
    setCr4(m, OSFXSR);
    m.cpu.cr0 |= 4;
    expect(fault(ADDPS)).toBe(6);
    m.cpu.cr0 &= ~4;
    m.cpu.cr0 |= 8;
    expect(fault(ADDPS)).toBe(7);
  });
  it("MMX: fine without OSFXSR; #UD with EM, #NM with TS, #MF with an x87 exception pending", () => {
    setCr4(m, 0);
    exec(m, PADDB_MM);
    m.cpu.cr0 |= 4;
    expect(fault(PADDB_MM)).toBe(6);
    m.cpu.cr0 = (m.cpu.cr0 & ~4) | 8;
    expect(fault(PADDB_MM)).toBe(7);
    m.cpu.cr0 &= ~8;
    m.cpu.fpu.fsw = 0x81; // ES + IE
    expect(fault(PADDB_MM)).toBe(16);
  });
  it("FXSAVE: #NM with EM or TS (never #UD for EM); XSAVE: #UD without OSXSAVE", () => {
    m.cpu.cr0 |= 4;
    expect(fault([0x0f, 0xae, ...mem(0, DATA)])).toBe(7);
    m.cpu.cr0 &= ~4;
    setCr4(m, OSFXSR);
    expect(fault([0x0f, 0xae, ...mem(4, DATA)])).toBe(6);
    expect(fault([0x0f, 0x01, 0xd0])).toBe(6); // XGETBV
  });
});

describe("MXCSR, #XM, alignment", () => {
  it("LDMXCSR/STMXCSR; a reserved bit is #GP(0)", () => {
    wr32(m, DATA, 0x7fc0);
    exec(m, [0x0f, 0xae, ...mem(2, DATA), 0x0f, 0xae, ...mem(3, DATA + 4)]);
    expect(m.cpu.fpu.mxcsr).toBe(0x7fc0);
    expect(rd32(m, DATA + 4)).toBe(0x7fc0);
    wr32(m, DATA, 0x10000);
    expect(fault([0x0f, 0xae, ...mem(2, DATA)])).toBe(13);
    expect(m.cpu.fpu.mxcsr).toBe(0x7fc0);
  });
  it("an unmasked exception raises #XM (or #UD without OSXMMEXCPT), sets the flag, writes nothing", () => {
    m.cpu.fpu.mxcsr = 0x1f80 & ~0x200; // ZE unmasked
    setXmm(0, [0x3f800000, 0x3f800000, 0x3f800000, 0x3f800000]);
    setXmm(1, [0x40000000, 0, 0x40000000, 0x40000000]);
    expect(fault([0x0f, 0x5e, 0xc1])).toBe(19); // divps
    expect(m.cpu.fpu.mxcsr & 0x3f).toBe(4);
    expect(xmm(0)).toEqual([0x3f800000, 0x3f800000, 0x3f800000, 0x3f800000]);
    setCr4(m, OSFXSR);
    expect(fault([0x0f, 0x5e, 0xc1])).toBe(6);
  });
  it("masked: the default NaN, the flags, the result", () => {
    setXmm(0, [0, 0x3f800000, 0x7f800001, 0xffc00000]);
    setXmm(1, [0, 0x40000000, 0x3f800000, 0x7fc00001]);
    exec(m, [0x0f, 0x5e, 0xc1]); // divps: 0/0, 1/2, SNaN/1, QNaN/QNaN
    expect(xmm(0)).toEqual([0xffc00000, 0x3f000000, 0x7fc00001, 0xffc00000]);
    expect(m.cpu.fpu.mxcsr).toBe(0x1f81);
  });
  it("MOVAPS/MOVDQA need 16-byte alignment (#GP(0)); MOVUPS/MOVDQU do not", () => {
    for (let i = 0; i < 8; i++) wr32(m, DATA + 4 * i, 0x11111111 * (i + 1));
    expect(fault([0x0f, 0x28, ...mem(0, DATA + 8)])).toBe(13);
    expect(fault([0x66, 0x0f, 0x6f, ...mem(0, DATA + 4)])).toBe(13);
    exec(m, [0x0f, 0x10, ...mem(0, DATA + 4), 0xf3, 0x0f, 0x6f, ...mem(1, DATA + 8)]);
    expect(xmm(0)).toEqual([0x22222222, 0x33333333, 0x44444444, 0x55555555]);
    expect(xmm(1)).toEqual([0x33333333, 0x44444444, 0x55555555, 0x66666666]);
  });
});

describe("mandatory prefixes", () => {
  it("F2/F3: the last one wins; 66 is ignored next to them", () => {
    setXmm(0, [0x3f800000, 0x3f800000, 0, 0x3ff00000]);
    setXmm(1, [0x3f800000, 0x3f800000, 0, 0x3ff00000]);
    exec(m, [0xf2, 0xf3, 0x0f, 0x58, 0xc1]); // addss
    expect(xmm(0)).toEqual([0x40000000, 0x3f800000, 0, 0x3ff00000]);
    exec(m, [0x66, 0xf3, 0x0f, 0x10, 0xc1]); // movss xmm0, xmm1 (66 ignored)
    expect(xmm(0)).toEqual([0x3f800000, 0x3f800000, 0, 0x3ff00000]);
    exec(m, [0xf3, 0xf2, 0x0f, 0x58, 0xc1]); // addsd on the low quadword 0x3f8000003f800000
    expect(xmm(0)[1]).toBe(0x3f900000);
  });
});

describe("MMX and the x87 registers", () => {
  it("an MMX write fills the significand, sets sign/exponent to all ones, TOP 0, tags valid; EMMS empties", () => {
    m.cpu.fpu.top = 5;
    m.cpu.fpu.mant.set([0x01020304, 0x05060708], 2); // MM1
    exec(m, [0x0f, 0x6f, 0xc1, 0x0f, 0xfc, 0xc1]); // movq mm0, mm1; paddb mm0, mm1
    expect([m.cpu.fpu.mant[0], m.cpu.fpu.mant[1]]).toEqual([0x02040608, 0x0a0c0e10]);
    expect(m.cpu.fpu.signExp[0]).toBe(0xffff);
    expect(m.cpu.fpu.top).toBe(0);
    expect(m.cpu.fpu.ftw).toBe(0);
    exec(m, [0x0f, 0x77]);
    expect(m.cpu.fpu.ftw).toBe(0xffff);
  });
});

describe("bit patterns", () => {
  it("CVTTSS2SI: out of range and NaN give the integer indefinite with IE", () => {
    setXmm(1, [0x50800000, 0, 0, 0]); // 2^34
    exec(m, [0xf3, 0x0f, 0x2c, 0xc1]);
    expect(reg(m, "eax")).toBe(0x80000000);
    expect(m.cpu.fpu.mxcsr & 1).toBe(1);
  });
  it("PSLLDQ/PSRLDQ shift the whole register by bytes", () => {
    setXmm(0, [0x03020100, 0x07060504, 0x0b0a0908, 0x0f0e0d0c]);
    exec(m, [0x66, 0x0f, 0x73, 0xf8, 0x03]);
    expect(xmm(0)).toEqual([0x00000000, 0x04030201, 0x08070605, 0x0c0b0a09]);
    exec(m, [0x66, 0x0f, 0x73, 0xd8, 0x05]);
    expect(xmm(0)).toEqual([0x05040302, 0x09080706, 0x000c0b0a, 0]);
  });
  it("MASKMOVDQU stores only the bytes whose mask byte has bit 7 set, at DS:EDI", () => {
    wr32(m, DATA, 0xaaaaaaaa);
    setXmm(0, [0x44332211, 0, 0, 0]);
    setXmm(1, [0x80007f81, 0, 0, 0]);
    exec(m, [0x66, 0x0f, 0xf7, 0xc1], { regs: { edi: DATA } });
    expect(rd32(m, DATA)).toBe(0x44aaaa11);
  });
  it("PMADDWD: signed word products summed in pairs (0x8000 * 0x8000 * 2 wraps to 0x80000000)", () => {
    setXmm(0, [0x00027fff, 0x8000ffff, 0x01020304, 0x80008000]);
    setXmm(1, [0x00037fff, 0x80000001, 0x04030201, 0x80008000]);
    exec(m, [0x66, 0x0f, 0xf5, 0xc1]);
    expect(xmm(0)).toEqual([0x3fff0007, 0x3fffffff, 0x0304 * 0x0201 + 0x0102 * 0x0403, 0x80000000]);
  });
  it("PMULUDQ: full 64-bit products of the even dwords; PSADBW: byte distance sums per quadword", () => {
    setXmm(0, [0xffffffff, 7, 0x12345678, 7]);
    setXmm(1, [0xfffffffe, 9, 0x9abcdef0, 9]);
    exec(m, [0x66, 0x0f, 0xf4, 0xc1]);
    expect(xmm(0)).toEqual([0x00000002, 0xfffffffd, 0x242d2080, 0x0b00ea4e]);
    setXmm(0, [0x00ff00ff, 0x01020304, 0, 0]);
    setXmm(1, [0xff00ff00, 0x04030201, 0, 0xffffffff]);
    exec(m, [0x66, 0x0f, 0xf6, 0xc1]);
    expect(xmm(0)).toEqual([4 * 255 + 3 + 1 + 1 + 3, 0, 4 * 255, 0]);
  });
});

describe("FXSAVE/FXRSTOR", () => {
  it("round-trips the state, tags recomputed from contents; misaligned is #GP; reserved MXCSR bits refuse the restore", () => {
    const f = m.cpu.fpu;
    f.fcw = 0x027f;
    f.setStatusWord(0x3800 | 0x20);
    f.mant.set([0, 0, 0, 0x80000000]);
    f.signExp.set([0, 0x3fff]);
    f.ftw = (3 << 4) | (3 << 6) | (3 << 8) | (3 << 10) | (3 << 12) | (3 << 14); // R0, R1 in use
    f.mxcsr = 0x3f80;
    setXmm(7, [1, 2, 3, 4]);
    exec(m, [0x0f, 0xae, ...mem(0, DATA)]);
    expect(rd32(m, DATA) & 0xffff).toBe(0x027f);
    expect(rd32(m, DATA) >>> 16).toBe(0x3820);
    expect(rd32(m, DATA + 4) & 0xff).toBe(3);
    expect(rd32(m, DATA + 24)).toBe(0x3f80);
    expect(rd32(m, DATA + 28)).toBe(0xffff);
    // ST(0) is physical R7 (TOP 7); R1 is ST(2).
    expect(rd32(m, DATA + 32 + 2 * 16 + 4)).toBe(0x80000000);
    expect(rd32(m, DATA + 160 + 7 * 16 + 12)).toBe(4);
    f.reset();
    exec(m, [0x0f, 0xae, ...mem(1, DATA)]);
    // R0 holds zero (tag 1), R1 a normal number (tag 0), the rest empty.
    expect(f.ftw).toBe(0xfff0 | 1);
    expect(f.statusWord()).toBe(0x3820);
    expect(xmm(7)).toEqual([1, 2, 3, 4]);
    expect(f.mxcsr).toBe(0x3f80);
    expect(fault([0x0f, 0xae, ...mem(0, DATA + 8)])).toBe(13);
    wr32(m, DATA + 24, 0x20000);
    f.mxcsr = 0x1f80;
    expect(fault([0x0f, 0xae, ...mem(1, DATA)])).toBe(13);
    expect(f.mxcsr).toBe(0x1f80);
  });
  it("without CR4.OSFXSR, MXCSR and the XMM registers are neither saved nor restored", () => {
    setCr4(m, 0);
    for (let i = 0; i < 128; i++) wr32(m, DATA + 4 * i, 0x5a5a5a5a);
    setXmm(0, [1, 2, 3, 4]);
    exec(m, [0x0f, 0xae, ...mem(0, DATA)]);
    expect(rd32(m, DATA + 24)).toBe(0x5a5a5a5a);
    expect(rd32(m, DATA + 160)).toBe(0x5a5a5a5a);
  });
});

describe("XSAVE family, XGETBV/XSETBV", () => {
  const XSETBV = [0x0f, 0x01, 0xd1], XGETBV = [0x0f, 0x01, 0xd0];
  it("XSETBV accepts 1 and 3; #GP for x87 clear, unsupported bits, EDX, ECX, or CPL 3; XGETBV at any CPL", () => {
    exec(m, XSETBV, { regs: { eax: 3, edx: 0, ecx: 0 } });
    expect(m.cpu.fpu.xcr0).toBe(3);
    for (const [eax, edx, ecx] of [[2, 0, 0], [7, 0, 0], [3, 1, 0], [3, 0, 1]]) {
      setRegs(m, { eax, edx, ecx });
      expect(fault(XSETBV)).toBe(13);
    }
    expect(m.cpu.fpu.xcr0).toBe(3);
    setRegs(m, { ecx: 1 });
    expect(fault(XGETBV)).toBe(13);
    enterRing3(m);
    setRegs(m, { ecx: 0, eax: 0x55, edx: 0x55 });
    loadCode(m, XGETBV);
    m.cpu.step();
    expect([reg(m, "eax"), reg(m, "edx")]).toEqual([3, 0]);
  });

  it("XSAVEOPT skips components in their initial configuration (MXCSR always goes), XSTATE_BV says which are in use", () => {
    m.cpu.fpu.xcr0 = 3;
    m.cpu.fpu.mxcsr = 0x1fc0;
    for (let i = 0; i < 144; i++) wr32(m, DATA + 4 * i, 0x77777777);
    exec(m, [0x0f, 0xae, ...mem(6, DATA)], { regs: { eax: 3, edx: 0 } });
    expect(rd32(m, DATA)).toBe(0x77777777);
    expect(rd32(m, DATA + 160)).toBe(0x77777777);
    expect(rd32(m, DATA + 24)).toBe(0x1fc0);
    expect(rd32(m, DATA + 512)).toBe(0x77777774); // requested bits 0-1: neither in use
    expect(rd32(m, DATA + 516)).toBe(0x77777777); // XSTATE_BV bits outside the request are kept
    setXmm(3, [0, 0, 9, 0]);
    exec(m, [0x0f, 0xae, ...mem(6, DATA)], { regs: { eax: 3, edx: 0 } });
    expect(rd32(m, DATA + 160 + 3 * 16 + 8)).toBe(9);
    expect(rd32(m, DATA + 512)).toBe(0x77777776);
  });

  it("XRSTOR: initialises requested components missing from XSTATE_BV; #GP for a bad header or alignment", () => {
    m.cpu.fpu.xcr0 = 3;
    for (let i = 0; i < 144; i++) wr32(m, DATA + 4 * i, 0);
    wr32(m, DATA + 24, 0x3f80);
    setXmm(2, [5, 6, 7, 8]);
    m.cpu.fpu.fcw = 0x7f;
    exec(m, [0x0f, 0xae, ...mem(5, DATA)], { regs: { eax: 3, edx: 0 } });
    expect(xmm(2)).toEqual([0, 0, 0, 0]);
    expect(m.cpu.fpu.fcw).toBe(0x37f);
    expect(m.cpu.fpu.mxcsr).toBe(0x3f80);
    wr32(m, DATA + 512, 4);
    setRegs(m, { eax: 3, edx: 0 });
    expect(fault([0x0f, 0xae, ...mem(5, DATA)])).toBe(13);
    wr32(m, DATA + 512, 0);
    wr32(m, DATA + 520, 1); // XCOMP_BV
    expect(fault([0x0f, 0xae, ...mem(5, DATA)])).toBe(13);
    wr32(m, DATA + 520, 0);
    expect(fault([0x0f, 0xae, ...mem(5, DATA + 16)])).toBe(13);
  });

  it("keyframes carry XCR0, MXCSR and the XMM registers", () => {
    m.cpu.fpu.xcr0 = 3;
    m.cpu.fpu.mxcsr = 0x9fc0;
    setXmm(5, [1, 2, 3, 0xffffffff]);
    const s = saveCpuState(m.cpu);
    const other = flatMachine();
    loadCpuState(other.cpu, JSON.parse(JSON.stringify(s)));
    expect(other.cpu.fpu.save()).toEqual(m.cpu.fpu.save());
  });
});

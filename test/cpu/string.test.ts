/**
 * String instructions: MOVS, STOS, LODS, CMPS, SCAS, INS, OUTS with REP/REPE/REPNE, DF=1, 16-bit
 * address size (SI/DI/CX, wrapping at 64 KiB), segment overrides (source only; ES:EDI is fixed), one
 * step per iteration, and a fault in the middle of a REP leaving the completed iterations' registers.
 * CMPS/SCAS set all six flags as CMP does (asserted); the others change no flags.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { StepKind } from "../../src/cpu/observer.js";
import {
  ACC_DATA0, ARITH, CODE, DATA, ES, F, FLAGS_4K_32, FS, exec, expectException, flatMachine, forceSegment, loadCode, rd16, rd32, rd8,
  reg, poke, segDesc, setGdt, setRegs, wr32, type TestMachine,
} from "./harness.js";

let m: TestMachine;
beforeEach(() => {
  m = flatMachine();
});

const SRC = DATA, DST = DATA + 0x1000;
const bytes = (addr: number, n: number) => Array.from(m.mem.u8.subarray(addr, addr + n));

describe("MOVS", () => {
  it("rep movsb copies ECX bytes forwards; ECX ends at 0", () => {
    poke(m, SRC, [1, 2, 3, 4, 5, 6, 7, 8]);
    exec(m, [0xf3, 0xa4], { regs: { esi: SRC, edi: DST, ecx: 5 } }); // rep movsb
    expect(bytes(DST, 6)).toEqual([1, 2, 3, 4, 5, 0]);
    expect([reg(m, "esi"), reg(m, "edi"), reg(m, "ecx")]).toEqual([SRC + 5, DST + 5, 0]);
  });
  it("rep movsd with DF=1 copies backwards and decrements by 4", () => {
    for (let i = 0; i < 4; i++) wr32(m, SRC + i * 4, 0x11111111 * (i + 1));
    exec(m, [0xf3, 0xa5], { regs: { esi: SRC + 12, edi: DST + 12, ecx: 3 }, flags: F.DF }); // std; rep movsd
    expect([rd32(m, DST), rd32(m, DST + 4), rd32(m, DST + 8), rd32(m, DST + 12)]).toEqual([0, 0x22222222, 0x33333333, 0x44444444]);
    expect([reg(m, "esi"), reg(m, "edi"), reg(m, "ecx")]).toEqual([SRC, DST, 0]);
  });
  it("o16 rep movsw moves words", () => {
    poke(m, SRC, [0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]);
    exec(m, [0xf3, 0x66, 0xa5], { regs: { esi: SRC, edi: DST, ecx: 2 } }); // rep movsw
    expect(bytes(DST, 6)).toEqual([0xaa, 0xbb, 0xcc, 0xdd, 0, 0]);
    expect(reg(m, "edi")).toBe(DST + 4);
  });
  it("rep with ECX=0 does nothing", () => {
    poke(m, SRC, [9]);
    exec(m, [0xf3, 0xa4], { regs: { esi: SRC, edi: DST, ecx: 0 } });
    expect(rd8(m, DST)).toBe(0);
    expect([reg(m, "esi"), reg(m, "edi")]).toEqual([SRC, DST]);
  });
  it("movsb without REP moves one byte whatever ECX is", () => {
    poke(m, SRC, [7, 8]);
    exec(m, [0xa4], { regs: { esi: SRC, edi: DST, ecx: 10 } });
    expect(bytes(DST, 2)).toEqual([7, 0]);
    expect(reg(m, "ecx")).toBe(10);
  });
  it("a16 rep movsb uses SI/DI/CX, wraps DI at 64 KiB and keeps the upper halves", () => {
    poke(m, 0xfffe, [0x5a, 0x5b]);
    poke(m, 0x0000, [0x5c]);
    // DS = ES = flat, so SI=0xfffe reads 0xfffe, 0xffff, then wraps to 0x0000.
    exec(m, [0xf3, 0x67, 0xa4], { regs: { esi: 0xabcdfffe, edi: 0x12340100, ecx: 0x77770003 } }); // a16 rep movsb
    expect(bytes(0x100, 3)).toEqual([0x5a, 0x5b, 0x5c]);
    expect([reg(m, "esi"), reg(m, "edi"), reg(m, "ecx")]).toEqual([0xabcd0001, 0x12340103, 0x77770000]);
  });
  it("fs: override changes the source segment; ES stays the destination", () => {
    setGdt(m, 6, segDesc(0x100000, 0xfffff, ACC_DATA0, FLAGS_4K_32));
    forceSegment(m, FS, 0x30);
    poke(m, 0x100000 + 0x40, [0x99]);
    poke(m, 0x40, [0x11]);
    exec(m, [0x64, 0xa4], { regs: { esi: 0x40, edi: DST } }); // fs movsb
    expect(rd8(m, DST)).toBe(0x99);
  });
  it("each REP iteration is one step, with EIP parked on the instruction until the last", () => {
    poke(m, SRC, [1, 2, 3]);
    setRegs(m, { esi: SRC, edi: DST, ecx: 3 });
    m.cpu.setEflags(2);
    loadCode(m, [0xf3, 0xa4, 0x90]); // rep movsb; nop
    const before = m.cpu.steps;
    expect(m.cpu.step()).toBe(StepKind.Instruction);
    expect([m.cpu.eip >>> 0, reg(m, "ecx"), rd8(m, DST)]).toEqual([CODE, 2, 1]);
    m.cpu.step();
    expect([m.cpu.eip >>> 0, reg(m, "ecx")]).toEqual([CODE, 1]);
    m.cpu.step();
    expect([m.cpu.eip >>> 0, reg(m, "ecx")]).toEqual([CODE + 2, 0]);
    expect(m.cpu.steps - before).toBe(3);
    expect(bytes(DST, 3)).toEqual([1, 2, 3]);
  });
  it("a fault in iteration 5 keeps the four completed iterations and restarts at the REP", () => {
    // ES limit 0x20003 (byte granular): bytes DATA..DATA+3 are writable, DATA+4 is beyond the limit.
    setGdt(m, 6, segDesc(0, DATA + 3, ACC_DATA0, 0x4));
    forceSegment(m, ES, 0x30);
    setRegs(m, { eax: 0xab, edi: DATA, ecx: 10, esp: 0x10000 });
    m.cpu.setEflags(2);
    loadCode(m, [0xf3, 0xaa]); // rep stosb
    const { vector, error } = expectException(m);
    expect([vector, error]).toEqual([13, 0]);
    expect(bytes(DATA, 5)).toEqual([0xab, 0xab, 0xab, 0xab, 0]);
    expect([reg(m, "edi"), reg(m, "ecx")]).toEqual([DATA + 4, 6]);
    expect(rd32(m, 0x10000 - 12)).toBe(CODE); // the return EIP is the REP instruction
  });
});

describe("STOS and LODS", () => {
  it("rep stosd fills; a16 rep stosd wraps DI", () => {
    exec(m, [0xf3, 0xab], { regs: { eax: 0xdeadbeef, edi: DST, ecx: 2 } }); // rep stosd
    expect([rd32(m, DST), rd32(m, DST + 4), rd32(m, DST + 8)]).toEqual([0xdeadbeef, 0xdeadbeef, 0]);
    exec(m, [0xf3, 0x67, 0xab], { regs: { eax: 0x01020304, edi: 0xfffe, ecx: 1 } }); // a16 rep stosd at DI=0xfffe
    expect(reg(m, "edi")).toBe(0x0002);
  });
  it("stosb with DF=1 decrements EDI", () => {
    exec(m, [0xaa], { regs: { eax: 0x42, edi: DST }, flags: F.DF }); // stosb
    expect(rd8(m, DST)).toBe(0x42);
    expect(reg(m, "edi")).toBe(DST - 1);
  });
  it("lodsw loads AX only; es: lodsb reads through ES", () => {
    poke(m, SRC, [0x34, 0x12]);
    exec(m, [0x66, 0xad], { regs: { eax: 0xffffffff, esi: SRC } }); // lodsw
    expect(reg(m, "eax")).toBe(0xffff1234);
    expect(reg(m, "esi")).toBe(SRC + 2);
    setGdt(m, 6, segDesc(0x100000, 0xfffff, ACC_DATA0, FLAGS_4K_32));
    forceSegment(m, ES, 0x30);
    poke(m, 0x100000 + SRC, [0x77]);
    exec(m, [0x26, 0xac], { regs: { esi: SRC } }); // es lodsb
    expect(reg(m, "eax") & 0xff).toBe(0x77);
  });
  it("rep lodsb leaves the last byte in AL", () => {
    poke(m, SRC, [1, 2, 3]);
    exec(m, [0xf3, 0xac], { regs: { esi: SRC, ecx: 3 } });
    expect([reg(m, "eax") & 0xff, reg(m, "ecx"), reg(m, "esi")]).toEqual([3, 0, SRC + 3]);
  });
  it("string moves change no flags", () => {
    exec(m, [0xf3, 0xa4], { regs: { esi: SRC, edi: DST, ecx: 4 }, flags: ARITH });
    expect(m.cpu.getEflags() & ARITH).toBe(ARITH);
  });
});

describe("CMPS and SCAS", () => {
  it("repe cmpsb stops after the first mismatch, with flags of that compare", () => {
    poke(m, SRC, [1, 2, 3, 9, 5]);
    poke(m, DST, [1, 2, 3, 4, 5]);
    exec(m, [0xf3, 0xa6], { regs: { esi: SRC, edi: DST, ecx: 5 } }); // repe cmpsb
    expect([reg(m, "esi"), reg(m, "edi"), reg(m, "ecx")]).toEqual([SRC + 4, DST + 4, 1]);
    // 9 - 4 = 5: no borrow, not zero.
    expect(m.cpu.getEflags() & ARITH).toBe(F.PF);
  });
  it("repe cmpsb over equal strings runs out ECX with ZF set", () => {
    poke(m, SRC, [1, 2, 3]);
    poke(m, DST, [1, 2, 3]);
    exec(m, [0xf3, 0xa6], { regs: { esi: SRC, edi: DST, ecx: 3 } });
    expect(reg(m, "ecx")).toBe(0);
    expect(m.cpu.getEflags() & ARITH).toBe(F.ZF | F.PF);
  });
  it("cmpsd compares [esi] - [edi] (source minus destination)", () => {
    wr32(m, SRC, 1);
    wr32(m, DST, 2);
    exec(m, [0xa7], { regs: { esi: SRC, edi: DST } }); // cmpsd
    expect(m.cpu.getEflags() & ARITH).toBe(F.CF | F.SF | F.PF | F.AF);
  });
  it("repne scasb finds AL (strlen idiom) and stops past it", () => {
    poke(m, DST, [0x41, 0x42, 0x43, 0x00, 0x44]);
    exec(m, [0xf2, 0xae], { regs: { eax: 0, edi: DST, ecx: -1 } }); // repne scasb
    expect(reg(m, "edi")).toBe(DST + 4);
    expect(reg(m, "ecx")).toBe(0xffffffff - 4);
    expect(m.cpu.getEflags() & F.ZF).toBe(F.ZF);
  });
  it("repne scasb that never matches stops at ECX=0 with ZF clear", () => {
    poke(m, DST, [1, 1, 1]);
    exec(m, [0xf2, 0xae], { regs: { eax: 2, edi: DST, ecx: 3 } });
    expect([reg(m, "ecx"), reg(m, "edi")]).toEqual([0, DST + 3]);
    expect(m.cpu.getEflags() & F.ZF).toBe(0);
  });
  it("a16 repne scasb with DF=1 scans down and uses CX", () => {
    poke(m, 0x200, [0x99, 0x00, 0x00]);
    exec(m, [0xf2, 0x67, 0xae], { regs: { eax: 0x99, edi: 0x55550202, ecx: 0x44440010 }, flags: F.DF }); // a16 repne scasb
    expect([reg(m, "edi"), reg(m, "ecx")]).toEqual([0x555501ff, 0x4444000d]);
  });
  it("repe cmpsd with DF=1 stops at a mismatch", () => {
    wr32(m, SRC, 5); wr32(m, SRC + 4, 6); wr32(m, SRC + 8, 7);
    wr32(m, DST, 4); wr32(m, DST + 4, 6); wr32(m, DST + 8, 7);
    exec(m, [0xf3, 0xa7], { regs: { esi: SRC + 8, edi: DST + 8, ecx: 3 }, flags: F.DF }); // repe cmpsd
    expect([reg(m, "esi"), reg(m, "edi"), reg(m, "ecx")]).toEqual([SRC - 4, DST - 4, 0]);
    expect(m.cpu.getEflags() & F.ZF).toBe(0);
  });
});

describe("INS and OUTS", () => {
  it("rep outsb sends each byte to port DX", () => {
    poke(m, SRC, [0x68, 0x69, 0x0a]);
    exec(m, [0xf3, 0x6e], { regs: { esi: SRC, edx: 0xe9, ecx: 3 } }); // rep outsb
    expect(m.ports.log.filter((a) => a.write).map((a) => [a.port, a.size, a.value])).toEqual([[0xe9, 1, 0x68], [0xe9, 1, 0x69], [0xe9, 1, 0x0a]]);
  });
  it("rep insw stores words read from port DX", () => {
    m.ports.values.set(0x1f0, 0xbeef);
    exec(m, [0xf3, 0x66, 0x6d], { regs: { edi: DST, edx: 0x1f0, ecx: 2 } }); // rep insw
    expect([rd16(m, DST), rd16(m, DST + 2)]).toEqual([0xbeef, 0xbeef]);
    expect(reg(m, "edi")).toBe(DST + 4);
  });
});

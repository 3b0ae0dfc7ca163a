/**
 * Stack operations (PUSH/POP in every form, PUSH ESP, POP ESP, POP to an ESP-relative address, PUSHA/POPA,
 * ENTER/LEAVE, CALL/RET with an immediate, PUSHF/POPF, segment registers, a 16-bit stack segment) and
 * the operand-size, address-size and segment-override prefixes on ordinary memory operands.
 */
import { beforeEach, describe, expect, it } from "vitest";
import {
  ACC_DATA0, CODE, DATA, DS, F, FLAGS_4K_32, FS, GS, SS, exec, flatMachine, forceSegment, loadCode, rd16, rd32, reg, runTo, segDesc,
  setGdt, setRegs, wr16, wr32, poke, type TestMachine,
} from "./harness.js";

let m: TestMachine;
beforeEach(() => {
  m = flatMachine();
});
const TOP = 0x10000;

describe("PUSH and POP", () => {
  it("push reg / pop reg move ESP by 4 and store little-endian", () => {
    exec(m, [0x53, 0x59], { regs: { ebx: 0x11223344, ecx: 0, esp: TOP } }); // push ebx; pop ecx
    expect(reg(m, "ecx")).toBe(0x11223344);
    expect(rd32(m, TOP - 4)).toBe(0x11223344);
    expect(reg(m, "esp")).toBe(TOP);
  });
  it("push esp pushes the value ESP had before the push", () => {
    exec(m, [0x54], { regs: { esp: TOP } }); // push esp
    expect(rd32(m, TOP - 4)).toBe(TOP);
    expect(reg(m, "esp")).toBe(TOP - 4);
  });
  it("o16 push esp pushes SP and moves ESP by 2", () => {
    exec(m, [0x66, 0x54], { regs: { esp: TOP } }); // push sp
    expect(rd16(m, TOP - 2)).toBe(TOP & 0xffff);
    expect(reg(m, "esp")).toBe(TOP - 2);
  });
  it("pop esp loads the popped value (the increment is overwritten)", () => {
    wr32(m, TOP - 4, 0x8888);
    exec(m, [0x5c], { regs: { esp: TOP - 4 } }); // pop esp
    expect(reg(m, "esp")).toBe(0x8888);
  });
  it("pop dword [esp+4] computes the address after ESP is incremented", () => {
    wr32(m, TOP - 12, 0xcafe);
    wr32(m, TOP - 8, 0x1);
    wr32(m, TOP - 4, 0x2);
    exec(m, [0x8f, 0x44, 0x24, 0x04], { regs: { esp: TOP - 12 } }); // pop dword [esp+4]
    expect(reg(m, "esp")).toBe(TOP - 8);
    expect(rd32(m, TOP - 4)).toBe(0xcafe); // [new ESP + 4]
    expect(rd32(m, TOP - 8)).toBe(0x1);
  });
  it("push imm32, push imm8 (sign-extended), o16 push imm16, push [mem]", () => {
    wr32(m, DATA, 0xabcdef01);
    // push 0x12345678; push -2; o16 push 0x1234; push dword [esi]
    exec(m, [0x68, 0x78, 0x56, 0x34, 0x12, 0x6a, 0xfe, 0x66, 0x68, 0x34, 0x12, 0xff, 0x36], { regs: { esp: TOP, esi: DATA } });
    expect(reg(m, "esp")).toBe(TOP - 14);
    expect([rd32(m, TOP - 4), rd32(m, TOP - 8), rd16(m, TOP - 10), rd32(m, TOP - 14)]).toEqual([0x12345678, 0xfffffffe, 0x1234, 0xabcdef01]);
  });
  it("o16 pop cx changes only CX and ESP by 2", () => {
    wr16(m, TOP - 2, 0x9999);
    exec(m, [0x66, 0x59], { regs: { ecx: 0x12345678, esp: TOP - 2 } }); // pop cx
    expect(reg(m, "ecx")).toBe(0x12349999);
    expect(reg(m, "esp")).toBe(TOP);
  });
  it("push fs (32-bit) moves ESP by 4 and stores the selector; pop gs loads a selector", () => {
    wr32(m, TOP - 4, 0xffffffff);
    exec(m, [0x0f, 0xa0], { regs: { esp: TOP } }); // push fs
    expect(reg(m, "esp")).toBe(TOP - 4);
    // The upper half is either zero or left as it was (the SDM allows both); the low word is the selector.
    expect(rd16(m, TOP - 4)).toBe(0x10);
    wr32(m, TOP - 4, 0x23);
    exec(m, [0x0f, 0xa9], { regs: { esp: TOP - 4 } }); // pop gs
    expect(m.cpu.segSel[GS]).toBe(0x23);
    expect(reg(m, "esp")).toBe(TOP);
  });
  it("a 16-bit stack segment (B=0) uses SP and wraps, keeping ESP's upper half", () => {
    // SS: base 0x100000, limit 0xffff, byte granular, 16-bit.
    setGdt(m, 6, segDesc(0x100000, 0xffff, ACC_DATA0, 0));
    forceSegment(m, SS, 0x30);
    expect(m.cpu.stack32).toBe(false);
    exec(m, [0x66, 0x50], { regs: { eax: 0xa1b2c3d4, esp: 0x12340000 } }); // push ax: SP wraps 0 -> 0xfffe
    expect(reg(m, "esp")).toBe(0x1234fffe);
    expect(rd16(m, 0x100000 + 0xfffe)).toBe(0xc3d4);
    exec(m, [0x66, 0x5b], { regs: { ebx: 0 } }); // pop bx: SP wraps back to 0
    expect(reg(m, "ebx")).toBe(0xc3d4);
    expect(reg(m, "esp")).toBe(0x12340000);
    exec(m, [0x50], { regs: { esp: 0x56780004 } }); // push eax: SP 4 -> 0
    expect(reg(m, "esp")).toBe(0x56780000);
    expect(rd32(m, 0x100000)).toBe(0xa1b2c3d4);
  });
});

describe("PUSHA and POPA", () => {
  it("pusha stores EAX..EDI with the original ESP; popa restores all but ESP", () => {
    const regs = { eax: 1, ecx: 2, edx: 3, ebx: 4, esp: TOP, ebp: 6, esi: 7, edi: 8 };
    exec(m, [0x60], { regs }); // pusha
    expect(reg(m, "esp")).toBe(TOP - 32);
    const saved = Array.from({ length: 8 }, (_, i) => rd32(m, TOP - 4 - i * 4));
    expect(saved).toEqual([1, 2, 3, 4, TOP, 6, 7, 8]);
    wr32(m, TOP - 20, 0xdead); // the saved ESP slot is ignored by POPA
    exec(m, [0x61], { regs: { eax: 0, ecx: 0, edx: 0, ebx: 0, ebp: 0, esi: 0, edi: 0 } }); // popa
    expect([reg(m, "eax"), reg(m, "ecx"), reg(m, "edx"), reg(m, "ebx"), reg(m, "esp"), reg(m, "ebp"), reg(m, "esi"), reg(m, "edi")]).toEqual([1, 2, 3, 4, TOP, 6, 7, 8]);
  });
  it("o16 pusha/popa use words", () => {
    exec(m, [0x66, 0x60], { regs: { eax: 0x10001, ecx: 0x20002, edx: 3, ebx: 4, esp: TOP, ebp: 6, esi: 7, edi: 8 } });
    expect(reg(m, "esp")).toBe(TOP - 16);
    expect(Array.from({ length: 8 }, (_, i) => rd16(m, TOP - 2 - i * 2))).toEqual([1, 2, 3, 4, TOP & 0xffff, 6, 7, 8]);
    exec(m, [0x66, 0x61], { regs: { eax: 0xffff0000, ecx: 0xffff0000 } });
    expect([reg(m, "eax"), reg(m, "ecx"), reg(m, "esp")]).toEqual([0xffff0001, 0xffff0002, TOP]);
  });
});

describe("ENTER and LEAVE", () => {
  it("enter 16, 0 then leave", () => {
    exec(m, [0xc8, 0x10, 0x00, 0x00], { regs: { esp: TOP, ebp: 0x7777 } }); // enter 16, 0
    expect(rd32(m, TOP - 4)).toBe(0x7777);
    expect(reg(m, "ebp")).toBe(TOP - 4);
    expect(reg(m, "esp")).toBe(TOP - 4 - 16);
    exec(m, [0xc9], {}); // leave
    expect([reg(m, "esp"), reg(m, "ebp")]).toEqual([TOP, 0x7777]);
  });
  it("enter 8, 2 copies one outer frame pointer and pushes the new one", () => {
    const outer = TOP - 0x100;
    wr32(m, outer - 4, 0xaaaa); // the outer frame's display entry
    exec(m, [0xc8, 0x08, 0x00, 0x02], { regs: { esp: TOP, ebp: outer } }); // enter 8, 2
    const frame = TOP - 4;
    expect(rd32(m, TOP - 4)).toBe(outer); // old EBP
    expect(rd32(m, TOP - 8)).toBe(0xaaaa); // copied from [outer - 4]
    expect(rd32(m, TOP - 12)).toBe(frame); // the new frame pointer
    expect(reg(m, "ebp")).toBe(frame);
    expect(reg(m, "esp")).toBe(TOP - 12 - 8);
  });
  it("enter 0, 1 pushes EBP then the frame pointer", () => {
    exec(m, [0xc8, 0x00, 0x00, 0x01], { regs: { esp: TOP, ebp: 0x5555 } });
    expect([rd32(m, TOP - 4), rd32(m, TOP - 8)]).toEqual([0x5555, TOP - 4]);
    expect([reg(m, "ebp"), reg(m, "esp")]).toEqual([TOP - 4, TOP - 8]);
  });
  it("o16 leave pops BP only", () => {
    wr16(m, TOP - 2, 0x1234);
    exec(m, [0x66, 0xc9], { regs: { ebp: TOP - 2, esp: 0, } });
    expect([reg(m, "esp"), reg(m, "ebp") & 0xffff]).toEqual([TOP, 0x1234]);
  });
});

describe("CALL and RET", () => {
  it("call rel32 pushes the return address; ret 8 pops it and releases 8 bytes", () => {
    // 0: call +5 (to 10)   5: nop x5   10: ret 8
    loadCode(m, [0xe8, 0x05, 0, 0, 0, 0x90, 0x90, 0x90, 0x90, 0x90, 0xc2, 0x08, 0x00]);
    setRegs(m, { esp: TOP });
    m.cpu.step();
    expect(m.cpu.eip >>> 0).toBe(CODE + 10);
    expect(rd32(m, TOP - 4)).toBe(CODE + 5);
    m.cpu.step();
    expect(m.cpu.eip >>> 0).toBe(CODE + 5);
    expect(reg(m, "esp")).toBe(TOP + 8);
  });
  it("call ebx and call [esi] (indirect near)", () => {
    poke(m, CODE + 0x100, [0xc3]); // ret
    loadCode(m, [0xff, 0xd3, 0xff, 0x16]); // call ebx; call [esi]
    wr32(m, DATA, CODE + 0x100);
    setRegs(m, { esp: TOP, ebx: CODE + 0x100, esi: DATA });
    m.cpu.step();
    expect([m.cpu.eip >>> 0, rd32(m, TOP - 4)]).toEqual([CODE + 0x100, CODE + 2]);
    m.cpu.step();
    m.cpu.step();
    expect([m.cpu.eip >>> 0, rd32(m, TOP - 4)]).toEqual([CODE + 0x100, CODE + 4]);
    m.cpu.step();
    expect(m.cpu.eip >>> 0).toBe(CODE + 4);
    expect(reg(m, "esp")).toBe(TOP);
  });
  it("o16 call and o16 ret push/pop 16-bit IP and truncate EIP to 16 bits", () => {
    const low = 0x7000;
    // at 0x7000: o16 call +3 (to 0x7007); 0x7004: nop; nop; nop; 0x7007: o16 ret
    loadCode(m, [0x66, 0xe8, 0x03, 0x00, 0x90, 0x90, 0x90, 0x66, 0xc3], low);
    setRegs(m, { esp: TOP });
    m.cpu.step();
    expect(m.cpu.eip >>> 0).toBe(0x7007);
    expect(reg(m, "esp")).toBe(TOP - 2);
    expect(rd16(m, TOP - 2)).toBe(0x7004);
    m.cpu.step();
    expect(m.cpu.eip >>> 0).toBe(0x7004);
    expect(reg(m, "esp")).toBe(TOP);
  });
});

describe("PUSHF and POPF", () => {
  it("pushfd stores EFLAGS; popfd restores the status flags and DF", () => {
    exec(m, [0x9c], { regs: { esp: TOP }, flags: F.CF | F.ZF | F.DF });
    expect(rd32(m, TOP - 4)).toBe(0x2 | F.CF | F.ZF | F.DF);
    wr32(m, TOP - 4, F.SF | F.OF | F.PF | 0x2);
    exec(m, [0x9d], { regs: { esp: TOP - 4 } });
    expect(m.cpu.getEflags()).toBe(0x2 | F.SF | F.OF | F.PF);
  });
  it("pushfd and popfd move AC (bit 18); their 16-bit forms move FLAGS only and leave AC", () => {
    const AC = 1 << 18;
    exec(m, [0x9c], { regs: { esp: TOP }, flags: AC | F.CF });
    expect(rd32(m, TOP - 4)).toBe(0x2 | AC | F.CF);
    wr32(m, TOP - 4, 0x2 | AC);
    exec(m, [0x9d], { regs: { esp: TOP - 4 } }); // popfd
    expect(m.cpu.getEflags()).toBe(0x2 | AC);
    wr32(m, TOP - 2, 0x2 | F.ZF);
    exec(m, [0x66, 0x9d], { regs: { esp: TOP - 2 }, flags: AC }); // popf (16-bit)
    expect(m.cpu.getEflags()).toBe(0x2 | AC | F.ZF);
    exec(m, [0x66, 0x9c], { regs: { esp: TOP }, flags: AC | F.ZF }); // pushf (16-bit)
    expect([rd16(m, TOP - 2), reg(m, "esp")]).toEqual([0x2 | F.ZF, TOP - 2]);
  });
});

describe("prefixes on ModRM operands", () => {
  it("a16 addressing: [bx+si] wraps at 64 KiB, [bp+di+4] defaults to SS, [disp16]", () => {
    // SS: base 0x100000 so SS-relative accesses are distinguishable from DS ones.
    setGdt(m, 6, segDesc(0x100000, 0xfffff, ACC_DATA0, FLAGS_4K_32));
    forceSegment(m, SS, 0x30);
    wr32(m, 0x0001, 0x11111111);
    wr32(m, 0x100000 + 0x0204, 0x22222222);
    wr32(m, 0x1234, 0x33333333);
    exec(m, [0x67, 0x8b, 0x00], { regs: { ebx: 0xffff, esi: 0x2 } }); // a16 mov eax, [bx+si]
    expect(reg(m, "eax")).toBe(0x11111111);
    exec(m, [0x67, 0x8b, 0x43, 0x04], { regs: { ebp: 0x100, edi: 0x100 } }); // a16 mov eax, [bp+di+4]
    expect(reg(m, "eax")).toBe(0x22222222);
    exec(m, [0x67, 0xa1, 0x34, 0x12], { regs: {} }); // a16 mov eax, [0x1234]
    expect(reg(m, "eax")).toBe(0x33333333);
  });
  it("32-bit [ebp] and [esp] default to SS; ds: overrides", () => {
    setGdt(m, 6, segDesc(0x100000, 0xfffff, ACC_DATA0, FLAGS_4K_32));
    forceSegment(m, SS, 0x30);
    wr32(m, 0x100000 + 0x500, 0xaaaa);
    wr32(m, 0x500, 0xbbbb);
    exec(m, [0x8b, 0x45, 0x00], { regs: { ebp: 0x500 } }); // mov eax, [ebp]
    expect(reg(m, "eax")).toBe(0xaaaa);
    exec(m, [0x3e, 0x8b, 0x45, 0x00], { regs: { ebp: 0x500 } }); // mov eax, ds:[ebp]
    expect(reg(m, "eax")).toBe(0xbbbb);
    exec(m, [0x8b, 0x04, 0x24], { regs: { esp: 0x500 } }); // mov eax, [esp]
    expect(reg(m, "eax")).toBe(0xaaaa);
  });
  it("fs: override on a ModRM operand uses FS's base", () => {
    setGdt(m, 6, segDesc(0x200000, 0xfffff, ACC_DATA0, FLAGS_4K_32));
    forceSegment(m, FS, 0x30);
    wr32(m, 0x200000 + 0x40, 0x600d);
    exec(m, [0x64, 0x8b, 0x03], { regs: { ebx: 0x40 } }); // mov eax, fs:[ebx]
    expect(reg(m, "eax")).toBe(0x600d);
    expect(m.cpu.segSel[DS]).toBe(0x10);
  });
  it("lea with operand and address size prefixes", () => {
    exec(m, [0x66, 0x8d, 0x44, 0x98, 0x08], { regs: { eax: 0x1fff0, ebx: 1, ecx: 0 } }); // lea ax, [eax+ebx*4+8]
    expect(reg(m, "eax")).toBe(0x1fffc);
    exec(m, [0x66, 0x67, 0x8d, 0x40, 0xff], { regs: { eax: 0xaaaa0000, ebx: 0, esi: 0 } }); // a16 lea ax, [bx+si-1]
    expect(reg(m, "eax")).toBe(0xaaaaffff);
    exec(m, [0x67, 0x8d, 0x40, 0xff], { regs: { eax: 0xaaaa0000, ebx: 0, esi: 0 } }); // a16 lea eax, [bx+si-1]: zero-extended
    expect(reg(m, "eax")).toBe(0xffff);
  });
  it("xlat reads [ebx + al]", () => {
    poke(m, DATA + 0x80, [0x5e]);
    exec(m, [0xd7], { regs: { eax: 0xffffff80, ebx: DATA } });
    expect(reg(m, "eax")).toBe(0xffffff5e);
  });
  it("redundant prefixes and lock are accepted", () => {
    loadCode(m, [0x66, 0x66, 0x3e, 0x26, 0xf0, 0x01, 0x18]); // o16 o16 ds es lock add [eax], bx
    wr32(m, DATA, 0x0001ffff);
    setRegs(m, { eax: DATA, ebx: 1 });
    runTo(m, CODE + 7);
    expect(rd32(m, DATA)).toBe(0x00010000);
  });
});

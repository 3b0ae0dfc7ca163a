/**
 * Far control transfers through code-segment descriptors: JMP/CALL ptr16:32 and m16:32, RETF with and
 * without an immediate, to the same privilege and (RETF) to ring 3 with SS:ESP from the stack, the
 * nulling of data segment registers the outer ring may not use, and the checks with their error codes.
 */
import { beforeEach, describe, expect, it } from "vitest";
import {
  ACC_CODE0, ACC_CODE3, CODE, CS, DATA, DS, ES, FLAGS_4K_32, FS, GS, KSTACK_TOP, SS, expectException, flatMachine,
  handlerAddr, loadCode, rd32, reg, segDesc, setGdt, setRegs, stackWord, wr16, wr32, poke, type TestMachine,
} from "./harness.js";

let m: TestMachine;
beforeEach(() => {
  m = flatMachine();
  setRegs(m, { esp: KSTACK_TOP });
});

/** Far JMP ptr16:32 bytes. */
const jmpFar = (sel: number, off: number) => [0xea, off & 0xff, (off >>> 8) & 0xff, (off >>> 16) & 0xff, off >>> 24, sel & 0xff, sel >> 8];
const callFar = (sel: number, off: number) => [0x9a, ...jmpFar(sel, off).slice(1)];

function faultOf(code: number[]): { vector: number; error: number } {
  loadCode(m, code);
  const r = expectException(m);
  expect(m.cpu.eip >>> 0).toBe(handlerAddr(r.vector));
  return r;
}

describe("far JMP", () => {
  it("jmp 0x08:target reloads CS and EIP", () => {
    loadCode(m, jmpFar(0x08, CODE + 0x40));
    m.cpu.step();
    expect([m.cpu.segSel[CS], m.cpu.eip >>> 0]).toEqual([0x08, CODE + 0x40]);
  });
  it("a code segment with a base: EIP is relative to it and CS's accessed bit is set", () => {
    setGdt(m, 6, segDesc(0x100000, 0xfffff, ACC_CODE0 & ~1, FLAGS_4K_32));
    poke(m, 0x100000 + 0x20, [0x90]);
    loadCode(m, jmpFar(0x30, 0x20));
    m.cpu.step();
    expect([m.cpu.segSel[CS], m.cpu.segBase[CS], m.cpu.eip]).toEqual([0x30, 0x100000, 0x20]);
    expect(rd32(m, 0x1000 + 0x30 + 4) & 0x100).toBe(0x100);
    m.cpu.step(); // the nop at linear 0x100020
    expect(m.cpu.eip).toBe(0x21);
  });
  it("jmp far [esi] takes offset then selector from memory; o16 uses a 16-bit offset", () => {
    wr32(m, DATA, CODE + 0x80);
    wr16(m, DATA + 4, 0x08);
    setRegs(m, { esi: DATA });
    loadCode(m, [0xff, 0x2e]); // jmp far [esi]
    m.cpu.step();
    expect(m.cpu.eip >>> 0).toBe(CODE + 0x80);
    loadCode(m, [0x66, 0xea, 0x34, 0x12, 0x08, 0x00]); // o16 jmp 0x08:0x1234
    m.cpu.step();
    expect(m.cpu.eip >>> 0).toBe(0x1234);
  });
  it("null selector: #GP(0)", () => {
    expect(faultOf(jmpFar(0x03, 0))).toEqual({ vector: 13, error: 0 });
  });
  it("a data segment: #GP(selector)", () => {
    expect(faultOf(jmpFar(0x10, 0))).toEqual({ vector: 13, error: 0x10 });
  });
  it("non-conforming code of another DPL: #GP(selector)", () => {
    expect(faultOf(jmpFar(0x1b, CODE))).toEqual({ vector: 13, error: 0x18 });
  });
  it("RPL > CPL to non-conforming code: #GP(selector)", () => {
    expect(faultOf(jmpFar(0x0b, CODE))).toEqual({ vector: 13, error: 0x08 });
  });
  it("not present: #NP(selector)", () => {
    setGdt(m, 6, segDesc(0, 0xfffff, ACC_CODE0 & 0x7f, FLAGS_4K_32));
    expect(faultOf(jmpFar(0x30, CODE))).toEqual({ vector: 11, error: 0x30 });
  });
  it("an offset beyond the target's limit: #GP(0), CS unchanged", () => {
    setGdt(m, 6, segDesc(0, 0xfff, ACC_CODE0, 0x4));
    expect(faultOf(jmpFar(0x30, 0x1000))).toEqual({ vector: 13, error: 0 });
    expect(stackWord(m, 1)).toBe(CODE); // faulting EIP
    expect(stackWord(m, 2)).toBe(0x08); // old CS
  });
  it("a conforming DPL-0 segment from ring 3: CPL stays 3, CS.RPL = 3", () => {
    m = flatMachine({ ring3: true });
    setGdt(m, 6, segDesc(0, 0xfffff, 0x9e, FLAGS_4K_32)); // conforming, readable, DPL 0
    loadCode(m, jmpFar(0x33, CODE + 0x10));
    m.cpu.step();
    expect([m.cpu.segSel[CS], m.cpu.cpl]).toEqual([0x33, 3]);
  });
  it("a non-conforming DPL-0 segment from ring 3: #GP(selector)", () => {
    m = flatMachine({ ring3: true });
    expect(faultOf(jmpFar(0x08, CODE))).toEqual({ vector: 13, error: 0x08 });
  });
});

describe("far CALL and RETF (same privilege)", () => {
  it("call ptr16:32 pushes CS then EIP; retf returns", () => {
    poke(m, CODE + 0x100, [0xcb]); // retf
    loadCode(m, callFar(0x08, CODE + 0x100));
    m.cpu.step();
    expect(m.cpu.eip >>> 0).toBe(CODE + 0x100);
    expect(reg(m, "esp")).toBe(KSTACK_TOP - 8);
    expect([stackWord(m, 0), stackWord(m, 1)]).toEqual([CODE + 7, 0x08]);
    m.cpu.step();
    expect([m.cpu.eip >>> 0, reg(m, "esp"), m.cpu.segSel[CS]]).toEqual([CODE + 7, KSTACK_TOP, 0x08]);
  });
  it("call far [esi] (m16:32) and retf 8 releasing parameters", () => {
    poke(m, CODE + 0x200, [0xca, 0x08, 0x00]); // retf 8
    wr32(m, DATA, CODE + 0x200);
    wr16(m, DATA + 4, 0x08);
    setRegs(m, { esi: DATA, esp: KSTACK_TOP - 8 }); // 8 bytes of "parameters" already pushed
    loadCode(m, [0xff, 0x1e]); // call far [esi]
    m.cpu.step();
    expect(reg(m, "esp")).toBe(KSTACK_TOP - 16);
    m.cpu.step();
    expect([m.cpu.eip >>> 0, reg(m, "esp")]).toEqual([CODE + 2, KSTACK_TOP]);
  });
  it("o16 call far [esi] pushes 16-bit CS and IP", () => {
    wr16(m, DATA, 0x1234);
    wr16(m, DATA + 2, 0x08);
    setRegs(m, { esi: DATA });
    loadCode(m, [0x66, 0xff, 0x1e]);
    m.cpu.step();
    expect(m.cpu.eip >>> 0).toBe(0x1234);
    expect(reg(m, "esp")).toBe(KSTACK_TOP - 4);
    expect(rd32(m, KSTACK_TOP - 4)).toBe(((0x08 << 16) | ((CODE + 3) & 0xffff)) >>> 0);
  });
  it("a faulting far call leaves ESP and memory's CS unchanged", () => {
    expect(faultOf(callFar(0x10, 0))).toEqual({ vector: 13, error: 0x10 });
    // Only the exception frame (error, EIP, CS, EFLAGS) is on the stack: the call pushed nothing.
    expect(reg(m, "esp")).toBe(KSTACK_TOP - 16);
    expect(stackWord(m, 1)).toBe(CODE);
  });
  it("retf to a selector with RPL < CPL: #GP(selector)", () => {
    m = flatMachine({ ring3: true });
    setRegs(m, { esp: 0x30000 });
    wr32(m, 0x30000, CODE);
    wr32(m, 0x30004, 0x08);
    expect(faultOf([0xcb])).toEqual({ vector: 13, error: 0x08 });
  });
});

describe("RETF to ring 3", () => {
  function frameForRing3(imm: number): void {
    // EIP, CS, [imm bytes of parameters], ESP, SS on the ring-0 stack.
    const sp = KSTACK_TOP - 16 - imm;
    wr32(m, sp, CODE + 0x300);
    wr32(m, sp + 4, 0x1b);
    wr32(m, sp + 8 + imm, 0x30000);
    wr32(m, sp + 12 + imm, 0x23);
    setRegs(m, { esp: sp });
  }
  it("pops EIP, CS, ESP, SS; CPL becomes 3; ring-0 data segments are nulled", () => {
    setGdt(m, 6, segDesc(0, 0xfffff, 0xf2, FLAGS_4K_32)); // a DPL-3 data segment stays loaded in FS
    m.cpu.setSegmentCache(FS, 0x33, 0, -1, 0x40f2 | 0x8000);
    frameForRing3(0);
    loadCode(m, [0xcb]);
    m.cpu.step();
    expect(m.cpu.cpl).toBe(3);
    expect([m.cpu.segSel[CS], m.cpu.segSel[SS], m.cpu.eip >>> 0, reg(m, "esp")]).toEqual([0x1b, 0x23, CODE + 0x300, 0x30000]);
    expect([m.cpu.segSel[DS], m.cpu.segSel[ES], m.cpu.segSel[GS]]).toEqual([0, 0, 0]);
    expect(m.cpu.segSel[FS]).toBe(0x33);
  });
  it("retf 8 releases the parameters on both stacks", () => {
    frameForRing3(8);
    loadCode(m, [0xca, 0x08, 0x00]);
    m.cpu.step();
    expect(m.cpu.cpl).toBe(3);
    expect(reg(m, "esp")).toBe(0x30008);
  });
  it("an SS whose RPL differs from the new CPL: #GP(SS selector)", () => {
    frameForRing3(0);
    wr32(m, KSTACK_TOP - 4, 0x20); // SS = 0x20: RPL 0
    expect(faultOf([0xcb])).toEqual({ vector: 13, error: 0x20 });
    expect(m.cpu.cpl).toBe(0);
  });
  it("a null SS: #GP(0)", () => {
    frameForRing3(0);
    wr32(m, KSTACK_TOP - 4, 0x03);
    expect(faultOf([0xcb])).toEqual({ vector: 13, error: 0 });
  });
  it("a return to a non-present ring-3 code segment: #NP(selector)", () => {
    setGdt(m, 6, segDesc(0, 0xfffff, ACC_CODE3 & 0x7f, FLAGS_4K_32));
    frameForRing3(0);
    wr32(m, KSTACK_TOP - 12, 0x33);
    expect(faultOf([0xcb])).toEqual({ vector: 11, error: 0x30 });
  });
  it("a data segment as SS that is read-only: #GP(SS selector)", () => {
    setGdt(m, 6, segDesc(0, 0xfffff, 0xf0, FLAGS_4K_32));
    frameForRing3(0);
    wr32(m, KSTACK_TOP - 4, 0x33);
    expect(faultOf([0xcb])).toEqual({ vector: 13, error: 0x30 });
  });
});

/**
 * Segment register loads in protected mode with the SDM's checks and error codes (MOV, POP, LDS/LSS),
 * the accessed bit, LDT selectors, and the checks every later access makes against the loaded cache
 * (limits, expand-down, read-only data, execute-only code, null selectors, #SS for the stack).
 */
import { beforeEach, describe, expect, it } from "vitest";
import { StepKind } from "../../src/cpu/observer.js";
import {
  ACC_CODE0, ACC_DATA0, ACC_DATA3, CODE, DATA, DS, ES, FLAGS_4K_32, FS, GDT, GS, enterRing3, KSTACK_TOP, LDT, SS, USTACK_TOP, expectException, exec,
  flatMachine, forceSegment, handlerAddr, loadCode, rd32, reg, segDesc, setGdt, setLdt, setRegs, stackWord, wr32, type TestMachine,
} from "./harness.js";

let m: TestMachine;
beforeEach(() => {
  m = flatMachine();
});

/** Runs `code` expecting a fault; returns vector and error code as pushed for the handler. */
function fault(code: number[], regs: Parameters<typeof setRegs>[1] = {}): { vector: number; error: number } {
  setRegs(m, regs);
  loadCode(m, code);
  const start = m.cpu.eip >>> 0;
  const r = expectException(m);
  expect(m.cpu.eip >>> 0, "at the handler").toBe(handlerAddr(r.vector));
  const hasErr = r.vector === 8 || (r.vector >= 10 && r.vector <= 14);
  // Frame: [error], EIP (the faulting instruction), CS, EFLAGS.
  if (hasErr) expect(stackWord(m, 0), "error code pushed").toBe(r.error);
  expect(stackWord(m, hasErr ? 1 : 0), "return EIP is the faulting instruction").toBe(start);
  return r;
}

const MOV_DS_AX = [0x8e, 0xd8];
const MOV_SS_AX = [0x8e, 0xd0];

describe("loading DS/ES/FS/GS", () => {
  it("a valid data segment loads base, limit and sets the accessed bit", () => {
    setGdt(m, 6, segDesc(0x123000, 0xfff, ACC_DATA0 & ~1, 0x4)); // accessed bit clear, byte granular
    exec(m, MOV_DS_AX, { regs: { eax: 0x30 } });
    expect(m.cpu.segSel[DS]).toBe(0x30);
    expect(m.cpu.segBase[DS]).toBe(0x123000);
    expect(m.cpu.segLimit[DS]).toBe(0xfff);
    expect(rd32(m, GDT + 6 * 8 + 4) & 0x100).toBe(0x100);
  });
  it("each of ES, FS, GS and POP DS, LDS load the same way", () => {
    setGdt(m, 6, segDesc(0x4000, 0xfffff, ACC_DATA0, FLAGS_4K_32));
    exec(m, [0x8e, 0xc0, 0x8e, 0xe0, 0x8e, 0xe8], { regs: { eax: 0x30 } }); // mov es/fs/gs, ax
    expect([m.cpu.segSel[ES], m.cpu.segSel[FS], m.cpu.segSel[GS]]).toEqual([0x30, 0x30, 0x30]);
    wr32(m, KSTACK_TOP - 4, 0x30);
    exec(m, [0x1f], { regs: { esp: KSTACK_TOP - 4 } }); // pop ds
    expect([m.cpu.segSel[DS], reg(m, "esp")]).toEqual([0x30, KSTACK_TOP]);
    // LDS reads its far pointer through the DS just loaded (base 0x4000).
    wr32(m, 0x4000 + DATA, 0xabcd);
    wr32(m, 0x4000 + DATA + 4, 0x10);
    exec(m, [0xc5, 0x06], { regs: { esi: DATA } }); // lds eax, [esi]
    expect([m.cpu.segSel[DS], reg(m, "eax")]).toEqual([0x10, 0xabcd]);
  });
  it("a null selector loads without a fault; a later access through it is #GP(0)", () => {
    exec(m, MOV_DS_AX, { regs: { eax: 0x3 } });
    expect(m.cpu.segSel[DS]).toBe(3);
    expect(fault([0x8b, 0x18], { eax: DATA })).toEqual({ vector: 13, error: 0 }); // mov ebx, [eax]
  });
  it("an index beyond the GDT limit is #GP(selector)", () => {
    expect(fault(MOV_DS_AX, { eax: 0x103 })).toEqual({ vector: 13, error: 0x100 });
  });
  it("a TI=1 selector with no LDT is #GP(selector)", () => {
    expect(fault(MOV_DS_AX, { eax: 0x0c })).toEqual({ vector: 13, error: 0x0c });
  });
  it("a system descriptor (the TSS) is #GP(selector)", () => {
    expect(fault(MOV_DS_AX, { eax: 0x28 })).toEqual({ vector: 13, error: 0x28 });
  });
  it("an execute-only code segment is #GP(selector); a readable one loads", () => {
    setGdt(m, 6, segDesc(0, 0xfffff, 0x98, FLAGS_4K_32)); // code, execute-only
    expect(fault(MOV_DS_AX, { eax: 0x30 })).toEqual({ vector: 13, error: 0x30 });
    setGdt(m, 7, segDesc(0, 0xfffff, ACC_CODE0, FLAGS_4K_32));
    exec(m, MOV_DS_AX, { regs: { eax: 0x38 } });
    expect(m.cpu.segSel[DS]).toBe(0x38);
  });
  it("not present is #NP(selector), checked after type and privilege", () => {
    setGdt(m, 6, segDesc(0, 0xfffff, ACC_DATA0 & 0x7f, FLAGS_4K_32));
    expect(fault(MOV_DS_AX, { eax: 0x30 })).toEqual({ vector: 11, error: 0x30 });
    expect(m.cpu.segSel[DS]).toBe(0x10);
  });
  it("RPL > DPL is #GP(selector)", () => {
    expect(fault(MOV_DS_AX, { eax: 0x13 })).toEqual({ vector: 13, error: 0x10 });
  });
  it("LDT selectors after LLDT", () => {
    setGdt(m, 6, segDesc(LDT, 8 * 8 - 1, 0x82, 0)); // LDT descriptor
    setLdt(m, 1, segDesc(0x5000, 0xfff, ACC_DATA0, 0x4));
    exec(m, [0x0f, 0x00, 0xd0], { regs: { eax: 0x30 } }); // lldt ax
    exec(m, MOV_DS_AX, { regs: { eax: 0x0c } }); // index 1, TI=1
    expect(m.cpu.segBase[DS]).toBe(0x5000);
    expect(fault(MOV_DS_AX, { eax: 0x44 })).toEqual({ vector: 13, error: 0x44 }); // index 8 beyond the LDT limit
  });
  it("MOV to CS is #UD", () => {
    expect(fault([0x8e, 0xc8], { eax: 0x08 }).vector).toBe(6);
  });
});

describe("loading SS", () => {
  it("a valid writable ring-0 data segment loads; MOV SS blocks interrupts for one instruction", () => {
    setGdt(m, 6, segDesc(0, 0xfffff, ACC_DATA0, FLAGS_4K_32));
    setRegs(m, { eax: 0x30 });
    loadCode(m, [...MOV_SS_AX, 0x90]);
    m.cpu.step();
    expect(m.cpu.segSel[SS]).toBe(0x30);
    expect(m.cpu.interruptShadowUntil).toBe(m.cpu.steps + 1);
  });
  it("null is #GP(0)", () => {
    expect(fault(MOV_SS_AX, { eax: 0 })).toEqual({ vector: 13, error: 0 });
  });
  it("beyond the GDT limit is #GP(selector)", () => {
    expect(fault(MOV_SS_AX, { eax: 0x200 })).toEqual({ vector: 13, error: 0x200 });
  });
  it("RPL != CPL is #GP(selector)", () => {
    expect(fault(MOV_SS_AX, { eax: 0x11 })).toEqual({ vector: 13, error: 0x10 });
  });
  it("a read-only data segment or a code segment is #GP(selector)", () => {
    setGdt(m, 6, segDesc(0, 0xfffff, 0x90, FLAGS_4K_32)); // read-only data
    expect(fault(MOV_SS_AX, { eax: 0x30 })).toEqual({ vector: 13, error: 0x30 });
    expect(fault(MOV_SS_AX, { eax: 0x08 })).toEqual({ vector: 13, error: 0x08 });
  });
  it("DPL != CPL is #GP(selector)", () => {
    setGdt(m, 6, segDesc(0, 0xfffff, ACC_DATA3, FLAGS_4K_32));
    expect(fault(MOV_SS_AX, { eax: 0x30 })).toEqual({ vector: 13, error: 0x30 });
  });
  it("not present is #SS(selector)", () => {
    setGdt(m, 6, segDesc(0, 0xfffff, ACC_DATA0 & 0x7f, FLAGS_4K_32));
    expect(fault(MOV_SS_AX, { eax: 0x30 })).toEqual({ vector: 12, error: 0x30 });
  });
  it("lss esp, [esi] loads SS and ESP together", () => {
    wr32(m, DATA, 0x8000);
    wr32(m, DATA + 4, 0x10);
    exec(m, [0x0f, 0xb2, 0x26], { regs: { esi: DATA } });
    expect([m.cpu.segSel[SS], reg(m, "esp")]).toEqual([0x10, 0x8000]);
  });
  it("pop ss with a bad selector faults with ESP unchanged", () => {
    wr32(m, KSTACK_TOP - 4, 0x1b); // ring-3 code selector
    const r = fault([0x17], { esp: KSTACK_TOP - 4 });
    expect(r).toEqual({ vector: 13, error: 0x18 });
    expect(stackWord(m, 4)).toBe(0x1b); // the frame sits just below the unchanged ESP
  });
});

describe("from ring 3", () => {
  beforeEach(() => {
    m = flatMachine({ ring3: true });
  });
  it("loading a DPL-0 data segment is #GP(selector)", () => {
    expect(fault(MOV_DS_AX, { eax: 0x13 })).toEqual({ vector: 13, error: 0x10 });
    expect(m.cpu.cpl).toBe(0);
    expect(stackWord(m, 4)).toBe(USTACK_TOP); // the ring-3 ESP in the frame
  });
  it("loading SS with the ring-0 data segment is #GP(selector)", () => {
    expect(fault(MOV_SS_AX, { eax: 0x10 })).toEqual({ vector: 13, error: 0x10 });
  });
  // Stack-segment faults are tested from ring 3 so that their delivery switches to the TSS stack
  // (in ring 0 the frame would go to the same broken stack and escalate).
  it("an SS limit violation by a push is #SS(0)", () => {
    setGdt(m, 6, segDesc(0, 0xffff, ACC_DATA3, 0)); // 16-bit stack, limit 0xffff
    forceSegment(m, SS, 0x33);
    const r = fault([0x50], { esp: 0x0002 }); // push eax at SP=2 wraps to 0xfffe: bytes 0xfffe..0x10001
    expect(r).toEqual({ vector: 12, error: 0 });
    expect(stackWord(m, 4)).toBe(0x0002); // the user ESP, unchanged by the aborted push
  });
  it("an SS-relative operand beyond the SS limit is #SS(0)", () => {
    setGdt(m, 6, segDesc(0, 0xffff, ACC_DATA3, 0x4));
    const userStack = () => {
      enterRing3(m);
      forceSegment(m, SS, 0x33);
      setRegs(m, { esp: 0x8000 });
    };
    userStack();
    expect(fault([0x8b, 0x45, 0x00], { ebp: 0xfffe })).toEqual({ vector: 12, error: 0 }); // mov eax, [ebp]
    userStack();
    expect(fault([0x36, 0x8b, 0x18], { eax: 0x10000 })).toEqual({ vector: 12, error: 0 }); // mov ebx, ss:[eax]
    userStack();
    exec(m, [0x36, 0x8b, 0x18], { regs: { eax: 0xfffc } }); // the last four bytes are fine
    expect(m.cpu.cpl).toBe(3);
  });
  it("loading the ring-3 data segment works", () => {
    exec(m, [...MOV_DS_AX, ...MOV_SS_AX], { regs: { eax: 0x23 } });
    expect([m.cpu.segSel[DS], m.cpu.segSel[SS]]).toEqual([0x23, 0x23]);
  });
});

describe("accesses through the loaded cache", () => {
  it("a write to a read-only data segment is #GP(0); a read works", () => {
    setGdt(m, 6, segDesc(0, 0xfffff, 0x90, FLAGS_4K_32));
    forceSegment(m, DS, 0x30);
    wr32(m, DATA, 0x1234);
    exec(m, [0x8b, 0x18], { regs: { eax: DATA } }); // mov ebx, [eax]
    expect(reg(m, "ebx")).toBe(0x1234);
    expect(fault([0x89, 0x18], { eax: DATA })).toEqual({ vector: 13, error: 0 }); // mov [eax], ebx
  });
  it("a read through CS works for a readable code segment; a write through CS is #GP(0)", () => {
    wr32(m, DATA, 0x4321);
    exec(m, [0x2e, 0x8b, 0x18], { regs: { eax: DATA } }); // mov ebx, cs:[eax]
    expect(reg(m, "ebx")).toBe(0x4321);
    expect(fault([0x2e, 0x89, 0x18], { eax: DATA })).toEqual({ vector: 13, error: 0 });
  });
  it("a read through an execute-only CS is #GP(0)", () => {
    setGdt(m, 6, segDesc(0, 0xfffff, 0x98, FLAGS_4K_32));
    forceSegment(m, 1, 0x30);
    expect(fault([0x2e, 0x8b, 0x18], { eax: DATA })).toEqual({ vector: 13, error: 0 });
  });
  it("beyond the limit: #GP(0); the access's last byte is what counts", () => {
    setGdt(m, 6, segDesc(0, 0xffff, ACC_DATA0, 0x4)); // limit 0xffff, byte granular
    forceSegment(m, ES, 0x30);
    exec(m, [0x26, 0x8b, 0x18], { regs: { eax: 0xfffc } }); // es mov ebx, [eax]: last byte 0xffff is in
    expect(fault([0x26, 0x8b, 0x18], { eax: 0xfffd })).toEqual({ vector: 13, error: 0 });
  });
  it("expand-down data: offsets at or below the limit fault, above it are fine", () => {
    setGdt(m, 6, segDesc(0, 0x0fff, 0x96, FLAGS_4K_32 & ~0x8)); // expand-down, writable, B=1, byte granular
    forceSegment(m, ES, 0x30);
    exec(m, [0x26, 0x89, 0x18], { regs: { eax: 0x1000, ebx: 5 } }); // es mov [eax], ebx
    expect(rd32(m, 0x1000)).toBe(5);
    expect(fault([0x26, 0x89, 0x18], { eax: 0x0fff })).toEqual({ vector: 13, error: 0 });
  });
});

describe("selector stores", () => {
  it("mov eax, ds zero-extends; mov [esi], ds writes 16 bits; str and sldt", () => {
    wr32(m, DATA, 0xffffffff);
    exec(m, [0x8c, 0xd8, 0x8c, 0x1e, 0x0f, 0x00, 0xc9], { regs: { eax: 0xffffffff, esi: DATA, ecx: 0xffffffff } }); // mov eax, ds; mov [esi], ds; str ecx
    expect(reg(m, "eax")).toBe(0x10);
    expect(rd32(m, DATA)).toBe(0xffff0010);
    expect(reg(m, "ecx")).toBe(0x28);
  });
  it("the fault step reports StepKind.Fault and the delivery StepKind.Exception", () => {
    setRegs(m, { eax: 0x103 });
    loadCode(m, MOV_DS_AX);
    expect(m.cpu.step()).toBe(StepKind.Fault);
    expect(m.cpu.eip >>> 0).toBe(CODE);
    expect(m.cpu.step()).toBe(StepKind.Exception);
  });
});

/**
 * System instructions: SYSENTER/SYSEXIT, RDTSC and the TSC MSR (CPUID and the other MSRs: identity.test.ts),
 * RDMSR/WRMSR, HLT, descriptor-table loads and stores, control registers and their privilege checks,
 * CLI/STI/PUSHF/POPF under IOPL, port I/O permission (IOPL and the TSS bitmap), the LOCK prefix's #UD
 * rule, and unimplemented opcodes raising #UD with cpu.firstUnimplemented naming the first one.
 */
import { beforeEach, describe, expect, it } from "vitest";
import {
  CODE, CS, DATA, F, KSTACK_TOP, SS, TSS, USTACK_TOP, exec, expectException, flatMachine, handlerAddr, loadCode, rd16, rd32, reg,
  setRegs, stackWord, wr16, wr32, wr8, type TestMachine,
} from "./harness.js";

let m: TestMachine;
beforeEach(() => {
  m = flatMachine();
  setRegs(m, { esp: KSTACK_TOP });
});

function ring3(): void {
  m = flatMachine({ ring3: true });
}

function faultIn(code: number[], regs: Parameters<typeof setRegs>[1] = {}): { vector: number; error: number } {
  setRegs(m, regs);
  loadCode(m, code);
  const r = expectException(m);
  expect(m.cpu.eip >>> 0).toBe(handlerAddr(r.vector));
  return r;
}

const WRMSR = [0x0f, 0x30], RDMSR = [0x0f, 0x32];

describe("SYSENTER and SYSEXIT", () => {
  it("a round trip ring 3 -> 0 -> 3 with the seL4 GDT layout", () => {
    // wrmsr SYSENTER_CS/ESP/EIP in ring 0 first.
    exec(m, WRMSR, { regs: { ecx: 0x174, eax: 0x08, edx: 0 } });
    exec(m, WRMSR, { regs: { ecx: 0x175, eax: 0x9000, edx: 0 } });
    exec(m, WRMSR, { regs: { ecx: 0x176, eax: CODE + 0x100, edx: 0 } });
    m.cpu.setSegmentCache(CS, 0x1b, 0, -1, 0xc0fb);
    m.cpu.setSegmentCache(SS, 0x23, 0, -1, 0xc0f3);
    m.cpu.setCpl(3);
    m.cpu.setEflags(0x2 | F.IF | F.CF);
    setRegs(m, { esp: USTACK_TOP });
    loadCode(m, [0x0f, 0x34]); // sysenter
    m.cpu.step();
    expect([m.cpu.cpl, m.cpu.segSel[CS], m.cpu.segSel[SS], reg(m, "esp"), m.cpu.eip >>> 0]).toEqual([0, 0x08, 0x10, 0x9000, CODE + 0x100]);
    expect(m.cpu.getEflags() & (F.IF | F.CF)).toBe(F.CF);
    // sysexit: EIP = EDX, ESP = ECX.
    setRegs(m, { ecx: 0x30000, edx: CODE + 0x200 });
    loadCode(m, [0x0f, 0x35], CODE + 0x100);
    m.cpu.step();
    expect([m.cpu.cpl, m.cpu.segSel[CS], m.cpu.segSel[SS], reg(m, "esp"), m.cpu.eip >>> 0]).toEqual([3, 0x1b, 0x23, 0x30000, CODE + 0x200]);
    expect(m.cpu.segBase[CS]).toBe(0);
    expect(m.cpu.segLimit[CS]).toBe(-1);
  });
  it("sysenter with SYSENTER_CS = 0 is #GP(0)", () => {
    expect(faultIn([0x0f, 0x34])).toEqual({ vector: 13, error: 0 });
  });
  it("sysexit from ring 3 is #GP(0)", () => {
    m.cpu.sysenterCs = 0x08;
    ring3();
    m.cpu.sysenterCs = 0x08;
    expect(faultIn([0x0f, 0x35])).toEqual({ vector: 13, error: 0 });
  });
});

describe("MSRs and the TSC", () => {
  it("rdmsr reads back what wrmsr wrote for the SYSENTER MSRs", () => {
    exec(m, WRMSR, { regs: { ecx: 0x175, eax: 0xdeadbeef, edx: 0 } });
    exec(m, RDMSR, { regs: { ecx: 0x175, eax: 0, edx: 0x55 } });
    expect([reg(m, "eax"), reg(m, "edx")]).toEqual([0xdeadbeef, 0]);
  });
  it("IA32_APIC_BASE reads its reset value and reports writes", () => {
    exec(m, RDMSR, { regs: { ecx: 0x1b } });
    expect(reg(m, "eax")).toBe(0xfee00900);
    let seen = -1;
    m.cpu.onApicBaseWrite = (v) => { seen = v >>> 0; };
    exec(m, WRMSR, { regs: { ecx: 0x1b, eax: 0xfec00900, edx: 0 } });
    expect(seen).toBe(0xfec00900);
  });
  it("an unknown MSR is #GP(0) for both rdmsr and wrmsr", () => {
    expect(faultIn(RDMSR, { ecx: 0x12345 })).toEqual({ vector: 13, error: 0 });
    setRegs(m, { esp: KSTACK_TOP });
    expect(faultIn(WRMSR, { ecx: 0x12345 })).toEqual({ vector: 13, error: 0 });
  });
  it("rdmsr/wrmsr in ring 3 are #GP(0)", () => {
    ring3();
    expect(faultIn(RDMSR, { ecx: 0x174 })).toEqual({ vector: 13, error: 0 });
  });
  it("rdtsc returns the virtual clock plus the offset a TSC write sets", () => {
    let now = 1000;
    m.cpu.clock = () => now;
    exec(m, [0x0f, 0x31], {});
    expect([reg(m, "eax"), reg(m, "edx")]).toEqual([1000, 0]);
    exec(m, WRMSR, { regs: { ecx: 0x10, eax: 0x10, edx: 0x1 } }); // TSC = 2^32 + 16
    now = 1500;
    exec(m, [0x0f, 0x31], {});
    expect([reg(m, "eax"), reg(m, "edx")]).toEqual([0x10 + 500, 1]);
    exec(m, RDMSR, { regs: { ecx: 0x10 } });
    expect([reg(m, "eax"), reg(m, "edx")]).toEqual([0x10 + 500, 1]);
  });
  it("rdtsc works in ring 3 unless CR4.TSD is set", () => {
    ring3();
    m.cpu.clock = () => 77;
    exec(m, [0x0f, 0x31], {});
    expect(reg(m, "eax")).toBe(77);
    m.cpu.cr4 |= 4;
    expect(faultIn([0x0f, 0x31])).toEqual({ vector: 13, error: 0 });
  });
});

describe("HLT", () => {
  it("retires, leaves EIP after it and sets halted", () => {
    loadCode(m, [0xf4]);
    m.cpu.step();
    expect([m.cpu.halted, m.cpu.eip >>> 0]).toEqual([true, CODE + 1]);
  });
  it("is #GP(0) in ring 3", () => {
    ring3();
    expect(faultIn([0xf4])).toEqual({ vector: 13, error: 0 });
  });
});

describe("descriptor tables and control registers", () => {
  it("lgdt/lidt load base and limit; sgdt/sidt store them", () => {
    wr16(m, DATA, 0x3ff);
    wr32(m, DATA + 2, 0x12345678);
    exec(m, [0x0f, 0x01, 0x1e], { regs: { esi: DATA } }); // lidt [esi]
    expect([m.cpu.idtLimit, m.cpu.idtBase >>> 0]).toEqual([0x3ff, 0x12345678]);
    exec(m, [0x0f, 0x01, 0x06], { regs: { esi: DATA + 0x10 } }); // sgdt [esi]
    expect([rd16(m, DATA + 0x10), rd32(m, DATA + 0x12)]).toEqual([m.cpu.gdtLimit, 0x1000]);
  });
  it("lgdt, mov cr0, mov to cr3 and clts are #GP(0) in ring 3; sgdt is allowed", () => {
    ring3();
    expect(faultIn([0x0f, 0x01, 0x16], { esi: DATA })).toEqual({ vector: 13, error: 0 });
    ring3();
    expect(faultIn([0x0f, 0x22, 0xd8], { eax: 0 })).toEqual({ vector: 13, error: 0 });
    ring3();
    expect(faultIn([0x0f, 0x20, 0xc0])).toEqual({ vector: 13, error: 0 });
    ring3();
    expect(faultIn([0x0f, 0x06])).toEqual({ vector: 13, error: 0 });
    ring3();
    exec(m, [0x0f, 0x01, 0x06], { regs: { esi: DATA } });
    expect(rd32(m, DATA + 2)).toBe(0x1000);
  });
  it("mov to cr1 is #UD; setting CR0.PG without PE is #GP(0); CR4.PAE is refused", () => {
    expect(faultIn([0x0f, 0x22, 0xc8], { eax: 0 }).vector).toBe(6);
    setRegs(m, { esp: KSTACK_TOP });
    expect(faultIn([0x0f, 0x22, 0xc0], { eax: 0x80000000 })).toEqual({ vector: 13, error: 0 });
    setRegs(m, { esp: KSTACK_TOP });
    expect(faultIn([0x0f, 0x22, 0xe0], { eax: 0x20 })).toEqual({ vector: 13, error: 0 });
  });
  it("clts clears CR0.TS; mov eax, cr0 reads ET set", () => {
    m.cpu.cr0 |= 8;
    exec(m, [0x0f, 0x06, 0x0f, 0x20, 0xc0], {});
    expect(reg(m, "eax") & 0x18).toBe(0x10);
  });
  it("ltr marks the TSS busy and loads TR; loading a busy TSS is #GP(selector)", () => {
    // Start from an available TSS in slot 6.
    wr32(m, 0x1000 + 0x30, 0x0067 | (TSS << 16));
    wr32(m, 0x1000 + 0x34, 0x00008900);
    exec(m, [0x0f, 0x00, 0xd8], { regs: { eax: 0x30 } }); // ltr ax
    expect(m.cpu.trSel).toBe(0x30);
    expect((rd32(m, 0x1000 + 0x34) >>> 8) & 0xf).toBe(0xb);
    expect(faultIn([0x0f, 0x00, 0xd8], { eax: 0x30 })).toEqual({ vector: 13, error: 0x30 });
  });
});

describe("IOPL-sensitive instructions", () => {
  it("cli/sti are #GP(0) in ring 3 with IOPL 0 and allowed with IOPL 3", () => {
    ring3();
    expect(faultIn([0xfa])).toEqual({ vector: 13, error: 0 });
    ring3();
    m.cpu.setEflags(0x2 | 0x3000 | F.IF);
    exec(m, [0xfa], { flags: 0x3000 | F.IF });
    expect(m.cpu.getEflags() & F.IF).toBe(0);
  });
  it("popf in ring 3 with IOPL 0 does not fault and leaves IF and IOPL alone", () => {
    ring3();
    wr32(m, USTACK_TOP - 4, 0x2 | 0x3000 | F.CF);
    exec(m, [0x9d], { regs: { esp: USTACK_TOP - 4 }, flags: F.IF });
    expect(m.cpu.getEflags()).toBe(0x2 | F.IF | F.CF);
  });
  it("pushf in ring 3 with IOPL 0 does not fault", () => {
    ring3();
    exec(m, [0x9c], { regs: { esp: USTACK_TOP }, flags: F.ZF });
    expect(rd32(m, USTACK_TOP - 4)).toBe(0x2 | F.ZF);
  });
  it("popf at CPL 0 changes IF and IOPL", () => {
    wr32(m, KSTACK_TOP - 4, 0x2 | 0x3000 | F.IF);
    exec(m, [0x9d], { regs: { esp: KSTACK_TOP - 4 } });
    expect(m.cpu.getEflags()).toBe(0x2 | 0x3000 | F.IF);
  });
});

describe("port I/O permission", () => {
  it("ring 0 may use any port", () => {
    m.ports.values.set(0x60, 0x1c);
    exec(m, [0xec], { regs: { edx: 0x60 } }); // in al, dx
    expect(reg(m, "eax") & 0xff).toBe(0x1c);
  });
  it("ring 3 with IOPL 0: #GP(0) unless the TSS bitmap clears every bit of the access", () => {
    ring3();
    expect(faultIn([0xe6, 0xe9])).toEqual({ vector: 13, error: 0 }); // out 0xe9, al
    ring3();
    wr8(m, TSS + 0x68 + (0xe9 >> 3), 0xff & ~(1 << (0xe9 & 7)));
    exec(m, [0xe6, 0xe9], { regs: { eax: 0x41 } });
    expect(m.ports.log.at(-1)).toEqual({ port: 0xe9, size: 1, value: 0x41, write: true });
    // A word access at 0xe9 also needs port 0xea's bit.
    ring3();
    wr8(m, TSS + 0x68 + (0xe9 >> 3), 0xff & ~(1 << (0xe9 & 7)));
    expect(faultIn([0x66, 0xe7, 0xe9])).toEqual({ vector: 13, error: 0 });
  });
  it("ring 3 with IOPL 3 skips the bitmap", () => {
    ring3();
    exec(m, [0xe6, 0x80], { regs: { eax: 1 }, flags: 0x3000 });
    expect(m.ports.log.at(-1)?.port).toBe(0x80);
  });
});

describe("LOCK prefix", () => {
  it("allowed on a read-modify-write with a memory destination", () => {
    wr32(m, DATA, 1);
    exec(m, [0xf0, 0x01, 0x18], { regs: { eax: DATA, ebx: 2 } }); // lock add [eax], ebx
    expect(rd32(m, DATA)).toBe(3);
    exec(m, [0xf0, 0x0f, 0xc1, 0x18], { regs: { eax: DATA, ebx: 4 } }); // lock xadd [eax], ebx
    expect([rd32(m, DATA), reg(m, "ebx")]).toEqual([7, 3]);
    exec(m, [0xf0, 0x0f, 0xab, 0x18], { regs: { eax: DATA, ebx: 4 } }); // lock bts [eax], ebx
    expect(rd32(m, DATA)).toBe(0x17);
  });
  it("#UD on a register destination, on CMP, on a non-lockable instruction", () => {
    expect(faultIn([0xf0, 0x01, 0xd8]).vector).toBe(6); // lock add eax, ebx
    setRegs(m, { esp: KSTACK_TOP });
    expect(faultIn([0xf0, 0x39, 0x18], { eax: DATA }).vector).toBe(6); // lock cmp [eax], ebx
    setRegs(m, { esp: KSTACK_TOP });
    expect(faultIn([0xf0, 0x90]).vector).toBe(6); // lock nop
    setRegs(m, { esp: KSTACK_TOP });
    expect(faultIn([0xf0, 0x8b, 0x18], { eax: DATA }).vector).toBe(6); // lock mov ebx, [eax]
    expect(stackWord(m, 0)).toBe(CODE);
  });
});

describe("unimplemented and invalid opcodes", () => {
  it("an unimplemented instruction raises #UD and names itself in firstUnimplemented", () => {
    expect(m.cpu.firstUnimplemented).toBeNull();
    expect(faultIn([0x0f, 0x37]).vector).toBe(6); // getsec
    expect(m.cpu.firstUnimplemented).toMatch(/0x0f 0x37.*0x10000/);
    expect(stackWord(m, 0)).toBe(CODE);
  });
  it("only the first one is remembered", () => {
    faultIn([0x0f, 0x37]); // getsec
    const first = m.cpu.firstUnimplemented;
    expect(first).toMatch(/0x0f 0x37/);
    setRegs(m, { esp: KSTACK_TOP });
    faultIn([0x0f, 0x36]);
    expect(m.cpu.firstUnimplemented).toBe(first);
  });
  it("a reserved x87 encoding is #UD", () => {
    expect(faultIn([0xd9, 0xd1]).vector).toBe(6);
  });
  it("ud2 is a defined #UD, not an unimplemented opcode", () => {
    expect(faultIn([0x0f, 0x0b]).vector).toBe(6);
    expect(m.cpu.firstUnimplemented).toBeNull();
  });
  it("x87 with CR0.EM or CR0.TS set is #NM", () => {
    m.cpu.cr0 |= 4;
    expect(faultIn([0xd9, 0xe8]).vector).toBe(7);
  });
  it("an instruction longer than 15 bytes is #GP(0); exactly 15 is fine", () => {
    exec(m, [...new Array(14).fill(0x3e), 0x90], {});
    expect(faultIn([...new Array(15).fill(0x3e), 0x90])).toEqual({ vector: 13, error: 0 });
  });
});

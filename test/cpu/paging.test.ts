/**
 * Paging: 4 KiB and 4 MiB (PSE) pages, CR0.WP, user/supervisor and read/write checks on the combined
 * PDE and PTE rights, #PF error codes and CR2, accessed/dirty bits written back, the TLB flushed by CR3
 * writes and INVLPG, global pages kept across CR3 writes under CR4.PGE, and page-crossing accesses.
 *
 * The harness identity-maps 0..4 MiB with 4 KiB user+writable pages (page directory 0x5000, page table
 * 0x6000); tests remap or restrict single pages. #PF error code bits: P=1 (protection), W/R=2, U/S=4.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { StepKind } from "../../src/cpu/observer.js";
import {
  CODE, DATA, PAGE_DIR, PAGE_TABLE0, PTE_A, PTE_D, PTE_G, PTE_P, PTE_PS, PTE_U, PTE_W, expectException, exec, flatMachine, handlerAddr,
  enterRing3, loadCode, rd32, RecordingObserver, attachObserver, reg, setCr4, setRegs, stackWord, wr32, poke, KSTACK_TOP, type TestMachine,
} from "./harness.js";

let m: TestMachine;
beforeEach(() => {
  m = flatMachine({ paging: true });
  setRegs(m, { esp: KSTACK_TOP });
});

const pte = (lin: number) => PAGE_TABLE0 + ((lin >>> 12) & 0x3ff) * 4;
const setPte = (lin: number, v: number) => wr32(m, pte(lin), v);
const flushAll = () => exec(m, [0x0f, 0x22, 0xd8], { regs: { eax: PAGE_DIR } }); // mov cr3, eax
const MOV_EBX_MEM = [0x8b, 0x18]; // mov ebx, [eax]
const MOV_MEM_EBX = [0x89, 0x18]; // mov [eax], ebx
const VPAGE = 0x300000; // a linear page the tests remap

/** Runs `code` expecting #PF; checks the frame and returns error code and CR2. */
function pageFault(code: number[], regs: Parameters<typeof setRegs>[1]): { error: number; cr2: number } {
  setRegs(m, regs);
  loadCode(m, code);
  const r = expectException(m);
  expect(r.vector, "a #PF").toBe(14);
  expect(m.cpu.eip >>> 0).toBe(handlerAddr(14));
  expect(stackWord(m, 0)).toBe(r.error);
  expect(stackWord(m, 1), "#PF is a fault: EIP of the access").toBe(CODE);
  return { error: r.error, cr2: m.cpu.cr2 >>> 0 };
}

describe("4 KiB pages", () => {
  it("a remapped page reads and writes its physical frame", () => {
    setPte(VPAGE, 0x120000 | PTE_P | PTE_W);
    flushAll();
    wr32(m, 0x120010, 0xfeedf00d);
    exec(m, MOV_EBX_MEM, { regs: { eax: VPAGE + 0x10 } });
    expect(reg(m, "ebx")).toBe(0xfeedf00d);
    exec(m, MOV_MEM_EBX, { regs: { eax: VPAGE + 0x20, ebx: 0x1234 } });
    expect(rd32(m, 0x120020)).toBe(0x1234);
    expect(rd32(m, VPAGE + 0x20)).toBe(0);
  });
  it("not-present PTE: #PF with P=0, CR2 = the linear address, registers unchanged", () => {
    setPte(VPAGE, 0);
    flushAll();
    expect(pageFault(MOV_EBX_MEM, { eax: VPAGE + 0x44, ebx: 0x99 })).toEqual({ error: 0, cr2: VPAGE + 0x44 });
    expect(reg(m, "ebx")).toBe(0x99);
    expect(pageFault(MOV_MEM_EBX, { eax: VPAGE + 0x48, esp: KSTACK_TOP })).toEqual({ error: 2, cr2: VPAGE + 0x48 });
  });
  it("not-present PDE: #PF with P=0", () => {
    wr32(m, PAGE_DIR + 4, 0); // 4..8 MiB
    expect(pageFault(MOV_EBX_MEM, { eax: 0x400010 })).toEqual({ error: 0, cr2: 0x400010 });
  });
  it("the rights are the AND of PDE and PTE: a read-only PDE makes a writable PTE read-only for user", () => {
    wr32(m, PAGE_DIR, PAGE_TABLE0 | PTE_P | PTE_U); // PDE not writable
    flushAll();
    enterRing3(m);
    expect(pageFault(MOV_MEM_EBX, { eax: DATA })).toEqual({ error: 7, cr2: DATA });
  });
});

describe("user/supervisor and CR0.WP", () => {
  it("ring 3 reading a supervisor page: #PF(P|U)", () => {
    setPte(VPAGE, VPAGE | PTE_P | PTE_W);
    flushAll();
    enterRing3(m);
    expect(pageFault(MOV_EBX_MEM, { eax: VPAGE })).toEqual({ error: 5, cr2: VPAGE });
  });
  it("ring 3 writing a read-only user page: #PF(P|W|U); reading it works", () => {
    setPte(VPAGE, VPAGE | PTE_P | PTE_U);
    flushAll();
    enterRing3(m);
    wr32(m, VPAGE, 0x77);
    exec(m, MOV_EBX_MEM, { regs: { eax: VPAGE } });
    expect(reg(m, "ebx")).toBe(0x77);
    expect(pageFault(MOV_MEM_EBX, { eax: VPAGE })).toEqual({ error: 7, cr2: VPAGE });
  });
  it("ring 3 writing a not-present page: #PF(W|U)", () => {
    setPte(VPAGE, 0);
    flushAll();
    enterRing3(m);
    expect(pageFault(MOV_MEM_EBX, { eax: VPAGE + 8 })).toEqual({ error: 6, cr2: VPAGE + 8 });
  });
  it("ring 0 writing a read-only page: allowed with WP=0, #PF(P|W) with WP=1", () => {
    setPte(VPAGE, VPAGE | PTE_P | PTE_U);
    flushAll();
    exec(m, MOV_MEM_EBX, { regs: { eax: VPAGE, ebx: 0xaa } });
    expect(rd32(m, VPAGE)).toBe(0xaa);
    // mov eax, cr0; or eax, 0x10000; mov cr0, eax
    exec(m, [0x0f, 0x20, 0xc0, 0x0d, 0x00, 0x00, 0x01, 0x00, 0x0f, 0x22, 0xc0], {});
    expect(m.cpu.cr0 & 0x10000).toBe(0x10000);
    expect(pageFault(MOV_MEM_EBX, { eax: VPAGE, ebx: 0xbb })).toEqual({ error: 3, cr2: VPAGE });
    expect(rd32(m, VPAGE)).toBe(0xaa);
  });
  it("a supervisor write that was cached in the TLB before WP=1 is rechecked after the CR0 write", () => {
    setPte(VPAGE, VPAGE | PTE_P | PTE_U | PTE_D | PTE_A);
    flushAll();
    exec(m, MOV_MEM_EBX, { regs: { eax: VPAGE, ebx: 1 } }); // cached as writable for ring 0
    exec(m, [0x0f, 0x20, 0xc0, 0x0d, 0x00, 0x00, 0x01, 0x00, 0x0f, 0x22, 0xc0], {});
    expect(pageFault(MOV_MEM_EBX, { eax: VPAGE, ebx: 2 }).error).toBe(3);
  });
  it("instruction fetch from a not-present page: #PF with CR2 = EIP", () => {
    setPte(VPAGE, 0);
    flushAll();
    m.cpu.eip = VPAGE;
    const r = expectException(m);
    expect([r.vector, r.error, m.cpu.cr2 >>> 0]).toEqual([14, 0, VPAGE]);
    expect(stackWord(m, 1)).toBe(VPAGE);
  });
  it("ring 3 fetching from a supervisor page: #PF(P|U)", () => {
    setPte(VPAGE, VPAGE | PTE_P | PTE_W);
    flushAll();
    enterRing3(m);
    m.cpu.eip = VPAGE;
    const r = expectException(m);
    expect([r.vector, r.error, m.cpu.cr2 >>> 0]).toEqual([14, 5, VPAGE]);
  });
});

describe("accessed and dirty bits", () => {
  it("a read sets A in the PDE and PTE but not D", () => {
    wr32(m, PAGE_DIR, PAGE_TABLE0 | PTE_P | PTE_W | PTE_U);
    setPte(VPAGE, VPAGE | PTE_P | PTE_W | PTE_U);
    flushAll();
    exec(m, MOV_EBX_MEM, { regs: { eax: VPAGE } });
    expect(rd32(m, PAGE_DIR) & (PTE_A | PTE_D)).toBe(PTE_A);
    expect(rd32(m, pte(VPAGE)) & (PTE_A | PTE_D)).toBe(PTE_A);
  });
  it("a write sets A and D in the PTE (D only in the PTE)", () => {
    setPte(VPAGE, VPAGE | PTE_P | PTE_W | PTE_U);
    flushAll();
    exec(m, MOV_MEM_EBX, { regs: { eax: VPAGE } });
    expect(rd32(m, pte(VPAGE)) & (PTE_A | PTE_D)).toBe(PTE_A | PTE_D);
    expect(rd32(m, PAGE_DIR) & PTE_D).toBe(0);
  });
  it("a write to a page first read (clean in the TLB) still sets D", () => {
    setPte(VPAGE, VPAGE | PTE_P | PTE_W | PTE_U);
    flushAll();
    exec(m, [...MOV_EBX_MEM, ...MOV_MEM_EBX], { regs: { eax: VPAGE } });
    expect(rd32(m, pte(VPAGE)) & (PTE_A | PTE_D)).toBe(PTE_A | PTE_D);
  });
  it("a faulting write sets no D bit", () => {
    setPte(VPAGE, VPAGE | PTE_P | PTE_U);
    flushAll();
    enterRing3(m);
    pageFault(MOV_MEM_EBX, { eax: VPAGE });
    expect(rd32(m, pte(VPAGE)) & PTE_D).toBe(0);
  });
  it("the A/D updates are reported as page-table writes", () => {
    const obs = new RecordingObserver();
    attachObserver(m, obs);
    setPte(VPAGE, VPAGE | PTE_P | PTE_W | PTE_U);
    flushAll();
    obs.writes.length = 0;
    exec(m, MOV_MEM_EBX, { regs: { eax: VPAGE, ebx: 5 } });
    expect(obs.writes.map((w) => [w.linear >>> 0, w.cause])).toEqual([
      [pte(VPAGE), 4],
      [VPAGE, 0],
    ]);
  });
});

describe("4 MiB pages (CR4.PSE)", () => {
  it("a PS=1 PDE maps 4 MiB when CR4.PSE is set, with A and D set in the PDE", () => {
    setCr4(m, 0x10);
    wr32(m, PAGE_DIR + 0x200 * 4, 0x00000000 | PTE_P | PTE_W | PTE_PS); // linear 0x80000000 -> physical 0
    flushAll();
    wr32(m, 0x123454, 0xabcdef);
    exec(m, MOV_EBX_MEM, { regs: { eax: 0x80123454 } });
    expect(reg(m, "ebx")).toBe(0xabcdef);
    expect(rd32(m, PAGE_DIR + 0x200 * 4) & (PTE_A | PTE_D)).toBe(PTE_A);
    exec(m, MOV_MEM_EBX, { regs: { eax: 0x803ffffc, ebx: 0x42 } });
    expect(rd32(m, 0x3ffffc)).toBe(0x42);
    expect(rd32(m, PAGE_DIR + 0x200 * 4) & (PTE_A | PTE_D)).toBe(PTE_A | PTE_D);
  });
  it("without CR4.PSE the PS bit is ignored and the PDE points at a page table", () => {
    // PDE 0x200 -> "page table" at 0x7000 whose first entry maps physical 0x9000.
    wr32(m, PAGE_DIR + 0x200 * 4, 0x7000 | PTE_P | PTE_W | PTE_PS);
    wr32(m, 0x7000, 0x9000 | PTE_P | PTE_W);
    wr32(m, 0x9008, 0x5151);
    flushAll();
    exec(m, MOV_EBX_MEM, { regs: { eax: 0x80000008 } });
    expect(reg(m, "ebx")).toBe(0x5151);
  });
  it("a supervisor-only 4 MiB page: #PF(P|U) from ring 3", () => {
    setCr4(m, 0x10);
    wr32(m, PAGE_DIR + 0x200 * 4, PTE_P | PTE_W | PTE_PS);
    flushAll();
    enterRing3(m);
    expect(pageFault(MOV_EBX_MEM, { eax: 0x80001000 })).toEqual({ error: 5, cr2: 0x80001000 });
  });
});

describe("TLB", () => {
  it("a changed PTE is not seen until CR3 is written", () => {
    setPte(VPAGE, 0x120000 | PTE_P | PTE_W);
    flushAll();
    wr32(m, 0x120000, 1);
    wr32(m, 0x130000, 2);
    exec(m, MOV_EBX_MEM, { regs: { eax: VPAGE } });
    expect(reg(m, "ebx")).toBe(1);
    setPte(VPAGE, 0x130000 | PTE_P | PTE_W);
    exec(m, MOV_EBX_MEM, { regs: { eax: VPAGE } });
    expect(reg(m, "ebx"), "stale translation from the TLB").toBe(1);
    flushAll();
    exec(m, MOV_EBX_MEM, { regs: { eax: VPAGE } });
    expect(reg(m, "ebx")).toBe(2);
  });
  it("INVLPG drops one page only", () => {
    setPte(VPAGE, 0x120000 | PTE_P | PTE_W);
    setPte(VPAGE + 0x1000, 0x121000 | PTE_P | PTE_W);
    flushAll();
    wr32(m, 0x120000, 1); wr32(m, 0x121000, 3);
    wr32(m, 0x130000, 2); wr32(m, 0x131000, 4);
    exec(m, [...MOV_EBX_MEM, 0x8b, 0x0a], { regs: { eax: VPAGE, edx: VPAGE + 0x1000 } }); // mov ebx,[eax]; mov ecx,[edx]
    setPte(VPAGE, 0x130000 | PTE_P | PTE_W);
    setPte(VPAGE + 0x1000, 0x131000 | PTE_P | PTE_W);
    exec(m, [0x0f, 0x01, 0x38], { regs: { eax: VPAGE + 0x123 } }); // invlpg [eax]
    exec(m, [...MOV_EBX_MEM, 0x8b, 0x0a], { regs: { eax: VPAGE, edx: VPAGE + 0x1000 } });
    expect([reg(m, "ebx"), reg(m, "ecx")]).toEqual([2, 3]);
  });
  it("global pages survive a CR3 write under CR4.PGE and are dropped by INVLPG", () => {
    setCr4(m, 0x80);
    setPte(VPAGE, 0x120000 | PTE_P | PTE_W | PTE_G);
    flushAll();
    wr32(m, 0x120000, 1);
    wr32(m, 0x130000, 2);
    exec(m, MOV_EBX_MEM, { regs: { eax: VPAGE } });
    setPte(VPAGE, 0x130000 | PTE_P | PTE_W | PTE_G);
    flushAll();
    exec(m, MOV_EBX_MEM, { regs: { eax: VPAGE } });
    expect(reg(m, "ebx"), "global entry kept across the CR3 write").toBe(1);
    exec(m, [0x0f, 0x01, 0x38], { regs: { eax: VPAGE } });
    exec(m, MOV_EBX_MEM, { regs: { eax: VPAGE } });
    expect(reg(m, "ebx")).toBe(2);
  });
  it("without CR4.PGE the G bit is ignored: a CR3 write flushes the page", () => {
    setPte(VPAGE, 0x120000 | PTE_P | PTE_W | PTE_G);
    flushAll();
    wr32(m, 0x120000, 1);
    wr32(m, 0x130000, 2);
    exec(m, MOV_EBX_MEM, { regs: { eax: VPAGE } });
    setPte(VPAGE, 0x130000 | PTE_P | PTE_W | PTE_G);
    flushAll();
    exec(m, MOV_EBX_MEM, { regs: { eax: VPAGE } });
    expect(reg(m, "ebx")).toBe(2);
  });
  it("clearing CR4.PGE flushes global entries", () => {
    setCr4(m, 0x80);
    setPte(VPAGE, 0x120000 | PTE_P | PTE_W | PTE_G);
    flushAll();
    wr32(m, 0x130000, 2);
    exec(m, MOV_EBX_MEM, { regs: { eax: VPAGE } });
    setPte(VPAGE, 0x130000 | PTE_P | PTE_W | PTE_G);
    exec(m, [0x0f, 0x22, 0xe0], { regs: { eax: 0 } }); // mov cr4, eax
    exec(m, MOV_EBX_MEM, { regs: { eax: VPAGE } });
    expect(reg(m, "ebx")).toBe(2);
  });
  it("code fetch sees a remapped code page after INVLPG", () => {
    // The code page CODE is remapped to a frame holding different code.
    poke(m, 0x140000, [0xb8, 0x02, 0, 0, 0]); // mov eax, 2
    loadCode(m, [0xb8, 0x01, 0, 0, 0]); // mov eax, 1
    m.cpu.step();
    expect(reg(m, "eax")).toBe(1);
    setPte(CODE, 0x140000 | PTE_P | PTE_W | PTE_U);
    poke(m, 0x140005, [0x0f, 0x01, 0x3b]); // invlpg [ebx] at the same offsets in both frames
    poke(m, CODE + 5, [0x0f, 0x01, 0x3b]);
    setRegs(m, { ebx: CODE });
    m.cpu.step(); // invlpg [ebx]
    m.cpu.eip = CODE;
    m.cpu.step();
    expect(reg(m, "eax")).toBe(2);
  });
});

describe("accesses that cross a page", () => {
  it("a dword write into a not-present second page faults with nothing written", () => {
    setPte(VPAGE + 0x1000, 0);
    setPte(VPAGE, VPAGE | PTE_P | PTE_W);
    flushAll();
    wr32(m, VPAGE + 0xffc, 0x11111111);
    const r = pageFault(MOV_MEM_EBX, { eax: VPAGE + 0xffe, ebx: 0xaabbccdd });
    expect(r.error).toBe(2);
    expect(r.cr2).toBe(VPAGE + 0x1000);
    expect(rd32(m, VPAGE + 0xffc)).toBe(0x11111111);
  });
  it("a dword read across two mapped pages joins the two frames", () => {
    setPte(VPAGE, 0x120000 | PTE_P | PTE_W);
    setPte(VPAGE + 0x1000, 0x150000 | PTE_P | PTE_W);
    flushAll();
    m.mem.u8[0x120fff] = 0x11;
    m.mem.u8.set([0x22, 0x33, 0x44], 0x150000);
    exec(m, MOV_EBX_MEM, { regs: { eax: VPAGE + 0xfff } });
    expect(reg(m, "ebx")).toBe(0x44332211);
  });
  it("the fault step is a Fault followed by the Exception delivery", () => {
    setPte(VPAGE, 0);
    flushAll();
    setRegs(m, { eax: VPAGE });
    loadCode(m, MOV_EBX_MEM);
    expect(m.cpu.step()).toBe(StepKind.Fault);
    expect(m.cpu.step()).toBe(StepKind.Exception);
  });
});

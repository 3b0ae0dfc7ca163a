/**
 * The processor's identity: every CPUID leaf (a Core 2, family 6 model 15 stepping 11, advertising
 * only what ttd implements) and every model-specific register it has, with the SDM's #GP rules for
 * reserved bits and memory types, read-only MSRs, and MSRs it does not have. MSR state survives a
 * save/load of the CPU state (keyframes).
 */
import { beforeEach, describe, expect, it } from "vitest";
import { CPUID_BRAND, CPUID_FEATURES_EDX, CPUID_VECTOR_FEATURES_EDX, MICROCODE_REVISION } from "../../src/cpu/cpuid.js";
import { loadCpuState, saveCpuState } from "../../src/cpu/cpu-state.js";
import { KSTACK_TOP, exec, expectException, flatMachine, handlerAddr, loadCode, reg, setRegs, type TestMachine } from "./harness.js";

let m: TestMachine;
beforeEach(() => {
  m = flatMachine();
  setRegs(m, { esp: KSTACK_TOP });
});

const CPUID = [0x0f, 0xa2], WRMSR = [0x0f, 0x30], RDMSR = [0x0f, 0x32];

function cpuid(leaf: number, subleaf = 0): [number, number, number, number] {
  exec(m, CPUID, { regs: { eax: leaf, ecx: subleaf, ebx: 0x5555, edx: 0x5555 } });
  return [reg(m, "eax"), reg(m, "ebx"), reg(m, "ecx"), reg(m, "edx")];
}

const text = (...words: number[]) => words.map((v) => String.fromCharCode(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24)).join("");

function rdmsr(index: number): [number, number] {
  exec(m, RDMSR, { regs: { ecx: index, eax: 0x5555, edx: 0x5555 } });
  return [reg(m, "edx"), reg(m, "eax")];
}

/** WRMSR that must retire (exec throws if the instruction faults). */
function wrmsr(index: number, hi: number, lo: number): void {
  exec(m, WRMSR, { regs: { ecx: index, eax: lo, edx: hi } });
}

/** The vector that WRMSR or RDMSR raised as its own step (the harness throws when it retires instead). */
function faults(code: number[], index: number, hi = 0, lo = 0): number {
  setRegs(m, { ecx: index, eax: lo, edx: hi });
  loadCode(m, code);
  const before = saveCpuState(m.cpu).msrs;
  const r = expectException(m, 1);
  expect(r.error).toBe(0);
  expect(m.cpu.eip >>> 0).toBe(handlerAddr(r.vector));
  // A refused write changes nothing.
  expect(saveCpuState(m.cpu).msrs).toEqual(before);
  return r.vector;
}

describe("CPUID leaves", () => {
  it("leaf 0: maximum basic leaf 0xD, GenuineIntel", () => {
    const [a, b, c, d] = cpuid(0);
    expect(a).toBe(0xd);
    expect(text(b, d, c)).toBe("GenuineIntel");
  });

  it("leaf 1: signature 0x6fb, CLFLUSH line 64 bytes, APIC ID 0, exactly FPU PSE TSC MSR CX8 APIC SEP MTRR PGE CMOV PAT MMX FXSR SSE SSE2, XSAVE", () => {
    const [a, b, c, d] = cpuid(1);
    expect(a).toBe(0x6fb);
    expect((a >>> 8) & 0xf).toBe(6); // family
    expect(((a >>> 4) & 0xf) | (((a >>> 16) & 0xf) << 4)).toBe(15); // model
    expect((b >>> 8) & 0xff).toBe(8); // CLFLUSH line size in 8-byte units: seL4 requires it non-zero
    expect(b >>> 24).toBe(0); // initial APIC ID
    expect((b >>> 16) & 0xff).toBe(1);
    expect(c).toBe(1 << 26); // XSAVE; OSXSAVE (27) only while CR4.OSXSAVE is set
    expect(d).toBe(CPUID_FEATURES_EDX | CPUID_VECTOR_FEATURES_EDX);
    const set = [0, 3, 4, 5, 8, 9, 11, 12, 13, 15, 16, 23, 24, 25, 26];
    for (let bit = 0; bit < 32; bit++) expect((d >>> bit) & 1, `EDX bit ${bit}`).toBe(set.includes(bit) ? 1 : 0);
  });

  it("leaf 2: one call, cache and TLB descriptors that agree with leaf 4", () => {
    const [a, b, c, d] = cpuid(2);
    expect(a & 0xff).toBe(1);
    const bytes = [a, b, c, d].flatMap((v) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24]).slice(1).filter((x) => x !== 0);
    // 0x2c L1d 32K 8-way 64B, 0x30 L1i 32K 8-way 64B, 0x49 L2 4M 16-way 64B, TLBs, 64-byte prefetch.
    expect(bytes.sort((x, y) => x - y)).toEqual([0x05, 0x2c, 0x30, 0x49, 0x56, 0x57, 0xb0, 0xb1, 0xb4, 0xf0]);
    for (const r of [a, b, c, d]) expect(r >>> 31).toBe(0); // every register holds valid descriptors
  });

  it("leaf 3 is zero (no serial number)", () => {
    expect(cpuid(3)).toEqual([0, 0, 0, 0]);
  });

  it("leaf 4: L1d, L1i, L2 as deterministic parameters, then no more caches", () => {
    const size = (b: number, c: number) => (((b >>> 22) & 0x3ff) + 1) * (((b >>> 12) & 0x3ff) + 1) * ((b & 0xfff) + 1) * (c + 1);
    const caches = [0, 1, 2].map((i) => cpuid(4, i));
    expect(caches.map(([a]) => [a & 0x1f, (a >>> 5) & 7])).toEqual([[1, 1], [2, 1], [3, 2]]); // type, level
    expect(caches.map(([, b, c]) => size(b, c))).toEqual([32 << 10, 32 << 10, 4 << 20]);
    expect(caches.map(([, b]) => (b & 0xfff) + 1)).toEqual([64, 64, 64]);
    expect(caches.map(([a]) => a >>> 14)).toEqual([0, 0, 0]); // one core, one thread
    expect(cpuid(4, 3)[0] & 0x1f).toBe(0);
  });

  it("extended leaves: maximum 0x80000008, no extended features, the brand string, L2 and address sizes", () => {
    expect(cpuid(0x80000000)).toEqual([0x80000008, 0, 0, 0]);
    expect(cpuid(0x80000001)).toEqual([0, 0, 0, 0]);
    const brand = [0x80000002, 0x80000003, 0x80000004].map((l) => text(...cpuid(l))).join("");
    expect(brand.replace(/\0+$/, "")).toBe(CPUID_BRAND);
    expect(brand).toMatch(/^Intel\(R\) Core\(TM\)2 CPU .*\0$/);
    expect(cpuid(0x80000006)[2]).toBe((4096 << 16) | (8 << 12) | 64);
    expect(cpuid(0x80000008)[0]).toBe(0x2020);
  });

  it("a leaf above the maximum returns the highest basic leaf, as Intel processors do", () => {
    expect(cpuid(0xe)).toEqual(cpuid(0xd, 0));
    expect(cpuid(0x40000000, 1)).toEqual(cpuid(0xd, 1));
    expect(cpuid(0x80000009)).toEqual(cpuid(0xd, 0));
  });
});

describe("MSRs", () => {
  it("IA32_PAT: reset value 0x0007040600070406, stores valid types, #GP on reserved types or bits", () => {
    expect(rdmsr(0x277)).toEqual([0x00070406, 0x00070406]);
    wrmsr(0x277, 0x07050401, 0x00010006);
    expect(rdmsr(0x277)).toEqual([0x07050401, 0x00010006]);
    expect(faults(WRMSR, 0x277, 0, 0x02)).toBe(13); // type 2 is reserved
    expect(faults(WRMSR, 0x277, 0x03000000, 0)).toBe(13); // type 3 in entry 7
    expect(faults(WRMSR, 0x277, 0, 0x0800)).toBe(13); // bit 11: reserved bits 7:3 of entry 1
  });

  it("MTRRCAP: 8 variable ranges, fixed ranges, write-combining; read-only", () => {
    expect(rdmsr(0xfe)).toEqual([0, 0x508]);
    expect(faults(WRMSR, 0xfe, 0, 0x508)).toBe(13);
  });

  it("MTRR_DEF_TYPE: type, FE and E stored; reserved bits and undefined types #GP", () => {
    expect(rdmsr(0x2ff)).toEqual([0, 0]);
    wrmsr(0x2ff, 0, 0xc06);
    expect(rdmsr(0x2ff)).toEqual([0, 0xc06]);
    expect(faults(WRMSR, 0x2ff, 0, 0x107)).toBe(13); // bit 8 reserved (and type 7)
    expect(faults(WRMSR, 0x2ff, 0, 0xc02)).toBe(13); // type 2
    expect(faults(WRMSR, 0x2ff, 0, 0xc07)).toBe(13); // UC- is a PAT type only
    expect(faults(WRMSR, 0x2ff, 1, 0x006)).toBe(13);
  });

  it("fixed-range MTRRs: all eleven stored, each byte a valid type", () => {
    const fixed = [0x250, 0x258, 0x259, 0x268, 0x269, 0x26a, 0x26b, 0x26c, 0x26d, 0x26e, 0x26f];
    fixed.forEach((msr, i) => wrmsr(msr, 0x06060606, 0x05050500 | (i === 0 ? 4 : 1)));
    fixed.forEach((msr, i) => expect(rdmsr(msr)).toEqual([0x06060606, 0x05050500 | (i === 0 ? 4 : 1)]));
    expect(faults(WRMSR, 0x250, 0, 0x03)).toBe(13);
    expect(faults(WRMSR, 0x26f, 0x08000000, 0)).toBe(13);
    // Between the fixed-range MSRs there are none: 0x251, 0x25a, 0x267, 0x270.
    for (const msr of [0x251, 0x25a, 0x267, 0x270]) expect(faults(RDMSR, msr)).toBe(13);
  });

  it("variable-range MTRRs: eight base/mask pairs with 32-bit physical addresses", () => {
    for (let i = 0; i < 8; i++) {
      wrmsr(0x200 + 2 * i, 0, 0xe0000000 | 0);
      wrmsr(0x201 + 2 * i, 0, 0xe0000800 | 0);
    }
    expect(rdmsr(0x20e)).toEqual([0, 0xe0000000]);
    expect(rdmsr(0x20f)).toEqual([0, 0xe0000800]);
    expect(faults(WRMSR, 0x200, 0, 0x100)).toBe(13); // base bits 11:8 reserved
    expect(faults(WRMSR, 0x200, 0, 0x3)).toBe(13); // type 3
    expect(faults(WRMSR, 0x200, 0xf, 0)).toBe(13); // above MAXPHYADDR (32)
    expect(faults(WRMSR, 0x201, 0, 0x400)).toBe(13); // mask bits 10:0 reserved
    expect(faults(WRMSR, 0x201, 0xf, 0x800)).toBe(13);
    expect(faults(RDMSR, 0x210)).toBe(13); // a ninth pair does not exist
  });

  it("MISC_ENABLE: fast strings at reset; limit-CPUID-maxval caps leaf 0 at 2; reserved bits #GP", () => {
    expect(rdmsr(0x1a0)).toEqual([0, 1]);
    wrmsr(0x1a0, 0, 1 | (1 << 22));
    expect(cpuid(0)[0]).toBe(2);
    expect(cpuid(4, 0)).toEqual(cpuid(2)); // leaf 4 is now above the maximum
    wrmsr(0x1a0, 0, 1);
    expect(cpuid(0)[0]).toBe(0xd);
    expect(faults(WRMSR, 0x1a0, 0, 1 | (1 << 16))).toBe(13); // no Enhanced SpeedStep on this processor
    expect(faults(WRMSR, 0x1a0, 1, 1)).toBe(13);
  });

  it("PLATFORM_ID is read-only; BIOS_SIGN_ID accepts writes and CPUID leaf 1 loads the microcode revision", () => {
    expect(rdmsr(0x17)).toEqual([1 << 18, 0]);
    expect(faults(WRMSR, 0x17, 0, 0)).toBe(13);
    expect(rdmsr(0x8b)).toEqual([MICROCODE_REVISION, 0]);
    wrmsr(0x8b, 0, 0);
    expect(rdmsr(0x8b)).toEqual([0, 0]);
    cpuid(1);
    expect(rdmsr(0x8b)).toEqual([MICROCODE_REVISION, 0]);
  });

  it("an MSR this processor does not have raises #GP(0) on read and write", () => {
    for (const msr of [0x3a, 0x1d9, 0xc0000080, 0x179, 0x12345]) {
      expect(faults(RDMSR, msr), `rdmsr 0x${msr.toString(16)}`).toBe(13);
      expect(faults(WRMSR, msr), `wrmsr 0x${msr.toString(16)}`).toBe(13);
    }
  });

  it("MSR values are part of the saved CPU state", () => {
    wrmsr(0x277, 0x00000001, 0x00000106);
    wrmsr(0x2ff, 0, 0xc06);
    wrmsr(0x259, 0x01010101, 0);
    wrmsr(0x203, 0, 0xfff00800 | 0);
    wrmsr(0x1a0, 0, 1 | (1 << 22));
    wrmsr(0x8b, 0, 0);
    const saved = saveCpuState(m.cpu);
    const other = flatMachine();
    loadCpuState(other.cpu, JSON.parse(JSON.stringify(saved)));
    m = other;
    expect(rdmsr(0x277)).toEqual([1, 0x106]);
    expect(rdmsr(0x2ff)).toEqual([0, 0xc06]);
    expect(rdmsr(0x259)).toEqual([0x01010101, 0]);
    expect(rdmsr(0x203)).toEqual([0, 0xfff00800]);
    expect(rdmsr(0x8b)).toEqual([0, 0]);
    expect(cpuid(0)[0]).toBe(2);
    // A state saved before these MSRs existed loads as power-on values.
    const { msrs: _omitted, ...old } = saved;
    loadCpuState(m.cpu, old);
    expect(rdmsr(0x277)).toEqual([0x00070406, 0x00070406]);
    expect(rdmsr(0x2ff)).toEqual([0, 0]);
  });
});

describe("CPUID leaf 0xD and OSXSAVE", () => {
  it("sub-leaf 0: x87|SSE in XCR0, 576 bytes; sub-leaf 1: XSAVEOPT; leaves 5-0xC are zeros", () => {
    expect(cpuid(0xd, 0)).toEqual([3, 576, 576, 0]);
    expect(cpuid(0xd, 1)).toEqual([1, 0, 0, 0]);
    expect(cpuid(0xd, 2)).toEqual([0, 0, 0, 0]);
    for (let leaf = 5; leaf <= 0xc; leaf++) expect(cpuid(leaf), `leaf ${leaf}`).toEqual([0, 0, 0, 0]);
  });
  it("leaf 1 ECX.OSXSAVE follows CR4.OSXSAVE", () => {
    m.cpu.cr4 |= 1 << 18;
    expect(cpuid(1)[2]).toBe((1 << 26) | (1 << 27));
    m.cpu.cr4 &= ~(1 << 18);
    expect(cpuid(1)[2]).toBe(1 << 26);
  });
});

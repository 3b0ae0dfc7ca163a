/**
 * The firmware tables a fresh machine holds in RAM: every checksum, the pointers between the tables,
 * the BIOS data area, and the memory map and reserved ranges for several RAM sizes (QEMU 7.2's e820
 * for -m 16, 32, 64, 128, 256 and 1024 reserves the same ranges: the top 128 KiB for ACPI).
 */
import { describe, expect, it } from "vitest";
import { Machine } from "../../src/machine/machine.js";
import { cpuid } from "../../src/cpu/cpuid.js";
import { firmwareMemoryMap, firmwareReservedRanges } from "../../src/machine/firmware/layout.js";

const MiB = 1024 * 1024;
const u8 = (m: Machine, a: number) => m.mem.u8[a];
const u16 = (m: Machine, a: number) => m.mem.u8[a] | (m.mem.u8[a + 1] << 8);
const u32 = (m: Machine, a: number) => (u16(m, a) | (u16(m, a + 2) << 16)) >>> 0;
const text = (m: Machine, a: number, n: number) => Buffer.from(m.mem.u8.subarray(a, a + n)).toString("latin1");
const sum = (m: Machine, a: number, n: number) => m.mem.u8.subarray(a, a + n).reduce((s, b) => (s + b) & 0xff, 0);

function findRsdp(m: Machine): number {
  for (let a = 0xe0000; a < 0x100000; a += 16) if (text(m, a, 8) === "RSD PTR ") return a;
  return -1;
}

describe("firmware tables", () => {
  it("the BIOS data area names COM1, the EBDA and 639 KiB of base memory", () => {
    const m = new Machine({ memoryMiB: 32 });
    expect(u16(m, 0x400)).toBe(0x3f8);
    expect(u16(m, 0x402)).toBe(0);
    expect(u16(m, 0x40e)).toBe(0x9fc0);
    expect(u16(m, 0x413)).toBe(639);
    expect((u16(m, 0x410) >> 9) & 7).toBe(1); // one serial port
    expect(u8(m, 0x9fc00)).toBe(1); // EBDA size in KiB
  });

  it("the MP floating pointer and configuration table are well formed", () => {
    const m = new Machine({ memoryMiB: 32 });
    let fp = -1;
    for (let a = 0xf0000; a < 0x100000; a += 16) if (text(m, a, 4) === "_MP_") { fp = a; break; }
    expect(fp).toBeGreaterThan(0);
    expect(sum(m, fp, 16)).toBe(0);
    const t = u32(m, fp + 4);
    expect(text(m, t, 4)).toBe("PCMP");
    expect(sum(m, t, u16(m, t + 4))).toBe(0);
    expect(u16(m, t + 34)).toBe(18); // cpu, 2 buses, ioapic, 1 PCI + 11 ISA interrupts, 2 local
    expect(u32(m, t + 36)).toBe(0xfee00000);
    // The processor entry carries CPUID leaf 1's signature and features.
    m.cpu.regs[0] = 1;
    cpuid(m.cpu);
    expect(u32(m, t + 44 + 4)).toBe(m.cpu.regs[0] >>> 0);
    expect(u32(m, t + 44 + 8)).toBe(m.cpu.regs[2] >>> 0);
  });

  it("every ACPI table sums to zero and the RSDT and XSDT list the same tables", () => {
    const m = new Machine({ memoryMiB: 64 });
    const r = findRsdp(m);
    expect(r).toBeGreaterThanOrEqual(0xe0000);
    expect(sum(m, r, 20)).toBe(0);
    expect(u8(m, r + 15)).toBe(2);
    expect(sum(m, r, 36)).toBe(0);
    const rsdt = u32(m, r + 16);
    const xsdt = u32(m, r + 24);
    expect(u32(m, r + 28)).toBe(0);
    const check = (a: number, sig: string) => {
      expect(text(m, a, 4)).toBe(sig);
      expect(sum(m, a, u32(m, a + 4))).toBe(0);
      // Inside the reserved ACPI area at the top of RAM.
      expect(a).toBeGreaterThanOrEqual(64 * MiB - 0x20000);
      expect(a + u32(m, a + 4)).toBeLessThanOrEqual(64 * MiB);
    };
    check(rsdt, "RSDT");
    check(xsdt, "XSDT");
    const n = (u32(m, rsdt + 4) - 36) / 4;
    expect((u32(m, xsdt + 4) - 36) / 8).toBe(n);
    const sigs: string[] = [];
    for (let i = 0; i < n; i++) {
      const a = u32(m, rsdt + 36 + 4 * i);
      expect(u32(m, xsdt + 36 + 8 * i)).toBe(a);
      sigs.push(text(m, a, 4));
      check(a, sigs[i]);
      if (sigs[i] === "FACP") {
        const facs = u32(m, a + 36);
        expect(text(m, facs, 4)).toBe("FACS");
        expect(facs % 64).toBe(0);
        check(u32(m, a + 40), "DSDT");
      }
    }
    expect(sigs).toEqual(["FACP", "APIC"]);
  });

  it("the memory map reserves what QEMU's e820 reserves, for every RAM size", () => {
    for (const mib of [16, 32, 64, 128, 256, 1024]) {
      const top = mib * MiB;
      expect(firmwareMemoryMap(top)).toEqual([
        { base: 0, length: 0x9fc00, type: 1 },
        { base: 0x9fc00, length: 0x400, type: 2 },
        { base: 0xf0000, length: 0x10000, type: 2 },
        { base: 0x100000, length: top - 0x20000 - 0x100000, type: 1 },
        { base: top - 0x20000, length: 0x20000, type: 2 },
        { base: 0xfffc0000, length: 0x40000, type: 2 },
      ]);
      expect(firmwareReservedRanges(top).every((r) => r.type === 2)).toBe(true);
    }
  });

  it("RAM too small for the ACPI area above 1 MiB gets no ACPI range and no tables", () => {
    const ram = 0x100000 + 0x10000;
    expect(firmwareMemoryMap(ram)).toEqual([
      { base: 0, length: 0x9fc00, type: 1 },
      { base: 0x9fc00, length: 0x400, type: 2 },
      { base: 0xf0000, length: 0x10000, type: 2 },
      { base: 0x100000, length: 0x10000, type: 1 },
      { base: 0xfffc0000, length: 0x40000, type: 2 },
    ]);
  });
});

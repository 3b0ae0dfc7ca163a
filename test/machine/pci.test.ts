/**
 * PCI configuration mechanism #1 and the chipset's functions: identity and class as QEMU shows them,
 * byte/word/dword access, read-only registers, BAR size probes, absent functions and a disabled
 * address reading all ones, the reset control register, and state across a keyframe.
 */
import { describe, expect, it } from "vitest";
import { Machine } from "../../src/machine/machine.js";

function machine(): Machine {
  return new Machine({ memoryMiB: 4 });
}
function address(dev: number, fn: number, reg: number): number {
  return (0x80000000 | (dev << 11) | (fn << 8) | (reg & 0xfc)) >>> 0;
}
function cfg(m: Machine, dev: number, fn: number, reg: number, size: 1 | 2 | 4 = 4): number {
  m.ports.write(0xcf8, 4, address(dev, fn, reg));
  const v = m.ports.read(0xcfc + (reg & 3), size);
  return size === 4 ? v >>> 0 : v;
}
function setCfg(m: Machine, dev: number, fn: number, reg: number, size: 1 | 2 | 4, v: number): void {
  m.ports.write(0xcf8, 4, address(dev, fn, reg));
  m.ports.write(0xcfc + (reg & 3), size, v);
}

describe("PCI configuration space", () => {
  it("bus 0 holds the i440FX, the PIIX3 ISA bridge and IDE function, and the PIIX4 PM function", () => {
    const m = machine();
    const found: string[] = [];
    for (let dev = 0; dev < 32; dev++) {
      for (let fn = 0; fn < 8; fn++) {
        const id = cfg(m, dev, fn, 0);
        if (id === 0xffffffff) continue;
        const cls = cfg(m, dev, fn, 8) >>> 8;
        found.push(`${dev}.${fn} ${(id & 0xffff).toString(16)}:${(id >>> 16).toString(16)} ${cls.toString(16).padStart(6, "0")}`);
      }
    }
    expect(found).toEqual(["0.0 8086:1237 060000", "1.0 8086:7000 060100", "1.1 8086:7010 010180", "1.3 8086:7113 068000"]);
    expect(cfg(m, 1, 0, 0x0e, 1)).toBe(0x80); // multi-function
    expect(cfg(m, 1, 3, 0x3c, 2)).toBe(0x0109); // IRQ 9, INTA#
    expect(cfg(m, 1, 3, 0x40)).toBe(0x601); // PM base 0x600
    expect(cfg(m, 1, 1, 0x20)).toBe(0xc001); // bus-master I/O at 0xc000
  });

  it("byte and word accesses reach the addressed bytes of the dword", () => {
    const m = machine();
    m.ports.write(0xcf8, 4, address(0, 0, 0));
    expect(m.ports.read(0xcfc, 2)).toBe(0x8086);
    expect(m.ports.read(0xcfe, 2)).toBe(0x1237);
    expect(m.ports.read(0xcfd, 1)).toBe(0x80);
    expect(m.ports.read(0xcff, 1)).toBe(0x12);
    expect(m.ports.read(0xcf8, 4) >>> 0).toBe(0x80000000);
  });

  it("read-only registers ignore writes; the interrupt line and command bits keep theirs", () => {
    const m = machine();
    setCfg(m, 0, 0, 0, 4, 0x12345678);
    expect(cfg(m, 0, 0, 0)).toBe(0x12378086);
    setCfg(m, 1, 3, 0x3c, 1, 0x0b);
    expect(cfg(m, 1, 3, 0x3c, 2)).toBe(0x010b);
    setCfg(m, 1, 1, 4, 2, 0xffff);
    expect(cfg(m, 1, 1, 4, 2)).toBe(0x0547);
  });

  it("an I/O BAR answers a size probe with its size", () => {
    const m = machine();
    setCfg(m, 1, 1, 0x20, 4, 0xffffffff);
    expect(cfg(m, 1, 1, 0x20)).toBe(0xfffffff1);
    setCfg(m, 1, 1, 0x20, 4, 0xd000);
    expect(cfg(m, 1, 1, 0x20)).toBe(0xd001);
    // BARs the function does not implement stay zero.
    setCfg(m, 1, 1, 0x10, 4, 0xffffffff);
    expect(cfg(m, 1, 1, 0x10)).toBe(0);
  });

  it("absent functions, other buses and a cleared enable bit read all ones", () => {
    const m = machine();
    expect(cfg(m, 2, 0, 0)).toBe(0xffffffff);
    expect(cfg(m, 1, 2, 0)).toBe(0xffffffff);
    m.ports.write(0xcf8, 4, 0x80010000);
    expect(m.ports.read(0xcfc, 4) >>> 0).toBe(0xffffffff);
    m.ports.write(0xcf8, 4, 0x00000000);
    expect(m.ports.read(0xcfc, 4) >>> 0).toBe(0xffffffff);
    expect(m.ports.read(0xcfc, 1)).toBe(0xff);
    // Narrow writes to 0xcf8 do not change the address.
    m.ports.write(0xcf8, 4, address(0, 0, 8));
    m.ports.write(0xcf8, 2, 0);
    expect(m.ports.read(0xcf8, 4) >>> 0).toBe(address(0, 0, 8));
  });

  it("port 0xcf9 with bit 2 set resets the machine", () => {
    const m = machine();
    m.ports.write(0xcf9, 1, 0x02);
    expect(m.ports.read(0xcf9, 1)).toBe(0x02);
    expect(m.run({ maxSteps: 0 }).reason).toBe("max-steps");
    m.ports.write(0xcf9, 1, 0x06);
    const r = m.run({ maxSteps: 0 });
    expect(r.reason).toBe("reset");
    expect(r.detail).toContain("0xcf9");
  });

  it("configuration writes survive saveState/loadState", () => {
    const m = machine();
    setCfg(m, 1, 0, 0x60, 1, 0x05);
    const n = machine();
    n.loadState(JSON.parse(JSON.stringify(m.saveState())));
    expect(cfg(n, 1, 0, 0x60, 1)).toBe(0x05);
  });
});

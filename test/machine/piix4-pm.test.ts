/**
 * The PIIX4 power-management registers: the PM timer against virtual time, TMR_STS and the SCI on
 * IRQ 9, ACPI enable through the SMI command port, power off through PM1a control, GPE0, and the PM
 * block following the function's PMBA.
 */
import { describe, expect, it } from "vitest";
import { Machine } from "../../src/machine/machine.js";
import { pmTimerCount, tickOfPmCount } from "../../src/machine/pm-timer.js";

function machine(): Machine {
  return new Machine({ memoryMiB: 4 });
}

describe("PM timer arithmetic", () => {
  it("counts 3,579,545 per virtual second, exactly, far into a run", () => {
    expect(pmTimerCount(0)).toBe(0);
    expect(pmTimerCount(1_000_000_000)).toBe(3_579_545);
    expect(pmTimerCount(279)).toBe(0);
    expect(pmTimerCount(280)).toBe(1); // 1 count = 279.37 ns
    const big = 9_000_000_000_000_000; // about 104 days of guest time: the product needs more than 53 bits
    expect(pmTimerCount(big)).toBe(Number((BigInt(big) * 3579545n) / 1_000_000_000n));
    for (const c of [1, 0x800000, 0x1000000, 123456789]) {
      const t = tickOfPmCount(c);
      expect(pmTimerCount(t)).toBe(c);
      expect(pmTimerCount(t - 1)).toBe(c - 1);
    }
  });
});

describe("PIIX4 PM", () => {
  it("the timer at 0x608 reads 24 bits of the count at the machine's time", () => {
    const m = machine();
    m.idleTicks = 10 * 1_000_000_000; // ten seconds in
    const want = pmTimerCount(m.now()) & 0xffffff;
    expect(m.ports.read(0x608, 4)).toBe(want);
    expect(m.ports.read(0x608, 2)).toBe(want & 0xffff);
    expect(m.ports.read(0x60a, 1)).toBe(want >>> 16);
  });

  it("TMR_STS is set at power-up, clears on a write of 1, and sets again when bit 23 of the count changes", () => {
    const m = machine();
    expect(m.ports.read(0x600, 2) & 1).toBe(1);
    m.ports.write(0x600, 2, 1);
    expect(m.ports.read(0x600, 2) & 1).toBe(0);
    m.idleTicks = tickOfPmCount(0x800000) - 1;
    expect(m.ports.read(0x600, 2) & 1).toBe(0);
    m.idleTicks += 1;
    expect(m.ports.read(0x600, 2) & 1).toBe(1);
  });

  it("with TMR_EN the overflow is a device event that raises the SCI on IRQ 9 (here through the I/O APIC)", () => {
    const m = machine();
    m.ports.write(0x21, 1, 0xff);
    m.ports.write(0xa1, 1, 0xff);
    m.mem.write(0xfec00000, 4, 0x10 + 2 * 9);
    m.mem.write(0xfec00010, 4, 0x49 | (1 << 15)); // level-triggered, vector 0x49
    m.ports.write(0x600, 2, 1);
    m.ports.write(0x602, 2, 1); // TMR_EN
    expect(m.pm.nextEventTick()).toBe(tickOfPmCount(0x800000));
    expect(m.apic.hasInterrupt()).toBe(false);
    m.idleTicks = tickOfPmCount(0x800000);
    m.pm.advanceTo(m.now());
    expect(m.apic.hasInterrupt()).toBe(true);
    expect(m.apic.acknowledge()).toBe(0x49);
    // Clearing the status drops the SCI; the next overflow is scheduled.
    m.ports.write(0x600, 2, 1);
    expect(m.pm.nextEventTick()).toBe(tickOfPmCount(0x1000000));
  });

  it("writing the FADT's ACPI enable value to port 0xb2 sets SCI_EN, the disable value clears it", () => {
    const m = machine();
    expect(m.ports.read(0x604, 2)).toBe(0);
    m.ports.write(0xb2, 1, 0xf1);
    expect(m.ports.read(0x604, 2)).toBe(1);
    m.ports.write(0xb2, 1, 0xf0);
    expect(m.ports.read(0x604, 2)).toBe(0);
  });

  it("SLP_EN with SLP_TYP 0 powers off; SLP_TYP 1 (S3) does not", () => {
    const m = machine();
    m.ports.write(0x604, 2, (1 << 10) | (1 << 13));
    expect(m.run({ maxSteps: 0 }).reason).toBe("max-steps");
    expect(m.ports.read(0x604, 2)).toBe(1 << 10); // SLP_EN reads back 0
    m.ports.write(0x604, 2, 0x2000);
    const r = m.run({ maxSteps: 0 });
    expect(r.reason).toBe("power-off");
    expect(r.detail).toContain("SLP_TYP 0");
    // The power-off is part of the machine's state.
    const n = machine();
    n.loadState(JSON.parse(JSON.stringify(m.saveState())));
    expect(n.run({ maxSteps: 0 }).reason).toBe("power-off");
  });

  it("GPE0 status is write-1-to-clear and its enable reads back", () => {
    const m = machine();
    expect(m.ports.read(0xafe0, 2)).toBe(0);
    m.ports.write(0xafe2, 2, 0x0f0f);
    expect(m.ports.read(0xafe2, 2)).toBe(0x0f0f);
    expect(m.ports.read(0xafe3, 1)).toBe(0x0f);
  });

  it("the PM registers follow PMBA and PMREGMISC in the function's configuration", () => {
    const m = machine();
    const cfg = (reg: number, size: 1 | 2 | 4, v: number) => {
      m.ports.write(0xcf8, 4, 0x80000b00 | reg);
      m.ports.write(0xcfc + (reg & 3), size, v);
    };
    cfg(0x40, 4, 0xb001);
    expect(m.ports.read(0x604, 2)).toBe(0xffff);
    m.ports.write(0xb004, 2, 0x2000);
    expect(m.run({ maxSteps: 0 }).reason).toBe("power-off");
    const n = machine();
    n.loadState(JSON.parse(JSON.stringify({ ...m.saveState(), powerOff: null })));
    expect(n.ports.read(0xb008, 4)).toBe(pmTimerCount(n.now()) & 0xffffff);
    expect(n.ports.read(0x608, 4)).toBe(-1);
    // PMREGMISC bit 0 clear: the block is not decoded anywhere.
    n.ports.write(0xcf8, 4, 0x80000b80);
    n.ports.write(0xcfc, 1, 0);
    expect(n.ports.read(0xb008, 4)).toBe(-1);
  });
});

/**
 * The 8042 keyboard controller with its PS/2 keyboard and the A20 gate: a polling guest
 * (guests/keyboard-a20.c) compared with QEMU 7.2 byte for byte, keys typed from outside into an
 * interrupt-driven guest (guests/keyboard-irq.c), resets through the controller, and A20 masking in
 * the MMU with paging off and on.
 */
import { describe, expect, it } from "vitest";
import { Machine } from "../../src/machine/machine.js";
import { CR0_PE, CR0_PG } from "../../src/cpu/constants.js";
import { buildCGuest, canBuildC, guestMachine, hasQemu, runQemu, runQemuTyping, runTtd } from "./c-guests.js";

function drain(m: Machine): number[] {
  const out: number[] = [];
  while ((m.ports.read(0x64, 1) & 1) !== 0) out.push(m.ports.read(0x60, 1));
  return out;
}

describe("8042 controller", () => {
  it("answers self-test, interface test and command byte reads, as firmware leaves it", () => {
    const m = new Machine({ memoryMiB: 2 });
    expect(m.ports.read(0x64, 1)).toBe(0x1c);
    m.ports.write(0x64, 1, 0xaa);
    expect(m.ports.read(0x64, 1)).toBe(0x1d);
    expect(drain(m)).toEqual([0x55]);
    m.ports.write(0x64, 1, 0xab);
    m.ports.write(0x64, 1, 0x20);
    expect(drain(m)).toEqual([0x00, 0x61]);
    m.ports.write(0x64, 1, 0x60);
    m.ports.write(0x60, 1, 0x45);
    m.ports.write(0x64, 1, 0x20);
    expect(drain(m)).toEqual([0x45]);
  });

  it("queues keyboard replies (reset, LEDs) behind one another and raises IRQ 1 for each byte", () => {
    const m = new Machine({ memoryMiB: 2 });
    const levels: boolean[] = [];
    const pic = m.pic as unknown as { setIrq(line: number, level: boolean): void };
    const orig = pic.setIrq.bind(m.pic);
    pic.setIrq = (line, level) => {
      if (line === 1) levels.push(level);
      orig(line, level);
    };
    m.ports.write(0x60, 1, 0xff);
    expect(drain(m)).toEqual([0xfa, 0xaa]);
    expect(levels).toEqual([true, false, true, false]);
    m.ports.write(0x60, 1, 0xed);
    m.ports.write(0x60, 1, 0x02);
    expect(drain(m)).toEqual([0xfa, 0xfa]);
    expect(m.keyboard.keyboard.leds).toBe(2);
  });

  it("holds keys back while the keyboard interface is disabled, and drops them while scanning is off", () => {
    const m = new Machine({ memoryMiB: 2 });
    m.ports.write(0x64, 1, 0xad);
    m.keyboard.pressKey([0x1e, 0x9e]);
    expect(drain(m)).toEqual([]);
    m.ports.write(0x64, 1, 0xae);
    expect(drain(m)).toEqual([0x1e, 0x9e]);
    m.ports.write(0x60, 1, 0xf5);
    expect(drain(m)).toEqual([0xfa]);
    m.keyboard.pressKey([0x1e]);
    expect(drain(m)).toEqual([]);
    expect(() => m.keyboard.pressKey([0x100])).toThrow(RangeError);
  });

  it("ends the run as a reset on a 0xfe pulse or an output-port write with bit 0 clear", () => {
    const a = new Machine({ memoryMiB: 2 });
    a.ports.write(0x64, 1, 0xfe);
    const r = a.run({ maxSteps: 10 });
    expect(r.reason).toBe("reset");
    expect(r.detail).toMatch(/8042/);
    const b = new Machine({ memoryMiB: 2 });
    b.ports.write(0x64, 1, 0xff); // pulses nothing
    b.ports.write(0x64, 1, 0xd1);
    b.ports.write(0x60, 1, 0xce);
    expect(b.run({ maxSteps: 10 }).reason).toBe("reset");
    const c = new Machine({ memoryMiB: 2 });
    c.ports.write(0x92, 1, 0x03);
    expect(c.run({ maxSteps: 10 }).detail).toMatch(/port 0x92/);
  });

  it("saves and restores the controller, its queue and the keyboard", () => {
    const a = new Machine({ memoryMiB: 2 });
    a.ports.write(0x60, 1, 0xf2);
    a.ports.write(0x64, 1, 0xdd);
    const state = JSON.stringify(a.saveState());
    const b = new Machine({ memoryMiB: 2 });
    b.loadState(JSON.parse(state));
    expect(JSON.stringify(b.saveState())).toBe(state);
    expect(b.a20Enabled()).toBe(false);
    expect(drain(b)).toEqual([0xfa, 0xab, 0x41]);
  });
});

describe("A20 masking", () => {
  it("folds physical bit 20 while the gate is closed, paging off, through the TLB's cached entries too", () => {
    const m = new Machine({ memoryMiB: 4 });
    const mmu = m.cpu.mmu;
    mmu.write32(0x100000, 0x11223344); // fills the TLB entry for linear page 0x100
    expect(m.mem.read(0x100000, 4)).toBe(0x11223344);
    m.ports.write(0x92, 1, 0x00);
    expect(m.a20Enabled()).toBe(false);
    mmu.write32(0x100010, 0x55667788);
    expect(m.mem.read(0x000010, 4)).toBe(0x55667788);
    expect(mmu.read32(0x100000)).toBe(m.mem.read(0, 4));
    m.ports.write(0x64, 1, 0xdf); // the 8042 opens it again
    expect(mmu.read32(0x100000)).toBe(0x11223344);
  });

  it("masks page-table addresses and the pages they map when paging is on", () => {
    const m = new Machine({ memoryMiB: 4 });
    const mem = m.mem;
    // Directory at 0x101000 (0x001000 with A20 off): linear 0x400000 -> physical 0x102000.
    for (const dir of [0x101000, 0x001000]) mem.write(dir + 4, 4, 0x103000 | 3);
    for (const table of [0x103000, 0x003000]) mem.write(table, 4, 0x102000 | 3);
    const cpu = m.cpu;
    cpu.cr3 = 0x101000;
    cpu.mmu.cr3 = 0x101000;
    cpu.cr0 = CR0_PE | CR0_PG;
    cpu.mmu.paging = true;
    cpu.mmu.flush(false);
    cpu.mmu.write32(0x400000, 0xaaaa5555);
    expect(mem.read(0x102000, 4)).toBe(0xaaaa5555 | 0);
    m.setA20(false);
    // Now the walk reads 0x001000 and 0x003000, and the page lands at 0x002000.
    cpu.mmu.write32(0x400000, 0x12345678);
    expect(mem.read(0x002000, 4)).toBe(0x12345678);
    expect(mem.read(0x102000, 4)).toBe(0xaaaa5555 | 0);
  });
});

describe.skipIf(!canBuildC)("8042 guests", () => {
  it("polls the controller and the keyboard and sees A20 fold memory", () => {
    const elf = buildCGuest("keyboard-a20");
    const a = runTtd(elf);
    expect(a.result.reason).toBe("exit");
    expect(a.serial).toContain("self=55");
    expect(a.serial).toContain("reset[fa aa ]");
    expect(a.serial).toContain("a20-on=11 op-off=33 op=dd p92=02 op-on=11 op=df 92-off=55 p92=00 op=cf 92-on=11");
    expect(a.serial).toContain("fold-read=34");
    const b = runTtd(elf, { compile: false });
    expect(b.serial).toBe(a.serial);
    expect(b.result.steps).toBe(a.result.steps);
  });

  it.skipIf(!hasQemu)("prints exactly what it prints under QEMU", () => {
    const elf = buildCGuest("keyboard-a20");
    const q = runQemu(elf);
    expect(q.status).toBe(1);
    expect(runTtd(elf).serial).toBe(q.stdout);
  });

  it("takes keys typed from outside through IRQ 1, one interrupt per byte, deterministically", () => {
    const elf = buildCGuest("keyboard-irq");
    const typeAll = () => {
      const { machine, serial } = guestMachine(elf);
      const steps: number[] = [];
      for (const key of [[0x1e, 0x9e], [0x30], [0xb0], [0x2e, 0xae, 0x1c, 0x9c]]) {
        const r = machine.run({ maxSteps: 1_000_000 });
        expect(r.reason).toBe("halt");
        steps.push(r.steps);
        machine.keyboard.pressKey(key);
      }
      const end = machine.run({ maxSteps: 1_000_000 });
      return { serial: serial(), end, steps };
    };
    const a = typeAll();
    expect(a.serial).toBe("ready\n1e 9e 30 b0 2e ae 1c 9c \nirqs=08\n");
    expect(a.end.reason).toBe("exit");
    const b = typeAll();
    expect(b.steps).toEqual(a.steps);
    expect(b.end.steps).toBe(a.end.steps);
  });

  it.skipIf(!hasQemu)("reads the same bytes when QEMU types a, b, c and Enter through its monitor", async () => {
    const q = await runQemuTyping(buildCGuest("keyboard-irq"), "ready\n", ["a", "b", "c", "ret"]);
    expect(q.stdout).toBe("ready\n1e 9e 30 b0 2e ae 1c 9c \nirqs=08\n");
    expect(q.status).toBe(1);
  }, 90_000);
});

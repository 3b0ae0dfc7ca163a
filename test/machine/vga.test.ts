/**
 * VGA text mode: the register files (CRTC, input status, misc output, attribute, sequencer,
 * graphics) unit by unit, the screen decoded from text memory, and a guest (guests/vga-text.c) that
 * writes text, moves the cursor and reads everything back, compared with QEMU 7.2 byte for byte.
 */
import { describe, expect, it } from "vitest";
import { Machine } from "../../src/machine/machine.js";
import { Vga } from "../../src/machine/vga.js";
import { readTextScreen, screenText, snapshotTextWindow, textWindowChanged } from "../../src/machine/text-screen.js";
import { buildCGuest, canBuildC, hasQemu, runQemu, runTtd } from "./c-guests.js";

function vga(): Vga {
  const v = new Vga();
  v.firmwareInit();
  return v;
}
const crtc = (v: Vga, i: number, value?: number) => {
  v.portWrite(0x3d4, 1, i);
  if (value !== undefined) v.portWrite(0x3d5, 1, value);
  return v.portRead(0x3d5, 1);
};

describe("VGA registers", () => {
  it("starts in colour mode 3 as SeaBIOS leaves it, cursor at the top left", () => {
    const v = vga();
    expect(v.portRead(0x3cc, 1)).toBe(0x67);
    expect(crtc(v, 0x0a)).toBe(0x0d);
    expect(crtc(v, 0x0b)).toBe(0x0e);
    expect(v.cursorAddress()).toBe(0);
    expect(v.startAddress()).toBe(0);
  });

  it("reads back the cursor, start address and index registers", () => {
    const v = vga();
    crtc(v, 0x0e, 0x01);
    crtc(v, 0x0f, 0x97);
    crtc(v, 0x0c, 0x02);
    crtc(v, 0x0d, 0x80);
    expect(v.cursorAddress()).toBe(0x197);
    expect(v.startAddress()).toBe(0x280);
    expect(v.portRead(0x3d4, 1)).toBe(0x0d);
  });

  it("toggles display-enable and retrace on each 0x3da read and resets the attribute flip-flop", () => {
    const v = vga();
    expect([0, 1, 2, 3].map(() => v.portRead(0x3da, 1))).toEqual([0x09, 0x00, 0x09, 0x00]);
    v.portWrite(0x3c0, 1, 0x32); // index
    expect(v.portRead(0x3c0, 1)).toBe(0); // flip-flop now at data
    v.portRead(0x3da, 1);
    expect(v.portRead(0x3c0, 1)).toBe(0x32);
  });

  it("write-protects CRTC 0-7 while bit 7 of register 0x11 is set, except bit 4 of register 7", () => {
    const v = vga();
    crtc(v, 0x11, 0x8e);
    expect(crtc(v, 0x01, 0x12)).toBe(0x4f);
    expect(crtc(v, 0x07, 0x00)).toBe(0x0f);
    crtc(v, 0x11, 0x0e);
    expect(crtc(v, 0x01, 0x12)).toBe(0x12);
  });

  it("answers on 0x3b4/0x3b5 instead of 0x3d4/0x3d5 when the misc output register selects mono", () => {
    const v = vga();
    expect(v.portRead(0x3b4, 1)).toBe(0xff);
    v.portWrite(0x3c2, 1, 0x66);
    expect(v.portRead(0x3d5, 1)).toBe(0xff);
    v.portWrite(0x3d4, 1, 0x0e); // ignored
    v.portWrite(0x3b4, 1, 0x0f);
    expect(v.portRead(0x3b4, 1)).toBe(0x0f);
  });

  it("keeps only the implemented bits of sequencer and graphics registers", () => {
    const v = vga();
    v.portWrite(0x3c4, 1, 0xf9);
    expect(v.portRead(0x3c4, 1)).toBe(1);
    v.portWrite(0x3c5, 1, 0xff);
    expect(v.portRead(0x3c5, 1)).toBe(0x3d);
    v.portWrite(0x3ce, 1, 5);
    v.portWrite(0x3cf, 1, 0xff);
    expect(v.portRead(0x3cf, 1)).toBe(0x7b);
  });

  it("saves and restores every register", () => {
    const a = vga();
    crtc(a, 0x0e, 0x07);
    a.portWrite(0x3c0, 1, 0x12);
    a.portWrite(0x3c4, 1, 2);
    const saved = JSON.stringify(a.saveState());
    const b = vga();
    b.loadState(JSON.parse(saved));
    expect(JSON.stringify(b.saveState())).toBe(saved);
    expect(b.cursorAddress()).toBe(0x700);
    expect(() => b.loadState({})).toThrow(/VGA state/);
  });

  it("is reached through the machine's port bus, word writes split into index and data", () => {
    const m = new Machine({ memoryMiB: 2 });
    m.ports.write(0x3d4, 2, 0x2a0f);
    expect(m.vga.cursorAddress()).toBe(0x2a);
  });
});

describe("the text screen", () => {
  it("decodes characters (code page 437), attributes, the start address and the cursor", () => {
    const m = new Machine({ memoryMiB: 2 });
    const before = snapshotTextWindow(m.mem.u8);
    const put = (cell: number, ch: number, attr: number) => {
      m.mem.u8[0xb8000 + cell * 2] = ch;
      m.mem.u8[0xb8000 + cell * 2 + 1] = attr;
    };
    put(0, 0x48, 0x1f);
    put(1, 0x69, 0x1f);
    put(80 + 2, 0xc9, 0x07);
    put(80 + 3, 0x01, 0x07);
    expect(textWindowChanged(m.mem.u8, before)).toBe(true);
    m.ports.write(0x3d4, 2, 0x000e);
    m.ports.write(0x3d4, 2, 0x530f); // cursor at cell 83: row 1, column 3
    let s = readTextScreen(m.mem.u8, m.vga);
    expect(s.lines[0].slice(0, 3)).toBe("Hi ");
    expect(s.lines[1].slice(0, 4)).toBe("  ╔☺");
    expect(s.attributes[0]).toBe(0x1f);
    expect(s.cursor).toEqual({ row: 1, column: 3 });
    expect(screenText(s)).toEqual(["Hi", "  ╔☺"]);
    // Start address 80: the first row scrolls away; the cursor moves up with the text.
    m.ports.write(0x3d4, 2, 0x500d);
    s = readTextScreen(m.mem.u8, m.vga);
    expect(s.lines[0].slice(0, 4)).toBe("  ╔☺");
    expect(s.cursor).toEqual({ row: 0, column: 3 });
    // Cursor start bit 5 hides the cursor.
    m.ports.write(0x3d4, 2, 0x200a);
    expect(readTextScreen(m.mem.u8, m.vga).cursor).toBeNull();
  });

  it("sees no change on a machine whose guest never touched text memory", () => {
    const m = new Machine({ memoryMiB: 2 });
    expect(textWindowChanged(m.mem.u8, snapshotTextWindow(m.mem.u8))).toBe(false);
  });
});

describe.skipIf(!canBuildC)("a text-mode guest", () => {
  const fnv = (bytes: Uint8Array) => {
    let h = 0x811c9dc5;
    for (const b of bytes) h = Math.imul(h ^ b, 16777619) >>> 0;
    return h.toString(16).padStart(8, "0");
  };

  it("writes the screen and reads the registers back, compiled and interpreted alike", () => {
    const elf = buildCGuest("vga-text");
    const a = runTtd(elf);
    expect(a.result.reason).toBe("exit");
    expect(a.result.exitStatus).toBe(1);
    expect(a.serial).toContain("crtc: 0e 0f 00 00 01 97\n");
    // The checksum the guest printed is the one of the memory the screen shows.
    expect(a.serial).toContain(`screen fnv1a=${fnv(a.machine.mem.u8.subarray(0xb8000, 0xb8000 + 4000))}\n`);
    const screen = readTextScreen(a.machine.mem.u8, a.machine.vga);
    expect(screen.lines[0].trimEnd()).toBe("Hello from the VGA text screen");
    expect(screen.lines[3].trimEnd()).toBe("╔══╗ ☺ ▒█");
    expect(screen.lines[24].trimStart()).toBe("bottom row");
    expect(screen.attributes[80 + 4]).toBe(0x4e);
    expect(screen.cursor).toEqual({ row: 5, column: 7 });
    const b = runTtd(elf, { compile: false });
    expect(b.serial).toBe(a.serial);
    expect(b.result.steps).toBe(a.result.steps);
  });

  it.skipIf(!hasQemu)("prints exactly what it prints under QEMU (registers and screen checksum)", () => {
    const elf = buildCGuest("vga-text");
    const q = runQemu(elf);
    expect(q.status).toBe(1);
    expect(runTtd(elf).serial).toBe(q.stdout);
  });
});

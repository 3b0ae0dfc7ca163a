import { describe, expect, it } from "vitest";
import { GDT_ADDRESS, INFO_ADDRESS, LOADER_AREA_END, LoadError, loadMultiboot, MMAP_ADDRESS } from "../../src/machine/multiboot.js";

interface Seg {
  paddr: number;
  vaddr?: number;
  data: number[];
  memsz?: number;
  flags?: number;
  type?: number;
  /** Override of p_offset (to point outside the file). */
  offset?: number;
}

interface ElfSpec {
  elfClass?: number;
  machine?: number;
  type?: number;
  entry?: number;
  segments: Seg[];
  /** File offset of the multiboot header, or null for none. */
  headerAt?: number | null;
  headerFlags?: number;
  badChecksum?: boolean;
  /** a.out kludge fields: header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr. */
  aout?: [number, number, number, number, number];
}

const MAGIC = 0x1badb002;

function w32(b: Uint8Array, o: number, v: number): void {
  new DataView(b.buffer).setUint32(o, v >>> 0, true);
}
function w16(b: Uint8Array, o: number, v: number): void {
  new DataView(b.buffer).setUint16(o, v, true);
}
function r32(b: Uint8Array, o: number): number {
  return new DataView(b.buffer, b.byteOffset).getUint32(o, true);
}

/** Builds a small ELF32 file: header, program headers, a multiboot header at 0x100, segment data from 0x200. */
function buildElf(spec: ElfSpec): Uint8Array {
  const dataStart = 0x200;
  const total = dataStart + spec.segments.reduce((n, s) => n + s.data.length, 0);
  const b = new Uint8Array(Math.max(total, 0x240));
  b.set([0x7f, 0x45, 0x4c, 0x46, spec.elfClass ?? 1, 1, 1]);
  w16(b, 16, spec.type ?? 2);
  w16(b, 18, spec.machine ?? 3);
  w32(b, 20, 1);
  w32(b, 24, spec.entry ?? spec.segments[0]?.vaddr ?? spec.segments[0]?.paddr ?? 0);
  w32(b, 28, 52);
  w16(b, 40, 52);
  w16(b, 42, 32);
  w16(b, 44, spec.segments.length);
  w16(b, 46, 40);
  let off = dataStart;
  spec.segments.forEach((s, i) => {
    const ph = 52 + i * 32;
    w32(b, ph, s.type ?? 1);
    w32(b, ph + 4, s.offset ?? off);
    w32(b, ph + 8, s.vaddr ?? s.paddr);
    w32(b, ph + 12, s.paddr);
    w32(b, ph + 16, s.data.length);
    w32(b, ph + 20, s.memsz ?? s.data.length);
    w32(b, ph + 24, s.flags ?? 5);
    w32(b, ph + 28, 0x1000);
    b.set(s.data, off);
    off += s.data.length;
  });
  writeHeader(b, spec);
  return b;
}

function writeHeader(b: Uint8Array, spec: ElfSpec): void {
  const at = spec.headerAt === undefined ? 0x100 : spec.headerAt;
  if (at === null) return;
  const flags = spec.headerFlags ?? 0x3;
  w32(b, at, MAGIC);
  w32(b, at + 4, flags);
  w32(b, at + 8, -(MAGIC + flags) + (spec.badChecksum ? 1 : 0));
  if (spec.aout) spec.aout.forEach((v, i) => w32(b, at + 12 + i * 4, v));
}

const MiB = 1024 * 1024;

function expectLoadError(image: Uint8Array, pattern: RegExp, ram = new Uint8Array(4 * MiB)): void {
  const before = ram.slice();
  let err: unknown;
  try {
    loadMultiboot(image, ram);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(LoadError);
  expect((err as Error).message).toMatch(pattern);
  // Nothing written on refusal (compared as bytes: a deep equality over megabytes is very slow).
  expect(Buffer.compare(Buffer.from(ram.buffer, ram.byteOffset, ram.byteLength), Buffer.from(before.buffer, before.byteOffset, before.byteLength))).toBe(0);
}

function cString(ram: Uint8Array, addr: number): string {
  let end = addr;
  while (ram[end] !== 0) end++;
  return new TextDecoder().decode(ram.subarray(addr, end));
}

describe("loadMultiboot", () => {
  it("loads PT_LOAD segments at their physical addresses and zeroes their bss", () => {
    const ram = new Uint8Array(16 * MiB).fill(0xaa);
    const image = buildElf({
      entry: 0x100004,
      segments: [
        { paddr: 0x100000, data: [1, 2, 3, 4, 5, 6, 7, 8], memsz: 0x20 },
        { paddr: 0x200000, data: [9, 10], memsz: 2, flags: 6 },
        { paddr: 0x300000, data: [], memsz: 0, type: 1 },
        { paddr: 0x400000, data: [0xee], type: 4 }, // PT_NOTE: not loaded
      ],
    });
    const boot = loadMultiboot(image, ram, { cmdline: "console=ttyS0 debug" });
    expect(boot).toEqual({ entry: 0x100004, infoAddress: INFO_ADDRESS, gdtBase: GDT_ADDRESS, gdtLimit: 23, modules: [], magic: 0x2badb002 });
    expect(Array.from(ram.subarray(0x100000, 0x100008))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(ram.subarray(0x100008, 0x100020).every((x) => x === 0)).toBe(true);
    expect(ram[0x100020]).toBe(0xaa);
    expect(Array.from(ram.subarray(0x200000, 0x200003))).toEqual([9, 10, 0xaa]);
    expect(ram[0x300000]).toBe(0xaa);
    expect(ram[0x400000]).toBe(0xaa);
  });

  it("writes a multiboot info block with memory sizes, command line, memory map and loader name", () => {
    const ram = new Uint8Array(16 * MiB);
    loadMultiboot(buildElf({ segments: [{ paddr: 0x100000, data: [0x90] }] }), ram, { cmdline: "hello world" });
    const info = INFO_ADDRESS;
    const flags = r32(ram, info);
    expect(flags & 0x1).toBe(0x1); // mem_lower/mem_upper
    expect(flags & 0x4).toBe(0x4); // cmdline
    expect(flags & 0x8).toBe(0x8); // modules (none)
    expect(flags & 0x40).toBe(0x40); // mmap
    expect(flags & 0x200).toBe(0x200); // boot loader name
    expect(flags & 0x2).toBe(0); // no boot device
    expect(r32(ram, info + 4)).toBe(639);
    // QEMU 7.2 with -m 16 reports 15232 KiB: the top 128 KiB hold the ACPI tables.
    expect(r32(ram, info + 8)).toBe(15232);
    // No modules: the strings start right at the page after the kernel, where QEMU puts them.
    expect(r32(ram, info + 16)).toBe(0x101000);
    expect(cString(ram, 0x101000)).toBe("hello world");
    expect(r32(ram, info + 20)).toBe(0);
    expect(r32(ram, info + 24)).toBe(0x101000);
    expect(r32(ram, info + 64)).toBe(0x101000 + 12);
    expect(cString(ram, 0x101000 + 12)).toBe("ttd");
    const len = r32(ram, info + 44);
    const addr = r32(ram, info + 48);
    expect(addr).toBe(MMAP_ADDRESS);
    const entries: Array<[number, number, number]> = [];
    for (let o = addr; o < addr + len; o += r32(ram, o) + 4) {
      expect(r32(ram, o + 8)).toBe(0); // high halves of base and length
      expect(r32(ram, o + 16)).toBe(0);
      entries.push([r32(ram, o + 4), r32(ram, o + 12), r32(ram, o + 20)]);
    }
    // QEMU 7.2's e820 map for -m 16, entry for entry.
    expect(entries).toEqual([
      [0, 0x9fc00, 1],
      [0x9fc00, 0x400, 2],
      [0xf0000, 0x10000, 2],
      [0x100000, 0xee0000, 1],
      [0xfe0000, 0x20000, 2],
      [0xfffc0000, 0x40000, 2],
    ]);
  });

  it("writes a flat GDT: null, 0x08 code, 0x10 data", () => {
    const ram = new Uint8Array(4 * MiB);
    const boot = loadMultiboot(buildElf({ segments: [{ paddr: 0x100000, data: [0x90] }] }), ram);
    const g = boot.gdtBase;
    expect([r32(ram, g), r32(ram, g + 4)]).toEqual([0, 0]);
    expect([r32(ram, g + 8), r32(ram, g + 12)]).toEqual([0x0000ffff, 0x00cf9b00]);
    expect([r32(ram, g + 16), r32(ram, g + 20)]).toEqual([0x0000ffff, 0x00cf9300]);
    expect(boot.gdtLimit).toBe(23);
    expect(GDT_ADDRESS).toBeGreaterThanOrEqual(0x500);
    expect(LOADER_AREA_END).toBeLessThan(0x9fc00);
  });

  it("translates a virtual entry point inside an executable segment linked high", () => {
    const ram = new Uint8Array(4 * MiB);
    const image = buildElf({
      entry: 0xe0100010,
      segments: [{ paddr: 0x100000, vaddr: 0xe0100000, data: new Array(0x40).fill(0x90) }],
    });
    expect(loadMultiboot(image, ram).entry).toBe(0x100010);
    // An entry outside every segment is used as given.
    const phys = buildElf({ entry: 0x100000, segments: [{ paddr: 0x100000, vaddr: 0xe0100000, data: [0x90] }] });
    expect(loadMultiboot(phys, new Uint8Array(4 * MiB)).entry).toBe(0x100000);
  });

  it("loads a flat binary through the a.out kludge (flag 16)", () => {
    // The image is loaded at 0x100000; its header sits at file offset 0x100 (= 0x100100).
    const image = new Uint8Array(0x180);
    for (let i = 0x110; i < 0x180; i++) image[i] = i & 0xff;
    writeHeader(image, { segments: [], headerFlags: 0x10003, aout: [0x100100, 0x100000, 0x100160, 0x100400, 0x100120] });
    const ram = new Uint8Array(4 * MiB).fill(0xaa);
    const boot = loadMultiboot(image, ram);
    expect(boot.entry).toBe(0x100120);
    expect(Array.from(ram.subarray(0x100000, 0x100160))).toEqual(Array.from(image.subarray(0, 0x160)));
    expect(ram.subarray(0x100160, 0x100400).every((x) => x === 0)).toBe(true);
    expect(ram[0x100400]).toBe(0xaa);
  });

  it("refuses a file that is neither ELF nor multiboot", () => {
    expectLoadError(new TextEncoder().encode("#!/bin/sh\necho not a kernel\n"), /not an ELF file/);
  });

  it("refuses 64-bit and non-i386 ELF files with the ELF reader's message", () => {
    expectLoadError(buildElf({ elfClass: 2, segments: [{ paddr: 0x100000, data: [1] }] }), /64-bit ELF/);
    expectLoadError(buildElf({ machine: 62, segments: [{ paddr: 0x100000, data: [1] }] }), /not i386/);
  });

  it("refuses an ELF file without a multiboot header", () => {
    expectLoadError(buildElf({ headerAt: null, segments: [{ paddr: 0x100000, data: [1] }] }), /no multiboot header/);
    // A header past the first 8192 bytes does not count.
    const late = buildElf({ headerAt: null, segments: [{ paddr: 0x100000, data: new Array(0x2100).fill(0) }] });
    writeHeader(late, { segments: [], headerAt: 0x2000 });
    expectLoadError(late, /no multiboot header/);
  });

  it("refuses a multiboot header with a bad checksum", () => {
    expectLoadError(buildElf({ badChecksum: true, segments: [{ paddr: 0x100000, data: [1] }] }), /bad checksum/);
  });

  it("refuses requirements it cannot meet", () => {
    expectLoadError(buildElf({ headerFlags: 0x8, segments: [{ paddr: 0x100000, data: [1] }] }), /unsupported features/);
    // The video-mode request is accepted (and ignored).
    expect(() => loadMultiboot(buildElf({ headerFlags: 0x7, segments: [{ paddr: 0x100000, data: [1] }] }), new Uint8Array(2 * MiB))).not.toThrow();
  });

  it("refuses segments that do not fit in memory", () => {
    expectLoadError(buildElf({ segments: [{ paddr: 0x3ff000, data: [1], memsz: 0x2000 }] }), /segment 0 .*does not fit in 4 MiB/);
    expectLoadError(buildElf({ segments: [{ paddr: 0xfffff000, data: [1], memsz: 0x2000 }] }), /does not fit/);
  });

  it("refuses segments that overlap the loader's boot information", () => {
    expectLoadError(buildElf({ segments: [{ paddr: 0x7000, data: [1], memsz: 0x1001 }] }), /overlaps the loader's boot information/);
    expectLoadError(buildElf({ segments: [{ paddr: 0x8fff, data: [1] }] }), /overlaps/);
    // Right next to it is fine.
    expect(() => loadMultiboot(buildElf({ segments: [{ paddr: 0x9000, data: [1] }] }), new Uint8Array(2 * MiB))).not.toThrow();
  });

  it("refuses malformed segments and non-executables", () => {
    expectLoadError(buildElf({ segments: [{ paddr: 0x100000, data: [1, 2], memsz: 1 }] }), /file size .* exceeds memory size/);
    expectLoadError(buildElf({ segments: [{ paddr: 0x100000, data: [1], offset: 0x10000 }] }), /outside the file/);
    expectLoadError(buildElf({ type: 3, segments: [{ paddr: 0x100000, data: [1] }] }), /not an executable/);
    expectLoadError(buildElf({ segments: [{ paddr: 0x100000, data: [1], type: 4 }] }), /no loadable/);
  });

  it("refuses a bad a.out kludge and a non-ELF image without one", () => {
    const flat = new Uint8Array(0x180);
    writeHeader(flat, { segments: [], headerFlags: 0x3 });
    expectLoadError(flat, /not an ELF file.*flag 16/);
    const before = new Uint8Array(0x180);
    writeHeader(before, { segments: [], headerFlags: 0x10000, aout: [0x100100, 0x100000 - 0x1000, 0, 0, 0x100000] });
    expectLoadError(before, /before the beginning of the file/);
    const beyond = new Uint8Array(0x180);
    writeHeader(beyond, { segments: [], headerFlags: 0x10000, aout: [0x100100, 0x100000, 0x101000, 0, 0x100000] });
    expectLoadError(beyond, /beyond the end of the file/);
    const bss = new Uint8Array(0x180);
    writeHeader(bss, { segments: [], headerFlags: 0x10000, aout: [0x100100, 0x100000, 0x100180, 0x100100, 0x100000] });
    expectLoadError(bss, /bss_end_addr/);
  });

  it("refuses a command line with a NUL, one that does not fit, and too little memory", () => {
    const image = buildElf({ segments: [{ paddr: 0x100000, data: [1] }] });
    expect(() => loadMultiboot(image, new Uint8Array(4 * MiB), { cmdline: "a\0b" })).toThrow(/command line contains a NUL/);
    expect(() => loadMultiboot(image, new Uint8Array(0x101800), { cmdline: "x".repeat(5000) })).toThrow(/boot strings at \[0x101000, 0x10238d\) does not fit/);
    expect(() => loadMultiboot(image, new Uint8Array(MiB))).toThrow(LoadError);
  });
});

describe("multiboot modules", () => {
  const kernel = () => buildElf({ segments: [{ paddr: 0x100000, data: [0x90, 0x90], memsz: 0x1800 }, { paddr: 0x200000, data: [1], memsz: 0x10 }] });
  const mod = (string: string, bytes: number[], file = string.split(" ")[0]) => ({ string, file, data: Uint8Array.from(bytes) });

  it("places modules page-aligned after the strings, in order, with mods_count/mods_addr and strings as QEMU does", () => {
    const ram = new Uint8Array(8 * MiB).fill(0xcc);
    const a = mod("roottask.elf arg1 arg2", [0x7f, 0x45, 0x4c, 0x46, 5]);
    const b = mod("initrd.img", Array.from({ length: 0x1001 }, (_, i) => i & 0xff));
    const boot = loadMultiboot(kernel(), ram, { cmdline: "kernel.elf quiet", modules: [a, b] });
    // Kernel extent [0x100000, 0x200010) rounds up to 0x101000 bytes: the list and strings at 0x201000.
    const list = 0x201000;
    expect(r32(ram, INFO_ADDRESS) & 0x8).toBe(0x8);
    expect(r32(ram, INFO_ADDRESS + 20)).toBe(2);
    expect(r32(ram, INFO_ADDRESS + 24)).toBe(list);
    // Strings: module strings first, then the command line, then the loader name.
    const s0 = list + 32;
    expect(r32(ram, list + 8)).toBe(s0);
    expect(cString(ram, s0)).toBe("roottask.elf arg1 arg2");
    const s1 = s0 + 23;
    expect(r32(ram, list + 16 + 8)).toBe(s1);
    expect(cString(ram, s1)).toBe("initrd.img");
    expect(r32(ram, INFO_ADDRESS + 16)).toBe(s1 + 11);
    expect(cString(ram, s1 + 11)).toBe("kernel.elf quiet");
    expect(cString(ram, r32(ram, INFO_ADDRESS + 64))).toBe("ttd");
    // The modules: the first at the next page, the second at the page after the first's end.
    expect([r32(ram, list), r32(ram, list + 4), r32(ram, list + 12)]).toEqual([0x202000, 0x202005, 0]);
    expect([r32(ram, list + 16), r32(ram, list + 20), r32(ram, list + 28)]).toEqual([0x203000, 0x204001, 0]);
    expect(boot.modules).toEqual([{ start: 0x202000, end: 0x202005 }, { start: 0x203000, end: 0x204001 }]);
    expect(Array.from(ram.subarray(0x202000, 0x202006))).toEqual([0x7f, 0x45, 0x4c, 0x46, 5, 0]);
    expect(ram.subarray(0x203000, 0x204001)).toEqual(b.data);
    // The rest of each module's last page is zeroed; memory beyond is untouched.
    expect(ram.subarray(0x204001, 0x205000).every((x) => x === 0)).toBe(true);
    expect(ram[0x205000]).toBe(0xcc);
  });

  it("reserves room for QEMU's loader name, so modules land where QEMU puts them at a page boundary", () => {
    const ram = new Uint8Array(8 * MiB);
    // List (16) + module string + command line "k" (2) + "ttd" (4) = exactly 4096 bytes; QEMU's "qemu" needs one more.
    const boot = loadMultiboot(kernel(), ram, { cmdline: "k", modules: [mod("m " + "x".repeat(4096 - 16 - 2 - 4 - 1 - 2), [1])] });
    expect(boot.modules[0].start).toBe(0x201000 + 0x2000);
    const shorter = loadMultiboot(kernel(), ram, { cmdline: "k", modules: [mod("m " + "x".repeat(4096 - 16 - 2 - 4 - 1 - 3), [1])] });
    expect(shorter.modules[0].start).toBe(0x201000 + 0x1000);
  });

  it("gives a module list address even with no modules, and empty modules take no page", () => {
    const ram = new Uint8Array(8 * MiB);
    const boot = loadMultiboot(kernel(), ram, { modules: [mod("empty", []), mod("one", [9])] });
    expect(boot.modules).toEqual([{ start: 0x202000, end: 0x202000 }, { start: 0x202000, end: 0x202001 }]);
  });

  it("refuses a module that does not fit in memory, naming its file, and leaves RAM untouched", () => {
    const ram = new Uint8Array(3 * MiB).fill(0xcc);
    const big = mod("big.bin x", new Array(0x100000).fill(1));
    let err: unknown;
    try {
      loadMultiboot(kernel(), ram, { cmdline: "k", modules: [mod("small", [1]), big] });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LoadError);
    expect((err as LoadError).subject).toBe("big.bin");
    expect((err as LoadError).message).toMatch(/module of 1048576 bytes does not fit in 3 MiB of memory/);
    expect(ram.every((x) => x === 0xcc)).toBe(true);
  });
});

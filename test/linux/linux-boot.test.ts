/**
 * The Linux boot protocol loader (src/machine/linux-boot.ts) on bzImages made here
 * (src/guests/linux-hello.ts): the zero page's fields, where the initrd and command line go, the CPU
 * state at entry, and one clear refusal for each image or input the protocol cannot take. The same
 * loader on Debian's real kernel is in debian-kernel.test.ts.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import { Machine } from "../../src/machine/machine.js";
import { LoadError } from "../../src/machine/boot-modules.js";
import { CMDLINE_ADDRESS, LOADER_TYPE_QEMU, ZERO_PAGE_ADDRESS, isLinuxBzImage, loadLinux, readSetupHeader } from "../../src/machine/linux-boot.js";
import { firmwareMemoryMap } from "../../src/machine/firmware/layout.js";
import { bzImage, HELLO_BZIMAGE_PATH, HELLO_CODE } from "../../src/guests/linux-hello.js";
import { CS, DS, ES, FS, GS, SS } from "../../src/cpu/constants.js";
import { REPO, requireBuiltCli, tmpDir, ttd } from "../trace/helpers.js";

const MiB = 1048576;
const u32 = (b: Uint8Array, o: number) => (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
const u64 = (b: Uint8Array, o: number) => u32(b, o) + u32(b, o + 4) * 2 ** 32;
const cString = (b: Uint8Array, o: number) => new TextDecoder().decode(b.subarray(o, b.indexOf(0, o)));

function loaded(image: Uint8Array, memoryMiB: number, cmdline: string, initrd?: Uint8Array) {
  const ram = new Uint8Array(memoryMiB * MiB);
  const boot = loadLinux(image, ram, { cmdline, initrd: initrd && { file: "initrd.img", data: initrd } });
  return { ram, boot, zp: ram.subarray(ZERO_PAGE_ADDRESS, ZERO_PAGE_ADDRESS + 4096) };
}

describe("Linux boot protocol: the zero page", () => {
  const image = bzImage();

  test("image detection and the setup header", () => {
    expect(isLinuxBzImage(image)).toBe(true);
    expect(isLinuxBzImage(bzImage(HELLO_CODE, { noSignature: true }))).toBe(false);
    const h = readSetupHeader(image);
    expect(h).toMatchObject({ setupSects: 1, version: 0x020f, loadflags: 1, code32Start: 0x100000, cmdlineSize: 255, initrdAddrMax: 0x7fffffff, headerEnd: 0x26c });
    // setup_sects 0 means 4; before 2.03 initrd_addr_max is implied, before 2.06 cmdline_size too.
    const old = readSetupHeader(bzImage(HELLO_CODE, { setupSects: 0, version: 0x0202 }));
    expect(old).toMatchObject({ setupSects: 4, initrdAddrMax: 0x37ffffff, cmdlineSize: 255 });
  });

  test("header copy, loader fields, command line, screen and memory sizes", () => {
    const { ram, boot, zp } = loaded(image, 64, "console=ttyS0 root=/dev/ram0");
    // The setup header is copied from 0x1f1 to its end, then the loader's fields are set.
    const copy = zp.slice(0x1f1, 0x26c);
    const expected = image.slice(0x1f1, 0x26c);
    for (const [o, n] of [[0x210, 2], [0x218, 8], [0x224, 8]]) {
      copy.fill(0, o - 0x1f1, o - 0x1f1 + n);
      expected.fill(0, o - 0x1f1, o - 0x1f1 + n);
    }
    expect(copy).toEqual(expected);
    expect(zp[0x210]).toBe(LOADER_TYPE_QEMU);
    expect(zp[0x211]).toBe(0x81); // LOADED_HIGH | CAN_USE_HEAP
    expect(zp[0x224] | (zp[0x225] << 8)).toBe(0xfe00); // heap_end_ptr, as QEMU
    expect(u32(zp, 0x228)).toBe(CMDLINE_ADDRESS);
    expect(cString(ram, CMDLINE_ADDRESS)).toBe("console=ttyS0 root=/dev/ram0");
    expect(u32(zp, 0x218)).toBe(0); // no initrd
    expect(u32(zp, 0x21c)).toBe(0);
    // screen_info: VGA colour text, mode 3, 80x25.
    expect({ mode: zp[0x06], cols: zp[0x07], lines: zp[0x0e], isVGA: zp[0x0f], points: zp[0x10] }).toEqual({ mode: 3, cols: 80, lines: 25, isVGA: 1, points: 16 });
    // Memory above 1 MiB up to the ACPI area: 64 MiB - 1 MiB - 128 KiB.
    const kib = (64 * MiB - MiB - 0x20000) / 1024;
    expect(zp[0x02] | (zp[0x03] << 8)).toBe(kib);
    expect(u32(zp, 0x1e0)).toBe(kib);
    // The kernel's code is at code32_start.
    expect(ram.subarray(0x100000, 0x100000 + HELLO_CODE.length)).toEqual(HELLO_CODE);
    expect(boot).toMatchObject({ entry: 0x100000, zeroPage: ZERO_PAGE_ADDRESS, kernel: { start: 0x100000 } });
  });

  test("the e820 table is the firmware's memory map", () => {
    for (const mib of [32, 128, 256]) {
      const { zp } = loaded(image, mib, "");
      const map = firmwareMemoryMap(mib * MiB);
      expect(zp[0x1e8]).toBe(map.length);
      const table = map.map((_, i) => ({ base: u64(zp, 0x2d0 + 20 * i), length: u64(zp, 0x2d0 + 20 * i + 8), type: u32(zp, 0x2d0 + 20 * i + 16) }));
      expect(table).toEqual(map);
    }
    // As QEMU 7.2 and SeaBIOS give it with -m 256 (Linux prints it as BIOS-e820).
    const { zp } = loaded(image, 256, "");
    expect(u64(zp, 0x2d0 + 20 * 3) + u64(zp, 0x2d0 + 20 * 3 + 8)).toBe(0x0ffe0000);
  });

  test("the initrd goes at the top of RAM below the ACPI area, page-aligned, as QEMU places it", () => {
    // QEMU 7.2 with -m 256 and a 1,085,129-byte initrd: Linux reports RAMDISK: [mem 0x0fed7000-0x0ffdffff].
    const initrd = new Uint8Array(1085129).fill(0x5a);
    const { ram, boot, zp } = loaded(image, 256, "", initrd);
    expect(boot.initrd).toEqual({ start: 0x0fed7000, end: 0x0fed7000 + 1085129 });
    expect(u32(zp, 0x218)).toBe(0x0fed7000);
    expect(u32(zp, 0x21c)).toBe(1085129);
    expect(Buffer.from(ram.subarray(0x0fed7000, 0x0fed7000 + initrd.length)).equals(Buffer.from(initrd))).toBe(true);
    // A lower initrd_addr_max wins over the top of RAM.
    const low = loaded(bzImage(HELLO_CODE, { initrdAddrMax: 0x01ffffff }), 256, "", initrd);
    expect(low.boot.initrd!.start).toBe((0x02000000 - 1085129) & ~0xfff);
    expect(low.boot.initrd!.end).toBeLessThanOrEqual(0x02000000);
  });

  test("the CPU at entry: __BOOT_CS/__BOOT_DS flat segments, ESI the zero page, interrupts off", () => {
    const m = Machine.fromElf(image, { memoryMiB: 32, cmdline: "x" });
    const c = m.cpu;
    expect(c.eip).toBe(0x100000);
    expect(c.regs[6]).toBe(ZERO_PAGE_ADDRESS);
    expect([0, 1, 2, 3, 5, 7].map((r) => c.regs[r])).toEqual([0, 0, 0, 0, 0, 0]);
    expect(c.getEflags() & 0x200).toBe(0);
    expect(c.segSel[CS]).toBe(0x10);
    for (const s of [DS, ES, SS, FS, GS]) expect(c.segSel[s]).toBe(0x18);
    expect(c.gdtBase).toBe(0x8000);
    // The GDT holds what the selectors are cached as: flat 4 GiB code at 0x10, data at 0x18.
    const ram = m.mem.u8;
    expect([u32(ram, 0x8010), u32(ram, 0x8014), u32(ram, 0x8018), u32(ram, 0x801c)]).toEqual([0xffff, 0x00cf9b00, 0xffff, 0x00cf9300]);
  });
});

describe("Linux boot protocol: refusals", () => {
  const refuse = (image: Uint8Array, opts: { cmdline?: string; initrd?: number; memoryMiB?: number }) => {
    const ram = new Uint8Array((opts.memoryMiB ?? 64) * MiB);
    try {
      loadLinux(image, ram, { cmdline: opts.cmdline ?? "", initrd: opts.initrd === undefined ? undefined : { file: "big.img", data: new Uint8Array(opts.initrd) } });
    } catch (e) {
      expect(e).toBeInstanceOf(LoadError);
      // Nothing was written.
      expect(ram.some((b) => b !== 0)).toBe(false);
      return (e as LoadError).message;
    }
    throw new Error("loaded");
  };

  test("each problem in one line", () => {
    expect(refuse(bzImage(HELLO_CODE, { version: 0x0201 }), {})).toMatch(/^Linux boot protocol 2\.01 is too old: ttd boots protocol 2\.02 and later/);
    expect(refuse(bzImage(HELLO_CODE, { version: 0x0300 }), {})).toBe("Linux boot protocol 3.00 is not one ttd knows: it boots the 2.x protocol, from 2.02 on (the 32-bit entry)");
    expect(() => loaded(bzImage(HELLO_CODE, { version: 0x02ff }), 64, "")).not.toThrow(); // a later 2.x
    expect(refuse(bzImage(HELLO_CODE, { loadflags: 0 }), {})).toMatch(/^a zImage .*bzImages only/);
    expect(refuse(bzImage(HELLO_CODE, { xloadflags: 1 }), {})).toMatch(/^a 64-bit kernel \(xloadflags XLF_KERNEL_64\): ttd emulates an i386 without long mode/);
    expect(refuse(bzImage(HELLO_CODE, { syssize: 0x1000 }), {})).toMatch(/^truncated/);
    expect(refuse(bzImage(), { cmdline: "x".repeat(256) })).toBe("command line of 256 bytes is longer than the kernel's cmdline_size (255 bytes)");
    expect(refuse(bzImage(HELLO_CODE, { prefAddress: 0x1000000, initSize: 0x2000000 }), { memoryMiB: 32 })).toMatch(/^the kernel needs memory up to 0x3000000 \(to decompress itself\): 32 MiB is too small/);
    expect(refuse(bzImage(HELLO_CODE, { initrdAddrMax: 0x1ffffff }), { initrd: 40 * MiB })).toMatch(/^initrd of 41943040 bytes does not fit below the kernel's initrd_addr_max 0x1ffffff/);
    expect(refuse(bzImage(), { initrd: 70 * MiB, memoryMiB: 64 })).toMatch(/^initrd of 73400320 bytes does not fit in 64 MiB of memory/);
    for (const line of [refuse(bzImage(HELLO_CODE, { version: 0x0200 }), {}), refuse(bzImage(), { initrd: 70 * MiB })]) expect(line).not.toContain("\n");
  });
});

describe("ttd run on a bzImage", () => {
  beforeAll(() => requireBuiltCli());
  const hello = path.join(REPO, HELLO_BZIMAGE_PATH);

  test("the committed hello image is what src/guests/linux-hello.ts builds", () => {
    expect(new Uint8Array(fs.readFileSync(hello))).toEqual(bzImage());
  });

  test("--append and --initrd reach the kernel; it powers off (exit 0)", () => {
    const dir = tmpDir();
    const initrd = path.join(dir, "initrd.txt");
    fs.writeFileSync(initrd, "contents of the initrd\n");
    const r = ttd(["run", hello, "--append", "console=ttyS0 quiet", "--initrd", initrd]);
    expect(r.stdout).toBe("console=ttyS0 quiet\ncontents of the initrd\n");
    expect(r.stderr).toMatch(/stopped: power-off/);
    expect(r.status).toBe(0);
    // QEMU's spelling, and --cmdline (ttd's): the kernel sees the text alone, no kernel path in front.
    const q = ttd(["run", "-kernel", hello, "-append", "a b", "-initrd", initrd, "-m", "64M"]);
    expect(q.stdout).toBe("a b\ncontents of the initrd\n");
    expect(ttd(["run", hello, "--cmdline", "c"]).stdout).toBe("c\n");
  });

  test("bad input: one line naming the file, exit 2", () => {
    const dir = tmpDir();
    const bad = (name: string, bytes: Uint8Array) => {
      const p = path.join(dir, name);
      fs.writeFileSync(p, bytes);
      return p;
    };
    const cases: Array<[string[], RegExp]> = [
      [[bad("old.bzImage", bzImage(HELLO_CODE, { version: 0x0201 }))], /^ttd: .*old\.bzImage: Linux boot protocol 2\.01 is too old/],
      [[bad("x64.bzImage", bzImage(HELLO_CODE, { xloadflags: 1 }))], /^ttd: .*x64\.bzImage: a 64-bit kernel/],
      [[hello, "--append", "y".repeat(300)], /^ttd: .*hello\.bzImage: command line of 300 bytes is longer than the kernel's cmdline_size \(255 bytes\)/],
      [[bad("v3.bzImage", bzImage(HELLO_CODE, { version: 0x0300 }))], /^ttd: .*v3\.bzImage: Linux boot protocol 3\.00 is not one ttd knows/],
      [[hello, "--initrd", bad("big.img", new Uint8Array(15 * MiB)), "--memory", "16"], /^ttd: .*big\.img: initrd of 15728640 bytes does not fit in 16 MiB of memory/],
      // The header's initrd_addr_max (0x1ffffff) lower than the top of RAM: the limit is the kernel's.
      [[bad("low.bzImage", bzImage(HELLO_CODE, { initrdAddrMax: 0x1ffffff })), "--initrd", bad("large.img", new Uint8Array(40 * MiB)), "--memory", "64"],
        /^ttd: .*large\.img: initrd of 41943040 bytes does not fit below the kernel's initrd_addr_max 0x1ffffff above the kernel/],
      [[hello, "--initrd", `${bad("a.img", new Uint8Array(4))},${bad("b.img", new Uint8Array(4))}`], /^ttd: .*b\.img: a Linux kernel takes one initrd, not 2/],
    ];
    for (const [args, message] of cases) {
      const r = ttd(["run", ...args]);
      expect(r.stderr.trim().split("\n"), r.stderr).toHaveLength(1);
      expect(r.stderr.trim()).toMatch(message);
      expect(r.status).toBe(2);
    }
  });

  test("a recording of a bzImage replays to the same state (the zero page and initrd are in the first keyframe)", async () => {
    const dir = tmpDir();
    const initrd = path.join(dir, "initrd.txt");
    fs.writeFileSync(initrd, "replayed\n");
    const trace = path.join(dir, "hello.trace");
    const r = ttd(["record", hello, "--append", "rec", "--initrd", initrd, "-o", trace, "--no-progress"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe("rec\nreplayed\n");
    const info = ttd(["info", trace, "--json"]);
    expect(info.status, info.stderr).toBe(0);
    // A Linux boot protocol's file is its initrd, not a multiboot module.
    expect(JSON.parse(info.stdout)).toMatchObject({ guestCmdline: "rec", boot: "linux", initrd: { string: initrd, bytes: 9 }, modules: [] });
    const text = ttd(["info", trace]).stdout;
    expect(text).toMatch(new RegExp(`^initrd: +${initrd.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} \\(9 bytes, sha256 [0-9a-f]{64}\\)$`, "m"));
    expect(text).toMatch(/^image: +hello\.bzImage \(Linux bzImage, /m);
    expect(text).not.toMatch(/^modules:/m);
    const log = ttd(["log", trace, "--from", "0", "--count", "2", "--json"]);
    expect(log.status, log.stderr).toBe(0);
    expect(log.stdout).toContain("ebx");
  });
});

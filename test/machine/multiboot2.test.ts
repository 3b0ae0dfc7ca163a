/**
 * The multiboot2 loader against the specification (QEMU's -kernel has no multiboot2, so there is no
 * QEMU output to compare with): header tags accepted, declined and refused; the boot information's
 * tags, sizes, alignment and contents as a guest (guests/multiboot2.c) reads them; the ACPI tags from an
 * RSDP found in RAM; bad headers refused in one line with exit status 2.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Machine } from "../../src/machine/machine.js";
import { LoadError } from "../../src/machine/boot-modules.js";
import { MULTIBOOT2_BOOTLOADER_MAGIC, loadMultiboot2 } from "../../src/machine/multiboot2.js";
import { findRsdp } from "../../src/machine/rsdp-scan.js";

const here = new URL("./guests/", import.meta.url).pathname;
const CLI = resolve(here, "../../../dist/cli/main.js");
const MiB = 1 << 20;

const r32 = (b: Uint8Array, o: number) => new DataView(b.buffer, b.byteOffset).getUint32(o, true);
const w32 = (b: Uint8Array, o: number, v: number) => new DataView(b.buffer, b.byteOffset).setUint32(o, v >>> 0, true);

interface Tag { type: number; flags?: number; words?: number[] }

/**
 * A flat (non-ELF) multiboot2 image loaded at 1 MiB: header at file offset `at` with the given tags,
 * plus an address tag and an entry tag unless `plain` is set; code (two NOPs) at 0x100100.
 */
function image(tags: Tag[], opts: { at?: number; plain?: boolean; arch?: number; badChecksum?: boolean } = {}): Uint8Array {
  const at = opts.at ?? 0;
  const all: Tag[] = opts.plain ? [...tags] : [{ type: 2, words: [0x100000 + at, 0x100000, 0, 0x100400] }, { type: 3, words: [0x100100] }, ...tags];
  const body: number[] = [];
  for (const t of all) {
    const size = 8 + 4 * (t.words?.length ?? 0);
    body.push(t.type | ((t.flags ?? 0) << 16), size, ...(t.words ?? []));
    if (size % 8) body.push(0);
  }
  body.push(0, 8);
  const length = 16 + 4 * body.length;
  const b = new Uint8Array(Math.max(at + length, 0x200));
  const arch = opts.arch ?? 0;
  [0xe85250d6, arch, length, -(0xe85250d6 + arch + length) + (opts.badChecksum ? 1 : 0), ...body].forEach((v, i) => w32(b, at + 4 * i, v));
  b.set([0x90, 0x90], 0x100);
  return b;
}

/** The boot information's tags: [type, size, offset]. */
function tags(ram: Uint8Array, info: number): Array<[number, number, number]> {
  const out: Array<[number, number, number]> = [];
  const total = r32(ram, info);
  for (let o = 8; o < total; o += (r32(ram, info + o + 4) + 7) & ~7) {
    out.push([r32(ram, info + o), r32(ram, info + o + 4), o]);
    if (r32(ram, info + o) === 0) break;
  }
  return out;
}

/** An RSDP (revision 0 or 2) with valid checksums. */
function rsdp(revision: number): Uint8Array {
  const b = new Uint8Array(36);
  b.set(new TextEncoder().encode("RSD PTR "), 0);
  b.set(new TextEncoder().encode("TTDOEM"), 9);
  b[15] = revision;
  w32(b, 16, 0x7fe0000);
  w32(b, 20, 36);
  b[8] = (256 - (b.subarray(0, 20).reduce((s, x) => s + x, 0) & 0xff)) & 0xff;
  b[32] = (256 - (b.reduce((s, x) => s + x, 0) & 0xff)) & 0xff;
  return revision >= 2 ? b : b.subarray(0, 20);
}

describe("loadMultiboot2", () => {
  it("loads an image by its address and entry tags and gives EAX's magic", () => {
    const ram = new Uint8Array(4 * MiB).fill(0xcc);
    const boot = loadMultiboot2(image([]), ram, { cmdline: "k a" });
    expect(boot.magic).toBe(MULTIBOOT2_BOOTLOADER_MAGIC);
    expect(boot.entry).toBe(0x100100);
    expect(ram[0x100100]).toBe(0x90);
    expect(ram.subarray(0x100200, 0x100400).every((x) => x === 0)).toBe(true); // bss zeroed
    expect(boot.infoAddress).toBe(0x101000);
  });

  it("writes tags in order, 8-byte aligned, with sizes as the specification defines, ending with the end tag", () => {
    const ram = new Uint8Array(4 * MiB);
    const mod = { string: "m.bin x", file: "m.bin", data: Uint8Array.from([1, 2, 3]) };
    const boot = loadMultiboot2(image([]), ram, { cmdline: "k a", modules: [mod] });
    const info = boot.infoAddress;
    const t = tags(ram, info);
    expect(t.map(([type]) => type)).toEqual([1, 2, 3, 4, 6, 21, 0]);
    // The memory map is the firmware's: QEMU's six e820 entries.
    expect(t.map(([, size]) => size)).toEqual([8 + 4, 8 + 4, 16 + 8, 16, 16 + 6 * 24, 12, 8]);
    for (const [, , o] of t) expect(o % 8).toBe(0);
    const [, , endAt] = t[t.length - 1];
    expect(r32(ram, info)).toBe(endAt + 8); // total_size includes the end tag
    expect(r32(ram, info + 4)).toBe(0);
    const modTag = info + t[2][2];
    expect([r32(ram, modTag + 8), r32(ram, modTag + 12)]).toEqual([boot.modules[0].start, boot.modules[0].end]);
    expect(boot.modules[0].start % 4096).toBe(0);
    expect(boot.modules[0].start).toBeGreaterThanOrEqual(info + r32(ram, info));
    expect(Array.from(ram.subarray(boot.modules[0].start, boot.modules[0].start + 3))).toEqual([1, 2, 3]);
    expect(r32(ram, info + t[5][2] + 8)).toBe(0x100000); // load base address
  });

  it("declines a framebuffer (EGA text described instead) and accepts console, alignment, EFI and optional unknown tags", () => {
    const ram = new Uint8Array(4 * MiB);
    const boot = loadMultiboot2(image([
      { type: 5, words: [1024, 768, 32] }, { type: 4, words: [3] }, { type: 6 }, { type: 7 }, { type: 8, words: [0x100100] },
      { type: 9, words: [0x100100] }, { type: 10, words: [0x100000, 0x200000, 0x1000, 0] }, { type: 99, flags: 1, words: [7] },
    ]), ram);
    const fb = tags(ram, boot.infoAddress).find(([type]) => type === 8)!;
    const o = boot.infoAddress + fb[2];
    expect(fb[1]).toBe(32);
    expect([r32(ram, o + 8), r32(ram, o + 12), r32(ram, o + 16), r32(ram, o + 20), r32(ram, o + 24), ram[o + 28], ram[o + 29]]).toEqual([0xb8000, 0, 160, 80, 25, 16, 2]);
  });

  it("gives the ACPI old and new RSDP tags from the RSDP it finds in RAM", () => {
    for (const revision of [0, 2]) {
      const ram = new Uint8Array(4 * MiB);
      const table = rsdp(revision);
      ram.set(table, 0xf5a30);
      expect(findRsdp(ram)).toEqual(table);
      // Tag 15 only exists for an ACPI 2.0 RSDP, so the request is optional here.
      const boot = loadMultiboot2(image([{ type: 1, flags: 1, words: [14, 15] }]), ram, { rsdp: findRsdp(ram) });
      const t = tags(ram, boot.infoAddress);
      const acpi = t.filter(([type]) => type === 14 || type === 15);
      expect(acpi.map(([type, size]) => [type, size])).toEqual(revision >= 2 ? [[14, 28], [15, 44]] : [[14, 28]]);
      const old = boot.infoAddress + acpi[0][2] + 8;
      expect(Array.from(ram.subarray(old, old + 20))).toEqual(Array.from(table.subarray(0, 20)));
    }
  });

  it("finds an RSDP in the EBDA first and ignores one with a bad checksum", () => {
    const ram = new Uint8Array(2 * MiB);
    const bad = rsdp(0).slice();
    bad[9] ^= 1;
    ram.set(bad, 0xe0000);
    expect(findRsdp(ram)).toBeNull();
    const good = rsdp(2);
    ram.set(good, 0xfff00);
    ram[0x40e] = 0xc0; // EBDA segment 0x9fc0
    ram[0x40f] = 0x9f;
    const inEbda = rsdp(0);
    ram.set(inEbda, 0x9fc00 + 0x40);
    expect(findRsdp(ram)).toEqual(inEbda);
  });

  it("refuses what it cannot honour, naming the problem, and leaves RAM untouched", () => {
    const cases: Array<[Uint8Array, RegExp]> = [
      [image([{ type: 42, words: [1] }]), /header tag 42 at file offset 0x[0-9a-f]+ is required but not supported/],
      [image([{ type: 1, words: [1, 9] }]), /requires boot information tag 9 \(ELF sections\); ttd does not provide it/],
      [image([{ type: 1, words: [14] }]), /requires boot information tag 14 \(ACPI old RSDP\); this machine has no ACPI tables/],
      [image([], { arch: 4 }), /architecture 4, not i386/],
      [image([], { badChecksum: true }), /multiboot2 header at file offset 0x0 has a bad checksum/],
      [image([{ type: 3, words: [0x100100] }], { plain: true }), /not an ELF file .* no address tag/],
      [image([{ type: 10, words: [0x200000, 0x400000, 0x1000, 0] }]), /does not satisfy its relocatable tag/],
    ];
    for (const [img, message] of cases) {
      const ram = new Uint8Array(4 * MiB).fill(0xcc);
      expect(() => loadMultiboot2(img, ram)).toThrow(LoadError);
      expect(() => loadMultiboot2(img, ram)).toThrow(message);
      expect(ram.every((x) => x === 0xcc)).toBe(true);
    }
    // An optional request for what cannot be given is skipped.
    expect(() => loadMultiboot2(image([{ type: 1, flags: 1, words: [9, 14] }]), new Uint8Array(4 * MiB))).not.toThrow();
  });
});

const has = (tool: string) => spawnSync(tool, ["--version"], { stdio: "ignore" }).status === 0;

describe.skipIf(!(has("clang") && has("ld.lld")))("a multiboot2 guest reading its boot information", () => {
  let dir = "";
  let elf = "";
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "ttd-mb2-"));
    const obj = join(dir, "mb2.o");
    elf = join(dir, "mb2.elf");
    execFileSync("clang", ["-m32", "-ffreestanding", "-fno-pic", "-nostdlib", "-O1", "-c", "-o", obj, join(here, "multiboot2.c")]);
    execFileSync("ld.lld", ["-m", "elf_i386", "-T", join(here, "guest.ld"), "-o", elf, obj]);
    writeFileSync(join(dir, "mod.txt"), "hello module\n");
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("gets EAX = 0x36d76289, an 8-byte aligned EBX, and every tag the specification describes", () => {
    const mod = join(dir, "mod.txt");
    const r = spawnSync(process.execPath, [CLI, "run", elf, "-m", "32", "--module", `${mod} a b`, "-append", "x=1"], { encoding: "utf8", cwd: dir });
    expect(r.status).toBe(1);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toMatch(/^eax=36d76289 ebx&7=0 total_size=(\d+) reserved=0$/);
    const total = Number(/total_size=(\d+)/.exec(lines[0])![1]);
    const expectTag = (line: string, type: number, size: number, rest: string) => expect(line).toMatch(new RegExp(`^tag ${type} size=${size} at=\\d+${rest}$`));
    expectTag(lines[1], 1, 8 + elf.length + 5, ` cmdline='${elf} x=1'`);
    expectTag(lines[2], 2, 12, " loader='ttd'");
    expectTag(lines[3], 3, 16 + mod.length + 5, ` start=([0-9a-f]{5}000) end=[0-9a-f]{8} len=13 string='${mod} a b' bytes=68 65 6c 6c `);
    // Usable memory from 1 MiB up to the ACPI tables in the top 128 KiB, as QEMU reports for -m 32.
    expectTag(lines[4], 4, 16, " mem_lower=639 mem_upper=31616");
    expectTag(lines[5], 6, 16 + 6 * 24, " entry_size=24 version=0");
    expect(lines.slice(6, 12)).toEqual([
      "  base=0000000000000000 length=000000000009fc00 type=1 reserved=0",
      "  base=000000000009fc00 length=0000000000000400 type=2 reserved=0",
      "  base=00000000000f0000 length=0000000000010000 type=2 reserved=0",
      "  base=0000000000100000 length=0000000001ee0000 type=1 reserved=0",
      "  base=0000000001fe0000 length=0000000000020000 type=2 reserved=0",
      "  base=00000000fffc0000 length=0000000000040000 type=2 reserved=0",
    ]);
    expectTag(lines[12], 8, 32, " addr=00000000000b8000 pitch=160 width=80 height=25 bpp=16 type=2");
    // The machine's firmware has ACPI tables, so the old and new RSDP tags come too.
    expectTag(lines[13], 14, 28, " rsdp='RSD PTR ' oem='TTD   ' revision=2");
    expectTag(lines[14], 15, 44, " rsdp='RSD PTR ' oem='TTD   ' revision=2");
    expectTag(lines[15], 21, 12, " load_base=00100000");
    expectTag(lines[16], 0, 8, "");
    const offsets = lines.slice(1, 17).filter((l) => l.startsWith("tag")).map((l) => Number(/at=(\d+)/.exec(l)![1]));
    offsets.forEach((o) => expect(o % 8).toBe(0));
    expect(offsets[offsets.length - 1] + 8).toBe(total);
    expect(lines[17]).toBe("");
  });

  it("with ACPI tables in RAM, the guest reads the RSDP from the ACPI tags", () => {
    const m = new Machine({ memoryMiB: 16 });
    m.mem.u8.set(rsdp(2), 0xe0040);
    m.loadKernel(new Uint8Array(readFileSync(elf)), { cmdline: "k" });
    let out = "";
    m.onSerial = (b) => (out += String.fromCharCode(b));
    // The guest asks for tags 1 2 3 4 6 8 21 only; the ACPI tags come anyway since the machine has them.
    expect(m.run({ maxSteps: 1_000_000 }).reason).toBe("exit");
    expect(out).toMatch(/^tag 14 size=28 at=\d+ rsdp='RSD PTR ' oem='TTDOEM' revision=2$/m);
    expect(out).toMatch(/^tag 15 size=44 at=\d+ rsdp='RSD PTR ' oem='TTDOEM' revision=2$/m);
  });

  it("ttd run refuses a header with an unknown required tag in one line, status 2", () => {
    const bad = join(dir, "bad.bin");
    writeFileSync(bad, image([{ type: 42, words: [1] }]));
    const r = spawnSync(process.execPath, [CLI, "run", bad], { encoding: "utf8", cwd: dir });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(new RegExp(`^ttd: ${bad}: multiboot2 header tag 42 at file offset 0x[0-9a-f]+ is required but not supported\\n$`));
  });
});

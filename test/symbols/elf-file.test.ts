/**
 * Reading a large ELF lazily (src/elf/elf-file.ts): its relocation sections and its .debug_info are not
 * read until a question needs them, and the answers, the SHA-256 and (once asked for) the bytes are
 * those of the whole file. Here a small ELF linked with --emit-relocs (as the kernel's vmlinux is, which
 * keeps .rel.debug_* sections) is read lazily by lowering the size threshold.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { describe, expect, test } from "vitest";
import { readElfFile } from "../../src/elf/elf-file.js";
import { Elf32 } from "../../src/elf/elf32.js";
import { DebugInfo } from "../../src/symbols/debug-info.js";
import { DwarfIndex } from "../../src/symbols/dwarf-index.js";
import { DwarfSections } from "../../src/symbols/sections.js";
import { sha256Hex } from "../../src/bundle/format.js";
import { tmpDir } from "../trace/helpers.js";

const SHT_REL = 9;
const hasClang = spawnSync("clang", ["--version"], { stdio: "ignore" }).status === 0 && spawnSync("ld.lld", ["--version"], { stdio: "ignore" }).status === 0;

/** Two units with globals and functions, linked for i386 with the relocations kept. */
function build(): string {
  const dir = tmpDir();
  fs.writeFileSync(path.join(dir, "a.c"), "int counter = 3;\nstruct pair { int a, b; } pairs[4];\nint bump(int by) { counter += by; return counter; }\nvoid _start(void) { for (;;) pairs[bump(1) & 3].a++; }\n");
  fs.writeFileSync(path.join(dir, "b.c"), "long other[8];\nint twice(int x) { other[x & 7] = x; return 2 * x; }\n");
  const objs = ["a", "b"].map((n) => {
    const o = path.join(dir, `${n}.o`);
    const r = spawnSync("clang", ["--target=i386-unknown-none-elf", "-ffreestanding", "-g", "-O1", "-c", path.join(dir, `${n}.c`), "-o", o], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    return o;
  });
  const out = path.join(dir, "k.elf");
  const l = spawnSync("ld.lld", ["-m", "elf_i386", "--emit-relocs", "-Ttext=0x100000", "-o", out, ...objs], { encoding: "utf8" });
  expect(l.status, l.stderr).toBe(0);
  return out;
}

describe.skipIf(!hasClang)("a large ELF read lazily", () => {
  test("relocations and .debug_info stay unread until needed; answers, hash and bytes are the file's", () => {
    const file = build();
    const whole = new Uint8Array(fs.readFileSync(file));
    const lazy = readElfFile(file, { lazyFrom: 0, block: 16 });
    expect(lazy.elf).not.toBeNull();
    const elf = lazy.elf!;
    expect(lazy.sha256).toBe(sha256Hex(whole));
    const rels = elf.sections.filter((s) => s.type === SHT_REL && s.size > 0);
    expect(rels.length).toBeGreaterThan(0);
    const info = elf.section(".debug_info")!;
    // Unread: zeros, apart from the blocks (16 bytes here) the section shares with its neighbours.
    const zero = (lo: number, n: number) => lazy.bytes.subarray(lo + 16, lo + n - 16).every((b) => b === 0);
    expect(zero(info.offset, info.size)).toBe(true);

    // Through the index (as a vmlinux is loaded): only the units asked about are read.
    const index = DwarfIndex.build(DwarfSections.fromElf(new Elf32(whole)));
    const linked = DebugInfo.fromElf(whole);
    const di = DebugInfo.fromElf(elf, { index });
    expect(zero(info.offset, info.size)).toBe(true);
    expect(di.variable("counter")?.address).toBe(linked.variable("counter")?.address);
    expect(di.variable("pairs")?.type).toEqual(linked.variable("pairs")?.type);
    const bump = linked.functionNamed("bump")!;
    expect(di.functionAt(bump.entry + 2)?.function.name).toBe("bump");
    expect(di.sourceAt(bump.entry)).toEqual(linked.sourceAt(bump.entry));
    expect(zero(info.offset, info.size)).toBe(false);
    // b.c's unit (the second) was not needed yet; asking for its function reads it.
    const second = index.data.units[1];
    expect(index.data.units).toHaveLength(2);
    expect(zero(info.offset + second, info.size - second)).toBe(true);
    expect(di.functionNamed("twice")?.entry).toBe(linked.functionNamed("twice")?.entry);
    expect(zero(info.offset + second, info.size - second)).toBe(false);
    // The relocations were never read: they are not the DWARF.
    for (const r of rels) expect(zero(r.offset, r.size), r.name).toBe(true);

    lazy.fillAll();
    expect(Buffer.from(lazy.bytes).equals(Buffer.from(whole))).toBe(true);
  });

  test("a small file, or one that is not an ELF, is read whole", () => {
    const file = build();
    const small = readElfFile(file);
    expect(small.elf).toBeNull();
    expect(Buffer.from(small.bytes).equals(fs.readFileSync(file))).toBe(true);
    const text = path.join(tmpDir(), "System.map");
    fs.writeFileSync(text, "c1000000 T _text\n");
    const map = readElfFile(text, { lazyFrom: 0 });
    expect(map.elf).toBeNull();
    expect(Buffer.from(map.bytes).toString()).toBe("c1000000 T _text\n");
  });
});

/** Builds the IDE and UART test guests (guests/<name>.c with guest.ld) and the disk images the IDE tests attach. */
import { execFileSync, spawnSync } from "node:child_process";
import { join } from "node:path";

const here = new URL("./guests/", import.meta.url).pathname;
const has = (tool: string) => spawnSync(tool, ["--version"], { stdio: "ignore" }).status === 0;
export const canBuildGuests = has("clang") && has("ld.lld");
export const hasQemu = has("qemu-system-i386");

/** Compiles and links guests/<name>.c into `dir`; returns the ELF's path. */
export function buildCGuest(dir: string, name: string): string {
  const obj = join(dir, `${name}.o`);
  const elf = join(dir, `${name}.elf`);
  execFileSync("clang", ["--target=i386-pc-none-elf", "-m32", "-ffreestanding", "-fno-pic", "-fno-stack-protector",
    "-mno-sse", "-mno-mmx", "-O1", "-c", "-o", obj, join(here, `${name}.c`)]);
  execFileSync("ld.lld", ["-m", "elf_i386", "-T", join(here, "guest.ld"), "-o", elf, obj]);
  return elf;
}

/** A disk whose byte i of sector s is a fixed function of both, optionally with an MBR partition entry. */
export function patternImage(sectors: number, mbr?: { heads: number; sectorsPerTrack: number }): Uint8Array {
  const b = new Uint8Array(sectors * 512);
  for (let s = 0; s < sectors; s++) {
    for (let i = 0; i < 512; i++) b[s * 512 + i] = ((s * 31 + i * 7 + (i >> 8)) ^ (s >> 8)) & 0xff;
  }
  if (mbr) {
    const e = 0x1be;
    b.set([0x80, 1, 1, 0, 0x83, mbr.heads - 1, mbr.sectorsPerTrack, 0x20], e);
    new DataView(b.buffer).setUint32(e + 8, mbr.sectorsPerTrack, true);
    new DataView(b.buffer).setUint32(e + 12, sectors - mbr.sectorsPerTrack, true);
    b[510] = 0x55;
    b[511] = 0xaa;
  }
  return b;
}

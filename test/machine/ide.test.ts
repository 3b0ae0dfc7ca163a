/**
 * The IDE channels under a running guest (guests/ide.c): reset signatures, IDENTIFY, reads by LBA28
 * and CHS, READ/WRITE MULTIPLE, writes read back, aborted commands, nIEN and interrupt counts. The
 * guest's COM1 output must equal QEMU 7.2's byte for byte for the same disks (three drive layouts),
 * and the sector checksums it prints must match the image contents computed here.
 * Needs clang and ld.lld to build the guest; QEMU is compared when installed.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Machine } from "../../src/machine/machine.js";
import { DiskImage } from "../../src/machine/disk-image.js";

import { buildCGuest, canBuildC, hasQemu } from "./c-guests.js";
import { patternImage } from "./disk-pattern.js";

/** The guest's checksum: 32-bit FNV-1a over the 512 bytes. */
function fnv(bytes: Uint8Array): string {
  let h = 2166136261;
  for (const x of bytes) h = Math.imul(h ^ x, 16777619) >>> 0;
  return h.toString(16).padStart(8, "0");
}

let dir = "";
let elf = "";
const images: Record<string, string> = {};

function runTtd(cmdline: string, disks: (string | null)[]): string {
  const m = Machine.fromElf(new Uint8Array(readFileSync(elf)), {
    memoryMiB: 16, cmdline,
    disks: disks.map((p) => (p === null ? null : new DiskImage(p, new Uint8Array(readFileSync(p))))),
  });
  let out = "";
  m.onSerial = (b) => (out += String.fromCharCode(b));
  const r = m.run({ maxSteps: 100_000_000 });
  expect(r.reason).toBe("exit");
  expect(r.exitStatus).toBe(1);
  return out;
}

function runQemu(cmdline: string, drives: string[]): string {
  const q = spawnSync(
    "qemu-system-i386",
    ["-display", "none", "-no-reboot", "-net", "none", "-monitor", "none", "-serial", "stdio",
      "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-kernel", elf, "-append", cmdline, ...drives],
    { encoding: "latin1", timeout: 60_000 },
  );
  expect(q.status).toBe(1);
  return q.stdout;
}

const drive = (file: string, index: number) => ["-drive", `file=${file},format=raw,index=${index},snapshot=on`];

describe.skipIf(!canBuildC)("IDE disks under a running guest", () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "ttd-ide-"));
    elf = buildCGuest("ide");
    images.a = join(dir, "a.img");
    images.b = join(dir, "b.img");
    images.c = join(dir, "c.img");
    writeFileSync(images.a, patternImage(8192));
    writeFileSync(images.b, patternImage(2048, { heads: 4, sectorsPerTrack: 17 }));
    writeFileSync(images.c, patternImage(128));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("reads the image's sectors, writes into the overlay only, and reports QEMU's IDENTIFY data", () => {
    const hash = createHash("sha256").update(readFileSync(images.a)).digest("hex");
    const out = runTtd("0", [images.a]);
    const img = patternImage(8192);
    const sector = (n: number) => img.subarray(n * 512, (n + 1) * 512);
    expect(out).toContain(`read lba 0 x4: ${[0, 1, 2, 3].map((n) => fnv(sector(n))).join(" ")}\n`);
    expect(out).toContain(`read lba 100 x2 (32-bit): ${fnv(sector(100))} ${fnv(sector(101))}\n`);
    // CHS 1/2/5 with 16 heads and 63 sectors per track is LBA (1 * 16 + 2) * 63 + 4 = 1138.
    expect(out).toContain(`read chs 1/2/5 x3: ${[1138, 1139, 1140].map((n) => fnv(sector(n))).join(" ")}\n`);
    // Written sectors read back as written: word i of sector s is 0x1234 + s * 256 + i.
    const written = (seed: number, s: number) => {
      const b = new Uint8Array(512);
      for (let i = 0; i < 256; i++) {
        const w = (seed + s * 256 + i) & 0xffff;
        b[2 * i] = w & 0xff;
        b[2 * i + 1] = w >> 8;
      }
      return b;
    };
    expect(out).toContain(`write lba 20 x2: end st=50`);
    expect(out).toContain(`read back: ${fnv(written(0x1234, 0))} ${fnv(written(0x1234, 1))}\n`);
    expect(out).toContain(`read back: ${[fnv(sector(29)), ...[0, 1, 2, 3, 4, 5].map((s) => fnv(written(0x7700, s))), fnv(sector(36))].join(" ")}\n`);
    // IDENTIFY: serial "QM00001", model "QEMU HARDDISK" (ATA strings: first character in the high byte).
    expect(out).toContain("514d 3030 3030 3120 2020 2020");
    expect(out).toContain("5145 4d55 2048 4152 4444\n  w20: 4953 4b20");
    expect(out).toContain("read past end: st=41 er=04");
    expect(createHash("sha256").update(readFileSync(images.a)).digest("hex")).toBe(hash);
  });

  it("is deterministic: two runs print the same", () => {
    expect(runTtd("012", [images.a, images.b, images.c])).toBe(runTtd("012", [images.a, images.b, images.c]));
  });

  describe.skipIf(!hasQemu)("against QEMU", () => {
    it("primary master, primary slave with an MBR geometry, secondary master", () => {
      const ours = runTtd("012", [images.a, images.b, images.c]);
      expect(ours).toBe(runQemu("012", [...drive(images.a, 0), ...drive(images.b, 1), ...drive(images.c, 2)]));
    });
    it("a slave without a master", () => {
      expect(runTtd("1", [null, images.b])).toBe(runQemu("1", drive(images.b, 1)));
    });
    it("a master alone (-hda), the absent slave reading as zeros", () => {
      expect(runTtd("0", [images.a])).toBe(runQemu("0", ["-hda", images.a, "-snapshot"]));
    });
  });
});

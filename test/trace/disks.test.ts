/**
 * Disks in recordings: a run of the IDE guest (test/machine/guests/ide.c) that reads and writes its
 * disk is recorded; the trace must replay without the image file (it holds the image and the
 * overlay of written sectors), stateAt across keyframes must equal a fresh run (CPU, devices, RAM and
 * the disk overlay), the bundle must carry the disk, the image file must not change, and a trace
 * from before disks were recorded must still open.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash } from "node:crypto";
import { deflateRawSync, inflateRawSync } from "node:zlib";
import Database from "better-sqlite3";
import { beforeAll, describe, expect, test } from "vitest";
import { Machine } from "../../src/machine/machine.js";
import { DiskImage } from "../../src/machine/disk-image.js";
import { Recorder } from "../../src/trace/recorder.js";
import { Trace } from "../../src/trace/trace.js";
import { openRecording } from "../../src/bundle/open.js";
import { buildCGuest, canBuildC } from "../machine/c-guests.js";
import { patternImage } from "../machine/disk-pattern.js";
import { buildGuest, downgradeTrace, lcg, recordInline, requireBuiltCli, tmpDir, ttd } from "./helpers.js";

const MEM = 16;
const SECTORS = 8192;
const sha = (p: string) => createHash("sha256").update(fs.readFileSync(p)).digest("hex");

function overlayOf(m: Machine): string {
  const d = m.disks[0]!;
  return d.overlaySectors().map((s) => `${s}:${createHash("sha256").update(d.overlaySector(s)!).digest("hex")}`).join(",");
}

describe.skipIf(!canBuildC)("disks in recordings", () => {
  let dir = "";
  let elf = "";
  let image: Uint8Array;
  beforeAll(() => {
    dir = tmpDir();
    elf = buildCGuest("ide");
    image = new Uint8Array(fs.readFileSync(elf));
  });

  test("a disk run replays without the image file: stateAt across keyframes equals a fresh run", async () => {
    const imgPath = path.join(dir, "replay.img");
    fs.writeFileSync(imgPath, patternImage(SECTORS));
    const machine = Machine.fromElf(image, { memoryMiB: MEM, cmdline: "0", disks: [new DiskImage("replay.img", new Uint8Array(fs.readFileSync(imgPath)))] });
    let serial = "";
    const out = path.join(dir, "disk.trace");
    const result = await new Recorder(machine, {
      path: out, image, imageName: "ide.elf", chunkSteps: 4096, keyframeSteps: 65536,
      onSerial: (b) => (serial += String.fromCharCode(b)),
    }).run();
    expect(result.reason).toBe("exit");
    expect(serial).toContain("done\n");
    fs.rmSync(imgPath);

    const trace = Trace.open(out);
    try {
      expect(trace.output().map((o) => String.fromCharCode(o.byte)).join("")).toBe(serial);
      const end = trace.steps;
      const rand = lcg(13);
      const steps = new Set<number>([0, 65535, 65536, 65537, end - 1, end]);
      while (steps.size < 30) steps.add(Math.floor(rand() * end));
      const order = [...steps];
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [order[i], order[j]] = [order[j], order[i]];
      }
      const seen = new Map<number, { state: string; ram: Buffer; overlay: string }>();
      for (const s of order) {
        const st = trace.stateAt(s);
        seen.set(s, { state: JSON.stringify(st.machine.saveState()), ram: Buffer.from(st.machine.mem.u8), overlay: overlayOf(st.machine) });
      }
      const fresh = Machine.fromElf(image, { memoryMiB: MEM, cmdline: "0", disks: [new DiskImage("replay.img", patternImage(SECTORS))] });
      let written = 0;
      for (const s of [...steps].sort((a, b) => a - b)) {
        fresh.run({ maxSteps: s });
        expect(fresh.cpu.steps).toBe(s);
        const got = seen.get(s)!;
        expect(got.state, `state at step ${s}`).toBe(JSON.stringify(fresh.saveState()));
        expect(Buffer.compare(got.ram, Buffer.from(fresh.mem.u8.buffer)), `RAM at step ${s}`).toBe(0);
        expect(got.overlay, `disk overlay at step ${s}`).toBe(overlayOf(fresh));
        written = Math.max(written, fresh.disks[0]!.overlaySectors().length);
      }
      // The run wrote sectors 20-21, 30-35 and 40, so the overlay was exercised.
      expect(written).toBe(9);
    } finally {
      trace.close();
    }
  }, 300_000);

  test("ttd record --hda keeps the image unchanged, and the bundle replays the disk without it", () => {
    requireBuiltCli();
    const imgPath = path.join(dir, "cli.img");
    fs.writeFileSync(imgPath, patternImage(SECTORS));
    const before = sha(imgPath);
    const out = path.join(dir, "cli.trace");
    const r = ttd(["record", elf, "--cmdline", "0", "--hda", imgPath, "-o", out, "--no-progress"]);
    expect(r.stderr).toContain("stopped: exit");
    expect(r.stdout).toContain("write lba 20 x2: end st=50");
    expect(sha(imgPath)).toBe(before);
    const info = ttd(["info", out]);
    expect(info.stdout).toMatch(new RegExp(`disk 0: +cli\\.img, 4\\.0 MiB \\(sha256 ${before}\\)`));
    const bundle = path.join(dir, "cli.ttdb");
    const p = ttd(["pack", out, "-o", bundle]);
    expect(p.status, p.stderr).toBe(0);
    fs.rmSync(imgPath);
    fs.rmSync(out);
    const rec = openRecording(bundle, { cacheDir: path.join(dir, "cache") });
    try {
      const st = rec.trace.stateAt(rec.trace.steps);
      const disk = st.machine.disks[0]!;
      expect(disk.name).toBe("cli.img");
      expect(disk.overlaySectors()).toEqual([20, 21, 30, 31, 32, 33, 34, 35, 40]);
      // Word i of written sector s (of the WRITE SECTORS at 20) is 0x1234 + s * 256 + i.
      const s21 = disk.overlaySector(21)!;
      expect(s21[0] | (s21[1] << 8)).toBe(0x1234 + 256);
      // The image as the run started is in the trace, checked by SHA-256.
      expect(Buffer.compare(Buffer.from(disk.base), Buffer.from(patternImage(SECTORS)))).toBe(0);
    } finally {
      rec.close();
    }
  }, 300_000);

  test("--drive ...,snapshot=off writes the guest's sectors back to the image file", () => {
    requireBuiltCli();
    const imgPath = path.join(dir, "wb.img");
    fs.writeFileSync(imgPath, patternImage(SECTORS));
    const r = ttd(["run", elf, "--cmdline", "0", "--drive", `file=${imgPath},index=0,format=raw,snapshot=off`]);
    expect(r.stderr).toContain("stopped: exit");
    const after = new Uint8Array(fs.readFileSync(imgPath));
    const want = patternImage(SECTORS);
    expect(after[21 * 512] | (after[21 * 512 + 1] << 8)).toBe(0x1234 + 256);
    // Only the written sectors changed.
    for (const s of [20, 21, 30, 31, 32, 33, 34, 35, 40]) want.set(after.subarray(s * 512, (s + 1) * 512), s * 512);
    expect(Buffer.compare(Buffer.from(after), Buffer.from(want))).toBe(0);
  }, 120_000);

  test("a trace from before disks were recorded (no disk tables) still opens and replays", async () => {
    const rec = await recordInline(buildGuest("writes"), path.join(dir, "old.trace"), { memoryMiB: MEM, keyframeSteps: 4096, chunkSteps: 1024 });
    downgradeTrace(rec.path, 1);
    const db = new Database(rec.path);
    db.exec("DROP TABLE disk; DROP TABLE disk_chunk; DROP TABLE disk_sector;");
    db.close();
    const trace = Trace.open(rec.path);
    try {
      expect(trace.stateAt(trace.steps).step).toBe(trace.steps);
      expect(trace.stateAt(trace.steps).machine.disks.every((d) => d === null)).toBe(true);
    } finally {
      trace.close();
    }
  }, 120_000);
});

describe.skipIf(!canBuildC)("disks travel in the bundle", () => {
  test("packed, moved to another folder with the image deleted: the same reads and writes; a changed image is refused", async () => {
    requireBuiltCli();
    const dir = tmpDir();
    const elf = buildCGuest("ide");
    const imgPath = path.join(dir, "moved.img");
    fs.writeFileSync(imgPath, patternImage(SECTORS));
    const out = path.join(dir, "moved.trace");
    const r = ttd(["record", elf, "--cmdline", "0", "--hda", imgPath, "-o", out, "--no-progress"]);
    expect(r.stderr).toContain("stopped: exit");
    const portsOf = (trace: Trace) => trace.portIo(0x1f0, trace.startStep, trace.steps, { limit: 1_000_000 }).map((a) => `${a.step}:${a.direction === "out" ? "w" : "r"}:${a.value}`);
    const original = Trace.open(out);
    const ioBefore = portsOf(original);
    const overlayBefore = original.stateAt(original.steps).machine.disks[0]!.overlaySectors();
    original.close();
    expect(ioBefore.length).toBeGreaterThan(0);
    expect(ioBefore.some((a) => a.includes(":w:"))).toBe(true);

    const bundle = path.join(dir, "moved.ttdb");
    expect(ttd(["pack", out, "-o", bundle]).status).toBe(0);
    const elsewhere = tmpDir();
    fs.renameSync(bundle, path.join(elsewhere, "moved.ttdb"));
    fs.rmSync(imgPath);
    fs.rmSync(out);
    const rec = openRecording(path.join(elsewhere, "moved.ttdb"), { cacheDir: path.join(elsewhere, "cache") });
    try {
      expect(portsOf(rec.trace)).toEqual(ioBefore);
      expect(rec.trace.stateAt(rec.trace.steps).machine.disks[0]!.overlaySectors()).toEqual(overlayBefore);
    } finally {
      rec.close();
    }

    // The image stored in a trace is checked on replay: one changed byte is refused, naming the disk.
    const changed = path.join(dir, "changed.trace");
    expect(ttd(["record", elf, "--cmdline", "0", "--hda", (fs.writeFileSync(imgPath, patternImage(SECTORS)), imgPath), "-o", changed, "--no-progress"]).stderr).toContain("stopped: exit");
    const db = new Database(changed);
    const row = db.prepare("SELECT offset, data FROM disk_chunk WHERE drive = 0 ORDER BY offset LIMIT 1").get() as { offset: number; data: Buffer };
    const bytes = inflateRawSync(row.data);
    bytes[100] ^= 0xff;
    db.prepare("UPDATE disk_chunk SET data = ? WHERE drive = 0 AND offset = ?").run(deflateRawSync(bytes), row.offset);
    db.close();
    const refused = ttd(["print", "$eax", "--trace", changed, "--at", "end"]);
    expect(refused.status).toBe(2);
    expect(refused.stderr.trim().split("\n")).toHaveLength(1);
    expect(refused.stderr).toMatch(/changed\.trace: corrupt trace \((table disk_chunk fails its checksum|disk moved\.img does not match its SHA-256)\)/);
  }, 300_000);
});

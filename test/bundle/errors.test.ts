/**
 * Bundles are untrusted input: every kind of damage or hostility gets one clear line naming the file
 * and the problem, and nothing is written outside the cache folder.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { openRecording } from "../../src/bundle/open.js";
import { packRecording } from "../../src/bundle/pack.js";
import { BundleReader } from "../../src/bundle/reader.js";
import { BundleError } from "../../src/bundle/errors.js";
import { DEFAULT_LIMITS } from "../../src/bundle/format.js";
import { TraceError } from "../../src/trace/errors.js";
import { bombFrame, craftBundle, demoWorkspace, listFiles, recordKernel, tmpDir } from "./helpers.js";

let work: string;
let cache: string;
let good: string;
let goodBytes: Buffer;

beforeAll(async () => {
  work = tmpDir();
  cache = path.join(work, "cache");
  const ws = demoWorkspace("idle-fixed");
  try {
    const trace = path.join(ws.dir, "t.trace");
    await recordKernel(ws.elf, trace, ["ttd", "record", "src/kernel/build/idle-fixed.elf"]);
    const rec = openRecording(trace, { cwd: ws.dir });
    good = path.join(work, "good.ttdb");
    packRecording(rec, good);
    rec.close();
  } finally {
    fs.rmSync(ws.dir, { recursive: true, force: true });
  }
  goodBytes = fs.readFileSync(good);
});

afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

let n = 0;
/** A copy of the good bundle, changed by `edit`. */
function variant(edit: (b: Buffer) => Buffer): string {
  const p = path.join(work, `v${n++}.ttdb`);
  fs.writeFileSync(p, edit(Buffer.from(goodBytes)));
  return p;
}

/** The one-line error opening `file` gives (and checks its shape). */
function openError(file: string, options: Parameters<typeof openRecording>[1] = {}): string {
  try {
    openRecording(file, { cacheDir: cache, ...options }).close();
  } catch (e) {
    expect(e).toBeInstanceOf(TraceError);
    const msg = (e as Error).message;
    expect(msg.startsWith(`${file}`)).toBe(true);
    expect(msg).not.toContain("\n");
    return msg;
  }
  throw new Error(`${file} opened without error`);
}

function manifestOf(file: string) {
  const r = BundleReader.open(file, DEFAULT_LIMITS);
  try {
    return { header: r.header, manifest: r.manifest };
  } finally {
    r.close();
  }
}

describe("damage", () => {
  it("the good bundle opens", () => {
    const rec = openRecording(good, { cacheDir: cache });
    expect(rec.trace.steps).toBeGreaterThan(0);
    rec.close();
  });

  it("a changed byte in the trace names the trace entry", () => {
    const { manifest } = manifestOf(good);
    const t = manifest.entries.find((e) => e.role === "trace")!;
    const p = variant((b) => {
      b[t.offset + Math.floor(t.storedSize / 2)] ^= 0x40;
      return b;
    });
    expect(openError(p)).toBe(`${p}: damaged bundle: entry 'trace/trace.sqlite' fails its checksum`);
  });

  it("changed bytes in two entries name both", () => {
    const { manifest } = manifestOf(good);
    const idle = manifest.entries.find((e) => e.name === "sources/src/kernel/idle.c")!;
    const elf = manifest.entries.find((e) => e.role === "elf")!;
    const p = variant((b) => {
      b[idle.offset + idle.storedSize - 1] ^= 1;
      b[elf.offset + 20] ^= 1;
      return b;
    });
    expect(openError(p)).toBe(`${p}: damaged bundle: entries 'image/idle-fixed.elf', 'sources/src/kernel/idle.c' fail their checksum`);
  });

  it("a changed byte in the index, or in the header", () => {
    const { header } = manifestOf(good);
    const p1 = variant((b) => {
      b[header.manifestOffset + 5] ^= 0xff;
      return b;
    });
    expect(openError(p1)).toBe(`${p1}: damaged bundle (its index fails its checksum)`);
    const p2 = variant((b) => {
      b[20] ^= 0x01; // inside the index offset
      return b;
    });
    expect(openError(p2)).toBe(`${p2}: damaged bundle (header checksum mismatch)`);
  });

  it("truncation, at any point, and bytes appended", () => {
    const half = variant((b) => b.subarray(0, b.length >> 1));
    expect(openError(half)).toBe(`${half}: truncated bundle (${goodBytes.length >> 1} bytes, the header says ${goodBytes.length})`);
    const inHeader = variant((b) => b.subarray(0, 40));
    expect(openError(inHeader)).toBe(`${inHeader}: truncated bundle (the file ends inside its header)`);
    const oneShort = variant((b) => b.subarray(0, b.length - 1));
    expect(openError(oneShort)).toMatch(/: truncated bundle \(\d+ bytes, the header says \d+\)$/);
    const appended = variant((b) => Buffer.concat([b, Buffer.from("junk")]));
    expect(openError(appended)).toBe(`${appended}: damaged bundle (4 unexpected bytes after its index)`);
    const empty = variant(() => Buffer.alloc(0));
    expect(openError(empty)).toBe(`${empty}: empty file, not a ttd bundle`);
  });

  it("wrong magic", () => {
    const p = variant((b) => {
      b[1] = 0x58;
      return b;
    });
    expect(openError(p)).toBe(`${p}: not a ttd bundle (wrong magic bytes)`);
    const text = path.join(work, "notes.ttdb");
    fs.writeFileSync(text, "these are not the bytes you are looking for\n");
    expect(openError(text)).toBe(`${text}: not a ttd bundle (wrong magic bytes)`);
    // Without the .ttdb name, a file that is neither is reported as not a trace.
    const other = path.join(work, "notes.trace");
    fs.writeFileSync(other, "hello");
    expect(openError(other)).toMatch(/notes\.trace: not a ttd trace/);
    const missing = path.join(work, "nope.ttdb");
    expect(openError(missing)).toBe(`${missing}: no such file`);
  });

  it("a newer format version says so; an older one says why it cannot be read", () => {
    const newer = variant((b) => {
      b.writeUInt16LE(2, 8);
      return b;
    });
    expect(openError(newer)).toBe(`${newer}: bundle format version 2 is newer than this ttd reads (1 to 1); use a newer ttd`);
    const older = variant((b) => {
      b.writeUInt16LE(0, 8);
      return b;
    });
    expect(openError(older)).toMatch(new RegExp(`^${older.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: bundle format version 0 predates the oldest this ttd reads \\(1\\)`));
  });

  it("nothing is left in the cache by failed opens", () => {
    const bundles = path.join(cache, "bundles");
    for (const f of listFiles(bundles)) expect(f).not.toMatch(/^\.tmp-/);
  });
});

describe("hostile contents", () => {
  const traversal = ["../evil.c", "/tmp/evil.c", "sources\\..\\..\\evil.c", "sources/a\0b.c", "sources/../../evil.c", "C:/evil.c", "sources/./x.c", "sources//x.c", ".."];
  for (const name of traversal) {
    it(`refuses the stored name ${JSON.stringify(name)}`, () => {
      const dir = tmpDir();
      const file = path.join(dir, "evil.ttdb");
      const ownCache = path.join(dir, "cache");
      craftBundle(file, [
        { name: "trace/trace.sqlite", role: "trace", content: Buffer.from("x") },
        { name: "image/k.elf", role: "elf", content: Buffer.from("y") },
        { name, role: "source", content: Buffer.from("int evil;\n") },
      ]);
      try {
        expect(openError(file, { cacheDir: ownCache })).toMatch(new RegExp(`: unsafe name in bundle: .* \\((absolute path|'\\.\\.' path component|'\\.' path component|contains a backslash|contains a NUL character|drive letter|empty path component)\\)$`));
        // Nothing was extracted anywhere: not in the cache, not beside the bundle, not in its parent.
        expect(listFiles(ownCache)).toEqual([]);
        expect(listFiles(dir)).toEqual(["evil.ttdb"]);
        expect(fs.existsSync(path.join(path.dirname(dir), "evil.c"))).toBe(false);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it("refuses names that differ only in case (they would collide when extracted)", () => {
    const file = path.join(work, "case.ttdb");
    craftBundle(file, [
      { name: "trace/trace.sqlite", role: "trace", content: Buffer.from("x") },
      { name: "image/k.elf", role: "elf", content: Buffer.from("y") },
      { name: "sources/A.c", role: "source", content: Buffer.from("1") },
      { name: "sources/a.c", role: "source", content: Buffer.from("2") },
    ]);
    expect(openError(file)).toBe(`${file}: damaged bundle index (entry 'sources/a.c' appears twice)`);
  });

  it("refuses a decompression bomb as soon as a frame produces more than it declares", () => {
    const dir = tmpDir();
    const file = path.join(dir, "bomb.ttdb");
    const ownCache = path.join(dir, "cache");
    try {
      // 1 KiB declared, 256 MiB of zeros inside (a few hundred bytes compressed).
      craftBundle(file, [
        { name: "trace/trace.sqlite", role: "trace", stored: bombFrame(1024, 256 << 20), size: 1024 },
        { name: "image/k.elf", role: "elf", content: Buffer.from("y") },
      ]);
      expect(fs.statSync(file).size).toBeLessThan(4096);
      const t0 = Date.now();
      expect(openError(file, { cacheDir: ownCache })).toBe(
        `${file}: refused: entry 'trace/trace.sqlite': a frame decompresses to more than the 1024 bytes it declares (a decompression bomb)`,
      );
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(listFiles(ownCache)).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses declared sizes over the limits before decompressing anything", () => {
    const { manifest } = manifestOf(good);
    const t = manifest.entries.find((e) => e.role === "trace")!;
    expect(openError(good, { limits: { maxTraceBytes: 1000 } })).toBe(
      `${good}: refused: entry 'trace/trace.sqlite' declares ${t.size} bytes, more than the 1000 allowed for a trace file`,
    );
    expect(openError(good, { limits: { maxTotalBytes: t.size } })).toMatch(/: refused: its entries declare more than \d+ bytes in all$/);
    const file = path.join(work, "huge.ttdb");
    craftBundle(file, [
      { name: "trace/trace.sqlite", role: "trace", stored: bombFrame(4 << 20, 4 << 20), size: 2 ** 50 },
      { name: "image/k.elf", role: "elf", content: Buffer.from("y") },
    ]);
    expect(openError(file)).toBe(`${file}: refused: entry 'trace/trace.sqlite' declares ${2 ** 50} bytes, more than the ${DEFAULT_LIMITS.maxTraceBytes} allowed for a trace file`);
  });

  it("refuses frames that hold more than the entry declares", () => {
    const file = path.join(work, "long.ttdb");
    craftBundle(file, [
      { name: "trace/trace.sqlite", role: "trace", stored: Buffer.concat([bombFrame(100, 100), bombFrame(100, 100)]), size: 150 },
      { name: "image/k.elf", role: "elf", content: Buffer.from("y") },
    ]);
    expect(openError(file)).toBe(`${file}: refused: entry 'trace/trace.sqlite': its frames hold more than the 150 bytes the index declares`);
  });

  it("an index with a field of the wrong kind names the field", () => {
    const file = path.join(work, "field.ttdb");
    craftBundle(
      file,
      [
        { name: "trace/trace.sqlite", role: "trace", content: Buffer.from("x") },
        { name: "image/k.elf", role: "elf", content: Buffer.from("y") },
      ],
      (m) => {
        (m.entries[1] as unknown as { size: number }).size = -1;
      },
    );
    expect(openError(file)).toBe(`${file}: damaged bundle index ('entries[1].size' is not an integer >= 0)`);
    const file2 = path.join(work, "ref.ttdb");
    craftBundle(
      file2,
      [
        { name: "trace/trace.sqlite", role: "trace", content: Buffer.from("x") },
        { name: "image/k.elf", role: "elf", content: Buffer.from("y") },
      ],
      (m) => {
        m.trace.entry = "image/k.elf";
      },
    );
    expect(openError(file2)).toBe(`${file2}: damaged bundle index ('trace.entry' names "image/k.elf", an elf entry, not a trace entry)`);
  });

  it("a bundle whose trace is not a trace says so, naming the bundle", () => {
    const file = path.join(work, "nottrace.ttdb");
    craftBundle(file, [
      { name: "trace/trace.sqlite", role: "trace", content: Buffer.from("definitely not SQLite, but long enough to have a header of sorts".repeat(4)) },
      { name: "image/k.elf", role: "elf", content: Buffer.from("y") },
    ]);
    const msg = openError(file);
    expect(msg).toBe(`${file} (its trace): not a ttd trace (not an SQLite database)`);
    expect(msg).not.toContain(cache);
  });

  it("errors are BundleErrors (TraceErrors, so the CLI exits with status 2)", () => {
    const p = variant((b) => b.subarray(0, 10));
    try {
      openRecording(p, { cacheDir: cache });
    } catch (e) {
      expect(e).toBeInstanceOf(BundleError);
      expect(e).toBeInstanceOf(TraceError);
      return;
    }
    throw new Error("no error");
  });
});

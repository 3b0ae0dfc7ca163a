/**
 * Pack a recording, move the bundle away, delete everything it came from (trace, ELF, sources), and
 * query it: symbols, the why-write chain and source lines must be exactly as before.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { openRecording, type Recording } from "../../src/bundle/open.js";
import { packRecording } from "../../src/bundle/pack.js";
import { looksLikeBundle } from "../../src/bundle/reader.js";
import { demoWorkspace, ERROR_SLOT_OFFSET, listFiles, recordKernel, tmpDir } from "./helpers.js";

interface Answer {
  step: number;
  cause: string;
  newValue: number;
  symbol: string;
  file: string;
  line: number;
  text: string | null;
}

/** The last two writes to the idle TCB's registers[Error] before the end, with their source lines. */
function errorSlotChain(rec: Recording): Answer[] {
  const symbols = rec.symbols!;
  const slot = symbols.variable("ksIdleThreadTCB")!.address! + ERROR_SLOT_OFFSET;
  const out: Answer[] = [];
  let before = rec.trace.steps;
  for (let i = 0; i < 2; i++) {
    const w = rec.trace.lastWrite({ address: slot, size: 4 }, before);
    if (w === null) break;
    const loc = symbols.sourceAt(w.eip)!;
    out.push({ step: w.step, cause: w.cause, newValue: w.newValue, symbol: symbols.symbolize(w.eip), file: loc.file, line: loc.line, text: rec.sources.line(loc.file, loc.line) });
    before = w.step;
  }
  return out;
}

describe("pack, move, delete the originals, query", () => {
  let ws: { dir: string; elf: string };
  let away: string;
  let cache: string;
  let bundlePath: string;
  let before: Answer[];
  let idleSource: readonly string[];
  let plainFiles: readonly string[];

  beforeAll(async () => {
    ws = demoWorkspace("idle-bug");
    away = tmpDir();
    cache = tmpDir("ttd-bundle-cache-");
    const trace = path.join(ws.dir, "idle-bug.trace");
    // The command line a user in the workspace would have typed; sources are found near the ELF.
    await recordKernel(ws.elf, trace, ["ttd", "record", "src/kernel/build/idle-bug.elf", "-o", "idle-bug.trace"]);
    const rec = openRecording(trace, { cwd: ws.dir });
    try {
      expect(rec.kind).toBe("trace");
      before = errorSlotChain(rec);
      plainFiles = rec.sources.files;
      expect(rec.sources.missing).toEqual([]);
      idleSource = rec.sources.lines("src/kernel/idle.c")!;
      const packed = path.join(ws.dir, "bug.ttdb");
      const r = packRecording(rec, packed, { note: "idle push, see registers[Error]" });
      expect(r.missing).toEqual([]);
      expect(r.sources.count).toBe(plainFiles.length);
      expect(r.fileBytes).toBe(fs.statSync(packed).size);
      // Move the bundle away and delete everything it was made from.
      bundlePath = path.join(away, "moved.ttdb");
      fs.renameSync(packed, bundlePath);
    } finally {
      rec.close();
    }
    fs.rmSync(ws.dir, { recursive: true, force: true });
  });

  afterAll(() => {
    fs.rmSync(away, { recursive: true, force: true });
    fs.rmSync(cache, { recursive: true, force: true });
  });

  it("the plain trace answers the chain with source lines (the reference)", () => {
    expect(before.length).toBe(2);
    // The #GP frame push, then the timer interrupt that put the idle EIP into registers[Error].
    expect(before[0].cause).toBe("interrupt-frame");
    expect(before[1].cause).toBe("interrupt-frame");
    expect(before[1].symbol).toMatch(/^idle_thread\+0x[0-9a-f]+$/);
    expect(before[1].file).toBe("src/kernel/idle.c");
    expect(before[1].text).not.toBeNull();
    expect(before[1].text).toBe(idleSource[before[1].line - 1]);
  });

  it("the bundle, alone, gives the same answers, symbols and source lines", () => {
    expect(fs.existsSync(ws.dir)).toBe(false);
    expect(looksLikeBundle(bundlePath)).toBe(true);
    const rec = openRecording(bundlePath, { cacheDir: cache });
    try {
      expect(rec.kind).toBe("bundle");
      expect(rec.symbols).not.toBeNull();
      expect(rec.symbolsProblem).toBeNull();
      expect(errorSlotChain(rec)).toEqual(before);
      expect(rec.sources.files).toEqual(plainFiles);
      expect(rec.sources.missing).toEqual([]);
      expect(rec.sources.lines("src/kernel/idle.c")).toEqual(idleSource);
      // Trailing components name a file when they are unambiguous.
      expect(rec.sources.lines("idle.c")).toEqual(idleSource);
      expect(rec.sources.get("src/kernel/idle.c")!.origin).toBe("bundle");
      expect(rec.sources.get("src/kernel/idle.c")!.stale).toBe(false);
      const b = rec.bundle!;
      expect(b.note).toBe("idle push, see registers[Error]");
      expect(b.recording.steps).toBe(rec.trace.steps);
      expect(b.recording.commandLine).toEqual(["ttd", "record", "src/kernel/build/idle-bug.elf", "-o", "idle-bug.trace"]);
      expect(b.recording.image.sha256).toBe(rec.image.sha256);
      expect(b.missingSources).toEqual([]);
      expect(b.extractedTo.startsWith(cache)).toBe(true);
      expect(rec.trace.info().image.sha256).toBe(rec.image.sha256);
    } finally {
      rec.close();
    }
  });

  it("opening again reuses the extracted copy; a damaged copy is extracted afresh", () => {
    const r1 = openRecording(bundlePath, { cacheDir: cache });
    const dir = r1.bundle!.extractedTo;
    r1.close();
    const tracePath = path.join(dir, "trace/trace.sqlite");
    const mtime = fs.statSync(tracePath).mtimeMs;
    const r2 = openRecording(bundlePath, { cacheDir: cache });
    expect(r2.bundle!.extractedTo).toBe(dir);
    expect(fs.statSync(tracePath).mtimeMs).toBe(mtime);
    r2.close();
    // Someone truncates a file in the cache: the next open notices and extracts again.
    fs.truncateSync(path.join(dir, "sources/src/kernel/idle.c"), 10);
    const r3 = openRecording(bundlePath, { cacheDir: cache });
    try {
      expect(r3.sources.lines("src/kernel/idle.c")).toEqual(idleSource);
    } finally {
      r3.close();
    }
    // Only the cache folder was written to.
    expect(listFiles(away)).toEqual(["moved.ttdb"]);
  });

  it("a bundle repacks into a bundle with the same contents", () => {
    const rec = openRecording(bundlePath, { cacheDir: cache });
    const again = path.join(away, "again.ttdb");
    try {
      const r = packRecording(rec, again, { note: "repacked" });
      expect(r.missing).toEqual([]);
    } finally {
      rec.close();
    }
    const rec2 = openRecording(again, { cacheDir: cache });
    try {
      expect(errorSlotChain(rec2)).toEqual(before);
      expect(rec2.bundle!.note).toBe("repacked");
    } finally {
      rec2.close();
      fs.rmSync(again);
    }
  });
});

describe("sources not found when packing", () => {
  it("are listed as missing, and the rest still answer", async () => {
    const ws = demoWorkspace("idle-fixed");
    const cache = tmpDir("ttd-bundle-cache-");
    try {
      fs.rmSync(path.join(ws.dir, "src/kernel/serial.c"));
      const trace = path.join(ws.dir, "fixed.trace");
      await recordKernel(ws.elf, trace, ["ttd", "record", "src/kernel/build/idle-fixed.elf"]);
      const rec = openRecording(trace, { cwd: ws.dir });
      expect(rec.sources.missing).toEqual(["src/kernel/serial.c"]);
      expect(rec.sources.whyMissing("src/kernel/serial.c")).toMatch(/not found on disk \(looked for .*serial\.c/);
      const out = path.join(ws.dir, "fixed.ttdb");
      const r = packRecording(rec, out);
      rec.close();
      expect(r.missing).toEqual(["src/kernel/serial.c"]);
      const again = openRecording(trace, { cwd: ws.dir });
      try {
        expect(() => packRecording(again, out)).toThrow(/fixed\.ttdb: already exists; use --force/);
      } finally {
        again.close();
      }
      const b = openRecording(out, { cacheDir: cache });
      try {
        expect(b.bundle!.missingSources).toEqual(["src/kernel/serial.c"]);
        expect(b.sources.missing).toEqual(["src/kernel/serial.c"]);
        expect(b.sources.get("src/kernel/serial.c")).toBeNull();
        expect(b.sources.whyMissing("serial.c")).toBe("it was not found when the bundle was packed");
        expect(b.sources.line("src/kernel/idle.c", 1)).toBe("/*");
      } finally {
        b.close();
      }
    } finally {
      fs.rmSync(ws.dir, { recursive: true, force: true });
      fs.rmSync(cache, { recursive: true, force: true });
    }
  });

  it("--source-dir finds files by their trailing path components", async () => {
    const ws = demoWorkspace("idle-fixed");
    try {
      // The sources moved to an unrelated folder, flattened; the trace knows nothing of it.
      const elsewhere = path.join(ws.dir, "elsewhere");
      fs.renameSync(path.join(ws.dir, "src/kernel"), elsewhere);
      const trace = path.join(ws.dir, "t.trace");
      await recordKernel(path.join(elsewhere, "build/idle-fixed.elf"), trace, ["ttd", "record", "/nonexistent/idle-fixed.elf"]);
      const without = openRecording(trace, { cwd: ws.dir });
      expect(without.sources.missing.length).toBe(without.sources.files.length);
      without.close();
      const rec = openRecording(trace, { cwd: ws.dir, sourceDirs: [elsewhere] });
      try {
        expect(rec.sources.missing).toEqual([]);
        expect(rec.sources.get("src/kernel/idle.c")!.location).toBe(path.join(elsewhere, "idle.c"));
      } finally {
        rec.close();
      }
    } finally {
      fs.rmSync(ws.dir, { recursive: true, force: true });
    }
  });
});

describe("the symbols note travels in the bundle", () => {
  it("a recording whose symbols were slid by KASLR keeps saying so once packed; others say nothing", () => {
    const repo = path.resolve(import.meta.dirname, "../..");
    const dir = tmpDir();
    const cache = tmpDir("ttd-bundle-cache-");
    try {
      const demo = openRecording(path.join(repo, "traces/idle-bug.ttdb"), { cacheDir: cache });
      const note = "the kernel was moved by KASLR by +0x4000000; symbols slid";
      try {
        expect(demo.symbolsNote).toBeNull();
        // The note a Linux recording opened with its System.map carries (bundle/open.ts systemMapImage).
        packRecording({ ...demo, symbolsNote: note }, path.join(dir, "slid.ttdb"));
        packRecording(demo, path.join(dir, "plain.ttdb"));
      } finally {
        demo.close();
      }
      for (const [name, expected] of [["slid.ttdb", note], ["plain.ttdb", null]] as const) {
        const b = openRecording(path.join(dir, name), { cacheDir: cache });
        try {
          expect(b.symbolsNote).toBe(expected);
          expect(b.bundle!.entries.some((e) => e.role === "elf")).toBe(true);
        } finally {
          b.close();
        }
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      fs.rmSync(cache, { recursive: true, force: true });
    }
  });
});

/** Bookmarks: in a side table of a plain trace, in the manifest of a bundle, carried over by pack. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import Database from "better-sqlite3";
import { openRecording } from "../../src/bundle/open.js";
import { packRecording } from "../../src/bundle/pack.js";
import { BOOKMARK_TABLE, readBookmarks, writeBookmarks } from "../../src/bundle/bookmarks.js";
import { Trace } from "../../src/trace/trace.js";
import { demoWorkspace, recordKernel, tmpDir } from "./helpers.js";

let ws: { dir: string; elf: string };
let trace: string;
let cache: string;
/** Steps inside the recording, whatever its length. */
let mid: number;
let late: number;

beforeAll(async () => {
  ws = demoWorkspace("idle-bug");
  trace = path.join(ws.dir, "b.trace");
  cache = path.join(ws.dir, "cache");
  await recordKernel(ws.elf, trace, ["ttd", "record", "src/kernel/build/idle-bug.elf"]);
  const t = Trace.open(trace);
  mid = t.steps >> 1;
  late = t.steps - 1;
  t.close();
});

afterAll(() => {
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

describe("plain trace", () => {
  it("starts with none; set, replace, remove; the trace still opens and verifies", () => {
    const rec = openRecording(trace, { cwd: ws.dir });
    try {
      expect(rec.bookmarks()).toEqual([]);
      rec.setBookmark({ name: "late", step: mid });
      rec.setBookmark({ name: "early", step: 10, note: "boot" });
      expect(rec.bookmarks().map((b) => [b.name, b.step])).toEqual([["early", 10], ["late", mid]]);
      rec.setBookmark({ name: "late", step: late });
      expect(rec.bookmarks().map((b) => [b.name, b.step])).toEqual([["early", 10], ["late", late]]);
      expect(rec.bookmarks()[0].note).toBe("boot");
      expect(rec.removeBookmark("nope")).toBe(false);
      expect(rec.removeBookmark("late")).toBe(true);
      expect(readBookmarks(trace).map((b) => b.name)).toEqual(["early"]);
      expect(() => rec.setBookmark({ name: "x", step: rec.trace.steps + 1 })).toThrow(/bookmark 'x': step \d+ is out of range \(the trace covers steps 0 to \d+\)/);
      expect(() => rec.setBookmark({ name: " ", step: 1 })).toThrow(/a bookmark needs a name/);
    } finally {
      rec.close();
    }
    // Kept in the trace file: a side table the trace reader ignores.
    const db = new Database(trace, { readonly: true });
    expect(db.prepare(`SELECT name, step FROM ${BOOKMARK_TABLE}`).all()).toEqual([{ name: "early", step: 10 }]);
    db.close();
    const t = Trace.open(trace, { verify: true });
    expect(t.steps).toBe(late + 1);
    t.close();
  });
});

describe("bundle", () => {
  let bundle: string;

  beforeAll(() => {
    writeBookmarks(trace, [{ name: "early", step: 10, note: "boot" }, { name: "gp", step: late }]);
    const rec = openRecording(trace, { cwd: ws.dir });
    bundle = path.join(ws.dir, "b.ttdb");
    packRecording(rec, bundle);
    rec.close();
  });

  it("pack moves the trace's bookmarks into the manifest and drops the side table", () => {
    const rec = openRecording(bundle, { cacheDir: cache });
    try {
      expect(rec.bookmarks().map((b) => [b.name, b.step, b.note])).toEqual([["early", 10, "boot"], ["gp", late, undefined]]);
      const db = new Database(rec.trace.path, { readonly: true });
      const has = db.prepare("SELECT name FROM sqlite_schema WHERE name = ?").get(BOOKMARK_TABLE);
      db.close();
      expect(has).toBeUndefined();
    } finally {
      rec.close();
    }
  });

  it("setting one rewrites the bundle, keeps its extracted copy, and other opens see it", () => {
    const rec = openRecording(bundle, { cacheDir: cache });
    const dir = rec.bundle!.extractedTo;
    const size0 = fs.statSync(bundle).size;
    try {
      rec.setBookmark({ name: "idle-push", step: mid, note: "timer frame lands one slot low" });
      expect(rec.bookmarks().map((b) => b.name)).toEqual(["early", "idle-push", "gp"]);
      expect(rec.removeBookmark("early")).toBe(true);
      expect(() => rec.setBookmark({ name: "far", step: 10 ** 9 })).toThrow(/out of range/);
    } finally {
      rec.close();
    }
    expect(Math.abs(fs.statSync(bundle).size - size0)).toBeLessThan(200);
    expect(readBookmarks(bundle).map((b) => [b.name, b.step])).toEqual([["idle-push", mid], ["gp", late]]);
    const again = openRecording(bundle, { cacheDir: cache });
    try {
      expect(again.bundle!.extractedTo).toBe(dir);
      expect(again.bookmarks().map((b) => b.name)).toEqual(["idle-push", "gp"]);
      expect(again.bookmarks()[0].note).toBe("timer frame lands one slot low");
    } finally {
      again.close();
    }
    // No temporary files left beside it.
    expect(fs.readdirSync(ws.dir).filter((f) => f.includes(".tmp"))).toEqual([]);
  });

  it("writeBookmarks on a bundle checks names and steps", () => {
    expect(() => writeBookmarks(bundle, [{ name: "a", step: 1 }, { name: "a", step: 2 }])).toThrow(/bookmark 'a' is given twice/);
    expect(() => writeBookmarks(bundle, [{ name: "a", step: 10 ** 9 }])).toThrow(new RegExp(`${path.basename(bundle)}: bookmark 'a': step 1000000000 is out of range`));
    expect(readBookmarks(bundle).length).toBe(2);
  });
});

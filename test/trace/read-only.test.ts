/**
 * Read commands never change what they read, and `ttd info` says what it is looking at: a trace
 * still being recorded, one whose recorder was killed (read with its -wal file as it is), or a
 * bundle (its own name, its note, not the cache copy's path).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import { canBuildGuests, kernel, requireBuiltCli, tmpDir, ttd, startLong, ttdSpawn } from "./helpers.js";

beforeAll(() => requireBuiltCli());

function stopped(child: ReturnType<typeof ttdSpawn>): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.on("close", () => resolve());
  });
}

describe.skipIf(!canBuildGuests)("live and killed recordings", () => {
  /** The recording of the first test, killed at its end: the second reads it. */
  let out = "";

  test("info on a recording in progress says it is still being recorded, by which process", async () => {
    const dir = tmpDir();
    out = path.join(dir, "live.trace");
    const child = await startLong(out);
    try {
      const live = ttd(["info", out]);
      expect(live.status, live.stderr).toBe(0);
      expect(live.stdout).toMatch(new RegExp(`ended: +not yet: still being recorded \\(process ${child.pid}\\)`));
      expect(live.stdout).not.toMatch(/killed/);
      const j = JSON.parse(ttd(["info", out, "--json"]).stdout) as { complete: boolean; recording: { pid: number } | null };
      expect(j.complete).toBe(false);
      expect(j.recording).toEqual({ pid: child.pid });
    } finally {
      child.kill("SIGKILL");
      await stopped(child);
    }
  }, 120_000);

  test("after kill -9: incomplete, and read commands change neither the trace nor its -wal file", () => {
    expect(fs.existsSync(out + "-wal")).toBe(true);
    const before = { main: fs.readFileSync(out), wal: fs.readFileSync(out + "-wal") };
    const killed = ttd(["info", out]);
    expect(killed.status, killed.stderr).toBe(0);
    expect(killed.stdout).toMatch(/ended: +incomplete: the recording stopped without finalizing \(killed\?\)/);
    expect(ttd(["log", out, "--count", "2"]).status).toBe(0);
    // Read commands read the -wal file where it is: neither file changed, the log is still there.
    const unchanged = () => {
      expect(fs.existsSync(out + "-wal")).toBe(true);
      expect(Buffer.compare(fs.readFileSync(out), before.main)).toBe(0);
      expect(Buffer.compare(fs.readFileSync(out + "-wal"), before.wal)).toBe(0);
    };
    unchanged();
    expect(ttd(["info", out, "--verify"]).status).toBe(0);
    unchanged();
  }, 120_000);
});

describe("info on a bundle", () => {
  test("names the bundle and shows its note, never the cache copy", () => {
    const dir = tmpDir();
    const trace = path.join(dir, "idle.trace");
    expect(ttd(["record", kernel("idle-bug.elf"), "-o", trace]).status).toBe(35);
    const bundle = path.join(dir, "idle.ttdb");
    const note = "the idle thread's push %ebp shifts the timer frame";
    const packed = ttd(["pack", trace, "-o", bundle, "--note", note], { cwd: dir });
    expect(packed.status, packed.stderr).toBe(0);
    const cache = path.join(dir, "cache");
    process.env.TTD_CACHE_DIR = cache;
    try {
      const r = ttd(["info", bundle]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^bundle: +${bundle.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} \\(packed by ttd`, "m"));
      expect(r.stdout).toMatch(new RegExp(`^note: +${note.replace(/[.*+?^${}()|[\]\\%]/g, "\\$&")}$`, "m"));
      expect(r.stdout).not.toContain(cache);
      expect(r.stdout).not.toMatch(/^trace:/m);
      const j = JSON.parse(ttd(["info", bundle, "--json"]).stdout) as { path: string; kind: string; bundle: { note: string } | null; fileBytes: number };
      expect(j.path).toBe(bundle);
      expect(j.kind).toBe("bundle");
      expect(j.bundle?.note).toBe(note);
      expect(j.fileBytes).toBe(fs.statSync(bundle).size);
      expect(JSON.stringify(j)).not.toContain(cache);
    } finally {
      delete process.env.TTD_CACHE_DIR;
    }
  }, 120_000);
});

/**
 * Sources named by a path that only existed on the build machine (the probe guests' line tables say
 * /work/steering/probe/probe.c or the like) are found next to the ELF the trace was recorded from.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { openRecording } from "../../src/bundle/open.js";
import { candidatePaths } from "../../src/bundle/sources.js";
import { recordKernel, REPO, tmpDir } from "./helpers.js";

const PROBE_DIR = process.env.TTD_PROBE_DIR ?? path.resolve(REPO, "../shared/bench/probe");

describe("candidatePaths", () => {
  it("tries the trailing parts of a path in the ELF's folders, longest first, after the path itself", () => {
    const c = candidatePaths("/build/x/probe.c", { sourceDirs: [], bases: ["/here"], imageDirs: ["/elf"] });
    expect(c).toEqual(["/build/x/probe.c", "/elf/build/x/probe.c", "/elf/x/probe.c", "/elf/probe.c"]);
    const r = candidatePaths("src/a.c", { sourceDirs: [], bases: ["/here"], imageDirs: ["/elf"] });
    expect(r).toEqual(["/here/src/a.c", "/elf/a.c"]);
    // Trailing parts holding '..' are skipped: nothing is looked for outside the ELF's folder.
    expect(candidatePaths("a/../../x.c", { sourceDirs: [], bases: [], imageDirs: ["/elf/k"] })).toEqual(["/elf/k/x.c"]);
  });
});

describe("a probe recorded from a folder holding its source", () => {
  let dir: string;
  let trace: string;
  let sourcePath: string;
  beforeAll(async () => {
    dir = tmpDir();
    fs.copyFileSync(path.join(PROBE_DIR, "probe-r1.elf"), path.join(dir, "probe-r1.elf"));
    fs.copyFileSync(path.join(PROBE_DIR, "probe.c"), path.join(dir, "probe.c"));
    trace = path.join(dir, "p.trace");
    await recordKernel(path.join(dir, "probe-r1.elf"), trace, ["ttd", "record", path.join(dir, "probe-r1.elf"), "-o", trace]);
  }, 120_000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("shows probe.c from next to the ELF, though the line table names another folder", () => {
    const rec = openRecording(trace, { cwd: "/" });
    try {
      const named = rec.sources.files.find((f) => f.endsWith("/probe.c"));
      expect(named, rec.sources.files.join(", ")).toBeDefined();
      sourcePath = named!;
      expect(fs.existsSync(sourcePath)).toBe(false);
      const file = rec.sources.get(sourcePath)!;
      expect(file).not.toBeNull();
      expect(file.location).toBe(path.join(dir, "probe.c"));
      expect(file.text).toBe(fs.readFileSync(path.join(PROBE_DIR, "probe.c"), "utf8"));
    } finally {
      rec.close();
    }
  });

  it("and says it is missing once that copy is gone", () => {
    fs.rmSync(path.join(dir, "probe.c"));
    const rec = openRecording(trace, { cwd: "/" });
    try {
      expect(rec.sources.get(sourcePath)).toBeNull();
      expect(rec.sources.whyMissing(sourcePath)).toContain(path.join(dir, "probe.c"));
    } finally {
      rec.close();
    }
  });
});

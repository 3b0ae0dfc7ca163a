/**
 * Sources named by a path that only existed on the build machine (the workload guests' line tables
 * say /ttd-build/workload/workload.c) are found next to the ELF the trace was recorded from.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { openRecording } from "../../src/bundle/open.js";
import { candidatePaths } from "../../src/bundle/sources.js";
import { WORKLOAD_BUILD_PATH, WORKLOAD_SOURCE, workload } from "../guests.js";
import { recordKernel, tmpDir } from "./helpers.js";

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

describe("a workload guest recorded from a folder holding its source", () => {
  let dir: string;
  let trace: string;
  let sourcePath: string;
  beforeAll(async () => {
    dir = tmpDir();
    const elf = path.join(dir, "workload-r1.elf");
    fs.copyFileSync(workload("workload-r1.elf"), elf);
    fs.copyFileSync(WORKLOAD_SOURCE, path.join(dir, "workload.c"));
    trace = path.join(dir, "w.trace");
    await recordKernel(elf, trace, ["ttd", "record", elf, "-o", trace]);
  }, 120_000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("shows workload.c from next to the ELF, though the line table names another folder", () => {
    const rec = openRecording(trace, { cwd: "/" });
    try {
      const named = rec.sources.files.find((f) => f.endsWith("/workload.c"));
      expect(named, rec.sources.files.join(", ")).toBe(`${WORKLOAD_BUILD_PATH}/workload.c`);
      sourcePath = named!;
      expect(fs.existsSync(sourcePath)).toBe(false);
      const file = rec.sources.get(sourcePath)!;
      expect(file).not.toBeNull();
      expect(file.location).toBe(path.join(dir, "workload.c"));
      expect(file.text).toBe(fs.readFileSync(WORKLOAD_SOURCE, "utf8"));
      // The line table's MD5 of workload.c matches the copy: it is the source the image was built from.
      expect(file.stale).toBe(false);
    } finally {
      rec.close();
    }
  });

  it("and says it is missing once that copy is gone", () => {
    fs.rmSync(path.join(dir, "workload.c"));
    const rec = openRecording(trace, { cwd: "/" });
    try {
      expect(rec.sources.get(sourcePath)).toBeNull();
      expect(rec.sources.whyMissing(sourcePath)).toContain(path.join(dir, "workload.c"));
    } finally {
      rec.close();
    }
  });
});

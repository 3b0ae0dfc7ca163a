/**
 * The kernel image `ttd gdbserver` writes for gdb comes from an untrusted recording: its stored
 * checksum and name must never steer where the file goes, a link planted in the temporary folder must
 * never be followed, and a trace whose image row lies about itself is refused before anything is
 * written.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import Database from "better-sqlite3";
import { imageFileFor } from "../../src/gdb/open.js";
import { Trace } from "../../src/trace/trace.js";
import { TraceError } from "../../src/trace/errors.js";
import { BUG_ELF, recordDemo, REPO, tmpDir } from "./helpers.js";

const CLI = path.join(REPO, "dist/cli/main.js");

let dir: string;
let good: string;
const image = new Uint8Array(fs.readFileSync(BUG_ELF));

beforeAll(async () => {
  dir = tmpDir();
  good = await recordDemo(dir);
});

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** A copy of the demo trace with its image row changed by `sql`. */
function craftedTrace(name: string, sql: string): string {
  const p = path.join(dir, name);
  fs.copyFileSync(good, p);
  const db = new Database(p);
  db.exec(sql);
  db.close();
  return p;
}

/** Every file and folder under `d`. */
function tree(d: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(d, { withFileTypes: true, recursive: true })) out.push(path.join(e.parentPath ?? e.path, e.name));
  return out.sort();
}

describe("the image file for gdb", () => {
  it("goes into a fresh private folder whatever the recording's checksum and name say", () => {
    const parent = fs.mkdtempSync(path.join(dir, "tmp-"));
    const out = imageFileFor({ name: "../../../escaped.elf", sha256: "../../../../escaped", data: image }, parent);
    try {
      expect(path.dirname(path.dirname(out.path))).toBe(parent);
      expect(path.basename(out.path)).not.toContain("..");
      expect(fs.statSync(path.dirname(out.path)).mode & 0o777).toBe(0o700);
      expect(new Uint8Array(fs.readFileSync(out.path))).toEqual(image);
      // Nothing named after the hostile values exists anywhere near.
      expect(fs.existsSync(path.join(dir, "escaped"))).toBe(false);
      expect(fs.existsSync(path.join(path.dirname(dir), "escaped.elf"))).toBe(false);
      expect(tree(parent)).toEqual([path.dirname(out.path), out.path]);
    } finally {
      out.remove();
    }
    expect(tree(parent)).toEqual([]);
  });

  it("never follows a link planted where an earlier ttd put its images", () => {
    const parent = fs.mkdtempSync(path.join(dir, "tmp-"));
    const victim = fs.mkdtempSync(path.join(dir, "victim-"));
    const sha = "0123456789abcdef".repeat(4);
    // The old layout: <tmp>/ttd-gdb/<sha256 prefix>/<name>, and the folder itself.
    fs.symlinkSync(victim, path.join(parent, "ttd-gdb"));
    fs.symlinkSync(victim, path.join(parent, sha.slice(0, 16)));
    const out = imageFileFor({ name: "idle-bug.elf", sha256: sha, data: image }, parent);
    try {
      expect(fs.readdirSync(victim)).toEqual([]);
      expect(fs.lstatSync(path.dirname(out.path)).isDirectory()).toBe(true);
      expect(fs.realpathSync(out.path).startsWith(fs.realpathSync(parent) + path.sep)).toBe(true);
    } finally {
      out.remove();
    }
  });

  it("a trace whose stored image checksum is not a SHA-256 is refused on open", () => {
    const p = craftedTrace("hostile-sha.trace", "UPDATE image SET sha256 = '../../../../../../tmp/ttd-escape'");
    expect(() => Trace.open(p).close()).toThrow(TraceError);
    expect(() => Trace.open(p).close()).toThrow(/image/);
  });

  it("ttd gdbserver on such a trace: one line, status 2, nothing written", () => {
    const p = craftedTrace("hostile-cli.trace", "UPDATE image SET sha256 = '../../escape-" + "a".repeat(40) + "'");
    const tmp = fs.mkdtempSync(path.join(dir, "cli-tmp-"));
    const r = spawnSync(process.execPath, [CLI, "gdbserver", p, "--once"], { cwd: dir, env: { ...process.env, TMPDIR: tmp }, encoding: "utf8", timeout: 30_000 });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain(p);
    expect(tree(tmp)).toEqual([]);
  });
});

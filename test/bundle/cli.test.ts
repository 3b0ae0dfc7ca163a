/** `ttd pack` through commander as main.ts wires it: output, and bad input as a UsageError (exit 2). */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { Command } from "commander";
import { registerPack } from "../../src/cli/pack.js";
import { UsageError } from "../../src/cli/errors.js";
import { openRecording } from "../../src/bundle/open.js";
import { demoWorkspace, recordKernel, tmpDir } from "./helpers.js";

let ws: { dir: string; elf: string };
let trace: string;

beforeAll(async () => {
  ws = demoWorkspace("idle-fixed");
  trace = path.join(ws.dir, "f.trace");
  await recordKernel(ws.elf, trace, ["ttd", "record", "src/kernel/build/idle-fixed.elf"]);
});

afterAll(() => {
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

async function pack(args: string[]): Promise<{ stdout: string; stderr: string }> {
  const program = new Command().exitOverride();
  registerPack(program);
  let stdout = "";
  let stderr = "";
  const out = vi.spyOn(process.stdout, "write").mockImplementation((s: string | Uint8Array) => ((stdout += String(s)), true));
  const err = vi.spyOn(process.stderr, "write").mockImplementation((s: string | Uint8Array) => ((stderr += String(s)), true));
  try {
    await program.parseAsync(["node", "ttd", "pack", ...args]);
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  return { stdout, stderr };
}

describe("ttd pack", () => {
  it("packs, reports sizes, and refuses to overwrite without --force", async () => {
    const out = path.join(ws.dir, "f.ttdb");
    const r = await pack([trace, "-o", out, "--note", "fixed run", "--source-dir", ws.dir]);
    expect(r.stdout).toMatch(/^packed .*f\.trace into .*f\.ttdb: \d+(\.\d)? KiB\n/);
    expect(r.stdout).toMatch(/ {2}sources {4}10 files, /);
    expect(r.stdout).toMatch(/ {2}note {7}fixed run\n/);
    // Where the packed sources were read from, for a look before sharing.
    expect(r.stdout).toContain(`  from       ${path.join(ws.dir, "src/kernel")}\n`);
    expect(r.stderr).toBe("");
    await expect(pack([trace, "-o", out])).rejects.toThrow(UsageError);
    await expect(pack([trace, "-o", out])).rejects.toThrow(/f\.ttdb: already exists; use --force to overwrite it/);
    await pack([trace, "-o", out, "--force"]);
    const rec = openRecording(out, { cacheDir: path.join(ws.dir, "cache") });
    expect(rec.bundle!.note).toBeNull();
    rec.close();
  });

  it("names missing sources on stderr", async () => {
    // A folder with no sources anywhere near it, and the command run from there: the recorded ELF path
    // (relative) leads nowhere either.
    const lonely = tmpDir("ttd-bundle-lonely-");
    const cwd = process.cwd();
    try {
      const copy = path.join(lonely, "f.trace");
      fs.copyFileSync(trace, copy);
      process.chdir(lonely);
      const r = await pack(["f.trace", "--json"]);
      const j = JSON.parse(r.stdout) as { path: string; missing: string[]; sources: { count: number } };
      expect(j.path).toBe("f.ttdb");
      expect(fs.existsSync(path.join(lonely, "f.ttdb"))).toBe(true);
      expect(j.sources.count).toBe(0);
      expect(j.missing.length).toBe(10);
      expect(r.stderr).toMatch(/^ttd: warning: source files not found, packed as missing \(add --source-dir\): src\/kernel\/boot\.S, /);
      // Given the folder, they are found by their trailing components.
      const r2 = await pack(["f.trace", "-o", "g.ttdb", "--json", "--source-dir", path.join(ws.dir, "src/kernel")]);
      expect((JSON.parse(r2.stdout) as { missing: string[] }).missing).toEqual([]);
    } finally {
      process.chdir(cwd);
      fs.rmSync(lonely, { recursive: true, force: true });
    }
  });

  it("bad input is a UsageError naming the file", async () => {
    const nope = path.join(ws.dir, "nope.trace");
    await expect(pack([nope, "-o", path.join(ws.dir, "x.ttdb")])).rejects.toThrow(`${nope}: no such file`);
    const bad = path.join(ws.dir, "bad.ttdb");
    fs.writeFileSync(bad, "nope");
    await expect(pack([bad, "-o", path.join(ws.dir, "y.ttdb")])).rejects.toThrow(`${bad}: not a ttd bundle (wrong magic bytes)`);
    await expect(pack([trace, "-o", path.join(ws.dir, "no/such/dir/z.ttdb")])).rejects.toThrow(/z\.ttdb: no such folder/);
  });
});

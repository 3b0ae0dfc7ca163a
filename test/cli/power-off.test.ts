// A guest that powers off through ACPI, as a user runs it: `ttd run` exits 0 with the stop reason
// power-off, and a recording of it says so in `ttd info`'s end-of-run line.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { buildGuest, canBuild } from "../machine/firmware-guests.js";
import { testTmpDir } from "../tmp-dirs.js";

const here = dirname(fileURLToPath(import.meta.url));
const CLI = join(resolve(here, "..", ".."), "dist", "cli", "main.js");

function ttd(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe.skipIf(!canBuild)("power off from the command line", () => {
  it("ttd run exits 0; ttd record exits 0 and ttd info reports power-off", () => {
    const elf = buildGuest("poweroff");
    const run = ttd("run", elf, "--json");
    expect(run.status).toBe(0);
    expect(run.stdout).toContain("powering off\n");
    const summary = JSON.parse(run.stderr.trim().split("\n").pop()!);
    expect(summary.reason).toBe("power-off");
    const trace = join(testTmpDir("ttd-poweroff-"), "off.trace");
    const rec = ttd("record", elf, "-o", trace);
    expect(rec.status, rec.stderr).toBe(0);
    const info = ttd("info", trace);
    expect(info.status, info.stderr).toBe(0);
    expect(info.stdout).toMatch(/ended:\s+power-off \(guest powered off through ACPI PM1a control \(SLP_TYP 0, SLP_EN\) at port 0x604\)/);
  });
});

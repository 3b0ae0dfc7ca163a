/**
 * The text screen on the command line: `ttd run` and `ttd record` print it at the end when the guest
 * wrote to VGA text memory (and only then, unless --screen), --no-screen suppresses
 * it, and `ttd screen` shows it at any step of a recording, as text or JSON.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCGuest, canBuildC } from "../machine/c-guests.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const CLI = join(ROOT, "dist", "cli", "main.js");

function ttd(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const HEAD = "--- VGA text screen at the end of the run (80x25, cursor at row 6, column 8) ---";

describe.skipIf(!canBuildC)("the screen on the command line", () => {
  let dir: string;
  let vga: string;
  let serialOnly: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "ttd-screen-"));
    vga = buildCGuest("vga-text");
    serialOnly = buildCGuest("keyboard-a20");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("ttd run prints the screen after the serial output when the guest wrote to it", () => {
    const r = ttd("run", vga);
    expect(r.status).toBe(1);
    const [serial, screen] = r.stdout.split(HEAD + "\n");
    expect(serial).toMatch(/^crtc: 0e 0f 00 00 01 97\n[^]*screen fnv1a=[0-9a-f]{8}\n$/);
    const rows = screen.split("\n");
    expect(rows[0]).toBe("Hello from the VGA text screen");
    expect(rows[1]).toBe("    second line, attribute 0x4e");
    expect(rows[3]).toBe("╔══╗ ☺ ▒█");
    expect(rows[24]).toBe(" ".repeat(70) + "bottom row");
    expect(rows[25]).toBe("-".repeat(HEAD.length));
  });

  it("--no-screen prints the serial output alone", () => {
    const plain = ttd("run", vga, "--no-screen");
    expect(plain.status).toBe(1);
    expect(plain.stdout).not.toContain("VGA text screen");
    expect(plain.stdout).toMatch(/^crtc: [^]*screen fnv1a=[0-9a-f]{8}\n$/);
  });

  it("a guest that never wrote to the screen prints nothing new, unless --screen asks", () => {
    const r = ttd("run", serialOnly);
    expect(r.status).toBe(1);
    expect(r.stdout).not.toContain("VGA text screen");
    // A flag without a value: it may stand before the kernel.
    const forced = ttd("run", "--screen", serialOnly);
    expect(forced.stdout.startsWith(r.stdout)).toBe(true);
    expect(forced.stdout.slice(r.stdout.length)).toMatch(/^--- VGA text screen at the end of the run \(80x25, cursor at row 1, column 1\) ---\n\n-+\n$/);
  });

  it("ttd record keeps the screen: ttd screen shows it at any step, as text or JSON", () => {
    const trace = join(dir, "vga.trace");
    const rec = ttd("record", vga, "-o", trace, "--no-progress");
    expect(rec.status).toBe(1);
    expect(rec.stdout).toContain(HEAD);
    expect(existsSync(trace)).toBe(true);
    const end = ttd("screen", trace);
    expect(end.status).toBe(0);
    expect(end.stdout).toContain("Hello from the VGA text screen");
    expect(end.stdout).toMatch(/^--- VGA text screen at step \d+ \(80x25, cursor at row 6, column 8\) ---\n/);
    const start = ttd("screen", trace, "--at", "0");
    // A blank screen: the (empty) cursor row only.
    const head0 = "--- VGA text screen at step 0 (80x25, cursor at row 1, column 1) ---";
    expect(start.stdout).toBe(`${head0}\n\n${"-".repeat(head0.length)}\n`);
    const json = JSON.parse(ttd("screen", trace, "--json").stdout);
    expect(json.cursor).toEqual({ row: 5, column: 7 });
    expect(json.lines[0]).toBe("Hello from the VGA text screen");
    expect(json.attributes[0].slice(0, 4)).toBe("1f1f");
    const bad = ttd("screen", trace, "--at", "99999999");
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("step out of range");
  });
});

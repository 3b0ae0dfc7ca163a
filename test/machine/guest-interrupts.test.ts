/**
 * The devices inside the real machine: a small multiboot guest (guests/irq.S) takes PIT, UART and
 * local APIC timer interrupts while halted, and must print the same summary and exit status as it
 * does under QEMU. Needs clang and ld.lld to build the guest; QEMU is compared when installed.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Machine } from "../../src/machine/machine.js";
import { pitTickOfClock } from "../../src/machine/pit.js";
import { assembleGuest, canAssembleGuests } from "../guests/assemble.js";

const here = new URL("./guests/", import.meta.url).pathname;
const has = (tool: string) => spawnSync(tool, ["--version"], { stdio: "ignore" }).status === 0;
const hasQemu = has("qemu-system-i386");
const EXPECTED = "pit=5 apic=5 uart=1 cur=Y latch=Y\n";

let dir = "";
let elfPath = "";

function run(image: Uint8Array): { out: string; result: ReturnType<Machine["run"]>; now: number } {
  const m = Machine.fromElf(image, { memoryMiB: 16 });
  let out = "";
  m.onSerial = (b) => (out += String.fromCharCode(b));
  const result = m.run({ maxSteps: 1_000_000 });
  return { out, result, now: m.now() };
}

describe.skipIf(!canAssembleGuests)("devices under a running guest", () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "ttd-guest-"));
    elfPath = assembleGuest(join(here, "irq.S"), join(here, "guest.ld"), dir);
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("delivers PIT, UART and APIC timer interrupts and skips idle time deterministically", () => {
    const image = new Uint8Array(readFileSync(elfPath));
    const a = run(image);
    expect(a.out).toBe(EXPECTED);
    expect(a.result.reason).toBe("exit");
    expect(a.result.exitStatus).toBe(1);
    // Five PIT periods of 11932 clocks and five 1 ms APIC periods went by in virtual time.
    expect(a.now).toBeGreaterThanOrEqual(5 * pitTickOfClock(11932) + 5 * 1_000_000);
    const b = run(image);
    expect(b.result.steps).toBe(a.result.steps);
    expect(b.now).toBe(a.now);
  });

  it.skipIf(!hasQemu)("matches QEMU's output and exit status", () => {
    const q = spawnSync(
      "qemu-system-i386",
      ["-kernel", elfPath, "-serial", "stdio", "-display", "none", "-monitor", "none", "-no-reboot",
        "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"],
      { encoding: "utf8", timeout: 60_000 },
    );
    expect(q.stdout).toBe(EXPECTED);
    expect(q.status).toBe(1);
  });
});

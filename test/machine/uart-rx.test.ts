/**
 * The UART's receive side under a running guest (guests/uart-rx.c): bytes injected with
 * `machine.uart.receive()` at fixed steps are taken by the guest's interrupt handler (received-data
 * interrupt at the FIFO trigger level, character timeout for the rest) and echoed. The output must
 * equal QEMU 7.2's when the same bytes arrive on its serial input, and two runs must be identical.
 * Needs clang and ld.lld to build the guest; QEMU is compared when installed.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Machine } from "../../src/machine/machine.js";
import { buildCGuest, canBuildC, hasQemu } from "./c-guests.js";

const INPUT = ["hello\n", "World 42\n", "ab", "c\n", "q"];
const EXPECTED = "ready\nHELLO\n[1]\nWORLD 42\n[2]\nABC\n[3]\n\nbytes=20 lines=3 overruns=0 irq=yes\n";

let dir = "";
let elf = "";

/** Runs the guest, injecting burst i of INPUT at step (i + 1) * 200,000 (or when the guest halts waiting before it). */
function runTtd(): { out: string; steps: number } {
  const m = Machine.fromElf(new Uint8Array(readFileSync(elf)), { memoryMiB: 16 });
  let out = "";
  m.onSerial = (b) => (out += String.fromCharCode(b));
  INPUT.forEach((text, i) => {
    const r = m.run({ maxSteps: (i + 1) * 200_000 });
    expect(["max-steps", "halt"]).toContain(r.reason);
    for (const c of text) m.uart.receive(c.charCodeAt(0));
  });
  const r = m.run({ maxSteps: 5_000_000 });
  expect(r.reason).toBe("exit");
  expect(r.exitStatus).toBe(1);
  return { out, steps: r.steps };
}

describe.skipIf(!canBuildC)("UART input under a running guest", () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "ttd-uart-"));
    elf = buildCGuest("uart-rx");
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("echoes injected bytes through the received-data and timeout interrupts, deterministically", () => {
    const a = runTtd();
    expect(a.out).toBe(EXPECTED);
    const b = runTtd();
    expect(b).toEqual(a);
  });

  it.skipIf(!hasQemu)("prints what QEMU prints for the same input", async () => {
    const q = spawn("qemu-system-i386", ["-display", "none", "-no-reboot", "-net", "none", "-monitor", "none", "-serial", "stdio",
      "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-kernel", elf], { stdio: ["pipe", "pipe", "inherit"] });
    let out = "";
    let sent = false;
    const status = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => q.kill(), 60_000);
      q.stdout.on("data", (d: Buffer) => {
        out += d.toString("latin1");
        // Send only once the guest has set up its UART (a reset of the FIFO would drop earlier bytes).
        if (!sent && out.includes("ready\n")) {
          sent = true;
          q.stdin.write(INPUT.join(""));
        }
      });
      q.on("exit", (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
    expect(status).toBe(1);
    expect(out).toBe(EXPECTED);
    expect(runTtd().out).toBe(out);
  }, 90_000);
});

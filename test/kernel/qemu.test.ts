/**
 * Both images under QEMU: the demo's behaviour must come from the hardware semantics,
 * not from ttd's emulator. The serial output is compared with test/kernel/expected/,
 * which ttd's own emulator tests use as well.
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import {
  EXPECTED_EXIT_VALUE,
  compareSerial,
  imagePath,
  parseKernelException,
  qemuExitStatus,
  readExpected,
  type KernelImage,
} from "./serial-expect.js";
import { KERNEL_OFFSET, bytesAt, loadImage, symbol } from "./elf-util.js";

const QEMU = "qemu-system-i386";
const hasQemu = !spawnSync(QEMU, ["--version"], { stdio: "ignore" }).error;
const QEMU_TIMEOUT_MS = 60_000;

function runQemu(image: KernelImage): { status: number | null; output: string } {
  const args = [
    "-display", "none", "-no-reboot", "-net", "none", "-monitor", "none", "-serial", "stdio",
    "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-kernel", imagePath(image),
  ];
  const r = spawnSync(QEMU, args, {
    encoding: "latin1",
    stdio: ["ignore", "pipe", "pipe"],
    timeout: QEMU_TIMEOUT_MS,
    killSignal: "SIGKILL",
  });
  if (r.error) throw new Error(`${QEMU} ${image}: ${r.error.message}; output so far:\n${r.stdout}`);
  return { status: r.status, output: r.stdout };
}

const title = hasQemu ? "under QEMU" : `under QEMU (SKIPPED: ${QEMU} not installed; apt-get install qemu-system-x86)`;

describe.skipIf(!hasQemu)(title, () => {
  it("idle-bug.elf dies with seL4's #GP report on the first idle timer interrupt", () => {
    const { status, output } = runQemu("idle-bug");
    const cmp = compareSerial(readExpected("idle-bug"), output);
    expect(cmp.ok, `${cmp.message}\n--- output ---\n${output}`).toBe(true);
    expect(status).toBe(qemuExitStatus(EXPECTED_EXIT_VALUE["idle-bug"]));

    // The figures must mean what the seL4 report meant, not just repeat the expected file.
    const report = parseKernelException(output)!;
    const elf = loadImage("idle-bug");
    const restore = symbol(elf, "restore_user_context");
    const idleRegisters = symbol(elf, "ksIdleThreadTCB").value + 0x400 + 0x200; // tcb_t at +0x400, registers at +0x200
    expect(report.vector).toBe(0xd);
    expect(report.errCode).toBe(0x200);
    expect(report.ip).toBeGreaterThanOrEqual(restore.value);
    expect(report.ip).toBeLessThan(restore.value + restore.size);
    expect(bytesAt(elf, report.ip, 1)[0], "IP is not an iret").toBe(0xcf);
    expect(report.sp).toBe(idleRegisters + 10 * 4); // &registers[NextIP]
    expect(report.cr0).toBe(0x8001003b);
    expect(report.cr2).toBe(0);
    expect(report.cr3).toBe(symbol(elf, "ia32KSGlobalPD").value - KERNEL_OFFSET);
    expect(report.cr4).toBe(0x290);
    expect(report.stack).toHaveLength(20);
    report.stack.forEach((w, i) => expect(w.address).toBe(report.sp + 4 * i));
    expect(report.stack.slice(0, 8).map((w) => w.value)).toEqual([0x8, 0x202, 0x0, 0x0, 0x10, 0x0, 0x0, 0x7]);
    expect(report.entryReason).toBe("Interrupt, irq 157");
  });

  it("idle-fixed.elf runs its IPC rounds through >= 100 idle timer interrupts and ends ALL OK", () => {
    const { status, output } = runQemu("idle-fixed");
    const cmp = compareSerial(readExpected("idle-fixed"), output);
    expect(cmp.ok, `${cmp.message}\n--- output ---\n${output}`).toBe(true);
    expect(status).toBe(qemuExitStatus(EXPECTED_EXIT_VALUE["idle-fixed"]));
    const lines = output.trimEnd().split("\n");
    expect(lines[lines.length - 1]).toMatch(/^ALL OK/);
    expect(cmp.numbers).toHaveLength(1);
    expect(cmp.numbers[0]).toBeGreaterThanOrEqual(100);
  });
});

/**
 * Expected serial output of the demo kernel images, shared by every test that runs them
 * (QEMU here, ttd's own emulator elsewhere), so all runners are held to one expectation.
 *
 * The files in test/kernel/expected/ are the exact bytes COM1 must produce, except that
 * `{n}` stands for a decimal figure that depends on timer timing (how many ticks happened
 * to land while the idle thread ran).
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

export const REPO_ROOT = join(here, "..", "..");
export const KERNEL_SOURCE_DIR = join(REPO_ROOT, "src", "kernel");
export const KERNEL_BUILD_DIR = join(KERNEL_SOURCE_DIR, "build");
export const EXPECTED_DIR = join(here, "expected");

export type KernelImage = "idle-bug" | "idle-fixed";
export const KERNEL_IMAGES: readonly KernelImage[] = ["idle-bug", "idle-fixed"];

/** Placeholder for a timer-dependent decimal number in an expected file. */
export const NUMBER_PLACEHOLDER = "{n}";

/** Values the kernels write to the isa-debug-exit port (src/kernel/config.h). */
export const EXIT_VALUE = { allOk: 0x10, kernelException: 0x11, failed: 0x12 } as const;
/** The value each image must end with. */
export const EXPECTED_EXIT_VALUE: Record<KernelImage, number> = {
  "idle-bug": EXIT_VALUE.kernelException,
  "idle-fixed": EXIT_VALUE.allOk,
};
/** QEMU's isa-debug-exit turns a written value v into the process exit status (v << 1) | 1. */
export function qemuExitStatus(value: number): number {
  return (value << 1) | 1;
}

export function imagePath(image: KernelImage): string {
  return join(KERNEL_BUILD_DIR, `${image}.elf`);
}

export function readExpected(image: KernelImage): string {
  return readFileSync(join(EXPECTED_DIR, `${image}.serial.txt`), "latin1");
}

function lineMatcher(expectedLine: string): RegExp {
  const parts = expectedLine.split(NUMBER_PLACEHOLDER).map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${parts.join("(\\d+)")}$`);
}

export interface SerialComparison {
  ok: boolean;
  /** The first difference, as one readable line; empty when ok. */
  message: string;
  /** The numbers that matched `{n}` placeholders, in order. */
  numbers: number[];
}

/** Compares a run's serial output with an expected file, line by line. */
export function compareSerial(expected: string, actual: string): SerialComparison {
  const want = expected.split("\n");
  const got = actual.split("\n");
  const numbers: number[] = [];
  for (let i = 0; i < Math.max(want.length, got.length); i++) {
    if (i >= want.length) {
      return { ok: false, message: `line ${i + 1}: unexpected extra output ${JSON.stringify(got[i])}`, numbers };
    }
    if (i >= got.length) {
      return { ok: false, message: `line ${i + 1}: output ended, expected ${JSON.stringify(want[i])}`, numbers };
    }
    const m = lineMatcher(want[i]).exec(got[i]);
    if (!m) {
      return {
        ok: false,
        message: `line ${i + 1}: expected ${JSON.stringify(want[i])}, got ${JSON.stringify(got[i])}`,
        numbers,
      };
    }
    for (const n of m.slice(1)) numbers.push(Number(n));
  }
  return { ok: true, message: "", numbers };
}

/** The fields of seL4's kernel exception report, parsed from serial output. */
export interface KernelExceptionReport {
  vector: number;
  errCode: number;
  ip: number;
  sp: number;
  flags: number;
  cr0: number;
  cr2: number;
  cr3: number;
  cr4: number;
  stack: { address: number; value: number }[];
  entryReason: string;
}

/** Parses the exception report, or returns undefined when the output has none. */
export function parseKernelException(output: string): KernelExceptionReport | undefined {
  const start = output.indexOf("\n========== KERNEL EXCEPTION ==========\n");
  if (start < 0) return undefined;
  const text = output.slice(start);
  const field = (label: string): number => {
    const m = new RegExp(`^${label}:\\s+0x([0-9a-f]+)`, "m").exec(text);
    if (!m) throw new Error(`kernel exception report has no ${label} line`);
    return parseInt(m[1], 16);
  };
  const stack = [...text.matchAll(/^\*0x([0-9a-f]+) == 0x([0-9a-f]+)$/gm)].map((m) => ({
    address: parseInt(m[1], 16),
    value: parseInt(m[2], 16),
  }));
  const reason = /^Kernel entry via (.*)$/m.exec(text);
  return {
    vector: field("Vector"),
    errCode: field("ErrCode"),
    ip: field("IP"),
    sp: field("SP"),
    flags: field("FLAGS"),
    cr0: field("CR0"),
    cr2: field("CR2"),
    cr3: field("CR3"),
    cr4: field("CR4"),
    stack,
    entryReason: reason ? reason[1] : "",
  };
}

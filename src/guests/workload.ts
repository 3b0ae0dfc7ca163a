/**
 * The workload guests (src/guests/workload): where the committed images are and what each one does,
 * defined once for the benchmarks and the tests. The figures are measured: `ttd run` and QEMU print
 * the same line, exit with the same status and run the same number of instructions (the tests in
 * test/guests/ and test/lockstep/ check them; src/guests/workload/README.md shows them).
 */
import * as path from "node:path";

export type WorkloadImage =
  | "workload-r1.elf"
  | "workload-r10.elf"
  | "workload-r30.elf"
  | "workload-r300.elf"
  | "workload-r1000.elf"
  | "workload-pg-r10.elf"
  | "workload-fpu-r10.elf";

export interface WorkloadRun {
  /** Rounds of the compute loop. */
  rounds: number;
  /** Built with 4 KiB paging on (identity map of the first 16 MiB). */
  paging: boolean;
  /** The floating-point workload (fpu.c: x87 arithmetic) instead of the integer one. */
  fpu?: true;
  /** The one line the guest prints on COM1, without its newline. */
  serial: string;
  /** Steps under ttd from the entry to the isa-debug-exit write (QEMU runs as many instructions). */
  steps: number;
}

export const WORKLOAD: Readonly<Record<WorkloadImage, WorkloadRun>> = {
  "workload-r1.elf": { rounds: 1, paging: false, serial: "workload rounds=1 sum=3d8f096d ok", steps: 3_436_898 },
  "workload-r10.elf": { rounds: 10, paging: false, serial: "workload rounds=10 sum=7d3997be ok", steps: 34_364_135 },
  "workload-r30.elf": { rounds: 30, paging: false, serial: "workload rounds=30 sum=8d33ac26 ok", steps: 103_091_275 },
  "workload-r300.elf": { rounds: 300, paging: false, serial: "workload rounds=300 sum=47d34432 ok", steps: 1_030_907_689 },
  "workload-r1000.elf": { rounds: 1000, paging: false, serial: "workload rounds=1000 sum=41c16b4e ok", steps: 3_436_357_613 },
  "workload-pg-r10.elf": { rounds: 10, paging: true, serial: "workload rounds=10 paging sum=7d3997be ok", steps: 34_384_776 },
  "workload-fpu-r10.elf": { rounds: 10, paging: false, fpu: true, serial: "fpu rounds=10 iterations=560750 pi=400921e11d614242 ok", steps: 15_735_191 },
};

export const WORKLOAD_IMAGES = Object.keys(WORKLOAD) as WorkloadImage[];

/** The value the guest writes to isa-debug-exit when its self-checks pass. */
export const WORKLOAD_EXIT_VALUE = 0x10;
/** The exit status of QEMU and `ttd run` for that value: (value << 1) | 1. */
export const WORKLOAD_EXIT_STATUS = (WORKLOAD_EXIT_VALUE << 1) | 1;

/** The folder the guests' DWARF names as their build folder: it exists on no user's machine. */
export const WORKLOAD_BUILD_PATH = "/ttd-build/workload";

/** The committed images' folder in a checkout whose root is `repoRoot`. */
export function workloadBuildDir(repoRoot: string): string {
  return path.join(repoRoot, "src", "guests", "workload", "build");
}

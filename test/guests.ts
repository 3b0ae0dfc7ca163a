/**
 * The workload guests the suites run (src/guests/workload): where they are and what each one does,
 * defined once for every suite. The figures were measured with `ttd run` and match QEMU's
 * (test/guests/workload.test.ts checks both, and that src/guests/workload/README.md agrees).
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const REPO = fileURLToPath(new URL("..", import.meta.url));

/** The guests' sources and build script. */
export const WORKLOAD_DIR = join(REPO, "src", "guests", "workload");
/** The committed images. */
export const WORKLOAD_BUILD_DIR = join(WORKLOAD_DIR, "build");
/** The C file of the compute workload (the line tables name it /ttd-build/workload/workload.c). */
export const WORKLOAD_SOURCE = join(WORKLOAD_DIR, "workload.c");
/** The folder the guests' DWARF names: it exists on no machine, as for a kernel built elsewhere. */
export const WORKLOAD_BUILD_PATH = "/ttd-build/workload";

/** The path of a committed image, e.g. workload("workload-r1.elf"). */
export function workload(image: WorkloadImage): string {
  return join(WORKLOAD_BUILD_DIR, image);
}

export interface WorkloadRun {
  /** The one line the guest prints on COM1 (without its newline). */
  serial: string;
  /** Steps under ttd from the entry to the isa-debug-exit write, equal to QEMU's instruction count. */
  steps: number;
  /** Rounds of the compute loop. */
  rounds: number;
  paging: boolean;
}

/** The value the guest writes to isa-debug-exit when its self-checks pass; QEMU and ttd exit with (v << 1) | 1. */
export const WORKLOAD_EXIT_VALUE = 0x10;
export const WORKLOAD_EXIT_STATUS = (WORKLOAD_EXIT_VALUE << 1) | 1;

export const WORKLOAD: Record<WorkloadImage, WorkloadRun> = {
  "workload-r1.elf": { rounds: 1, paging: false, serial: "workload rounds=1 sum=3d8f096d ok", steps: 3_436_898 },
  "workload-r10.elf": { rounds: 10, paging: false, serial: "workload rounds=10 sum=7d3997be ok", steps: 34_364_135 },
  "workload-r30.elf": { rounds: 30, paging: false, serial: "", steps: 0 },
  "workload-r300.elf": { rounds: 300, paging: false, serial: "", steps: 0 },
  "workload-r1000.elf": { rounds: 1000, paging: false, serial: "", steps: 0 },
  "workload-pg-r10.elf": { rounds: 10, paging: true, serial: "workload rounds=10 paging sum=7d3997be ok", steps: 34_384_776 },
};

export type WorkloadImage =
  | "workload-r1.elf"
  | "workload-r10.elf"
  | "workload-r30.elf"
  | "workload-r300.elf"
  | "workload-r1000.elf"
  | "workload-pg-r10.elf";

export const WORKLOAD_IMAGES = Object.keys(WORKLOAD) as WorkloadImage[];

/**
 * The original probe guests, for an optional cross-check only: the folder named by $TTD_PROBE_DIR,
 * or null when it is not set (the suites never look outside the repository on their own).
 */
export const PROBE_DIR: string | null = process.env.TTD_PROBE_DIR || null;

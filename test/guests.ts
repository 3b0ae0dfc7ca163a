/**
 * The workload guests the suites run (src/guests/workload), for every suite: the folders, and the
 * figures from src/guests/workload.ts (one table for the tests and the benchmarks).
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { workloadBuildDir, type WorkloadImage } from "../src/guests/workload.js";

export {
  WORKLOAD,
  WORKLOAD_BUILD_PATH,
  WORKLOAD_EXIT_STATUS,
  WORKLOAD_EXIT_VALUE,
  WORKLOAD_IMAGES,
  type WorkloadImage,
  type WorkloadRun,
} from "../src/guests/workload.js";

const REPO = fileURLToPath(new URL("..", import.meta.url));

/** The guests' sources and build script. */
export const WORKLOAD_DIR = join(REPO, "src", "guests", "workload");
/** The committed images. */
export const WORKLOAD_BUILD_DIR = workloadBuildDir(REPO);
/** The C file of the compute workload (its line table names it /ttd-build/workload/workload.c). */
export const WORKLOAD_SOURCE = join(WORKLOAD_DIR, "workload.c");

/** The path of a committed image, e.g. workload("workload-r1.elf"). */
export function workload(image: WorkloadImage): string {
  return join(WORKLOAD_BUILD_DIR, image);
}

/**
 * Other guests for an optional cross-check only: the folder named by $TTD_PROBE_DIR, or null when it
 * is not set (the suites never look outside the repository on their own).
 */
export const PROBE_DIR: string | null = process.env.TTD_PROBE_DIR || null;

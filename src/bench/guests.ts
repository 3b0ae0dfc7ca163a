/**
 * The guests `npm run bench` runs: the workload guests built by this repository (src/guests/workload)
 * by default; with TTD_PROBE_DIR, the emulator section runs the images of that folder instead
 * (named like probe-r30.elf), for comparing with figures taken on other guests.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { WORKLOAD, workloadBuildDir, type WorkloadImage } from "../guests/workload.js";

export interface BenchGuest {
  /** File name, as printed in the tables. */
  image: string;
  path: string;
  /** The line every engine must print; null when unknown (then every engine must print ttd's line). */
  expect: string | null;
}

/** The emulator section's guests: short, paging, and long ones (a JIT's compile cost spreads out). */
const EMULATOR_ROLES = ["r30", "pg-r10", "fpu-r10", "r300", "r1000"] as const;

function workloadGuest(repoRoot: string, image: WorkloadImage): BenchGuest {
  return { image, path: path.join(workloadBuildDir(repoRoot), image), expect: WORKLOAD[image].serial };
}

/** The workload image named `name` ("workload-r1.elf" or just "r1"), or an error naming the choices. */
export function workloadByName(repoRoot: string, name: string): BenchGuest {
  const image = (name.endsWith(".elf") ? name : `workload-${name}.elf`) as WorkloadImage;
  if (!(image in WORKLOAD)) throw new Error(`--guest: no workload guest ${name} (one of ${Object.keys(WORKLOAD).join(", ")})`);
  return workloadGuest(repoRoot, image);
}

/** The emulator section's guests: the workload guests, or those of `probeDir` when it is given. */
export function emulatorGuests(repoRoot: string, probeDir: string | undefined): BenchGuest[] {
  if (probeDir === undefined) return EMULATOR_ROLES.map((role) => workloadGuest(repoRoot, `workload-${role}.elf`));
  if (!fs.existsSync(probeDir)) throw new Error(`TTD_PROBE_DIR: ${probeDir}: no such folder`);
  return EMULATOR_ROLES.map((role) => ({ image: `probe-${role}.elf`, path: path.join(probeDir, `probe-${role}.elf`), expect: null }));
}

/** The guest the recorder and query sections record: long enough for the figures to mean something. */
export function defaultTraceGuest(repoRoot: string): BenchGuest {
  return workloadGuest(repoRoot, "workload-r30.elf");
}

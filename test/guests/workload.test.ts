/**
 * The workload guests do what src/guests/workload.ts says: the line each prints and its exit status
 * under QEMU (the reference) and under ttd, ttd's step count on the short ones, and the README's table.
 * QEMU's instruction counts are compared with ttd's steps in test/lockstep/ (workload-r1, whole run).
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { findQemu, qemuBaseArgs } from "../../src/bench/qemu-log.js";
import { WORKLOAD, WORKLOAD_DIR, WORKLOAD_EXIT_STATUS, WORKLOAD_IMAGES, workload, type WorkloadImage } from "../guests.js";

const CLI = join(WORKLOAD_DIR, "../../../dist/cli/main.js");
const qemu = findQemu();

describe("src/guests/workload/README.md", () => {
  it("has one row per image with its line and step count", () => {
    const rows = readFileSync(join(WORKLOAD_DIR, "README.md"), "utf8")
      .split("\n")
      .filter((l) => /^\| `workload-/.test(l))
      .map((l) => l.split("|").slice(1, -1).map((c) => c.trim().replace(/^`|`$/g, "")));
    expect(rows.map((r) => r[0]).sort()).toEqual([...WORKLOAD_IMAGES].sort());
    for (const [image, serial, steps] of rows) {
      const run = WORKLOAD[image as WorkloadImage];
      expect(serial, image).toBe(run.serial);
      expect(Number(steps.replace(/,/g, "")), image).toBe(run.steps);
    }
  });
});

describe("the step counts", () => {
  it("grow by the same amount every round (each round does the same work)", () => {
    // steps = fixed + rounds * perRound + (digits of the printed round count - 1) * perDigit.
    const digits = (n: number) => String(n).length;
    const s = (i: WorkloadImage) => WORKLOAD[i].steps;
    const perRound = (s("workload-r30.elf") - s("workload-r10.elf")) / 20;
    expect(Number.isInteger(perRound)).toBe(true);
    const perDigit = s("workload-r10.elf") - s("workload-r1.elf") - 9 * perRound;
    const fixed = s("workload-r1.elf") - perRound;
    expect(perDigit).toBeGreaterThan(0);
    expect(perDigit).toBeLessThan(100);
    for (const image of WORKLOAD_IMAGES.filter((i) => !WORKLOAD[i].paging && WORKLOAD[i].fpu === undefined)) {
      const { rounds } = WORKLOAD[image];
      expect(s(image), image).toBe(fixed + rounds * perRound + (digits(rounds) - 1) * perDigit);
    }
  });
});

describe("under ttd", () => {
  it.each(["workload-r1.elf", "workload-pg-r10.elf", "workload-fpu-r10.elf"] as const)("%s prints its line, exits 33 and takes its steps", (image) => {
    const r = spawnSync(process.execPath, [CLI, "run", workload(image), "--json"], { encoding: "utf8", timeout: 300_000 });
    expect(r.stdout).toBe(`${WORKLOAD[image].serial}\n`);
    expect(r.status).toBe(WORKLOAD_EXIT_STATUS);
    expect(JSON.parse(r.stderr.trim().split("\n").pop()!).steps).toBe(WORKLOAD[image].steps);
  });

  it("computes the same sum with paging on as without", () => {
    const sum = (i: WorkloadImage) => / sum=([0-9a-f]{8}) /.exec(WORKLOAD[i].serial)![1];
    expect(sum("workload-pg-r10.elf")).toBe(sum("workload-r10.elf"));
    expect(WORKLOAD["workload-pg-r10.elf"].steps).toBeGreaterThan(WORKLOAD["workload-r10.elf"].steps);
  });
});

const qemuTitle = qemu ? "under QEMU" : "under QEMU (SKIPPED: qemu-system-i386 not installed; apt-get install qemu-system-x86)";
describe.skipIf(!qemu)(qemuTitle, () => {
  it.each(WORKLOAD_IMAGES)("%s prints its line and exits 33", (image) => {
    const r = spawnSync(qemu!, [...qemuBaseArgs(workload(image)), "-accel", "tcg"], { encoding: "latin1", timeout: 300_000, killSignal: "SIGKILL" });
    expect(r.stdout).toBe(`${WORKLOAD[image].serial}\n`);
    expect(r.status).toBe(WORKLOAD_EXIT_STATUS);
  }, 300_000);
});

/**
 * Preloaded (`node --import`) into a process the benchmark times whole (harness.ts, `cpu: true`): when
 * the process exits, it writes the CPU time the process used, user and system microseconds of all its
 * threads (V8 compiles on helper threads), to file descriptor 3, a pipe the benchmark reads. The wall
 * time of a process depends on what else the machine runs; its CPU time much less.
 */
import { writeSync } from "node:fs";

process.on("exit", () => {
  const u = process.cpuUsage();
  try {
    writeSync(3, `${u.user} ${u.system}\n`);
  } catch {
    // fd 3 is not the benchmark's pipe: nothing to report to
  }
});

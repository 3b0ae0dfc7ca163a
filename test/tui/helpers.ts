/** Shared by the TUI suites: a demo trace recorded with the built CLI into a temp folder. */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "../..");
export const CLI = join(ROOT, "dist/cli/main.js");

/** Records `elf` (default: src/kernel/build/idle-bug.elf) into a fresh temp folder and returns the trace's path. */
export function recordDemo(elf = join(ROOT, "src/kernel/build/idle-bug.elf")): string {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npx tsc -p tsconfig.json' first`);
  const dir = mkdtempSync(join(tmpdir(), "ttd-tui-test-"));
  const out = join(dir, "demo.trace");
  try {
    execFileSync(process.execPath, [CLI, "record", elf, "-o", out, "--no-progress"], { cwd: ROOT, stdio: "pipe" });
  } catch (e) {
    // The demo guest ends with a non-zero isa-debug-exit status by design; the trace is still complete.
    if (!existsSync(out)) throw e;
  }
  return out;
}

/** Removes the folder recordDemo made. */
export function removeDemo(tracePath: string | undefined): void {
  if (tracePath !== undefined) rmSync(dirname(tracePath), { recursive: true, force: true });
}

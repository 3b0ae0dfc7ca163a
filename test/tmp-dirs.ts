/**
 * Temporary folders for tests, removed when the test file that made them has finished. Cleaning up
 * when the process exits is not enough: vitest ends its forked workers without running exit handlers,
 * and the recordings left behind (a Linux boot's trace is hundreds of MB) filled the temp folder.
 *
 * The hook is registered when this module is first evaluated, which happens while vitest collects the
 * test file that imports it (each file gets its own copy of the module), so it belongs to that file.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll } from "vitest";

const made: string[] = [];

afterAll(() => {
  for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A fresh folder under the system's temp folder, named `<prefix>XXXXXX`; removed after the test file. */
export function testTmpDir(prefix: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(d);
  return d;
}

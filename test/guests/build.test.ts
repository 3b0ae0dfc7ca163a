/**
 * The committed workload images must be exactly what the sources build to, from any checkout
 * folder: a copy of src/guests/workload is built elsewhere and compared byte for byte.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, sep } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Elf32 } from "../../src/elf/elf32.js";
import { WORKLOAD_BUILD_DIR, WORKLOAD_BUILD_PATH, WORKLOAD_DIR, WORKLOAD_IMAGES, workload } from "../guests.js";

function toolPresent(tool: string): boolean {
  return !spawnSync(tool, ["--version"], { stdio: "ignore" }).error;
}

const missing = ["clang", "ld.lld"].filter((t) => !toolPresent(t));
const title =
  missing.length === 0
    ? "workload images rebuilt from source"
    : `workload images rebuilt from source (SKIPPED: ${missing.join(" and ")} not installed; apt-get install clang lld)`;

describe.skipIf(missing.length > 0)(title, () => {
  const work = mkdtempSync(join(tmpdir(), "ttd-workload-build-"));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it("are byte-identical to the committed build/ images when built in another folder", () => {
    // A different, deeper path than the real checkout: any absolute path reaching the ELF would show.
    const checkout = join(work, "elsewhere", "checkout", "src", "guests", "workload");
    cpSync(WORKLOAD_DIR, checkout, {
      recursive: true,
      filter: (src) => src !== WORKLOAD_BUILD_DIR && !src.startsWith(WORKLOAD_BUILD_DIR + sep),
    });
    const out = join(work, "out");
    const r = spawnSync("bash", [join(checkout, "build.sh"), out], { encoding: "utf8", timeout: 300_000 });
    expect(r.status, `build.sh failed:\n${r.stdout}\n${r.stderr}`).toBe(0);
    expect(readdirSync(out).sort()).toEqual([...WORKLOAD_IMAGES].sort());
    expect(readdirSync(WORKLOAD_BUILD_DIR).sort()).toEqual([...WORKLOAD_IMAGES].sort());

    const clangVersion = spawnSync("clang", ["--version"], { encoding: "utf8" }).stdout.split("\n")[0];
    for (const image of WORKLOAD_IMAGES) {
      const committed = readFileSync(workload(image));
      const rebuilt = readFileSync(join(out, image));
      if (!committed.equals(rebuilt)) {
        const elf = new Elf32(new Uint8Array(committed));
        const comment = elf.section(".comment");
        const committedTools = comment ? new TextDecoder().decode(elf.sectionData(comment)).split("\0").filter(Boolean).join("; ") : "unknown";
        expect.fail(
          `${image} differs from a fresh build: run \`npm run build:guests\` and commit src/guests/workload/build/ ` +
            `(committed image made by: ${committedTools}; this machine has: ${clangVersion})`,
        );
      }
      // Neither the checkout folder nor the temporary one reached the image: only the fixed build path.
      const text = rebuilt.toString("latin1");
      expect(text.includes(work), `${image} names the build folder ${work}`).toBe(false);
      expect(text).toContain(WORKLOAD_BUILD_PATH);
    }
  });
});

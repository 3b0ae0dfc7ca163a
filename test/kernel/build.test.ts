/**
 * The committed images must be exactly what the sources build to, from any checkout
 * directory: a copy of src/kernel is built elsewhere and compared byte for byte.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, sep } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { KERNEL_IMAGES, KERNEL_SOURCE_DIR, imagePath } from "./serial-expect.js";
import { loadImage } from "./elf-util.js";

function toolPresent(tool: string): boolean {
  return !spawnSync(tool, ["--version"], { stdio: "ignore" }).error;
}

const missing = ["clang", "ld.lld"].filter((t) => !toolPresent(t));
const title =
  missing.length === 0
    ? "kernel images rebuilt from source"
    : `kernel images rebuilt from source (SKIPPED: ${missing.join(" and ")} not installed; apt-get install clang lld)`;

describe.skipIf(missing.length > 0)(title, () => {
  const work = mkdtempSync(join(tmpdir(), "ttd-kernel-build-"));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it("are byte-identical to the committed build/ images when built in another directory", () => {
    // A different, deeper path than the real checkout: any absolute path reaching the ELF would show.
    const checkout = join(work, "elsewhere", "checkout", "src", "kernel");
    const committedBuild = join(KERNEL_SOURCE_DIR, "build");
    cpSync(KERNEL_SOURCE_DIR, checkout, {
      recursive: true,
      filter: (src) => src !== committedBuild && !src.startsWith(committedBuild + sep),
    });
    const out = join(work, "out");
    const r = spawnSync("bash", [join(checkout, "build.sh"), out], { encoding: "utf8", timeout: 120_000 });
    expect(r.status, `build.sh failed:\n${r.stdout}\n${r.stderr}`).toBe(0);
    expect(readdirSync(out).sort()).toEqual(KERNEL_IMAGES.map((i) => `${i}.elf`).sort());

    const clangVersion = spawnSync("clang", ["--version"], { encoding: "utf8" }).stdout.split("\n")[0];
    for (const image of KERNEL_IMAGES) {
      const committed = readFileSync(imagePath(image));
      const rebuilt = readFileSync(join(out, `${image}.elf`));
      if (!committed.equals(rebuilt)) {
        const comment = loadImage(image).section(".comment");
        const committedTools = comment
          ? new TextDecoder().decode(loadImage(image).sectionData(comment)).split("\0").filter(Boolean).join("; ")
          : "unknown";
        expect.fail(
          `${image}.elf differs from a fresh build: run \`npm run build:kernel\` and commit src/kernel/build/ ` +
            `(committed image made by: ${committedTools}; this machine has: ${clangVersion})`,
        );
      }
    }
  });
});

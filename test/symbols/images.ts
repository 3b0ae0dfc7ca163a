/** The ELF images the symbol tests run on: our fixtures, the shared probe guests, and the demo kernel when built. */
import { existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url));
const REPO = fileURLToPath(new URL("../../", import.meta.url));

function elfsIn(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith(".elf")).sort().map((f) => join(dir, f));
}

/** Fixture ELFs that carry DWARF (every build except nodebug.elf). */
export const FIXTURE_ELFS = elfsIn(FIXTURES).filter((f) => !f.endsWith("nodebug.elf"));
/** The probe guests (clang 14, DWARF 5), when the shared bench folder is present. */
export const PROBE_ELFS = elfsIn(resolve(REPO, "../shared/bench/probe"));
/** The demo kernel images, once src/kernel/build has them. */
export const KERNEL_ELFS = elfsIn(resolve(REPO, "src/kernel/build"));

export function fixture(name: string): string {
  return join(FIXTURES, name);
}

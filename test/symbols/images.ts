/** The ELF images the symbol tests run on: our fixtures, the workload guests, and the demo kernel when built. */
import { existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { workload } from "../guests.js";

export const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url));
const REPO = fileURLToPath(new URL("../../", import.meta.url));

function elfsIn(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith(".elf")).sort().map((f) => join(dir, f));
}

/** Fixture ELFs that carry DWARF (every build except nodebug.elf). */
export const FIXTURE_ELFS = elfsIn(FIXTURES).filter((f) => !f.endsWith("nodebug.elf"));
/**
 * The workload guests (clang 14 -O2, DWARF 5, line tables naming a folder that does not exist here):
 * one without paging and the paging build, which links one more object. The other round counts
 * differ from workload-r1 only in an immediate operand.
 */
export const WORKLOAD_ELFS = [workload("workload-r1.elf"), workload("workload-pg-r10.elf")];
/** The demo kernel images, once src/kernel/build has them. */
export const KERNEL_ELFS = elfsIn(resolve(REPO, "src/kernel/build"));

export function fixture(name: string): string {
  return join(FIXTURES, name);
}

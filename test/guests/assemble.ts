/** Assembles and links one assembly test guest (a .S file that includes multiboot-guest.h). */
import { spawnSync } from "node:child_process";
import { basename, join } from "node:path";

const has = (tool: string) => spawnSync(tool, ["--version"], { stdio: "ignore" }).status === 0;
/** True when the assembly test guests can be built (clang and ld.lld). */
export const canAssembleGuests = has("clang") && has("ld.lld");

/** Builds `source` (a .S path) into `outDir` with the linker script `script`; returns the ELF's path. */
export function assembleGuest(source: string, script: string, outDir: string): string {
  const name = basename(source, ".S");
  const obj = join(outDir, `${name}.o`);
  const elf = join(outDir, `${name}.elf`);
  const run = (cmd: string, args: string[]) => {
    const r = spawnSync(cmd, args, { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed:\n${r.stderr}`);
  };
  run("clang", ["-m32", "-c", "-o", obj, source]);
  run("ld.lld", ["-m", "elf_i386", "-T", script, "-o", elf, obj]);
  return elf;
}

/** Reads a kernel image from disk and builds a machine, turning every failure into one clear line. */
import { readFileSync, statSync } from "node:fs";
import { Machine, type MachineOptions } from "../machine/machine.js";
import { ElfError } from "../elf/elf32.js";
import { LoadError } from "../machine/multiboot.js";
import { UsageError } from "./errors.js";

export function readKernelFile(path: string): Uint8Array {
  let size: number;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new UsageError(`${path}: is a directory, not a kernel image`);
    size = st.size;
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`${path}: ${code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : (e as Error).message}`);
  }
  if (size === 0) throw new UsageError(`${path}: empty file, not an ELF kernel`);
  return new Uint8Array(readFileSync(path));
}

/** A machine with the kernel at `path` loaded; bad images become a UsageError naming the file. */
export function machineForKernel(path: string, options: MachineOptions): { machine: Machine; image: Uint8Array } {
  const image = readKernelFile(path);
  try {
    return { machine: Machine.fromElf(image, options), image };
  } catch (e) {
    if (e instanceof ElfError || e instanceof LoadError) throw new UsageError(`${path}: ${e.message}`);
    throw e;
  }
}

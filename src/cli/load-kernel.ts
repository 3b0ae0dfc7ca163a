/** Reads a kernel image and its modules from disk and builds a machine, turning every failure into one clear line. */
import { readFileSync, statSync } from "node:fs";
import { Machine, type MachineOptions } from "../machine/machine.js";
import { ElfError } from "../elf/elf32.js";
import { LoadError, type BootModule } from "../machine/boot-modules.js";
import { UsageError } from "./errors.js";
import { isLinuxBzImage } from "../machine/linux-boot.js";

/**
 * Reads a file the user named; `what` says what it should be ("kernel image", "module"). A missing
 * file, a directory, an empty file or one larger than `maxBytes` is a UsageError naming it.
 */
export function readInputFile(path: string, what: string, maxBytes = Infinity): Uint8Array {
  let size: number;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new UsageError(`${path}: is a directory, not a ${what}`);
    size = st.size;
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`${path}: ${code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : (e as Error).message}`);
  }
  if (size > maxBytes) {
    throw new UsageError(`${path}: ${what} of ${size} bytes is larger than guest memory (${maxBytes / 1048576} MiB); give more with --memory`);
  }
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`${path}: ${code === "EACCES" ? "permission denied" : (e as Error).message}`);
  }
}

export function readKernelFile(path: string): Uint8Array {
  const image = readInputFile(path, "kernel image");
  if (image.length === 0) throw new UsageError(`${path}: empty file, not a kernel image`);
  return image;
}

/**
 * Reads the modules named by `--module` specs: a file name, then optionally a space and arguments.
 * The whole spec is the module string the kernel sees (as QEMU passes it); the file is the part
 * before the first space.
 */
export function readModules(specs: readonly string[], memoryBytes: number): BootModule[] {
  return specs.map((spec) => {
    const space = spec.indexOf(" ");
    const file = space < 0 ? spec : spec.slice(0, space);
    if (file === "") throw new UsageError(`--module '${spec}': no file name before the arguments`);
    return { string: spec, file, data: readInputFile(file, "module", memoryBytes) };
  });
}

/**
 * The multiboot command line QEMU's -kernel gives a kernel: the kernel's file name as typed, a space,
 * then the -append text (the space is there even when the text is empty).
 */
export function multibootCmdline(kernelPath: string, append: string): string {
  return `${kernelPath} ${append}`;
}

/** Commander's accumulator for a repeatable option (--module). */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/**
 * The command line a kernel sees for `append` (--cmdline / -append), as QEMU's -kernel gives it: a
 * Linux bzImage gets the text alone; a multiboot kernel gets its path as typed, a space, then the text.
 */
export function kernelCmdline(path: string, image: Uint8Array, append: string): string {
  return isLinuxBzImage(image) ? append : multibootCmdline(path, append);
}

/**
 * A machine with the kernel at `path` loaded (a multiboot image or a Linux bzImage, told apart by
 * content); bad images and modules become a UsageError naming the file. With `append`, the command line
 * is built from it for the kind of image (kernelCmdline); otherwise `cmdline` is used as it is.
 */
export function machineForKernel(path: string, options: MachineOptions & { append?: string }): { machine: Machine; image: Uint8Array; cmdline: string } {
  const image = readKernelFile(path);
  const cmdline = options.append !== undefined ? kernelCmdline(path, image, options.append) : options.cmdline ?? "";
  try {
    return { machine: Machine.fromElf(image, { ...options, cmdline }), image, cmdline };
  } catch (e) {
    if (e instanceof LoadError) throw new UsageError(`${e.subject ?? path}: ${e.message}`);
    if (e instanceof ElfError) throw new UsageError(`${path}: ${e.message}`);
    throw e;
  }
}

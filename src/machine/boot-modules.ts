/**
 * What the multiboot loaders (v1 and v2) share: boot modules, their page-aligned placement after the
 * kernel, boot strings, and the error they raise when an image or module cannot be loaded.
 */

export const PAGE_SIZE = 4096;

/** A file handed to the kernel next to it (multiboot "module"), e.g. seL4's root task or an initrd. */
export interface BootModule {
  /** The module string the kernel sees: the file name plus anything after a space, as typed. */
  string: string;
  /** The file it was read from (named in errors). */
  file: string;
  data: Uint8Array;
}

/** A module's place in guest RAM: [start, end) holds its bytes, start is page-aligned. */
export interface PlacedModule {
  module: BootModule;
  start: number;
  end: number;
}

/** Refusal to load a kernel image or a module; `subject` names the file at fault when it is not the kernel. */
export class LoadError extends Error {
  readonly subject: string | undefined;
  constructor(message: string, options?: { cause?: unknown; subject?: string }) {
    super(message, options);
    this.name = "LoadError";
    this.subject = options?.subject;
  }
}

export function pageAlign(n: number): number {
  return Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;
}

/** A boot string as NUL-free UTF-8 (it is stored NUL-terminated); `what` names it in the error. */
export function encodeBootString(text: string, what: string): Uint8Array {
  const bytes = new TextEncoder().encode(text);
  if (bytes.includes(0)) throw new LoadError(`${what} contains a NUL byte`);
  return bytes;
}

/**
 * Places `modules` one after the other from `start` (page-aligned), each on its own 4 KiB boundary,
 * as QEMU's loader does. Throws a LoadError naming the module's file when one does not fit in RAM.
 */
export function placeModules(modules: readonly BootModule[], start: number, ramSize: number): PlacedModule[] {
  const placed: PlacedModule[] = [];
  let at = pageAlign(start);
  for (const m of modules) {
    const end = at + m.data.length;
    if (end > ramSize) {
      const mib = (n: number) => `${(n / 1048576).toFixed(n % 1048576 === 0 ? 0 : 1)} MiB`;
      throw new LoadError(
        `module of ${m.data.length} bytes does not fit in ${mib(ramSize)} of memory (it would end at 0x${end.toString(16)}); give more memory with --memory`,
        { subject: m.file },
      );
    }
    placed.push({ module: m, start: at, end });
    at = pageAlign(end);
  }
  return placed;
}

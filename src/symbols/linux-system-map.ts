/**
 * Finding and checking the System.map of a Linux kernel that was recorded from its bzImage (which
 * holds no symbols): where it is looked for, and whether a given map belongs to the image.
 *
 * Found automatically as System.map-<release> next to the image (how Debian's packages and `make
 * install` lay out /boot), then System.map next to it. A map that does not belong to the image would
 * name every address wrongly, so it is checked three ways, each only when both sides say something:
 * the release in the map's file name against the one in the image's header; the map's `_text` against
 * the address the kernel is built to run at (pref_address, seen at PAGE_OFFSET 0xc0000000 or 0); and
 * the recorded RAM at the map's `linux_banner`: another kernel's "Linux version ..." there. A kernel
 * that the decompressor moved (KASLR) is the map's own kernel at other addresses: its banner is found
 * in RAM a multiple of the kernel's alignment away from where the map puts it, and every name would be
 * wrong, so that is said too (the cure is `nokaslr` on the command line).
 */
import { existsSync } from "node:fs";
import { basename, join } from "node:path";
import { kernelRelease, readSetupHeader } from "../machine/linux-boot.js";
import type { MapSymbol } from "./system-map.js";

/** i386 Linux's default split: the kernel's virtual addresses start here. */
export const LINUX_PAGE_OFFSET = 0xc0000000;

/** Files that may be the System.map of `image`, in `dirs` (the folders the image was read from). */
export function systemMapCandidates(image: Uint8Array, dirs: readonly string[]): string[] {
  const release = kernelRelease(image);
  const names = [...(release !== null ? [`System.map-${release}`] : []), "System.map"];
  return dirs.flatMap((d) => names.map((n) => join(d, n))).filter((p) => existsSync(p));
}

/** The recording's RAM at its last step, as the check reads it. */
export interface RecordedRam {
  /** `size` bytes at physical `address`, or null when they cannot be read. */
  read(address: number, size: number): Uint8Array | null;
  /** Physical addresses at which `bytes` occur, in order (none when RAM cannot be read). */
  find(bytes: Uint8Array): Iterable<number>;
}

/** RAM that cannot be read (a bundle's map is checked when it is packed): every check that needs it says nothing. */
export const NO_RAM: RecordedRam = { read: () => null, find: () => [] };

/** Why the map at `mapPath` does not belong to `image`, or null when nothing says it does not. */
export function systemMapMismatch(
  symbols: readonly MapSymbol[],
  mapPath: string,
  image: Uint8Array,
  ram: RecordedRam,
): string | null {
  const release = kernelRelease(image);
  const named = /^System\.map-(.+)$/.exec(basename(mapPath))?.[1];
  if (release !== null && named !== undefined && named !== release) {
    return `it is the map of release ${named}, the kernel is ${release}`;
  }
  const find = (name: string) => symbols.find((s) => s.name === name)?.address;
  const text = find("_text");
  const header = readSetupHeader(image);
  if (text !== undefined && header.relocatable && Number.isFinite(header.prefAddress) && header.prefAddress !== 0) {
    const physical = text >= LINUX_PAGE_OFFSET ? text - LINUX_PAGE_OFFSET : text;
    if (physical !== header.prefAddress) {
      return `its _text is at 0x${text.toString(16)}, the kernel is built to run at 0x${header.prefAddress.toString(16)}`;
    }
  }
  const banner = find("linux_banner");
  if (banner !== undefined && release !== null) {
    // Only another kernel's banner at that place tells: before decompression, or when KASLR moved the
    // kernel, other bytes are there, which say nothing about the map.
    const expected = `Linux version ${release} `;
    const physical = banner >= LINUX_PAGE_OFFSET ? banner - LINUX_PAGE_OFFSET : banner;
    const bytes = ram.read(physical, expected.length);
    const found = bytes === null ? "" : new TextDecoder("latin1").decode(bytes);
    if (found.startsWith("Linux version ") && found !== expected) {
      return `at its linux_banner (0x${banner.toString(16)}) the recorded RAM reads "${found.replace(/[^\x20-\x7e]/g, ".").trim()}", not "${expected.trim()}"`;
    }
    if (found !== expected && header.relocatable && header.kernelAlignment > 0) {
      // The banner elsewhere, moved by a whole number of alignments: the kernel itself, relocated. (Its
      // text also sits in the log buffer and elsewhere, at addresses no relocation explains.)
      for (const at of ram.find(new TextEncoder().encode(expected))) {
        const delta = at - physical;
        if (delta !== 0 && delta % header.kernelAlignment === 0) {
          const by = `${delta < 0 ? "-" : ""}0x${Math.abs(delta).toString(16)}`;
          return `the kernel ran ${by} bytes away from the addresses the map names (its banner is at physical 0x${at.toString(16)}, linux_banner says 0x${physical.toString(16)}): the decompressor moved it (KASLR); record with nokaslr in the kernel command line`;
        }
      }
    }
  }
  return null;
}

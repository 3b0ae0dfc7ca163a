/**
 * Finding and checking the System.map of a Linux kernel that was recorded from its bzImage (which
 * holds no symbols): where it is looked for, and whether a given map belongs to the image.
 *
 * Found automatically as System.map-<release> next to the image (how Debian's packages and `make
 * install` lay out /boot), then System.map next to it. A map that does not belong to the image would
 * name every address wrongly, so it is checked three ways, each only when both sides say something:
 * the release in the map's file name against the one in the image's header; the map's `_text` against
 * the address the kernel is built to run at (pref_address, seen at PAGE_OFFSET 0xc0000000 or 0); and
 * the recorded RAM at the map's `linux_banner`: another kernel's "Linux version ..." there.
 *
 * A kernel that the decompressor moved (KASLR, CONFIG_RANDOMIZE_BASE) is the map's own kernel at other
 * addresses: its banner is found in RAM a whole number of the kernel's alignments away from where the
 * map puts it. On i386 the decompressor picks only the physical address and relocates the kernel by
 * the same amount in virtual addresses (virtual = physical + PAGE_OFFSET; there is no separate virtual
 * randomization as on x86-64), so that distance is the slide of every symbol of a section: they are
 * moved by it, and answers say so once (kernelSlideNote).
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

/**
 * What checking a map (or a vmlinux's symbols) against the recorded kernel found: why it does not
 * belong to it, or that it does, with how far the kernel ran from the addresses it names (0 when it ran
 * where it was linked, or when nothing tells).
 */
export type KernelSymbolsCheck = { mismatch: string } | { mismatch: null; slide: number };

/** The check's answer when the map belongs to the kernel and the kernel ran where the map says. */
const IN_PLACE: KernelSymbolsCheck = { mismatch: null, slide: 0 };

/** Whether the map at `mapPath` belongs to `image`, and how far the kernel ran from its addresses. */
export function checkSystemMap(
  symbols: readonly MapSymbol[],
  mapPath: string,
  image: Uint8Array,
  ram: RecordedRam,
): KernelSymbolsCheck {
  const release = kernelRelease(image);
  const named = /^System\.map-(.+)$/.exec(basename(mapPath))?.[1];
  if (release !== null && named !== undefined && named !== release) {
    return { mismatch: `it is the map of release ${named}, the kernel is ${release}` };
  }
  const find = (name: string) => symbols.find((s) => s.name === name)?.address;
  const text = find("_text");
  const header = readSetupHeader(image);
  if (text !== undefined && header.relocatable && Number.isFinite(header.prefAddress) && header.prefAddress !== 0) {
    const physical = text >= LINUX_PAGE_OFFSET ? text - LINUX_PAGE_OFFSET : text;
    if (physical !== header.prefAddress) {
      return { mismatch: `its _text is at 0x${text.toString(16)}, the kernel is built to run at 0x${header.prefAddress.toString(16)}` };
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
      return { mismatch: `at its linux_banner (0x${banner.toString(16)}) the recorded RAM reads "${found.replace(/[^\x20-\x7e]/g, ".").trim()}", not "${expected.trim()}"` };
    }
    if (found !== expected && header.relocatable && header.kernelAlignment > 0) {
      // The banner elsewhere, moved by a whole number of alignments: the kernel itself, relocated. (Its
      // text also sits in the log buffer and elsewhere, at addresses no relocation explains.)
      for (const at of ram.find(new TextEncoder().encode(expected))) {
        const delta = at - physical;
        if (delta !== 0 && delta % header.kernelAlignment === 0) return { mismatch: null, slide: delta };
      }
    }
  }
  return IN_PLACE;
}

/** The map's symbols where the kernel ran: those of sections moved by `slide`, absolute ones ('A', 'a': constants) kept. */
export function slideMapSymbols(symbols: readonly MapSymbol[], slide: number): MapSymbol[] {
  return symbols.map((s) => (slide === 0 || s.type === "A" || s.type === "a" ? s : { ...s, address: (s.address + slide) >>> 0 }));
}

/** What answers say once about a kernel that ran `slide` bytes from its linked addresses, or null when it did not move. */
export function kernelSlideNote(slide: number): string | null {
  if (slide === 0) return null;
  return `the kernel was moved by KASLR by ${slide < 0 ? "-" : "+"}0x${Math.abs(slide).toString(16)}; symbols slid`;
}

/**
 * Symbols of an image whose DWARF is large (a distribution's vmlinux: 150 MB of .debug_info) load
 * through an index of it (symbols/dwarf-index.ts) instead of parsing every unit, so a command parses
 * only the units its question needs. The index is built once per image, by its first command, and kept
 * in the cache folder (cache.ts) under the image's SHA-256: later commands read it back in a fraction of
 * a second. Small images (every demo and test kernel) are parsed whole, as before.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Elf32 } from "../elf/elf32.js";
import { DebugInfo } from "../symbols/debug-info.js";
import { DWARF_INDEX_VERSION, DwarfIndex } from "../symbols/dwarf-index.js";
import { DwarfSections } from "../symbols/sections.js";
import { cacheRoot } from "./cache.js";

/** Images with at least this much .debug_info are loaded lazily through an index. */
export const LARGE_DWARF_BYTES = 16 * 1024 * 1024;

/**
 * Where the index of the image with this SHA-256 is kept: named by its format version too, so ttds of
 * two versions sharing a cache folder each keep their own rather than rebuild over each other's.
 */
export function dwarfIndexPath(sha256: string, root = cacheRoot()): string {
  return join(root, "dwarf-index", `${sha256}.v${DWARF_INDEX_VERSION}.json`);
}

/**
 * The symbols of an ELF image (its bytes and their SHA-256): whole for small DWARF, through the cached
 * index (built and saved on first use) for large DWARF; moved by `slide` (LoadOptions.slide: the index
 * is of the file, whatever the slide). Throws ElfError when it is not an i386 ELF.
 */
export function loadDebugInfo(data: Uint8Array | Elf32, sha256: string, root = cacheRoot(), slide = 0): DebugInfo {
  const elf = data instanceof Elf32 ? data : new Elf32(data);
  const info = elf.section(".debug_info") ?? elf.section(".zdebug_info");
  if (info === undefined || info.size < LARGE_DWARF_BYTES) return DebugInfo.fromElf(elf, { slide });
  const path = dwarfIndexPath(sha256, root);
  let index: DwarfIndex | null = null;
  try {
    index = DwarfIndex.fromJson(readFileSync(path, "utf8"));
  } catch {
    // Not built yet (or unreadable): built below.
  }
  if (index === null) {
    index = DwarfIndex.build(DwarfSections.fromElf(elf));
    try {
      mkdirSync(join(root, "dwarf-index"), { recursive: true });
      // Written whole under another name, then renamed: a concurrent reader never sees half of it.
      const tmp = `${path}.${process.pid}.tmp`;
      writeFileSync(tmp, index.toJson());
      renameSync(tmp, path);
    } catch {
      // A read-only cache: the index is rebuilt by the next command too, which is only slower.
    }
  }
  return DebugInfo.fromElf(elf, { index, slide });
}

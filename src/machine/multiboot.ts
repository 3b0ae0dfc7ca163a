/**
 * Multiboot (version 1) loader: puts a kernel image into guest RAM as a multiboot boot loader would
 * and describes the machine to it. The machine then starts the CPU in flat 32-bit protected mode
 * with EAX = 0x2BADB002, EBX = the info block, CS = 0x08 and DS/ES/FS/GS/SS = 0x10 (this loader's
 * GDT), paging off and interrupts disabled.
 *
 * What is loaded:
 * - The multiboot header must lie 4-byte aligned within the first 8192 bytes, with magic 0x1BADB002
 *   and magic + flags + checksum = 0 (mod 2^32). Flag bits 0-2 (page-aligned modules, memory
 *   information, video mode) are accepted: modules are always page-aligned, memory information is
 *   always given, and the video request is ignored (text mode, as QEMU does). Any other requirement
 *   in bits 3-15 is refused.
 * - With flag bit 16 (the "a.out kludge"), the header's load_addr/load_end_addr/bss_end_addr/
 *   entry_addr say where the image goes; this also loads flat binaries that are not ELF files.
 * - Otherwise the file must be an ELF32 i386 executable: every PT_LOAD segment is copied to its
 *   physical address p_paddr, and its bss (p_memsz beyond p_filesz) is zeroed. The entry point is
 *   e_entry, translated from virtual to physical when it lies in an executable segment whose
 *   p_vaddr differs from p_paddr (the same rule as GRUB and QEMU, for kernels linked high).
 *
 * Where the loader's own fixed structures go (inside [0x8000, 0x9000), clear of the real-mode IVT and
 * BIOS data area below 0x500, of the boot-sector address 0x7c00, and of the EBDA at 0x9fc00):
 *   0x8000  GDT: null, 0x08 flat 4 GiB code (ring 0, 32-bit), 0x10 flat 4 GiB data; limit 23. The
 *           accessed bits are preset so reloading a segment register does not write the table.
 *   0x8040  multiboot info block (116 bytes)
 *   0x8100  memory map (24-byte entries, at most eight: the firmware's map, see firmware/layout.ts)
 * A kernel image that would overlap this area is refused rather than silently corrupted.
 *
 * Modules and strings follow the kernel exactly as QEMU's -kernel loader lays them out
 * (hw/i386/multiboot.c), so a kernel finds them at the same addresses under both:
 *   K = lowest load address + the kernel's extent rounded up to 4 KiB
 *   K       the module list (16 bytes per module: mod_start, mod_end, string, 0)
 *           then the module strings, the kernel command line and the boot loader name "ttd", each
 *           NUL-terminated; the area is rounded up to 4 KiB
 *   then    each module, starting on a 4 KiB boundary
 */
import { Elf32, ElfError, PT_LOAD } from "../elf/elf32.js";
import { type BootModule, LoadError, encodeBootString, pageAlign, placeModules } from "./boot-modules.js";

export { LoadError } from "./boot-modules.js";
import { firmwareMemoryMap, HIGH_MEMORY_START, MEMORY_USABLE } from "./firmware/layout.js";

export { HIGH_MEMORY_START } from "./firmware/layout.js";

export const MULTIBOOT_HEADER_MAGIC = 0x1badb002;
/** The value the loader leaves in EAX for the kernel. */
export const MULTIBOOT_BOOTLOADER_MAGIC = 0x2badb002;
/** The header must lie within this many bytes from the start of the file. */
export const MULTIBOOT_SEARCH_LIMIT = 8192;

export const LOADER_AREA_START = 0x8000;
export const LOADER_AREA_END = 0x9000;
export const GDT_ADDRESS = 0x8000;
export const GDT_LIMIT = 3 * 8 - 1;
export const INFO_ADDRESS = 0x8040;
export const MMAP_ADDRESS = 0x8100;
export const BOOT_LOADER_NAME = "ttd";
/** The size of QEMU's loader name "qemu" with its NUL, which its module placement reserves. */
const QEMU_LOADER_NAME_BYTES = 5;
/** Selectors of the loader's flat segments. */
export const LOADER_CODE_SELECTOR = 0x08;
export const LOADER_DATA_SELECTOR = 0x10;

const INFO_SIZE = 116;

/** Multiboot header flag bits this loader understands. */
const HF_PAGE_ALIGN = 1 << 0;
const HF_MEMORY_INFO = 1 << 1;
const HF_VIDEO_MODE = 1 << 2;
const HF_AOUT_KLUDGE = 1 << 16;

/** Multiboot info flag bits this loader sets. */
const MBI_MEMORY = 1 << 0;
const MBI_CMDLINE = 1 << 2;
const MBI_MODS = 1 << 3;
const MBI_MMAP = 1 << 6;
const MBI_LOADER_NAME = 1 << 9;

const PF_X = 1;
const ET_EXEC = 2;

export interface MultibootOptions {
  /** The kernel command line (multiboot `cmdline`) exactly as the kernel sees it; empty when absent. */
  cmdline?: string;
  /** Boot modules, in order. */
  modules?: readonly BootModule[];
}

export interface MultibootBoot {
  /** Physical address to start executing at. */
  entry: number;
  /** Where each module was placed, in order: [start, end). */
  modules: Array<{ start: number; end: number }>;
  /** The boot loader magic for EAX (0x2BADB002, or 0x36D76289 for multiboot2). */
  magic: number;
  /** Physical address of the multiboot info block (EBX at entry). */
  infoAddress: number;
  /** GDTR base and limit for the loader's flat GDT. */
  gdtBase: number;
  gdtLimit: number;
}

interface HeaderSearch {
  /** Offset of the first header with magic and a valid checksum, or -1. */
  offset: number;
  /** Offset of the first magic with a bad checksum, or -1. */
  badChecksumOffset: number;
}

export function u32(bytes: Uint8Array, o: number): number {
  return (bytes[o] | (bytes[o + 1] << 8) | (bytes[o + 2] << 16) | (bytes[o + 3] << 24)) >>> 0;
}

export function put32(ram: Uint8Array, o: number, v: number): void {
  ram[o] = v & 0xff;
  ram[o + 1] = (v >>> 8) & 0xff;
  ram[o + 2] = (v >>> 16) & 0xff;
  ram[o + 3] = (v >>> 24) & 0xff;
}

/** A 64-bit little-endian value (below 2^53). */
export function put64(ram: Uint8Array, o: number, v: number): void {
  put32(ram, o, v % 0x100000000);
  put32(ram, o + 4, Math.floor(v / 0x100000000));
}

export function hex(v: number): string {
  return `0x${v.toString(16)}`;
}

/** Finds the multiboot header in the first 8192 bytes of `image`. */
export function findMultibootHeader(image: Uint8Array): HeaderSearch {
  const result: HeaderSearch = { offset: -1, badChecksumOffset: -1 };
  const end = Math.min(MULTIBOOT_SEARCH_LIMIT, image.length) - 12;
  for (let o = 0; o <= end; o += 4) {
    if (u32(image, o) !== MULTIBOOT_HEADER_MAGIC) continue;
    const flags = u32(image, o + 4);
    const checksum = u32(image, o + 8);
    if (((MULTIBOOT_HEADER_MAGIC + flags + checksum) >>> 0) === 0) {
      result.offset = o;
      return result;
    }
    if (result.badChecksumOffset < 0) result.badChecksumOffset = o;
  }
  return result;
}

export function isElf(image: Uint8Array): boolean {
  return image.length >= 4 && image[0] === 0x7f && image[1] === 0x45 && image[2] === 0x4c && image[3] === 0x46;
}

/** One region to place in RAM: `fileSize` bytes from `fileOffset`, then zeros up to `memSize`. */
export interface Placement {
  what: string;
  physAddr: number;
  fileOffset: number;
  fileSize: number;
  memSize: number;
}

/**
 * Loads `image` into `ram` and writes the multiboot info block, memory map and GDT. Throws LoadError
 * naming the problem when the image cannot be booted; `ram` is left untouched in that case.
 */
export function loadMultiboot(image: Uint8Array, ram: Uint8Array, options: MultibootOptions = {}): MultibootBoot {
  if (ram.length <= HIGH_MEMORY_START) {
    throw new LoadError(`guest memory of ${ram.length} bytes is too small: a multiboot kernel needs memory above 1 MiB`);
  }
  const elf = isElf(image);
  let parsed: Elf32 | null = null;
  if (elf) {
    try {
      parsed = new Elf32(image);
    } catch (e) {
      if (e instanceof ElfError) throw new LoadError(e.message, { cause: e });
      throw e;
    }
  }
  const search = findMultibootHeader(image);
  if (search.offset < 0) {
    // (Machine.loadKernel tries multiboot2 before reporting these.)
    if (search.badChecksumOffset >= 0) {
      throw new LoadError(`multiboot header at file offset ${hex(search.badChecksumOffset)} has a bad checksum`);
    }
    if (!elf) {
      // Neither a multiboot image nor an ELF file: report what the file is not.
      throw new LoadError("not an ELF file (no \\x7fELF magic) and no multiboot header");
    }
    throw new LoadError(`no multiboot header (magic 0x1badb002 in the first ${MULTIBOOT_SEARCH_LIMIT} bytes, or multiboot2 0xe85250d6 in the first 32768)`);
  }
  const h = search.offset;
  const flags = u32(image, h + 4);
  const unsupported = flags & 0xffff & ~(HF_PAGE_ALIGN | HF_MEMORY_INFO | HF_VIDEO_MODE);
  if (unsupported !== 0) {
    throw new LoadError(`multiboot header requires unsupported features (flags ${hex(unsupported)})`);
  }

  let placements: Placement[];
  let entry: number;
  if (flags & HF_AOUT_KLUDGE) {
    ({ placements, entry } = aoutPlacements(image, h));
  } else if (parsed !== null) {
    ({ placements, entry } = elfPlacements(parsed, image));
  } else {
    throw new LoadError("not an ELF file (no \\x7fELF magic) and the multiboot header gives no load addresses (flag 16 clear)");
  }

  for (const p of placements) checkPlacement(p, ram.length);

  // The strings area and the modules after the kernel, as QEMU places them.
  const low = Math.min(...placements.map((p) => p.physAddr));
  const high = Math.max(...placements.map((p) => p.physAddr + p.memSize));
  const modules = options.modules ?? [];
  const cmdline = encodeBootString(options.cmdline ?? "", "command line");
  const name = encodeBootString(BOOT_LOADER_NAME, "boot loader name");
  const modStrings = modules.map((m) => encodeBootString(m.string, `module string '${m.string}'`));
  const stringsArea = low + pageAlign(high - low);
  const listBytes = 16 * modules.length;
  const stringBytes = modStrings.reduce((n, b) => n + b.length + 1, 0) + cmdline.length + 1 + name.length + 1;
  // QEMU reserves room for its own loader name, "qemu" (5 bytes with the NUL); reserving the same keeps
  // the modules where QEMU puts them even when the strings end right at a page boundary.
  const reserved = listBytes + stringBytes - (name.length + 1) + QEMU_LOADER_NAME_BYTES;
  const modulesStart = stringsArea + pageAlign(Math.max(reserved, listBytes + stringBytes));
  const areaEnd = stringsArea + listBytes + stringBytes;
  checkPlacement({ what: "the module list and boot strings", physAddr: stringsArea, fileOffset: 0, fileSize: 0, memSize: areaEnd - stringsArea }, ram.length);
  const placed = placeModules(modules, modulesStart, ram.length);
  for (const m of placed) {
    checkPlacement({ what: `module '${m.module.string}'`, physAddr: m.start, fileOffset: 0, fileSize: 0, memSize: m.end - m.start }, ram.length);
  }

  // Everything checked: now write guest memory.
  for (const p of placements) {
    ram.set(image.subarray(p.fileOffset, p.fileOffset + p.fileSize), p.physAddr);
    ram.fill(0, p.physAddr + p.fileSize, p.physAddr + p.memSize);
  }
  ram.fill(0, stringsArea, modulesStart);
  let str = stringsArea + listBytes;
  const putString = (bytes: Uint8Array): number => {
    const at = str;
    ram.set(bytes, at);
    ram[at + bytes.length] = 0;
    str += bytes.length + 1;
    return at;
  };
  placed.forEach((m, i) => {
    const o = stringsArea + 16 * i;
    put32(ram, o, m.start);
    put32(ram, o + 4, m.end);
    put32(ram, o + 8, putString(modStrings[i]));
    ram.set(m.module.data, m.start);
    ram.fill(0, m.end, pageAlign(m.end));
  });
  const cmdlineAddress = putString(cmdline);
  const nameAddress = putString(name);
  writeLoaderArea(ram, { cmdline: cmdlineAddress, loaderName: nameAddress, modsAddr: stringsArea, modsCount: modules.length });
  return { entry, infoAddress: INFO_ADDRESS, gdtBase: GDT_ADDRESS, gdtLimit: GDT_LIMIT, modules: placed.map((m) => ({ start: m.start, end: m.end })), magic: MULTIBOOT_BOOTLOADER_MAGIC };
}

export function elfPlacements(elf: Elf32, image: Uint8Array): { placements: Placement[]; entry: number } {
  if (elf.type !== ET_EXEC) throw new LoadError(`ELF type ${elf.type} is not an executable (ET_EXEC)`);
  const placements: Placement[] = [];
  let entry = elf.entry >>> 0;
  elf.programHeaders.forEach((ph, i) => {
    if (ph.type !== PT_LOAD || ph.memsz === 0) return;
    const what = `segment ${i}`;
    if (ph.filesz > ph.memsz) throw new LoadError(`${what}: file size ${hex(ph.filesz)} exceeds memory size ${hex(ph.memsz)}`);
    if (ph.offset + ph.filesz > image.length) throw new LoadError(`${what} lies outside the file (truncated?)`);
    placements.push({ what, physAddr: ph.paddr >>> 0, fileOffset: ph.offset, fileSize: ph.filesz, memSize: ph.memsz });
    if ((ph.flags & PF_X) !== 0 && ph.vaddr !== ph.paddr && elf.entry >= ph.vaddr && elf.entry < ph.vaddr + ph.filesz) {
      entry = (elf.entry - ph.vaddr + ph.paddr) >>> 0;
    }
  });
  if (placements.length === 0) throw new LoadError("no loadable (PT_LOAD) segments");
  return { placements, entry };
}

function aoutPlacements(image: Uint8Array, h: number): { placements: Placement[]; entry: number } {
  if (h + 32 > image.length) throw new LoadError("multiboot header with flag 16 is truncated (needs 32 bytes)");
  const headerAddr = u32(image, h + 12);
  const loadAddr = u32(image, h + 16);
  const loadEndAddr = u32(image, h + 20);
  const bssEndAddr = u32(image, h + 24);
  const entry = u32(image, h + 28);
  if (headerAddr < loadAddr) {
    throw new LoadError(`multiboot header_addr ${hex(headerAddr)} is below load_addr ${hex(loadAddr)}`);
  }
  const fileOffset = h - (headerAddr - loadAddr);
  if (fileOffset < 0) {
    throw new LoadError(`multiboot load_addr ${hex(loadAddr)} would start before the beginning of the file`);
  }
  const loadEnd = loadEndAddr === 0 ? loadAddr + (image.length - fileOffset) : loadEndAddr;
  if (loadEnd < loadAddr) throw new LoadError(`multiboot load_end_addr ${hex(loadEnd)} is below load_addr ${hex(loadAddr)}`);
  const fileSize = loadEnd - loadAddr;
  if (fileOffset + fileSize > image.length) {
    throw new LoadError(`multiboot load_end_addr ${hex(loadEnd)} lies beyond the end of the file`);
  }
  const bssEnd = bssEndAddr === 0 ? loadEnd : bssEndAddr;
  if (bssEnd < loadEnd) throw new LoadError(`multiboot bss_end_addr ${hex(bssEnd)} is below load_end_addr ${hex(loadEnd)}`);
  return {
    placements: [{ what: "image (multiboot a.out kludge)", physAddr: loadAddr, fileOffset, fileSize, memSize: bssEnd - loadAddr }],
    entry,
  };
}

export function checkPlacement(p: Placement, ramSize: number): void {
  const start = p.physAddr;
  const end = p.physAddr + p.memSize;
  const range = `[${hex(start)}, ${hex(end)})`;
  if (end > ramSize) {
    throw new LoadError(`${p.what} at ${range} does not fit in ${ramSize / 1048576} MiB of memory`);
  }
  if (start < LOADER_AREA_END && end > LOADER_AREA_START) {
    throw new LoadError(
      `${p.what} at ${range} overlaps the loader's boot information at [${hex(LOADER_AREA_START)}, ${hex(LOADER_AREA_END)})`,
    );
  }
}

/** Physical addresses of what the info block points to. */
interface InfoPointers {
  cmdline: number;
  loaderName: number;
  modsAddr: number;
  modsCount: number;
}

/** Clears the loader area and writes its flat GDT (shared by both multiboot versions). */
export function writeLoaderGdt(ram: Uint8Array): void {
  ram.fill(0, LOADER_AREA_START, LOADER_AREA_END);
  // GDT: flat segments, base 0, limit 0xfffff pages, present, ring 0, accessed.
  const gdt = GDT_ADDRESS;
  put32(ram, gdt + 8, 0x0000ffff);
  put32(ram, gdt + 12, 0x00cf9b00); // code: execute/read, 32-bit, 4 KiB granularity
  put32(ram, gdt + 16, 0x0000ffff);
  put32(ram, gdt + 20, 0x00cf9300); // data: read/write, big, 4 KiB granularity
}

/**
 * The memory map both loaders report, [base, length, type] (1 = usable RAM, 2 = reserved): the
 * firmware's (QEMU's e820), with the EBDA, the BIOS area, the ACPI tables and the ROM alias reserved.
 */
export function memoryMap(ramEnd: number): Array<[number, number, number]> {
  return firmwareMemoryMap(ramEnd).map((r) => [r.base, r.length, r.type]);
}

/** mem_lower and mem_upper in KiB: the usable RAM from 0 and from 1 MiB (up to the ACPI tables). */
export function basicMemory(ramEnd: number): [number, number] {
  const map = firmwareMemoryMap(ramEnd);
  const usableFrom = (start: number) => map.find((r) => r.base === start && r.type === MEMORY_USABLE)?.length ?? 0;
  return [usableFrom(0) / 1024, Math.min(0xffffffff, usableFrom(HIGH_MEMORY_START) / 1024)];
}

function writeLoaderArea(ram: Uint8Array, at: InfoPointers): void {
  writeLoaderGdt(ram);

  // Memory map entries: size (20, not counting itself), base (64-bit), length (64-bit), type.
  const ramEnd = ram.length;
  const map = memoryMap(ramEnd);
  map.forEach(([base, length, type], i) => {
    const o = MMAP_ADDRESS + i * 24;
    put32(ram, o, 20);
    put64(ram, o + 4, base);
    put64(ram, o + 12, length);
    put32(ram, o + 20, type);
  });

  const info = INFO_ADDRESS;
  ram.fill(0, info, info + INFO_SIZE);
  put32(ram, info + 0, MBI_MEMORY | MBI_CMDLINE | MBI_MODS | MBI_MMAP | MBI_LOADER_NAME);
  const [lower, upper] = basicMemory(ramEnd);
  put32(ram, info + 4, lower); // mem_lower: 639 KiB
  put32(ram, info + 8, upper); // mem_upper: up to the ACPI tables
  put32(ram, info + 16, at.cmdline);
  put32(ram, info + 20, at.modsCount);
  put32(ram, info + 24, at.modsAddr);
  put32(ram, info + 44, map.length * 24); // mmap_length
  put32(ram, info + 48, MMAP_ADDRESS);
  put32(ram, info + 64, at.loaderName);
}

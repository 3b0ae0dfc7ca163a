/**
 * Multiboot2 loader (the Multiboot Specification version 2.0): loads a kernel whose header has magic
 * 0xE85250D6 and hands it the boot information as a list of tags. The machine state at entry is the
 * multiboot one (flat 32-bit protected mode, paging and interrupts off, this loader's GDT), with
 * EAX = 0x36D76289 and EBX = the physical address of the boot information.
 *
 * QEMU's -kernel does not load multiboot2 kernels (it takes GRUB), so this follows the specification
 * and what GRUB does on a BIOS PC, and its tests check against the specification.
 *
 * The header: 8-byte aligned within the first 32768 bytes; architecture 0 (i386); magic + architecture
 * + header_length + checksum = 0 (mod 2^32); then tags, each 8-byte aligned, up to an end tag. Header
 * tags understood:
 *   1 information request  the boot information tags the kernel wants; a required request for a tag
 *                          this loader cannot give refuses the kernel (an optional one is skipped)
 *   2 address              load addresses for images that are not ELF (as multiboot v1's a.out kludge)
 *   3 entry address        where to start (overrides the ELF entry point)
 *   4 console flags        accepted: the console is EGA text
 *   5 framebuffer          declined politely: there is no graphics mode, the screen stays EGA text
 *                          (80x25 at 0xB8000), which the framebuffer info tag describes when asked for
 *   6 module alignment     accepted: modules are always page-aligned
 *   7, 8, 9                EFI boot services and EFI entry points: ignored, this is a BIOS PC (as GRUB
 *                          on BIOS does)
 *  10 relocatable          accepted when the image's own load address satisfies it (no relocation)
 * Any other tag is refused unless its "optional" flag (bit 0) is set.
 *
 * The boot information goes after the kernel, rounded up to a page, and the modules after it, each on
 * a page boundary. Its tags, in order: command line (1), boot loader name (2), one per module (3),
 * basic memory information (4), memory map (6), framebuffer info (8, EGA text, when the header has a
 * framebuffer tag or asks for it), ACPI old RSDP (14) and new RSDP (15) when the machine has ACPI
 * tables, image load base address (21), end (0).
 */
import { Elf32, ElfError } from "../elf/elf32.js";
import { type BootModule, LoadError, encodeBootString, pageAlign, placeModules } from "./boot-modules.js";
import {
  BOOT_LOADER_NAME, GDT_ADDRESS, GDT_LIMIT, HIGH_MEMORY_START, type MultibootBoot, type Placement, basicMemory, checkPlacement, elfPlacements, hex,
  isElf, memoryMap, put32, u32, writeLoaderGdt,
} from "./multiboot.js";

export const MULTIBOOT2_HEADER_MAGIC = 0xe85250d6;
/** The value the loader leaves in EAX for the kernel. */
export const MULTIBOOT2_BOOTLOADER_MAGIC = 0x36d76289;
/** The header must lie completely within this many bytes from the start of the file. */
export const MULTIBOOT2_SEARCH_LIMIT = 32768;

/** Header tag types. */
const HT_END = 0, HT_INFO_REQUEST = 1, HT_ADDRESS = 2, HT_ENTRY = 3, HT_CONSOLE = 4, HT_FRAMEBUFFER = 5, HT_MODULE_ALIGN = 6;
const HT_EFI_BS = 7, HT_EFI_I386_ENTRY = 8, HT_EFI_AMD64_ENTRY = 9, HT_RELOCATABLE = 10;
const TAG_OPTIONAL = 1;

/** Boot information tag types. */
export const BI_END = 0, BI_CMDLINE = 1, BI_LOADER_NAME = 2, BI_MODULE = 3, BI_BASIC_MEMINFO = 4, BI_MMAP = 6, BI_FRAMEBUFFER = 8;
export const BI_ACPI_OLD = 14, BI_ACPI_NEW = 15, BI_LOAD_BASE = 21;

/** Names of boot information tags, for the refusal of a request this loader cannot meet. */
const INFO_NAMES: Record<number, string> = {
  5: "BIOS boot device", 7: "VBE info", 9: "ELF sections", 10: "APM table", 11: "EFI 32-bit system table", 12: "EFI 64-bit system table",
  13: "SMBIOS tables", 14: "ACPI old RSDP", 15: "ACPI new RSDP", 16: "networking information", 17: "EFI memory map",
  18: "EFI boot services not terminated", 19: "EFI 32-bit image handle", 20: "EFI 64-bit image handle",
};

/** The EGA text screen the framebuffer info tag describes. */
const EGA_TEXT = { address: 0xb8000, width: 80, height: 25 };

export interface Multiboot2Options {
  /** The kernel command line exactly as the kernel sees it. */
  cmdline?: string;
  modules?: readonly BootModule[];
  /**
   * The machine's ACPI RSDP (20 bytes for revision 0, 36 for revision 2 and later), copied into the
   * ACPI tags; null or absent when the machine has no ACPI tables.
   */
  rsdp?: Uint8Array | null;
}

export interface HeaderSearch {
  offset: number;
  badChecksumOffset: number;
}

/** Finds a multiboot2 header (magic and valid checksum) in the first 32768 bytes of `image`. */
export function findMultiboot2Header(image: Uint8Array): HeaderSearch {
  const result: HeaderSearch = { offset: -1, badChecksumOffset: -1 };
  const end = Math.min(MULTIBOOT2_SEARCH_LIMIT, image.length) - 16;
  for (let o = 0; o <= end; o += 8) {
    if (u32(image, o) !== MULTIBOOT2_HEADER_MAGIC) continue;
    const sum = (MULTIBOOT2_HEADER_MAGIC + u32(image, o + 4) + u32(image, o + 8) + u32(image, o + 12)) >>> 0;
    if (sum === 0) {
      result.offset = o;
      return result;
    }
    if (result.badChecksumOffset < 0) result.badChecksumOffset = o;
  }
  return result;
}

/** What the header's tags ask for. */
interface HeaderRequests {
  requested: number[];
  requestsOptional: boolean;
  address: { headerAddr: number; loadAddr: number; loadEndAddr: number; bssEndAddr: number } | null;
  entry: number | null;
  framebuffer: boolean;
  relocatable: { min: number; max: number; align: number } | null;
}

function parseHeader(image: Uint8Array, h: number): HeaderRequests {
  const arch = u32(image, h + 4);
  const length = u32(image, h + 8);
  if (arch !== 0) throw new LoadError(`multiboot2 header at file offset ${hex(h)} is for architecture ${arch}, not i386 (0)`);
  if (length < 24 || h + length > image.length || h + length > MULTIBOOT2_SEARCH_LIMIT) {
    throw new LoadError(`multiboot2 header at file offset ${hex(h)} has a bad header_length ${length}`);
  }
  const r: HeaderRequests = { requested: [], requestsOptional: true, address: null, entry: null, framebuffer: false, relocatable: null };
  let o = h + 16;
  for (;;) {
    if (o + 8 > h + length) throw new LoadError("multiboot2 header has no end tag");
    const type = image[o] | (image[o + 1] << 8);
    const flags = image[o + 2] | (image[o + 3] << 8);
    const size = u32(image, o + 4);
    if (size < 8 || o + size > h + length) throw new LoadError(`multiboot2 header tag ${type} at file offset ${hex(o)} has a bad size ${size}`);
    const optional = (flags & TAG_OPTIONAL) !== 0;
    const need = (n: number) => {
      if (size < n) throw new LoadError(`multiboot2 header tag ${type} is ${size} bytes; it needs ${n}`);
    };
    switch (type) {
      case HT_END:
        return r;
      case HT_INFO_REQUEST:
        for (let p = o + 8; p + 4 <= o + size; p += 4) r.requested.push(u32(image, p));
        r.requestsOptional = optional;
        break;
      case HT_ADDRESS:
        need(24);
        r.address = { headerAddr: u32(image, o + 8), loadAddr: u32(image, o + 12), loadEndAddr: u32(image, o + 16), bssEndAddr: u32(image, o + 20) };
        break;
      case HT_ENTRY:
        need(12);
        r.entry = u32(image, o + 8);
        break;
      case HT_FRAMEBUFFER:
        r.framebuffer = true;
        break;
      case HT_RELOCATABLE:
        need(24);
        r.relocatable = { min: u32(image, o + 8), max: u32(image, o + 12), align: u32(image, o + 16) };
        break;
      case HT_CONSOLE: case HT_MODULE_ALIGN: case HT_EFI_BS: case HT_EFI_I386_ENTRY: case HT_EFI_AMD64_ENTRY:
        break;
      default:
        if (!optional) throw new LoadError(`multiboot2 header tag ${type} at file offset ${hex(o)} is required but not supported`);
    }
    o += (size + 7) & ~7;
  }
}

/** Placement from the address tag (for images that are not ELF). */
function addressPlacements(image: Uint8Array, h: number, a: NonNullable<HeaderRequests["address"]>): Placement[] {
  // load_addr 0xffffffff: the file is loaded from its beginning, so that the header lands at header_addr.
  const loadAddr = a.loadAddr === 0xffffffff ? a.headerAddr - h : a.loadAddr;
  if (loadAddr < 0 || a.headerAddr < loadAddr) throw new LoadError(`multiboot2 header_addr ${hex(a.headerAddr)} is below load_addr ${hex(a.loadAddr)}`);
  const fileOffset = h - (a.headerAddr - loadAddr);
  if (fileOffset < 0) throw new LoadError(`multiboot2 load_addr ${hex(loadAddr)} would start before the beginning of the file`);
  const loadEnd = a.loadEndAddr === 0 ? loadAddr + (image.length - fileOffset) : a.loadEndAddr;
  if (loadEnd < loadAddr) throw new LoadError(`multiboot2 load_end_addr ${hex(loadEnd)} is below load_addr ${hex(loadAddr)}`);
  if (fileOffset + (loadEnd - loadAddr) > image.length) throw new LoadError(`multiboot2 load_end_addr ${hex(loadEnd)} lies beyond the end of the file`);
  const bssEnd = a.bssEndAddr === 0 ? loadEnd : a.bssEndAddr;
  if (bssEnd < loadEnd) throw new LoadError(`multiboot2 bss_end_addr ${hex(bssEnd)} is below load_end_addr ${hex(loadEnd)}`);
  return [{ what: "image (multiboot2 address tag)", physAddr: loadAddr, fileOffset, fileSize: loadEnd - loadAddr, memSize: bssEnd - loadAddr }];
}

/** A boot information list under construction: tags appended 8-byte aligned. */
class TagWriter {
  private bytes: number[] = [0, 0, 0, 0, 0, 0, 0, 0];

  /** Appends a tag of `type` with `body` (the size field counts header and body, not the padding). */
  tag(type: number, body: number[]): void {
    this.u32(type);
    this.u32(8 + body.length);
    this.bytes.push(...body);
    while (this.bytes.length % 8 !== 0) this.bytes.push(0);
  }

  private u32(v: number): void {
    this.bytes.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
  }

  /** The finished list with its total_size. */
  finish(): Uint8Array {
    const out = Uint8Array.from(this.bytes);
    put32(out, 0, out.length);
    return out;
  }
}

const le32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
const le64 = (v: number) => [...le32(v % 0x100000000), ...le32(Math.floor(v / 0x100000000))];
const cstr = (b: Uint8Array) => [...b, 0];

/** Loads a multiboot2 kernel and writes its boot information; RAM is untouched when it throws. */
export function loadMultiboot2(image: Uint8Array, ram: Uint8Array, options: Multiboot2Options = {}): MultibootBoot {
  if (ram.length <= HIGH_MEMORY_START) {
    throw new LoadError(`guest memory of ${ram.length} bytes is too small: a multiboot2 kernel needs memory above 1 MiB`);
  }
  const search = findMultiboot2Header(image);
  if (search.offset < 0) {
    if (search.badChecksumOffset >= 0) throw new LoadError(`multiboot2 header at file offset ${hex(search.badChecksumOffset)} has a bad checksum`);
    throw new LoadError(`no multiboot2 header (magic 0xe85250d6) in the first ${MULTIBOOT2_SEARCH_LIMIT} bytes`);
  }
  const h = search.offset;
  const req = parseHeader(image, h);

  let placements: Placement[];
  let entry: number | null = req.entry;
  if (isElf(image) && req.address === null) {
    let elf: Elf32;
    try {
      elf = new Elf32(image);
    } catch (e) {
      if (e instanceof ElfError) throw new LoadError(e.message, { cause: e });
      throw e;
    }
    const loaded = elfPlacements(elf, image);
    placements = loaded.placements;
    entry ??= loaded.entry;
  } else if (req.address !== null) {
    placements = addressPlacements(image, h, req.address);
    if (entry === null) throw new LoadError("multiboot2 header has an address tag but no entry address tag");
  } else {
    throw new LoadError("not an ELF file (no \\x7fELF magic) and the multiboot2 header has no address tag");
  }
  for (const p of placements) checkPlacement(p, ram.length);
  const low = Math.min(...placements.map((p) => p.physAddr));
  const high = Math.max(...placements.map((p) => p.physAddr + p.memSize));
  if (req.relocatable !== null) {
    const { min, max, align } = req.relocatable;
    if (low < min || high > max || (align > 1 && low % align !== 0)) {
      throw new LoadError(`image at ${hex(low)} does not satisfy its relocatable tag (${hex(min)}-${hex(max)}, align ${hex(align)}) and ttd does not relocate`);
    }
  }

  // Which optional tags to give, and refusal of required requests that cannot be met.
  const rsdp = options.rsdp ?? null;
  const gives = new Set([BI_CMDLINE, BI_LOADER_NAME, BI_MODULE, BI_BASIC_MEMINFO, BI_MMAP, BI_FRAMEBUFFER, BI_LOAD_BASE, BI_END]);
  if (rsdp !== null) gives.add(BI_ACPI_OLD);
  if (rsdp !== null && rsdp.length >= 36 && rsdp[15] >= 2) gives.add(BI_ACPI_NEW);
  if (!req.requestsOptional) {
    for (const t of req.requested) {
      if (!gives.has(t)) {
        const why = t !== BI_ACPI_OLD && t !== BI_ACPI_NEW ? "ttd does not provide it"
          : rsdp === null ? "this machine has no ACPI tables" : "the machine's RSDP is ACPI 1.0 (revision 0)";
        throw new LoadError(`multiboot2 header requires boot information tag ${t} (${INFO_NAMES[t] ?? "unknown"}); ${why}`);
      }
    }
  }

  const modules = options.modules ?? [];
  const info = new TagWriter();
  info.tag(BI_CMDLINE, cstr(encodeBootString(options.cmdline ?? "", "command line")));
  info.tag(BI_LOADER_NAME, cstr(encodeBootString(BOOT_LOADER_NAME, "boot loader name")));
  const moduleStrings = modules.map((m) => encodeBootString(m.string, `module string '${m.string}'`));
  // Module tags have fixed sizes, so the information's size is known before the modules are placed.
  const moduleTag = (i: number, start: number, end: number) => [...le32(start), ...le32(end), ...cstr(moduleStrings[i])];
  const infoAddress = low + pageAlign(high - low);
  const moduleTagsBytes = moduleStrings.reduce((n, s) => n + ((8 + 8 + s.length + 1 + 7) & ~7), 0);
  const rest = buildTail(ram.length, req, rsdp, gives, low);
  const headBytes = info.finish().length; // total so far, including the 8-byte header
  const infoSize = headBytes + moduleTagsBytes + rest.length;
  checkPlacement({ what: "the multiboot2 boot information", physAddr: infoAddress, fileOffset: 0, fileSize: 0, memSize: infoSize }, ram.length);
  const placed = placeModules(modules, infoAddress + infoSize, ram.length);
  for (const m of placed) {
    checkPlacement({ what: `module '${m.module.string}'`, physAddr: m.start, fileOffset: 0, fileSize: 0, memSize: m.end - m.start }, ram.length);
  }
  placed.forEach((m, i) => info.tag(BI_MODULE, moduleTag(i, m.start, m.end)));
  const tail = info.finish();
  const bootInfo = new Uint8Array(tail.length + rest.length);
  bootInfo.set(tail);
  bootInfo.set(rest, tail.length);
  put32(bootInfo, 0, bootInfo.length);

  // Everything checked: now write guest memory.
  for (const p of placements) {
    ram.set(image.subarray(p.fileOffset, p.fileOffset + p.fileSize), p.physAddr);
    ram.fill(0, p.physAddr + p.fileSize, p.physAddr + p.memSize);
  }
  ram.fill(0, infoAddress, pageAlign(infoAddress + bootInfo.length));
  ram.set(bootInfo, infoAddress);
  for (const m of placed) {
    ram.set(m.module.data, m.start);
    ram.fill(0, m.end, pageAlign(m.end));
  }
  writeLoaderGdt(ram);
  return {
    entry: entry >>> 0,
    infoAddress,
    gdtBase: GDT_ADDRESS,
    gdtLimit: GDT_LIMIT,
    modules: placed.map((m) => ({ start: m.start, end: m.end })),
    magic: MULTIBOOT2_BOOTLOADER_MAGIC,
  };
}

/** The tags after the modules: memory, framebuffer, ACPI, load base, end (as one byte list with no header). */
function buildTail(ramEnd: number, req: HeaderRequests, rsdp: Uint8Array | null, gives: Set<number>, loadBase: number): Uint8Array {
  const w = new TagWriter();
  const [lower, upper] = basicMemory(ramEnd);
  w.tag(BI_BASIC_MEMINFO, [...le32(lower), ...le32(upper)]);
  const map = memoryMap(ramEnd);
  w.tag(BI_MMAP, [...le32(24), ...le32(0), ...map.flatMap(([base, length, type]) => [...le64(base), ...le64(length), ...le32(type), ...le32(0)])]);
  if (req.framebuffer || req.requested.includes(BI_FRAMEBUFFER)) {
    // EGA text: address, pitch in bytes, width and height in characters, 16 bits per character, type 2.
    w.tag(BI_FRAMEBUFFER, [...le64(EGA_TEXT.address), ...le32(EGA_TEXT.width * 2), ...le32(EGA_TEXT.width), ...le32(EGA_TEXT.height), 16, 2, 0, 0]);
  }
  if (rsdp !== null && gives.has(BI_ACPI_OLD)) w.tag(BI_ACPI_OLD, Array.from(rsdp.subarray(0, 20)));
  if (rsdp !== null && gives.has(BI_ACPI_NEW)) w.tag(BI_ACPI_NEW, Array.from(rsdp.subarray(0, 36)));
  w.tag(BI_LOAD_BASE, le32(loadBase));
  w.tag(BI_END, []);
  return w.finish().subarray(8);
}

/**
 * The Linux/x86 boot protocol, 32-bit entry (protocol 2.02 and every later 2.x): loads a bzImage's
 * protected-mode kernel, fills a boot_params "zero page" the way a boot loader does after running the
 * kernel's real-mode setup, and says where the CPU starts. QEMU's `-kernel` runs the real-mode setup
 * code instead; ttd has no real mode worth the name, so it hands the kernel what that setup would have
 * gathered (the BIOS e820 map, the text screen, the memory sizes) and enters at code32_start.
 *
 * The image (facts from the kernel's Documentation/x86/boot.rst):
 *   0x1f1  setup_sects (0 means 4): 512-byte sectors of real-mode setup after the boot sector
 *   0x1fe  0xAA55; 0x202 "HdrS"; 0x206 the protocol version; 0x201 the jump whose target ends the header
 *   0x211  loadflags: bit 0 LOADED_HIGH (the protected-mode part runs at 0x100000: a bzImage)
 *   0x214  code32_start; 0x22c initrd_addr_max (2.03+); 0x230 kernel_alignment; 0x234 relocatable
 *   0x236  xloadflags (2.12+): bit 0 XLF_KERNEL_64 marks a 64-bit kernel
 *   0x238  cmdline_size (2.06+; 255 before); 0x258 pref_address, 0x260 init_size (2.10+)
 * The protected-mode part is the file after the (setup_sects + 1) sectors.
 *
 * Where things go (QEMU's addresses for the same pieces, so a kernel finds them in the same places):
 *   0x8000   GDT: null, null, 0x10 flat 4 GiB code, 0x18 flat 4 GiB data (__BOOT_CS / __BOOT_DS)
 *   0x10000  the zero page (struct boot_params, 4 KiB); QEMU puts the real-mode setup here
 *   0x20000  the command line, NUL-terminated (QEMU's cmdline_addr)
 *   code32_start (0x100000)  the protected-mode kernel
 *   the initrd at the top of RAM: below min(initrd_addr_max, the ACPI area at top-128K), page-aligned
 *            start, as QEMU 7.2 places it (256 MiB and a 1,085,129-byte initrd: 0x0fed7000)
 *
 * Entry: CS 0x10, DS/ES/SS/FS/GS 0x18, all flat; interrupts off; ESI the zero page; EBP, EDI and EBX
 * zero (the protocol requires those three), every other register zero too.
 */
import { LoadError, encodeBootString, PAGE_SIZE } from "./boot-modules.js";
import { ACPI_AREA_SIZE, HIGH_MEMORY_START, firmwareFits, firmwareMemoryMap } from "./firmware/layout.js";
import { hex, put32, put64, u32 } from "./multiboot.js";

export const BOOT_SIGNATURE = 0xaa55;
/** "HdrS" as a little-endian dword. */
export const SETUP_HEADER_MAGIC = 0x53726448;
/** The oldest protocol with a 32-bit entry point this loader can use (cmd_line_ptr, heap_end_ptr). */
export const MIN_PROTOCOL = 0x0202;

export const LINUX_GDT_ADDRESS = 0x8000;
export const LINUX_GDT_LIMIT = 4 * 8 - 1;
export const BOOT_CS = 0x10;
export const BOOT_DS = 0x18;
export const ZERO_PAGE_ADDRESS = 0x10000;
export const CMDLINE_ADDRESS = 0x20000;
/** QEMU's type_of_loader (0xB0: QEMU, version 0). */
export const LOADER_TYPE_QEMU = 0xb0;
/** heap_end_ptr as QEMU sets it: the command line's offset from the setup segment, less 0x200. */
export const HEAP_END = CMDLINE_ADDRESS - ZERO_PAGE_ADDRESS - 0x200;

/** loadflags bits. */
export const LOADED_HIGH = 0x01;
export const CAN_USE_HEAP = 0x80;
/** xloadflags bit: the kernel is 64-bit (has the 64-bit entry point at +0x200). */
export const XLF_KERNEL_64 = 0x01;

/** Offsets in the zero page (struct boot_params) and its embedded setup header. */
const BP_SCREEN_INFO = 0x000;
const BP_ALT_MEM_K = 0x1e0;
const BP_E820_ENTRIES = 0x1e8;
const BP_SETUP_HEADER = 0x1f1;
const BP_E820_TABLE = 0x2d0;
const E820_MAX_ENTRIES = 128;
const HDR_TYPE_OF_LOADER = 0x210;
const HDR_LOADFLAGS = 0x211;
const HDR_RAMDISK_IMAGE = 0x218;
const HDR_RAMDISK_SIZE = 0x21c;
const HDR_HEAP_END_PTR = 0x224;
const HDR_CMD_LINE_PTR = 0x228;

/** The setup header's fields this loader reads. */
export interface SetupHeader {
  setupSects: number;
  /** Size of the protected-mode code in 16-byte paragraphs. */
  syssize: number;
  /** Boot protocol version, e.g. 0x020f for 2.15. */
  version: number;
  loadflags: number;
  code32Start: number;
  initrdAddrMax: number;
  kernelAlignment: number;
  relocatable: boolean;
  xloadflags: number;
  cmdlineSize: number;
  prefAddress: number;
  initSize: number;
  /** Offset just past the header (0x202 + the byte at 0x201). */
  headerEnd: number;
}

/** True when `image` carries the boot sector signature and the "HdrS" setup header of a Linux kernel. */
export function isLinuxBzImage(image: Uint8Array): boolean {
  return image.length >= 0x206 && (image[0x1fe] | (image[0x1ff] << 8)) === BOOT_SIGNATURE && u32(image, 0x202) === SETUP_HEADER_MAGIC;
}

function u16(b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8);
}

/** Reads the setup header; a field a protocol version does not have gets the value the protocol implies. */
export function readSetupHeader(image: Uint8Array): SetupHeader {
  if (!isLinuxBzImage(image)) throw new LoadError("not a Linux kernel image (no 0xAA55 boot signature and \"HdrS\" setup header)");
  const version = u16(image, 0x206);
  const at = (o: number, size: number, since: number, otherwise: number): number => {
    if (version < since || o + size > image.length) return otherwise;
    return size === 1 ? image[o] : size === 2 ? u16(image, o) : u32(image, o);
  };
  const prefLow = at(0x258, 4, 0x020a, 0);
  const prefHigh = at(0x25c, 4, 0x020a, 0);
  return {
    setupSects: image[0x1f1] === 0 ? 4 : image[0x1f1],
    syssize: u32(image, 0x1f4),
    version,
    loadflags: image[0x211],
    code32Start: u32(image, 0x214),
    // Before 2.03 the kernel could take an initrd only below 0x38000000.
    initrdAddrMax: at(0x22c, 4, 0x0203, 0x37ffffff),
    kernelAlignment: at(0x230, 4, 0x0205, 0),
    relocatable: at(0x234, 1, 0x0205, 0) !== 0,
    xloadflags: at(0x236, 2, 0x020c, 0),
    cmdlineSize: at(0x238, 4, 0x0206, 255),
    prefAddress: prefHigh !== 0 ? Infinity : prefLow,
    initSize: at(0x260, 4, 0x020a, 0),
    headerEnd: 0x202 + image[0x201],
  };
}

/**
 * The kernel release the image names (the first word of the string kernel_version points to, e.g.
 * "6.1.0-57-686"), or null when the header has none (protocol before 2.00, or a zero pointer).
 */
export function kernelRelease(image: Uint8Array): string | null {
  return kernelVersionText(image)?.split(" ")[0] || null;
}

/**
 * The header's whole kernel_version string: the release, who built it and the build's version, e.g.
 * `6.1.0-57-686 (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC Debian 6.1.192-3 (2026-11-26)`.
 */
export function kernelVersionText(image: Uint8Array): string | null {
  if (!isLinuxBzImage(image) || u16(image, 0x206) < 0x0200) return null;
  const pointer = u16(image, 0x20e);
  if (pointer === 0) return null;
  const at = 0x200 + pointer;
  const end = image.indexOf(0, at);
  if (at >= image.length || end < 0 || end - at > 256) return null;
  return new TextDecoder("latin1").decode(image.subarray(at, end));
}

function version(v: number): string {
  return `${v >> 8}.${(v & 0xff).toString().padStart(2, "0")}`;
}

export interface LinuxBootOptions {
  /** The kernel command line exactly as the kernel sees it (no kernel path in front, unlike multiboot). */
  cmdline: string;
  /** The initial ramdisk, if any; `file` names it in errors. */
  initrd?: { file: string; data: Uint8Array };
}

export interface LinuxBoot {
  /** Where the CPU starts: code32_start. */
  entry: number;
  /** The zero page (ESI at entry). */
  zeroPage: number;
  gdtBase: number;
  gdtLimit: number;
  /** Where the protected-mode kernel was loaded: [start, end). */
  kernel: { start: number; end: number };
  /** Where the initrd was placed: [start, end), or null. */
  initrd: { start: number; end: number } | null;
  header: SetupHeader;
}

const mib = (n: number) => `${(n / 1048576).toFixed(n % 1048576 === 0 ? 0 : 1)} MiB`;

/**
 * Checks a bzImage and the inputs against the protocol and the machine's RAM, then loads it. Throws a
 * LoadError naming the problem (the initrd's file as its subject when the initrd is at fault); `ram` is
 * untouched in that case.
 */
export function loadLinux(image: Uint8Array, ram: Uint8Array, options: LinuxBootOptions): LinuxBoot {
  const h = readSetupHeader(image);
  if (h.version < MIN_PROTOCOL) {
    throw new LoadError(`Linux boot protocol ${version(h.version)} is too old: ttd boots protocol 2.02 and later (the 32-bit entry)`);
  }
  // Within 2.x every version keeps the fields of the ones before it; another major version would not.
  if (h.version >> 8 !== MIN_PROTOCOL >> 8) {
    throw new LoadError(`Linux boot protocol ${version(h.version)} is not one ttd knows: it boots the 2.x protocol, from 2.02 on (the 32-bit entry)`);
  }
  if ((h.loadflags & LOADED_HIGH) === 0) {
    throw new LoadError("a zImage (loadflags bit 0 clear: the kernel runs at 0x10000 from real mode): ttd boots bzImages only, entering at the 32-bit code32_start");
  }
  if ((h.xloadflags & XLF_KERNEL_64) !== 0) {
    throw new LoadError("a 64-bit kernel (xloadflags XLF_KERNEL_64): ttd emulates an i386 without long mode; use a 32-bit (i386/686) kernel");
  }
  const protOffset = (h.setupSects + 1) * 512;
  if (protOffset >= image.length) throw new LoadError(`truncated: the setup code (${h.setupSects} sectors) leaves no protected-mode kernel`);
  const protSize = image.length - protOffset;
  // syssize counts 16-byte paragraphs, rounded up (memtest86+'s image ends mid-paragraph).
  if (h.syssize > Math.ceil(protSize / 16)) {
    throw new LoadError(`truncated: the header says the protected-mode kernel has ${h.syssize * 16} bytes, the file has ${protSize}`);
  }
  const kernel = { start: h.code32Start, end: h.code32Start + protSize };
  if (kernel.start < HIGH_MEMORY_START) {
    throw new LoadError(`code32_start ${hex(kernel.start)} is below 1 MiB, where the zero page and command line go`);
  }
  // The decompressor works in [pref_address, + init_size) (a relocatable kernel may go elsewhere, but
  // RAM at least that large is what it asks for); it must also hold the image itself.
  const needed = Math.max(kernel.end, h.prefAddress === Infinity ? 0 : h.prefAddress + h.initSize);
  if (needed > ram.length || !firmwareFits(ram.length)) {
    throw new LoadError(`the kernel needs memory up to ${hex(needed)} (to decompress itself): ${mib(ram.length)} is too small; give more with --memory`);
  }

  const cmdline = encodeBootString(options.cmdline, "command line");
  if (cmdline.length > h.cmdlineSize) {
    throw new LoadError(`command line of ${cmdline.length} bytes is longer than the kernel's cmdline_size (${h.cmdlineSize} bytes)`);
  }

  let initrd: LinuxBoot["initrd"] = null;
  if (options.initrd !== undefined && options.initrd.data.length > 0) {
    const size = options.initrd.data.length;
    // QEMU's rule: the last byte may be at initrd_addr_max, but not in the ACPI area at the top of RAM.
    const max = Math.min(h.initrdAddrMax, ram.length - ACPI_AREA_SIZE - 1);
    const start = Math.floor((max + 1 - size) / PAGE_SIZE) * PAGE_SIZE;
    const floor = Math.max(kernel.end, needed);
    if (start < floor) {
      const limit = h.initrdAddrMax < ram.length - ACPI_AREA_SIZE - 1 ? `below the kernel's initrd_addr_max ${hex(h.initrdAddrMax)}` : `in ${mib(ram.length)} of memory`;
      throw new LoadError(`initrd of ${size} bytes does not fit ${limit} above the kernel (which needs up to ${hex(floor)}); give more memory with --memory or a smaller initrd`, { subject: options.initrd.file });
    }
    initrd = { start, end: start + size };
  }

  // Everything checked: write guest memory.
  ram.set(image.subarray(protOffset), kernel.start);
  if (initrd !== null) ram.set(options.initrd!.data, initrd.start);
  ram.fill(0, CMDLINE_ADDRESS, CMDLINE_ADDRESS + cmdline.length + 1);
  ram.set(cmdline, CMDLINE_ADDRESS);
  writeLinuxGdt(ram);
  writeZeroPage(ram, image, h, initrd);
  return { entry: kernel.start, zeroPage: ZERO_PAGE_ADDRESS, gdtBase: LINUX_GDT_ADDRESS, gdtLimit: LINUX_GDT_LIMIT, kernel, initrd, header: h };
}

/** The GDT the protocol asks for: flat 4 GiB code at 0x10 and data at 0x18 (accessed bits preset). */
function writeLinuxGdt(ram: Uint8Array): void {
  const gdt = LINUX_GDT_ADDRESS;
  ram.fill(0, gdt, gdt + LINUX_GDT_LIMIT + 1);
  put32(ram, gdt + BOOT_CS, 0x0000ffff);
  put32(ram, gdt + BOOT_CS + 4, 0x00cf9b00);
  put32(ram, gdt + BOOT_DS, 0x0000ffff);
  put32(ram, gdt + BOOT_DS + 4, 0x00cf9300);
}

/**
 * The zero page: what the kernel's real-mode setup would have filled in under SeaBIOS (the e820 map,
 * memory sizes, the 80x25 text screen), the setup header copied from the image, and the loader's
 * fields (loader type, heap end, command line, initrd).
 */
function writeZeroPage(ram: Uint8Array, image: Uint8Array, h: SetupHeader, initrd: LinuxBoot["initrd"]): void {
  const zp = ZERO_PAGE_ADDRESS;
  ram.fill(0, zp, zp + PAGE_SIZE);
  ram.set(image.subarray(BP_SETUP_HEADER, Math.min(h.headerEnd, image.length)), zp + BP_SETUP_HEADER);

  const map = firmwareMemoryMap(ram.length);
  const usableAbove1M = map.find((r) => r.base === HIGH_MEMORY_START)?.length ?? 0;
  // screen_info, as the setup code reads it from the BIOS: cursor at 0,0, VGA colour text mode 3.
  const si = zp + BP_SCREEN_INFO;
  ram[si + 0x06] = 3; // orig_video_mode
  ram[si + 0x07] = 80; // orig_video_cols
  ram[si + 0x0a] = 0x03; // orig_video_ega_bx: colour, 256 KiB (not 0x10, which means CGA)
  ram[si + 0x0e] = 25; // orig_video_lines
  ram[si + 0x0f] = 1; // orig_video_isVGA
  ram[si + 0x10] = 16; // orig_video_points: 16-line font
  // ext_mem_k (INT 15h AH=88h, at most 0xfc00 KiB) and alt_mem_k (E801: KiB above 1 MiB).
  const extKiB = Math.floor(usableAbove1M / 1024);
  ram[si + 0x02] = Math.min(extKiB, 0xfc00) & 0xff;
  ram[si + 0x03] = Math.min(extKiB, 0xfc00) >> 8;
  put32(ram, zp + BP_ALT_MEM_K, extKiB);

  const entries = map.slice(0, E820_MAX_ENTRIES);
  ram[zp + BP_E820_ENTRIES] = entries.length;
  entries.forEach((r, i) => {
    const o = zp + BP_E820_TABLE + i * 20;
    put64(ram, o, r.base);
    put64(ram, o + 8, r.length);
    put32(ram, o + 16, r.type);
  });

  ram[zp + HDR_TYPE_OF_LOADER] = LOADER_TYPE_QEMU;
  ram[zp + HDR_LOADFLAGS] = (h.loadflags | CAN_USE_HEAP) & 0xff;
  ram[zp + HDR_HEAP_END_PTR] = HEAP_END & 0xff;
  ram[zp + HDR_HEAP_END_PTR + 1] = HEAP_END >> 8;
  put32(ram, zp + HDR_CMD_LINE_PTR, CMDLINE_ADDRESS);
  put32(ram, zp + HDR_RAMDISK_IMAGE, initrd?.start ?? 0);
  put32(ram, zp + HDR_RAMDISK_SIZE, initrd === null ? 0 : initrd.end - initrd.start);
}

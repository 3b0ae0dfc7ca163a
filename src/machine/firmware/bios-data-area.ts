/**
 * The BIOS data area (0x400-0x4ff) and the extended BIOS data area, as SeaBIOS leaves them under QEMU
 * for a kernel, restricted to the hardware ttd has. Kernels read it to find the serial ports
 * (0x400), the EBDA (segment at 0x40e; the MP and ACPI searches start there), the base memory size
 * (0x413) and the equipment word (0x410).
 *
 * Where ttd differs from QEMU, because ttd's PC has less: no parallel port (QEMU lists LPT1 at 0x378),
 * no floppy drive or PS/2 mouse, and the x87 bit of the equipment word follows CPUID (QEMU's CPU has
 * an FPU). The cursor position is 0,0 (QEMU's is below SeaBIOS's boot messages) and the VGA BIOS
 * save pointer is 0 (there is no VGA ROM). The timer tick count at 0x46c is the one for ttd's fixed
 * clock, which starts at midnight.
 */
import { TableWriter } from "./table-writer.js";
import { EBDA_ADDRESS, EBDA_SIZE } from "./layout.js";

export const BDA_ADDRESS = 0x400;
export const COM1_PORT = 0x3f8;

export interface BiosDataAreaOptions {
  /** I/O bases of the serial ports present, COM1 first (at most four). */
  serialPorts: number[];
  /** True when the CPU has an x87 FPU (CPUID.1:EDX bit 0). */
  fpu: boolean;
}

/** Equipment word bits. */
const EQUIP_FPU = 1 << 1;
const EQUIP_VIDEO_80X25_COLOR = 2 << 4;
const EQUIP_SERIAL_SHIFT = 9;

/** The keyboard buffer: 16 words at offsets 0x1e-0x3d of the BDA's segment 0x40. */
const KBD_BUFFER_START = 0x1e;
const KBD_BUFFER_END = 0x3e;

export function writeBiosDataArea(ram: Uint8Array, options: BiosDataAreaOptions): void {
  const w = new TableWriter(ram);
  ram.fill(0, BDA_ADDRESS, BDA_ADDRESS + 0x100);
  options.serialPorts.slice(0, 4).forEach((port, i) => w.u16(0x400 + 2 * i, port));
  w.u16(0x40e, EBDA_ADDRESS >>> 4);
  let equipment = EQUIP_VIDEO_80X25_COLOR | (Math.min(4, options.serialPorts.length) << EQUIP_SERIAL_SHIFT);
  if (options.fpu) equipment |= EQUIP_FPU;
  w.u16(0x410, equipment);
  w.u16(0x413, EBDA_ADDRESS / 1024); // base memory in KiB: 639
  w.u16(0x41a, KBD_BUFFER_START); // keyboard buffer head and tail: empty
  w.u16(0x41c, KBD_BUFFER_START);
  w.u16(0x480, KBD_BUFFER_START);
  w.u16(0x482, KBD_BUFFER_END);
  // Video: mode 3 (80x25 colour text), 80 columns, 4 KiB pages, 25 rows of 16-line characters.
  w.u8(0x449, 3);
  w.u16(0x44a, 80);
  w.u16(0x44c, 0x1000);
  w.u16(0x460, 0x0607); // cursor shape: scan lines 6-7
  w.u16(0x463, 0x3d4); // CRTC index port of a colour adapter
  w.u8(0x484, 25 - 1);
  w.u16(0x485, 16);
  w.u8(0x487, 0x60);
  w.u8(0x488, 0xf9);
  w.u8(0x489, 0x51);
  w.u8(0x48a, 0x08);
  w.u8(0x476, 0xc0); // fixed disk control byte as SeaBIOS sets it
  options.serialPorts.slice(0, 4).forEach((_, i) => w.u8(0x47c + i, 0x0a)); // serial timeouts
  w.u8(0x496, 0x10); // a 101/102-key keyboard
  // The EBDA: its first byte is its size in KiB; the rest is the BIOS's own and left zero.
  ram.fill(0, EBDA_ADDRESS, EBDA_ADDRESS + EBDA_SIZE);
  w.u8(EBDA_ADDRESS, EBDA_SIZE / 1024);
}

/**
 * A tiny kernel in Linux's bzImage format, made here rather than downloaded, so the Linux boot protocol
 * can be tried and tested on a fresh clone: `src/guests/linux-hello/build/hello.bzImage`.
 *
 * Its protected-mode code (hand-assembled below) reads the zero page the boot loader passes in ESI,
 * writes the command line and a newline to COM1, then the initrd's bytes as they are, and powers the
 * machine off through ACPI (SLP_EN with SLP_TYP 0 in PM1a control, port 0x604).
 *
 *   node dist/guests/linux-hello.js    rewrites the image in src/guests/linux-hello/build/
 *
 * `bzImage()` also builds images with any setup header field changed, for the loader's error tests.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** The protected-mode code, entered at code32_start with ESI = the zero page. */
export const HELLO_CODE = Uint8Array.from([
  0x8b, 0x9e, 0x28, 0x02, 0x00, 0x00, //  0: mov ebx, [esi+0x228]   cmd_line_ptr
  0x66, 0xba, 0xf8, 0x03, //              6: mov dx, 0x3f8          COM1
  0x8a, 0x03, //                         10: mov al, [ebx]
  0x84, 0xc0, //                         12: test al, al
  0x74, 0x04, //                         14: jz 20
  0xee, //                               16: out dx, al
  0x43, //                               17: inc ebx
  0xeb, 0xf6, //                         18: jmp 10
  0xb0, 0x0a, //                         20: mov al, '\n'
  0xee, //                               22: out dx, al
  0x8b, 0x9e, 0x18, 0x02, 0x00, 0x00, // 23: mov ebx, [esi+0x218]   ramdisk_image
  0x8b, 0x8e, 0x1c, 0x02, 0x00, 0x00, // 29: mov ecx, [esi+0x21c]   ramdisk_size
  0xe3, 0x06, //                         35: jecxz 43
  0x8a, 0x03, //                         37: mov al, [ebx]
  0xee, //                               39: out dx, al
  0x43, //                               40: inc ebx
  0xe2, 0xfa, //                         41: loop 37
  0x66, 0xba, 0x04, 0x06, //             43: mov dx, 0x604          PM1a control
  0x66, 0xb8, 0x00, 0x20, //             47: mov ax, 0x2000         SLP_EN, SLP_TYP 0 (S5)
  0x66, 0xef, //                         51: out dx, ax
  0xf4, //                               53: hlt
  0xeb, 0xfd, //                         54: jmp 53
]);

/** Setup header fields of the image; anything not given gets a modern (2.15) 32-bit kernel's value. */
export interface BzImageFields {
  setupSects?: number;
  version?: number;
  loadflags?: number;
  code32Start?: number;
  initrdAddrMax?: number;
  kernelAlignment?: number;
  relocatable?: number;
  xloadflags?: number;
  cmdlineSize?: number;
  prefAddress?: number;
  initSize?: number;
  /** Paragraphs of protected-mode code (default: the code's size). */
  syssize?: number;
  /** Leave out the 0xAA55 signature (not a kernel image at all). */
  noSignature?: boolean;
  /** The kernel_version string ("<release> (builder) #1 ..."), stored in the setup sector. */
  kernelVersion?: string;
}

function put(b: Uint8Array, o: number, size: 1 | 2 | 4, v: number): void {
  for (let i = 0; i < size; i++) b[o + i] = (v >>> (8 * i)) & 0xff;
}

/** A bzImage: boot sector and setup sectors (header only, no real-mode code), then `code`. */
export function bzImage(code: Uint8Array = HELLO_CODE, f: BzImageFields = {}): Uint8Array {
  const setupSects = f.setupSects ?? 1;
  const protOffset = ((setupSects === 0 ? 4 : setupSects) + 1) * 512;
  const protSize = Math.ceil(code.length / 16) * 16;
  const out = new Uint8Array(protOffset + protSize);
  out.set(code, protOffset);
  out[0x1f1] = setupSects;
  put(out, 0x1f4, 4, f.syssize ?? protSize / 16);
  if (!f.noSignature) put(out, 0x1fe, 2, 0xaa55);
  out[0x200] = 0xeb; // jmp: the header ends at 0x202 + this byte
  out[0x201] = 0x6a;
  put(out, 0x202, 4, 0x53726448); // "HdrS"
  put(out, 0x206, 2, f.version ?? 0x020f);
  out[0x211] = f.loadflags ?? 0x01;
  put(out, 0x214, 4, f.code32Start ?? 0x100000);
  put(out, 0x22c, 4, f.initrdAddrMax ?? 0x7fffffff);
  put(out, 0x230, 4, f.kernelAlignment ?? 0x1000);
  out[0x234] = f.relocatable ?? 0;
  put(out, 0x236, 2, f.xloadflags ?? 0);
  put(out, 0x238, 4, f.cmdlineSize ?? 255);
  put(out, 0x258, 4, f.prefAddress ?? 0x100000);
  put(out, 0x260, 4, f.initSize ?? 0x10000);
  if (f.kernelVersion !== undefined) {
    // kernel_version points to the string, counted from 0x200; it must lie in the setup sectors.
    const at = 0x300;
    const text = new TextEncoder().encode(f.kernelVersion);
    if (at + text.length + 1 > protOffset) throw new Error("kernelVersion does not fit in the setup sectors");
    out.set(text, at);
    put(out, 0x20e, 2, at - 0x200);
  }
  return out;
}

/** Where the committed image lives, relative to the repository root. */
export const HELLO_BZIMAGE_PATH = "src/guests/linux-hello/build/hello.bzImage";

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
  const out = join(root, HELLO_BZIMAGE_PATH);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, bzImage());
  process.stdout.write(`${out}: ${bzImage().length} bytes\n`);
}

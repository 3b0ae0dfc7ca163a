/**
 * Reading a large ELF file (a kernel's vmlinux with DWARF: 300 MB) without holding all of it in memory.
 *
 * Most of such a file is never read by a command: the relocation sections the linker kept
 * (--emit-relocs: 100 MB of `.rel.debug_*` in Debian's vmlinux), and all but a few units of
 * `.debug_info` (150 MB), whose index says which units a question needs (dwarf-index.ts). So the file's
 * bytes are a buffer of its full size whose pages the system gives only when written (a fresh
 * ArrayBuffer is zero-filled on demand), and those sections are left unread: `fill` reads a range of
 * them when it is first needed (Elf32.sectionData does for a whole section; DwarfSections for one unit).
 * Everything else is read at once, in the same pass that computes the file's SHA-256.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { createHash } from "node:crypto";
import { Elf32, ElfError, type ElfLoader } from "./elf32.js";

/** Files smaller than this are read whole: what leaving sections unread saves is not worth a second read. */
export const LAZY_ELF_BYTES = 64 * 1024 * 1024;
/** The unit deferred ranges are read in. */
const BLOCK = 64 * 1024;
/** The chunk the file is hashed through. */
const CHUNK = 8 * 1024 * 1024;
const SHT_RELA = 4;
const SHT_REL = 9;

export interface ElfFile {
  /** The file's bytes: deferred ranges read as zeros until `elf` fills them. */
  readonly bytes: Uint8Array;
  readonly sha256: string;
  /**
   * The ELF over `bytes` when the file is read lazily: its section data and DWARF units are filled as
   * they are read. Null when `bytes` is the whole file (a small one, or not an i386 ELF).
   */
  readonly elf: Elf32 | null;
  /** Reads every deferred range: the bytes are then the whole file (to copy it, or pack it). */
  fillAll(): void;
}

/**
 * Reads the file at `path`: whole when smaller than `lazyFrom` bytes or not an i386 ELF, else with its
 * relocation sections and its `.debug_info` left to be read on demand, `block` bytes at a time (tests
 * make both small). Throws the file system's error when it cannot be read.
 */
export function readElfFile(path: string, options: { lazyFrom?: number; block?: number } = {}): ElfFile {
  const { lazyFrom = LAZY_ELF_BYTES, block = BLOCK } = options;
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    const bytes = new Uint8Array(size);
    const readAt = (offset: number, length: number): void => readFully(fd, path, bytes, offset, length, offset);
    const whole = (): ElfFile => {
      readAt(0, size);
      return { bytes, elf: null, sha256: createHash("sha256").update(bytes).digest("hex"), fillAll: () => {} };
    };
    if (size < lazyFrom) return whole();
    // The headers first: where the sections lie, and their names.
    const headers = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    readAt(0, Math.min(size, 52));
    const le32 = (o: number) => headers.getUint32(o, true);
    const le16 = (o: number) => headers.getUint16(o, true);
    if (size >= 52 && le32(0) === 0x464c457f && bytes[4] === 1) {
      const phoff = le32(28), shoff = le32(32), phentsize = le16(42), phnum = le16(44), shentsize = le16(46), shnum = le16(48), shstrndx = le16(50);
      const clip = (o: number, n: number) => (o < size ? readAt(o, Math.min(n, size - o)) : undefined);
      clip(phoff, phnum * phentsize);
      clip(shoff, shnum * shentsize);
      if (shstrndx < shnum && shoff + (shstrndx + 1) * shentsize <= size) {
        const s = shoff + shstrndx * shentsize;
        clip(le32(s + 16), le32(s + 20));
      }
    }
    let elf: Elf32;
    try {
      elf = new Elf32(bytes);
    } catch (e) {
      if (e instanceof ElfError) return whole();
      throw e;
    }
    const deferred = elf.sections.filter((s) => s.type === SHT_REL || s.type === SHT_RELA || s.name === ".debug_info").map((s) => ({ lo: s.offset, hi: s.offset + s.size }));
    const loaded = new Uint8Array(Math.ceil(size / block));
    for (let b = 0; b < loaded.length; b++) {
      const lo = b * block, hi = lo + block;
      loaded[b] = deferred.some((d) => d.lo < hi && d.hi > lo) ? 0 : 1;
    }
    // One pass over the file: every byte hashed, every block not deferred kept.
    const hash = createHash("sha256");
    const chunk = new Uint8Array(CHUNK);
    for (let at = 0; at < size; at += CHUNK) {
      const n = Math.min(CHUNK, size - at);
      readFully(fd, path, chunk, 0, n, at);
      hash.update(chunk.subarray(0, n));
      for (let b = at / block; b < Math.ceil((at + n) / block); b++) {
        if (loaded[b]) bytes.set(chunk.subarray(b * block - at, Math.min((b + 1) * block, size) - at), b * block);
      }
    }
    const sha256 = hash.digest("hex");
    const loader: ElfLoader = {
      fill(offset, length) {
        const first = Math.floor(offset / block), last = Math.min(loaded.length, Math.ceil((offset + length) / block));
        let b = first;
        while (b < last) {
          if (loaded[b]) {
            b++;
            continue;
          }
          let e = b;
          while (e < last && !loaded[e]) e++;
          // The file is opened again for each read: a command reads a few dozen ranges at most.
          const again = openSync(path, "r");
          try {
            const lo = b * block;
            readFully(again, path, bytes, lo, Math.min(e * block, size) - lo, lo);
          } finally {
            closeSync(again);
          }
          loaded.fill(1, b, e);
          b = e;
        }
      },
    };
    elf.loader = loader;
    return { bytes, elf, sha256, fillAll: () => loader.fill(0, size) };
  } finally {
    closeSync(fd);
  }
}

/** Reads `length` bytes at file `position` into `into` at `at`; a file that ends early was changed under us. */
function readFully(fd: number, path: string, into: Uint8Array, at: number, length: number, position: number): void {
  let done = 0;
  while (done < length) {
    const n = readSync(fd, into, at + done, length - done, position + done);
    if (n === 0) throw new Error(`${path}: the file ended at ${position + done} bytes while it was read (was it changed?)`);
    done += n;
  }
}

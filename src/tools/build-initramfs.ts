/**
 * Builds the initramfs the Linux boot tests give Debian's kernel: a gzip-compressed cpio archive
 * ("newc" format, the one the kernel unpacks) holding a static busybox and an /init script that prints
 * a marker, mounts /proc, prints the CPU flags line of /proc/cpuinfo and powers the machine off.
 *
 *   node dist/tools/build-initramfs.js <busybox binary> <output.gz>
 *
 * The archive is a pure function of the busybox binary (every timestamp is 0, the owner root), so
 * two builds from one package are byte-identical and recordings of the boot can be compared.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { pathToFileURL } from "node:url";

/** The line /init prints first: the boot tests wait for it. */
export const INIT_MARKER = "ttd-linux-init: hello from /init";

/** The /init script: busybox's shell runs it as process 1. */
export const INIT_SCRIPT = `#!/bin/sh
/bin/busybox echo "${INIT_MARKER}"
/bin/busybox mount -t proc proc /proc
/bin/busybox grep -m 1 '^flags' /proc/cpuinfo
/bin/busybox poweroff -f
`;

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

interface CpioEntry {
  name: string;
  mode: number;
  data?: Uint8Array;
  /** For device nodes: major and minor numbers. */
  rdev?: [number, number];
}

/** One "newc" archive: 110-byte ASCII headers, names and data each padded to 4 bytes, then TRAILER!!!. */
export function cpioNewc(entries: readonly CpioEntry[]): Uint8Array {
  const parts: Uint8Array[] = [];
  const enc = new TextEncoder();
  let size = 0;
  const push = (b: Uint8Array) => {
    parts.push(b);
    size += b.length;
  };
  const pad = () => {
    const n = (4 - (size % 4)) % 4;
    if (n > 0) push(new Uint8Array(n));
  };
  const all: CpioEntry[] = [...entries, { name: "TRAILER!!!", mode: 0 }];
  all.forEach((e, i) => {
    const data = e.data ?? new Uint8Array(0);
    const name = enc.encode(e.name);
    const [rmaj, rmin] = e.rdev ?? [0, 0];
    const isDir = (e.mode & 0o170000) === S_IFDIR;
    const fields = [
      e.name === "TRAILER!!!" ? 0 : i + 1, // inode: distinct per entry
      e.mode,
      0, // uid
      0, // gid
      isDir ? 2 : 1, // nlink
      0, // mtime
      data.length,
      0, 0, // devmajor, devminor of the file system
      rmaj, rmin,
      name.length + 1,
      0, // check (unused by newc)
    ];
    push(enc.encode("070701" + fields.map((f) => f.toString(16).padStart(8, "0")).join("")));
    push(name);
    push(new Uint8Array(1));
    pad();
    if (data.length > 0) {
      push(data);
      pad();
    }
  });
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The initramfs for `busybox` (the static i386 binary), gzip-compressed. */
export function buildInitramfs(busybox: Uint8Array): Uint8Array {
  const enc = new TextEncoder();
  const archive = cpioNewc([
    { name: ".", mode: S_IFDIR | 0o755 },
    { name: "bin", mode: S_IFDIR | 0o755 },
    { name: "bin/busybox", mode: S_IFREG | 0o755, data: busybox },
    { name: "bin/sh", mode: S_IFLNK | 0o777, data: enc.encode("busybox") },
    { name: "dev", mode: S_IFDIR | 0o755 },
    { name: "dev/console", mode: S_IFCHR | 0o600, rdev: [5, 1] },
    { name: "proc", mode: S_IFDIR | 0o755 },
    { name: "init", mode: S_IFREG | 0o755, data: enc.encode(INIT_SCRIPT) },
  ]);
  return new Uint8Array(gzipSync(archive, { level: 9 }));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [busyboxPath, outPath] = process.argv.slice(2);
  if (busyboxPath === undefined || outPath === undefined) {
    process.stderr.write("usage: node dist/tools/build-initramfs.js <busybox binary> <output.gz>\n");
    process.exit(2);
  }
  const out = buildInitramfs(new Uint8Array(readFileSync(busyboxPath)));
  writeFileSync(outPath, out);
  process.stdout.write(`${outPath}: ${out.length} bytes\n`);
}

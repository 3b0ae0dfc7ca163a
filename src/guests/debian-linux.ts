/**
 * Where Debian's i386 kernel, busybox-static and memtest86+ are: scripts/fetch-debian-linux.sh
 * downloads and unpacks them into a cache folder (TTD_DEBIAN_CACHE, default ~/.cache/ttd-debian);
 * they are never part of the repository. The Linux tests and `npm run bench -- --only linux` read them
 * from here.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildInitramfs } from "../tools/build-initramfs.js";

export interface DebianLinux {
  cache: string;
  /** The kernel release, e.g. 6.1.0-57-686. */
  release: string;
  vmlinuz: string;
  /** boot/System.map-<release> (Debian's is a placeholder: the real one is in the -dbg package). */
  systemMap: string;
  /**
   * linux/debug/vmlinux-<release>: the kernel as an ELF with its DWARF, from the -dbg package (kept
   * only by TTD_DEBIAN_VMLINUX=1 scripts/fetch-debian-linux.sh; may be absent).
   */
  vmlinux: string;
  busybox: string;
  /** The initramfs built from busybox (src/tools/build-initramfs.ts); built here when missing. */
  initrd: string;
  /** memtest86+'s 32-bit and 64-bit bzImages. */
  memtest32: string;
  memtest64: string;
}

export const DEBIAN_CACHE = process.env.TTD_DEBIAN_CACHE ?? path.join(os.homedir(), ".cache", "ttd-debian");

/** The packages in the cache, or null with the reason (and how to fetch them). */
export function locateDebianLinux(): { found: DebianLinux | null; reason: string } {
  const boot = path.join(DEBIAN_CACHE, "linux", "boot");
  const kernel = fs.existsSync(boot) ? fs.readdirSync(boot).find((f) => /^vmlinuz-.*-686$/.test(f)) : undefined;
  const busybox = path.join(DEBIAN_CACHE, "busybox", "bin", "busybox");
  const memtest = path.join(DEBIAN_CACHE, "memtest", "boot");
  if (kernel === undefined || !fs.existsSync(busybox) || !fs.existsSync(path.join(memtest, "memtest86+ia32.bin"))) {
    return { found: null, reason: `Debian's i386 kernel, busybox-static and memtest86+ are not in ${DEBIAN_CACHE}: run scripts/fetch-debian-linux.sh (as root, with network access) to fetch them` };
  }
  const release = kernel.slice("vmlinuz-".length);
  const initrd = path.join(DEBIAN_CACHE, "initrd.gz");
  if (!fs.existsSync(initrd)) fs.writeFileSync(initrd, buildInitramfs(new Uint8Array(fs.readFileSync(busybox))));
  return {
    found: {
      cache: DEBIAN_CACHE,
      release,
      vmlinuz: path.join(boot, kernel),
      systemMap: path.join(boot, `System.map-${release}`),
      vmlinux: path.join(DEBIAN_CACHE, "linux", "debug", `vmlinux-${release}`),
      busybox,
      initrd,
      memtest32: path.join(memtest, "memtest86+ia32.bin"),
      memtest64: path.join(memtest, "memtest86+x64.bin"),
    },
    reason: "",
  };
}


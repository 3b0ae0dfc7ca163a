/**
 * Where the Debian packages the Linux tests use are: scripts/fetch-debian-linux.sh downloads and unpacks
 * them into a cache folder (TTD_DEBIAN_CACHE, default ~/.cache/ttd-debian) and they are never part of
 * the repository. Without them the tests that need them are skipped with the reason printed, except
 * where TTD_REQUIRE_DEBIAN=1 says they must be there (CI sets it after fetching them), so a failed
 * download cannot pass CI as a skip.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildInitramfs } from "../../src/tools/build-initramfs.js";

export interface DebianLinux {
  cache: string;
  /** The kernel release, e.g. 6.1.0-57-686. */
  release: string;
  vmlinuz: string;
  /** boot/System.map-<release> (Debian's is a placeholder: the real one is in the -dbg package). */
  systemMap: string;
  busybox: string;
  /** The initramfs built from busybox (src/tools/build-initramfs.ts); built here when missing. */
  initrd: string;
  /** memtest86+'s 32-bit and 64-bit bzImages. */
  memtest32: string;
  memtest64: string;
}

export const DEBIAN_CACHE = process.env.TTD_DEBIAN_CACHE ?? path.join(os.homedir(), ".cache", "ttd-debian");

function find(): { found: DebianLinux | null; reason: string } {
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
      busybox,
      initrd,
      memtest32: path.join(memtest, "memtest86+ia32.bin"),
      memtest64: path.join(memtest, "memtest86+x64.bin"),
    },
    reason: "",
  };
}

const located = find();
if (located.found === null) {
  if (process.env.TTD_REQUIRE_DEBIAN === "1") throw new Error(`TTD_REQUIRE_DEBIAN=1 but ${located.reason}`);
  process.stderr.write(`skipping the tests on Debian's kernel: ${located.reason}\n`);
}

/** The packages, or null (the reason was printed once on stderr). */
export const debian: DebianLinux | null = located.found;
export const debianMissing = located.reason;

/**
 * QEMU's CPU made as close to ttd's CPUID as QEMU allows: its Core 2 Duo model has ttd's signature
 * (family 6, model 15, stepping 11); every feature ttd does not report is switched off except the FPU,
 * without which Linux's real-mode setup (which QEMU runs and ttd does not) refuses to boot.
 */
export const QEMU_CPU_LIKE_TTD =
  "core2duo,-vme,-de,-mce,-pae,-mca,-mmx,-fxsr,-sse,-sse2,-ss,-ssse3,-pni,-monitor,-lm,-syscall,-nx,-lahf-lm,-dtes64,-ds-cpl,-vmx,-est,-tm2,-xtpr,-pdcm,-ds,-acpi,-tm,-pbe,-cx16,-pse36,-clflush,-hypervisor";

/**
 * Kernel log lines that differ between ttd and QEMU 7.2 for reasons docs/machine.md lists (the
 * firmware tables are ttd's own, with other OEM ids and addresses and no HPET, SMBIOS or MTRR set-up by
 * SeaBIOS; CPUID leaf 2 describes caches and TLBs QEMU's model leaves empty), and the x87 line, which
 * the FPU decides.
 */
export const EXPLAINED_LOG_DIFFERENCES: readonly RegExp[] = [
  /^SMBIOS |^DMI/,
  /MTRR|^x86\/PAT|^Disabled$/,
  /^found SMP MP-table/,
  /^ACPI: (RSDP|RSDT|XSDT|FACP|DSDT|FACS|APIC|HPET|WAET) /,
  /^ACPI: Reserving /,
  /HPET|hpet/,
  /^Memory: \d+K\/\d+K available/,
  /^Last level [id]TLB entries/,
  /^ITS: /,
  /^x86\/fpu: /,
];

/** The kernel's messages in a serial log: the text after each "[    1.234567] " stamp, in order. */
export function kernelMessages(serial: string): string[] {
  const out: string[] = [];
  for (const line of serial.replace(/\r/g, "").split("\n")) {
    const m = /\[\s*\d+\.\d+\] (.*)$/.exec(line);
    if (m) out.push(m[1].trimEnd());
  }
  return out;
}

/** Messages up to and including the first that matches `last`, without the explained differences. */
export function comparableMessages(serial: string, last: RegExp): string[] {
  const all = kernelMessages(serial);
  const end = all.findIndex((l) => last.test(l));
  return all.slice(0, end < 0 ? all.length : end + 1).filter((l) => !EXPLAINED_LOG_DIFFERENCES.some((r) => r.test(l)));
}

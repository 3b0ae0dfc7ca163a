/**
 * Where the Debian packages the Linux tests use are: scripts/fetch-debian-linux.sh downloads and unpacks
 * them into a cache folder (TTD_DEBIAN_CACHE, default ~/.cache/ttd-debian) and they are never part of
 * the repository. Without them the tests that need them are skipped with the reason printed, except
 * where TTD_REQUIRE_DEBIAN=1 says they must be there (CI sets it after fetching them), so a failed
 * download cannot pass CI as a skip.
 */
import * as fs from "node:fs";
import { locateDebianLinux, type DebianLinux } from "../../src/guests/debian-linux.js";

export { DEBIAN_CACHE, type DebianLinux } from "../../src/guests/debian-linux.js";

const located = locateDebianLinux();
if (located.found === null) {
  if (process.env.TTD_REQUIRE_DEBIAN === "1") throw new Error(`TTD_REQUIRE_DEBIAN=1 but ${located.reason}`);
  process.stderr.write(`skipping the tests on Debian's kernel: ${located.reason}\n`);
}

/** The packages, or null (the reason was printed once on stderr). */
export const debian: DebianLinux | null = located.found;
export const debianMissing = located.reason;

/**
 * Whether the cache has the kernel's real System.map (the image package ships a placeholder; the real
 * one comes from the -dbg package). Tests that name kernel symbols are skipped without it, the reason
 * printed, except under TTD_REQUIRE_SYSTEM_MAP=1, where it is an error: .ci/run sets it when the -dbg
 * package was fetched, so a lost map cannot pass CI as a skip (a mirror that fails to serve the 765 MB
 * package still lets the rest of CI run).
 */
export function requireRealSystemMap(): boolean {
  if (located.found === null) return false;
  const map = located.found.systemMap;
  if (fs.existsSync(map) && !fs.readFileSync(map, "latin1").slice(0, 4096).includes("The real System.map is in")) return true;
  const why = `${map} is the image package's placeholder: TTD_DEBIAN_DBG=1 scripts/fetch-debian-linux.sh puts the real one (from the -dbg package) there`;
  if (process.env.TTD_REQUIRE_SYSTEM_MAP === "1") throw new Error(`TTD_REQUIRE_SYSTEM_MAP=1 but ${why}`);
  process.stderr.write(`skipping the tests that name Debian kernel symbols: ${why}\n`);
  return false;
}

/**
 * Whether the cache has the kernel's vmlinux with DWARF (kept from the -dbg package by
 * TTD_DEBIAN_VMLINUX=1 scripts/fetch-debian-linux.sh). Without it the tests that read it are skipped,
 * the reason printed, except under TTD_REQUIRE_VMLINUX=1, where it is an error.
 */
export function requireVmlinux(): boolean {
  if (located.found !== null && fs.existsSync(located.found.vmlinux)) return true;
  const why = located.found === null ? located.reason : `${located.found.vmlinux} is not there: TTD_DEBIAN_VMLINUX=1 scripts/fetch-debian-linux.sh keeps it (from the -dbg package)`;
  if (process.env.TTD_REQUIRE_VMLINUX === "1") throw new Error(`TTD_REQUIRE_VMLINUX=1 but ${why}`);
  process.stderr.write(`skipping the tests that read Debian's vmlinux: ${why}\n`);
  return false;
}

export { QEMU_CPU_LIKE_TTD, QEMU_MACHINE_LIKE_TTD } from "../../src/bench/qemu-cpu.js";

/**
 * Kernel log lines that differ between ttd and QEMU 7.2 (its machine reduced to ttd's devices,
 * QEMU_MACHINE_LIKE_TTD) for reasons docs/machine.md lists.
 */
export const EXPLAINED_LOG_DIFFERENCES: readonly RegExp[] = [
  // The firmware is ttd's own: other OEM ids and table addresses, no SMBIOS, no MTRR set-up by
  // SeaBIOS, no PCI BIOS32 service, and so a few KiB more free memory.
  /^SMBIOS |^DMI/,
  /MTRR|^x86\/PAT|^Disabled$/,
  /^found SMP MP-table/,
  /^ACPI: (RSDP|RSDT|XSDT|FACP|DSDT|FACS|APIC|WAET) /,
  /^ACPI: Reserving /,
  /^Memory: \d+K\/\d+K available/,
  /^PCI: PCI BIOS revision /,
  // CPUID leaf 2 describes caches and TLBs QEMU's model leaves empty.
  /^Last level [id]TLB entries/,
  /^ITS: /,
  // ttd's MSRs give a Core 2's platform id and microcode revision; QEMU's give 0 and 1.
  /^microcode: sig=/,
  // QEMU's DSDT keeps CPU and PCI hot-plug events (GPE methods) and a 64-bit PCI window, which ttd's
  // machine does not have.
  /^ACPI: Enabled \d+ GPEs in block/,
  /^acpi resource window \(\[0x100000000-/,
  // QEMU keeps its floppy controller (PNP0700): Linux finds one ACPI PnP device more.
  /^pnp: PnP ACPI: found \d+ devices/,
];

/**
 * Rewrites that leave out what differs for a reason but keep the rest of the line compared: timing
 * figures outside the brackets (and the TSC calibration measured from them), and the numbers of ACPI PnP devices (QEMU's floppy controller comes
 * before COM1 and the RTC, so theirs are one higher).
 */
const MASKS: ReadonlyArray<[RegExp, string]> = [
  [/audit\(\d+\.\d+:/, "audit(<time>:"],
  [/^sched_clock: Marking stable \(.*$/, "sched_clock: Marking stable (<times>)"],
  // The TSC's refined calibration is measured against the PM timer: QEMU's varies from run to run
  // (999.999 or 1000.000 MHz) even in icount mode, and the clocksource's limits follow from it.
  [/^tsc: Refined TSC clocksource calibration: [\d.]+ MHz$/, "tsc: Refined TSC clocksource calibration: <f> MHz"],
  [/^clocksource: tsc: mask: (0x[0-9a-f]+) max_cycles: .*$/, "clocksource: tsc: mask: $1 max_cycles: <n>"],
  [/^00:0\d: /, "00:<n>: "],
  [/^rtc_cmos 00:0\d: /, "rtc_cmos 00:<n>: "],
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

/**
 * Messages up to and including the first that matches `last` (all of them when none does), without
 * the explained differences and with the masks applied.
 */
export function comparableMessages(serial: string, last?: RegExp): string[] {
  const all = kernelMessages(serial).map((l) => MASKS.reduce((t, [re, to]) => t.replace(re, to), l));
  const end = last === undefined ? -1 : all.findIndex((l) => last.test(l));
  return all.slice(0, end < 0 ? all.length : end + 1).filter((l) => !EXPLAINED_LOG_DIFFERENCES.some((r) => r.test(l)));
}

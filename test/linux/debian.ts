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
 * printed, except under TTD_REQUIRE_DEBIAN=1, where it is an error, so a failed -dbg download cannot
 * pass CI as a skip.
 */
export function requireRealSystemMap(): boolean {
  if (located.found === null) return false;
  const map = located.found.systemMap;
  if (fs.existsSync(map) && !fs.readFileSync(map, "latin1").slice(0, 4096).includes("The real System.map is in")) return true;
  const why = `${map} is the image package's placeholder: TTD_DEBIAN_DBG=1 scripts/fetch-debian-linux.sh puts the real one (from the -dbg package) there`;
  if (process.env.TTD_REQUIRE_DEBIAN === "1") throw new Error(`TTD_REQUIRE_DEBIAN=1 but ${why}`);
  process.stderr.write(`skipping the tests that name Debian kernel symbols: ${why}\n`);
  return false;
}

export { QEMU_CPU_LIKE_TTD } from "../../src/bench/qemu-cpu.js";

/**
 * Kernel log lines that differ between ttd and QEMU 7.2 for reasons docs/machine.md lists (the
 * firmware tables are ttd's own, with other OEM ids and addresses and no HPET, SMBIOS or MTRR set-up by
 * SeaBIOS, and no PCI BIOS32 service; CPUID leaf 2 describes caches and TLBs QEMU's model leaves
 * empty).
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
  /^PCI: PCI BIOS revision /,
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
 * Messages up to and including the first that matches `last`, without the explained differences and
 * with timing figures outside the brackets (the audit subsystem's boot time) masked.
 */
export function comparableMessages(serial: string, last: RegExp): string[] {
  const all = kernelMessages(serial).map((l) => l.replace(/audit\(\d+\.\d+:/, "audit(<time>:"));
  const end = all.findIndex((l) => last.test(l));
  return all.slice(0, end < 0 ? all.length : end + 1).filter((l) => !EXPLAINED_LOG_DIFFERENCES.some((r) => r.test(l)));
}

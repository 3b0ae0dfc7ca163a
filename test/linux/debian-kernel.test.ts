/**
 * Debian 12's i386 kernel (linux-image-6.1.0-*-686) and memtest86+ under ttd, from the packages
 * scripts/fetch-debian-linux.sh puts in the cache (see debian.ts; skipped with the reason when they are
 * not there, required in CI).
 *
 * - The loader on the real bzImage: its header, the zero page, the initrd where QEMU puts it.
 * - The boot as far as ttd's CPU takes it today: without an x87 FPU, Linux decompresses itself (about
 *   2.4 G steps), runs start_kernel and stops at "x86/fpu: Giving up, no FPU found"; its log up to there
 *   must equal QEMU 7.2's (same kernel, initrd and command line, QEMU's CPU made like ttd's) apart from
 *   the differences docs/machine.md explains.
 * - The boot to /init (marker, /proc/cpuinfo flags equal to ttd's CPUID, power off), which runs as soon
 *   as ttd's CPU executes FNINIT (fpu-probe.ts).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { describe, expect, test } from "vitest";
import { Machine } from "../../src/machine/machine.js";
import { ZERO_PAGE_ADDRESS, loadLinux, readSetupHeader, XLF_KERNEL_64 } from "../../src/machine/linux-boot.js";
import { firmwareMemoryMap } from "../../src/machine/firmware/layout.js";
import { INIT_MARKER } from "../../src/tools/build-initramfs.js";
import { findQemu } from "../../src/bench/qemu-log.js";
import { debian, comparableMessages, kernelMessages, QEMU_CPU_LIKE_TTD, QEMU_MACHINE_LIKE_TTD } from "./debian.js";
import { hasFpu } from "./fpu-probe.js";
import { SYNTHETIC_FLAGS, ttdCpuidFlags } from "./cpuinfo-flags.js";
import { requireBuiltCli, tmpDir, ttd } from "../trace/helpers.js";
import { readTextScreen, screenText } from "../../src/machine/text-screen.js";

const MiB = 1048576;
const MEMORY_MIB = 256;
const u32 = (b: Uint8Array, o: number) => (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
const read = (p: string) => new Uint8Array(fs.readFileSync(p));

/** Without an FPU the kernel's decompressor must not pick a random address: KASLR probes the FPU first. */
const CMDLINE_NO_FPU = "console=ttyS0 panic=-1 nokaslr";
const CMDLINE = "console=ttyS0 panic=-1";

/** Boots the Debian kernel under ttd until `done(serial)` or `maxSteps`; the serial output and the stop. */
function bootUnderTtd(cmdline: string, maxSteps: number, done: (serial: string) => boolean) {
  const d = debian!;
  const m = Machine.fromElf(read(d.vmlinuz), {
    memoryMiB: MEMORY_MIB,
    cmdline,
    modules: [{ string: d.initrd, file: d.initrd, data: read(d.initrd) }],
  });
  const bytes: number[] = [];
  m.onSerial = (b) => bytes.push(b);
  const started = performance.now();
  let r = m.run({ maxSteps: 0 });
  for (let s = 0; s < maxSteps; ) {
    s = Math.min(maxSteps, s + 50_000_000);
    r = m.run({ maxSteps: s });
    if (r.reason !== "max-steps" || done(Buffer.from(bytes).toString("latin1"))) break;
  }
  const seconds = (performance.now() - started) / 1000;
  const serial = Buffer.from(bytes).toString("latin1");
  console.log(`ttd: ${r.steps.toLocaleString("en-US")} steps in ${seconds.toFixed(1)} s (${(r.steps / seconds / 1e6).toFixed(1)} M steps/s), stopped: ${r.reason}`);
  return { serial, result: r, machine: m };
}

/**
 * The same boot under QEMU 7.2, its CPU and machine made like ttd's (to power-off; QEMU's own FPU takes
 * it all the way): its serial output.
 */
function bootUnderQemu(cmdline: string): string {
  const d = debian!;
  const r = spawnSync(findQemu()!, [
    "-cpu", QEMU_CPU_LIKE_TTD, ...QEMU_MACHINE_LIKE_TTD,
    "-m", String(MEMORY_MIB), "-kernel", d.vmlinuz, "-initrd", d.initrd, "-append", cmdline,
    "-display", "none", "-monitor", "none", "-no-reboot",
    // QEMU's clock as ttd's (a nanosecond per instruction): the TSC frequency and BogoMIPS lines agree.
    "-icount", "shift=0,sleep=off",
  ], { encoding: "latin1", timeout: 600_000, maxBuffer: 1 << 26 });
  expect(r.stdout, r.stderr).toContain("reboot: Power down");
  return r.stdout;
}

describe.skipIf(debian === null)("Debian's i386 kernel: the loader", () => {
  test("the setup header: protocol 2.02+, a 32-bit relocatable bzImage", () => {
    const h = readSetupHeader(read(debian!.vmlinuz));
    expect(h.version).toBeGreaterThanOrEqual(0x020f);
    expect(h.loadflags & 1).toBe(1);
    expect(h.xloadflags & XLF_KERNEL_64).toBe(0);
    expect(h).toMatchObject({ code32Start: 0x100000, relocatable: true, cmdlineSize: 2047, kernelAlignment: 0x1000000, prefAddress: 0x1000000 });
  });

  test("the zero page for 256 MiB, the initrd and a command line", () => {
    const image = read(debian!.vmlinuz);
    const initrd = read(debian!.initrd);
    const ram = new Uint8Array(MEMORY_MIB * MiB);
    const boot = loadLinux(image, ram, { cmdline: CMDLINE, initrd: { file: debian!.initrd, data: initrd } });
    const zp = ram.subarray(ZERO_PAGE_ADDRESS, ZERO_PAGE_ADDRESS + 4096);
    // QEMU 7.2's placement: the last byte at most at top-128K-1, the start page-aligned below it.
    const start = Math.floor((MEMORY_MIB * MiB - 0x20000 - initrd.length) / 4096) * 4096;
    expect(boot.initrd).toEqual({ start, end: start + initrd.length });
    expect([u32(zp, 0x218), u32(zp, 0x21c)]).toEqual([start, initrd.length]);
    // (Buffer.equals: vitest's deep equality is slow on a megabyte.)
    expect(Buffer.from(ram.subarray(start, start + initrd.length)).equals(Buffer.from(initrd))).toBe(true);
    // The header copy keeps the kernel's own fields (code32_start, kernel_alignment, init_size...).
    expect(u32(zp, 0x214)).toBe(0x100000);
    expect(zp.subarray(0x230, 0x26c)).toEqual(image.subarray(0x230, 0x26c));
    expect(zp[0x1e8]).toBe(firmwareMemoryMap(MEMORY_MIB * MiB).length);
    expect(new TextDecoder().decode(ram.subarray(u32(zp, 0x228), u32(zp, 0x228) + CMDLINE.length + 1))).toBe(CMDLINE + "\0");
    // The protected-mode kernel at 1 MiB: the file after (setup_sects + 1) sectors.
    const prot = (image[0x1f1] + 1) * 512;
    expect(ram.subarray(0x100000, 0x100000 + 4096)).toEqual(image.subarray(prot, prot + 4096));
  });

  test("memtest86+: the 32-bit image loads, the 64-bit one is refused in one line", () => {
    requireBuiltCli();
    const ram = new Uint8Array(64 * MiB);
    const boot = loadLinux(read(debian!.memtest32), ram, { cmdline: "" });
    expect(boot.entry).toBe(0x100000);
    const r = ttd(["run", debian!.memtest64]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe(`ttd: ${debian!.memtest64}: a 64-bit kernel (xloadflags XLF_KERNEL_64): ttd emulates an i386 without long mode; use a 32-bit (i386/686) kernel`);
  });
});

describe.skipIf(debian === null)("memtest86+ under ttd", () => {
  test.skipIf(hasFpu)("without an FPU it stops at its first x87 instruction (FNINIT), as the summary says", () => {
    const m = Machine.fromElf(read(debian!.memtest32), { memoryMiB: 64, cmdline: "" });
    m.run({ maxSteps: 5_000_000 });
    expect(m.cpu.firstUnimplemented).toMatch(/^x87 instruction 0xdb/);
  });

  test.skipIf(!hasFpu)("with an FPU its screen shows it testing memory", () => {
    const m = Machine.fromElf(read(debian!.memtest32), { memoryMiB: 64, cmdline: "" });
    m.run({ maxSteps: 2_000_000_000 });
    const screen = screenText(readTextScreen(m.mem.u8, m.vga)).join("\n");
    expect(screen).toContain("Memtest86+");
    expect(m.cpu.firstUnimplemented).toBeNull();
  }, 900_000);
});

describe.skipIf(debian === null)("Debian's i386 kernel: symbols", () => {
  test("the System.map next to the image: the package's placeholder is explained, the real one (-dbg) names jiffies", () => {
    requireBuiltCli();
    const dir = tmpDir();
    const trace = path.join(dir, "linux.trace");
    const r = ttd(["record", debian!.vmlinuz, "--initrd", debian!.initrd, "--append", CMDLINE_NO_FPU, "--memory", "256", "--max-steps", "100000", "-o", trace, "--no-progress"]);
    expect(r.status, r.stderr).toBe(4);
    const placeholder = fs.readFileSync(debian!.systemMap, "latin1").includes("The real System.map is in");
    const p = ttd(["print", "&jiffies", "--trace", trace]);
    if (placeholder) {
      // Found next to the image as System.map-<release>, and refused for what it is.
      expect(p.status).toBe(2);
      expect(p.stderr).toContain(`${debian!.systemMap}: a placeholder System.map, without symbols: the real one is in the linux-image-<version>-dbg package`);
    } else {
      // The real map (TTD_DEBIAN_DBG=1 scripts/fetch-debian-linux.sh): it matches the kernel.
      expect(p.status, p.stderr).toBe(0);
      expect(p.stdout).toMatch(/= 0xc[0-9a-f]{7} <jiffies/);
    }
    // An address works without symbols, and a map named with --symbols is checked and used.
    expect(ttd(["history", "0x10000", "--trace", trace]).status).toBe(0);
    const map = path.join(dir, `System.map-${debian!.release}`);
    fs.writeFileSync(map, "c1000000 T _text\nc1000000 T startup_32\nc2000000 D jiffies\n");
    const q = ttd(["print", "&jiffies", "--trace", trace, "--symbols", map]);
    expect(q.stdout + q.stderr).toContain("0xc2000000");
    const wrong = path.join(dir, "System.map-6.1.0-0-686");
    fs.writeFileSync(wrong, "c1000000 T _text\n");
    const w = ttd(["print", "&jiffies", "--trace", trace, "--symbols", wrong]);
    expect(w.status).toBe(2);
    expect(w.stderr.trim()).toBe(`ttd: ${wrong}: does not match the recorded kernel ${path.basename(debian!.vmlinuz)}: it is the map of release 6.1.0-0-686, the kernel is ${debian!.release}`);
  }, 300_000);
});

describe.skipIf(debian === null)("Debian's i386 kernel boots under ttd", () => {
  test.skipIf(hasFpu)("without an FPU: decompresses, runs start_kernel, stops at the x87 check; the log so far is QEMU's", () => {
    const { serial, result } = bootUnderTtd(CMDLINE_NO_FPU, 3_000_000_000, (s) => s.includes("x86/fpu: "));
    const messages = kernelMessages(serial);
    expect(messages[0]).toMatch(new RegExp(`^Linux version ${debian!.release.replace(/\./g, "\\.")} `));
    expect(messages).toContain(`Kernel command line: ${CMDLINE_NO_FPU}`);
    expect(messages).toContain("x86/fpu: Giving up, no FPU found and no math emulation present");
    // Decompression and the early kernel take about 2.4 G steps.
    expect(result.steps).toBeGreaterThan(2_000_000_000);
    if (!findQemu()) return console.log("qemu-system-i386 is not installed: the comparison with QEMU is skipped");
    const qemu = bootUnderQemu(CMDLINE_NO_FPU);
    const ours = comparableMessages(serial, /^x86\/fpu: /);
    const theirs = comparableMessages(qemu, /^x86\/fpu: /);
    expect(ours.length).toBeGreaterThan(80);
    expect(ours).toEqual(theirs);
  }, 900_000);

  test.skipIf(!hasFpu)("to /init: the marker, /proc/cpuinfo's flags are ttd's CPUID, power off; the whole kernel log is QEMU's", () => {
    const { serial, result } = bootUnderTtd(CMDLINE, 12_000_000_000, () => false);
    expect(result.reason).toBe("power-off");
    expect(serial).toContain(INIT_MARKER);
    expect(kernelMessages(serial)).toContain("reboot: Power down");
    const flagsLine = serial.split(/\r?\n/).find((l) => l.startsWith("flags"));
    expect(flagsLine, serial.slice(-2000)).toBeDefined();
    const flags = flagsLine!.replace(/^flags\s*:\s*/, "").trim().split(/\s+/);
    expect(flags.filter((f) => !SYNTHETIC_FLAGS.has(f)).sort()).toEqual(ttdCpuidFlags());
    if (!findQemu()) return console.log("qemu-system-i386 is not installed: the comparison with QEMU is skipped");
    const qemu = bootUnderQemu(CMDLINE);
    expect(qemu).toContain(INIT_MARKER);
    // Every kernel message from "Linux version" to "reboot: Power down" (about 250: memory, ACPI
    // tables, APIC, timers, the FPU and XSAVE, the PCI root bridge and its devices, interrupt links,
    // PnP devices, the serial port, the 8042, the RTC, /init), apart from timing figures and the
    // differences debian.ts lists and docs/machine.md explains.
    const ours = comparableMessages(serial);
    expect(ours.length).toBeGreaterThan(240);
    expect(ours).toEqual(comparableMessages(qemu));
  }, 3_600_000);
});

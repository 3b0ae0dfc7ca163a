/**
 * System.map as a symbol source (src/symbols/system-map.ts, linux-system-map.ts): parsed into an ELF
 * symbol table that DebugInfo reads like any ELF without DWARF, found next to a recorded bzImage,
 * named with --symbols, refused in one line when it belongs to another kernel, and slid to where the
 * decompressor moved its own kernel (KASLR).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { beforeAll, describe, expect, test } from "vitest";
import { parseSystemMap, systemMapElf, looksLikeSystemMap } from "../../src/symbols/system-map.js";
import { DebugInfo } from "../../src/symbols/debug-info.js";
import { kernelRelease } from "../../src/machine/linux-boot.js";
import { bzImage, HELLO_CODE } from "../../src/guests/linux-hello.js";
import { requireBuiltCli, startGdbServer, tmpDir, ttd } from "../trace/helpers.js";
import { openRecordingArg } from "../../src/bundle/open.js";
import { slideMapSymbols } from "../../src/symbols/linux-system-map.js";
import { DebuggerViewModel } from "../../src/tui/view-model.js";

const hasGdb = spawnSync("gdb", ["--version"], { stdio: "ignore" }).status === 0;

/** A map of the hello kernel's code (its labels, see src/guests/linux-hello.ts) and its command line. */
const HELLO_MAP = [
  "00020000 D boot_command_line",
  "00100000 T startup_32",
  "00100006 t setup_port",
  "0010000a t print_cmdline",
  "00100017 t print_initrd",
  "0010002b t power_off",
  "00100040 A _end_of_code",
].join("\n") + "\n";

describe("System.map parsing", () => {
  test("symbols become functions and variables with sizes up to the next symbol", () => {
    const symbols = parseSystemMap(HELLO_MAP);
    expect(symbols).toHaveLength(7);
    expect(looksLikeSystemMap(new TextEncoder().encode(HELLO_MAP))).toBe(true);
    expect(looksLikeSystemMap(new Uint8Array([0x7f, 0x45, 0x4c, 0x46]))).toBe(false);
    const di = DebugInfo.fromElf(systemMapElf(symbols));
    expect(di.symbolize(0x10000c)).toBe("print_cmdline+0x2");
    expect(di.symbolize(0x100000)).toBe("startup_32");
    expect(di.functionAt(0x10002c)?.function.name).toBe("power_off");
    expect(di.symbolize(0x20004)).toBe("boot_command_line+0x4");
    const v = di.variables().find((x) => x.name === "boot_command_line");
    expect(v?.address).toBe(0x20000);
  });

  test("Debian's placeholder, a 64-bit map and a file with no symbols are refused", () => {
    expect(() => parseSystemMap("ffffffffffffffff B The real System.map is in the linux-image-<version>-dbg package\n"))
      .toThrow("a placeholder System.map, without symbols: the real one is in the linux-image-<version>-dbg package");
    expect(() => parseSystemMap("ffffffff81000000 T _text\n")).toThrow(/64-bit kernel/);
    expect(() => parseSystemMap("hello\n")).toThrow(/not a System.map/);
  });

  test("the release a bzImage names", () => {
    expect(kernelRelease(bzImage(HELLO_CODE, { kernelVersion: "9.9.9-test (builder@ttd) #1 SMP" }))).toBe("9.9.9-test");
    expect(kernelRelease(bzImage())).toBeNull();
  });
});

describe("System.map for a recorded bzImage", () => {
  beforeAll(() => requireBuiltCli());
  const RELEASE = "9.9.9-test";

  /** A folder with a versioned hello kernel, recorded, and its trace path. */
  function recorded(fields: Parameters<typeof bzImage>[1] = {}, cmdline = "hello map"): { dir: string; trace: string } {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, "vmlinuz"), bzImage(HELLO_CODE, { kernelVersion: `${RELEASE} (builder@ttd) #1`, ...fields }));
    const trace = path.join(dir, "k.trace");
    const r = ttd(["record", "vmlinuz", "--append", cmdline, "-o", trace, "--no-progress"], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    return { dir, trace };
  }

  test("found as System.map-<release> next to the image; symbol+offset in answers", () => {
    const { dir, trace } = recorded();
    fs.writeFileSync(path.join(dir, `System.map-${RELEASE}`), HELLO_MAP);
    const p = ttd(["print", "boot_command_line", "--trace", trace, "--json"], { cwd: dir });
    expect(p.status, p.stderr).toBe(0);
    expect(JSON.parse(p.stdout)).toMatchObject({ address: "0x20000" });
    const w = ttd(["why-write", "boot_command_line+4", "--size", "4", "--trace", trace, "--json"], { cwd: dir });
    expect(JSON.parse(w.stdout)).toMatchObject({ location: { address: "0x20004", size: 4 } });
    expect(w.status, w.stderr).toBe(0);
    const h = ttd(["history", "boot_command_line", "--size", "4", "--trace", trace], { cwd: dir });
    expect(h.status, h.stderr).toBe(0);
    expect(h.stdout).toContain("boot_command_line");
  });

  test("the TUI: with no line table, next/previous line say so at once rather than search the trace", () => {
    const { dir, trace } = recorded();
    fs.writeFileSync(path.join(dir, `System.map-${RELEASE}`), HELLO_MAP);
    const rec = openRecordingArg(trace, { cwd: dir });
    try {
      const vm = new DebuggerViewModel(rec, 3);
      for (const key of ["l", "L"]) {
        vm.key(key);
        expect(vm.view.message).toMatch(/^no line table: .*no DWARF/);
        expect(vm.position).toBe(3);
      }
      vm.dispose();
    } finally {
      rec.close();
    }
  });

  test("--symbols names a map anywhere; without one a bzImage says how to get symbols", () => {
    const { dir, trace } = recorded();
    const elsewhere = path.join(tmpDir(), "kernel.map");
    fs.writeFileSync(elsewhere, HELLO_MAP);
    const p = ttd(["print", "&boot_command_line", "--trace", trace, "--symbols", elsewhere], { cwd: dir });
    expect(p.status, p.stderr).toBe(0);
    expect(p.stdout).toContain("0x20000");
    const none = ttd(["print", "boot_command_line", "--trace", trace], { cwd: dir });
    expect(none.status).toBe(2);
    expect(none.stderr).toContain("is a Linux bzImage, which carries no symbols: name its System.map with --symbols");
  });

  test("a map of another kernel: one line, exit 2", () => {
    const { dir, trace } = recorded({ relocatable: 1 });
    const other = path.join(dir, "System.map-1.2.3");
    fs.writeFileSync(other, HELLO_MAP);
    const byName = ttd(["print", "boot_command_line", "--trace", trace, "--symbols", other], { cwd: dir });
    expect(byName.status).toBe(2);
    expect(byName.stderr.trim()).toBe(`ttd: ${other}: does not match the recorded kernel vmlinuz: it is the map of release 1.2.3, the kernel is ${RELEASE}`);
    // _text where the kernel is not built to run (pref_address 0x100000).
    const moved = path.join(dir, "moved.map");
    fs.writeFileSync(moved, "c0200000 T _text\n" + HELLO_MAP);
    const byText = ttd(["why-write", "boot_command_line", "--trace", trace, "--symbols", moved], { cwd: dir });
    expect(byText.status).toBe(2);
    expect(byText.stderr.trim()).toMatch(/does not match the recorded kernel vmlinuz: its _text is at 0xc0200000, the kernel is built to run at 0x100000$/);
    // linux_banner: the recorded RAM there reads another kernel's banner (here the command line).
    const other2 = recorded({}, "Linux version 0.0.1 (someone) #1");
    const banner = path.join(other2.dir, "banner.map");
    fs.writeFileSync(banner, "00020000 D linux_banner\n" + HELLO_MAP);
    const byBanner = ttd(["history", "boot_command_line", "--trace", other2.trace, "--symbols", banner], { cwd: other2.dir });
    expect(byBanner.status).toBe(2);
    expect(byBanner.stderr.trim()).toMatch(/at its linux_banner \(0x20000\) the recorded RAM reads "Linux version 0\.0\.1 \(some", not "Linux version 9\.9\.9-test"$/);
    expect(byBanner.stderr.trim().split("\n")).toHaveLength(1);
    // Other bytes there (the kernel not yet decompressed) say nothing: the map is used.
    const quiet = path.join(dir, "quiet.map");
    fs.writeFileSync(quiet, "00100010 D linux_banner\n" + HELLO_MAP);
    expect(ttd(["history", "boot_command_line", "--trace", trace, "--symbols", quiet], { cwd: dir }).status).toBe(0);
  });

  test("a kernel the decompressor moved (KASLR): the map's symbols slide by as much, and answers say so", () => {
    // The banner a whole number of alignments (here 0x1000) away from linux_banner: the map's own kernel,
    // moved by 0x2000. Its symbols of sections move with it; absolute ones ('A') are constants and stay.
    const moved = recorded({ relocatable: 1 }, `Linux version ${RELEASE} (someone) #1`);
    const kaslr = path.join(moved.dir, "kaslr.map");
    fs.writeFileSync(kaslr, "0001e000 D linux_banner\n" + HELLO_MAP);
    const args = ["--trace", moved.trace, "--symbols", kaslr];
    const p = ttd(["print", "linux_banner", ...args, "--json"], { cwd: moved.dir });
    expect(p.status, p.stderr).toBe(0);
    expect(JSON.parse(p.stdout)).toMatchObject({ address: "0x20000" });
    const q = ttd(["print", "&boot_command_line", ...args], { cwd: moved.dir });
    expect(q.stdout).toContain("0x22000");
    const h = ttd(["history", "linux_banner", ...args], { cwd: moved.dir });
    expect(h.status, h.stderr).toBe(0);
    expect(h.stdout).toMatch(/^ {2}= 0x20000, 4 bytes$/m);
    expect(h.stdout).toMatch(/^ {2}note: the kernel was moved by KASLR by \+0x2000; symbols slid$/m);
    // The map found next to the kernel says so in ttd info.
    fs.writeFileSync(path.join(moved.dir, `System.map-${RELEASE}`), "0001e000 D linux_banner\n" + HELLO_MAP);
    const info = JSON.parse(ttd(["info", moved.trace, "--json"], { cwd: moved.dir }).stdout) as { symbols: unknown };
    expect(info.symbols).toEqual({ from: path.join(moved.dir, `System.map-${RELEASE}`), note: "the kernel was moved by KASLR by +0x2000; symbols slid" });
    const absolute = DebugInfo.fromElf(systemMapElf(slideMapSymbols(parseSystemMap(HELLO_MAP), 0x2000)));
    expect(absolute.symbolize(0x102000)).toBe("startup_32");
    expect(absolute.elfSymbols.named("_end_of_code")[0].value).toBe(0x100040);
  });
});

describe.skipIf(!hasGdb)("System.map symbols through ttd gdbserver, with gdb", () => {
  beforeAll(() => requireBuiltCli());

  test("break on a map symbol, continue, reverse-continue", async () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, "vmlinuz"), bzImage());
    fs.writeFileSync(path.join(dir, "System.map"), HELLO_MAP);
    const trace = path.join(dir, "k.trace");
    expect(ttd(["record", "vmlinuz", "--append", "gdb", "-o", trace, "--no-progress"], { cwd: dir }).status).toBe(0);
    const { server, command } = await startGdbServer([trace, "--port", "0"], { cwd: dir });
    try {
      // The image gdb is given is the ELF made from the map: its symbols, no code.
      expect(command).toMatch(/System\.map\.elf'?$/);
      const args = [...command.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]);
      const r = spawnSync("gdb", ["-batch", "-nx", ...args, "-ex", "break print_initrd", "-ex", "continue", "-ex", "info registers eip", "-ex", "reverse-continue", "-ex", "info registers eip"], { encoding: "utf8", timeout: 90_000 });
      expect(r.stdout).toMatch(/Breakpoint 1, 0x00100017 in print_initrd/);
      expect(r.stdout).toMatch(/eip\s+0x100017\s+0x100017 <print_initrd>/);
      expect(r.stdout).toMatch(/eip\s+0x100000\s+0x100000 <startup_32>/);
    } finally {
      server.kill("SIGINT");
    }
  }, 180_000);
});

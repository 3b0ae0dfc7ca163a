/**
 * QEMU's spellings after `ttd run` / `ttd record`: the argument rewriting table (what each option
 * becomes, which are dropped silently or with a note, which are refused) and, through the real CLI, a
 * pasted QEMU command line, -m sizes, and refusals in one line with exit status 2.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { UsageError } from "../../src/cli/errors.js";
import { qemuMemoryMiB, rewriteQemuArgs, splitInitrd } from "../../src/cli/qemu-options.js";

const ROOT = resolve(new URL(".", import.meta.url).pathname, "../..");
const CLI = join(ROOT, "dist/cli/main.js");
const KERNEL = join(ROOT, "src/kernel/build/idle-bug.elf");
const dir = mkdtempSync(join(tmpdir(), "ttd-qemu-options-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function ttd(...args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 120_000, cwd: dir });
}

describe("rewriteQemuArgs", () => {
  it("maps -kernel, -initrd, -append, -m, -hda, -hdb, -drive to ttd's options, in place", () => {
    expect(rewriteQemuArgs(["-kernel", "k.elf", "-initrd", "a.bin x y,b.bin", "-append", "console=ttyS0", "-m", "256M", "-hda", "d.img", "-hdb", "e.img", "--max-steps", "5"]))
      .toEqual(["k.elf", "--module", "a.bin x y", "--module", "b.bin", "--cmdline", "console=ttyS0", "--memory", "256", "--hda", "d.img", "--hdb", "e.img", "--max-steps", "5"]);
    expect(rewriteQemuArgs(["k.elf", "--initrd=a,,b,c", "-drive", "file=x.img,index=1"])).toEqual(["k.elf", "--module", "a,b", "--module", "c", "--drive", "file=x.img,index=1"]);
  });

  it("drops what ttd already does silently, notes what it ignores, and leaves ttd's own options alone", () => {
    const notes: string[] = [];
    const out = rewriteQemuArgs(
      ["k.elf", "-display", "none", "-serial", "stdio", "-monitor", "none", "-no-reboot", "-net", "none", "-nographic",
        "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-machine", "pc", "-smp", "1", "-icount", "shift=0,sleep=off",
        "-enable-kvm", "-d", "in_asm", "--cmdline", "-m 5", "-o", "x.trace", "--memory", "64"],
      (l) => notes.push(l),
    );
    expect(out).toEqual(["k.elf", "--cmdline", "-m 5", "-o", "x.trace", "--memory", "64"]);
    expect(notes).toEqual([
      "ignoring QEMU option -icount shift=0,sleep=off: ttd's time always counts steps (one nanosecond each)",
      "ignoring QEMU option -enable-kvm: ttd is its own emulator",
      "ignoring QEMU option -d in_asm: for logs, record the run with 'ttd record'",
    ]);
    const display: string[] = [];
    rewriteQemuArgs(["-display", "gtk"], (l) => display.push(l));
    expect(display).toEqual(["ignoring QEMU option -display gtk: ttd has no display window"]);
  });

  it("refuses what ttd cannot honour, naming the option", () => {
    const refused: Array<[string[], RegExp]> = [
      [["-cpu", "max"], /^-cpu: not supported; ttd's CPU identity is fixed/],
      [["-s"], /^-s: not supported; ttd serves recordings to gdb/],
      [["-serial", "file:out.txt"], /^-serial file:out.txt: ttd sends COM1 to stdout only/],
      [["-device", "e1000"], /^-device e1000: ttd has no such device/],
      [["-device", "isa-debug-exit"], /^-device isa-debug-exit: ttd's isa-debug-exit is at iobase=0xf4,iosize=0x04 only/],
      [["-smp", "4"], /^-smp 4: ttd emulates one processor/],
      [["-machine", "q35"], /^-machine q35: ttd emulates an i440FX PC/],
      [["-net", "user"], /^-net user: ttd has no network card/],
      [["-m", "1.5M"], /^-m 1.5M: ttd needs a whole number of MiB/],
      [["-m", "lots"], /^-m lots: expected a size/],
      [["-kernel"], /^-kernel: expects a value/],
      [["-initrd", "a,"], /^-initrd a,: an empty file name/],
    ];
    for (const [args, message] of refused) {
      expect(() => rewriteQemuArgs(args), args.join(" ")).toThrow(UsageError);
      expect(() => rewriteQemuArgs(args), args.join(" ")).toThrow(message);
    }
  });

  it("reads -m sizes as QEMU does: MiB by default, K/M/G/T suffixes, size=", () => {
    expect([qemuMemoryMiB("256"), qemuMemoryMiB("256M"), qemuMemoryMiB("1G"), qemuMemoryMiB("1g"), qemuMemoryMiB("size=512"), qemuMemoryMiB("2048k"), qemuMemoryMiB("0.5G")])
      .toEqual([256, 256, 1024, 1024, 512, 2, 512]);
    expect(splitInitrd("a b c,d")).toEqual(["a b c", "d"]);
    expect(splitInitrd("a,,b")).toEqual(["a,b"]);
  });
});

describe("QEMU spellings through the CLI", () => {
  it("runs a pasted QEMU command line, with -m 64M taking effect", () => {
    const r = ttd("run", "-kernel", KERNEL, "-m", "64M", "-serial", "stdio", "-display", "none", "-no-reboot",
      "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-append", "quiet", "--max-steps", "2000", "--json");
    expect(r.status).toBe(4);
    expect(r.stderr).not.toMatch(/ignoring/);
    expect(JSON.parse(r.stderr.trim().split("\n").pop()!).steps).toBe(2000);
    // Too little memory for the kernel shows -m reached the machine.
    const small = ttd("run", "-kernel", KERNEL, "-m", "1");
    expect(small.status).toBe(2);
    expect(small.stderr).toMatch(/too small/);
  });

  it("refuses an option it cannot honour in one line, exit 2, and record writes nothing", () => {
    const out = join(dir, "never.trace");
    for (const cmd of ["run", "record"]) {
      const r = ttd(cmd, "-kernel", KERNEL, "-cpu", "host", ...(cmd === "record" ? ["-o", out] : []));
      expect(r.status).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toBe("ttd: -cpu: not supported; ttd's CPU identity is fixed (see docs/machine.md)\n");
    }
    expect(existsSync(out)).toBe(false);
  });

  it("prints a note on stderr for an ignored option whose effect ttd does not have", () => {
    const r = ttd("run", "-kernel", KERNEL, "-enable-kvm", "--max-steps", "100");
    expect(r.status).toBe(4);
    expect(r.stderr).toMatch(/^ttd: ignoring QEMU option -enable-kvm: ttd is its own emulator\n/);
  });
});

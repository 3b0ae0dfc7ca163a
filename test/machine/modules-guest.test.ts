/**
 * Multiboot modules end to end: guests/modules.c prints the module list and command line it was given.
 * `ttd run` with a pasted QEMU command line (-kernel, -initrd with arguments, -append and harmless QEMU
 * options) must print exactly what QEMU 7.2 prints (same addresses, strings and bytes); a recording
 * keeps the modules (metadata and RAM) and replays identically across keyframes; bad modules are
 * refused in one line with status 2 and nothing written. Needs clang and ld.lld; QEMU when installed.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Machine } from "../../src/machine/machine.js";
import { INFO_ADDRESS } from "../../src/machine/multiboot.js";
import { Recorder } from "../../src/trace/recorder.js";
import { Trace } from "../../src/trace/trace.js";
import { readModules, multibootCmdline } from "../../src/cli/load-kernel.js";
import { buildCGuest, canBuildC, hasQemu } from "./c-guests.js";

const here = new URL("./guests/", import.meta.url).pathname;
const CLI = resolve(here, "../../../dist/cli/main.js");

let dir = "";
let elf = "";
/** Module files: a 5000-byte pattern, an empty file, a short text. */
let m1 = "", empty = "", m2 = "";
const pattern = Uint8Array.from({ length: 5000 }, (_, i) => (i * 7 + 3) & 0xff);
const QEMU_HARMLESS = ["-display", "none", "-no-reboot", "-net", "none", "-monitor", "none", "-serial", "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"];
const initrd = () => `${m1} arg1 arg2,${empty},${m2}`;
const bootArgs = () => ["-kernel", elf, "-initrd", initrd(), "-append", "console=ttyS0 x=1"];

function ttd(args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 120_000, cwd: dir });
}

const hex2 = (b: number) => b.toString(16).padStart(2, "0");

describe.skipIf(!canBuildC)("multiboot modules in a running guest", () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "ttd-modules-"));
    elf = buildCGuest("modules");
    m1 = join(dir, "m1.bin");
    empty = join(dir, "empty.bin");
    m2 = join(dir, "m2.txt");
    writeFileSync(m1, pattern);
    writeFileSync(empty, new Uint8Array(0));
    writeFileSync(m2, "hello module\n");
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("ttd run with QEMU's spellings hands the guest its modules, strings and command line", () => {
    const r = ttd(["run", ...QEMU_HARMLESS, ...bootArgs()]);
    expect(r.stderr).toMatch(/stopped: exit/);
    expect(r.status).toBe(1);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toBe("magic=2badb002 flags&mods=c");
    expect(lines[1]).toMatch(/^mods_count=3 mods_addr=([0-9a-f]{8})$/);
    const first = Array.from(pattern.subarray(0, 8), hex2).join(" ");
    expect(lines[2]).toMatch(new RegExp(`^mod 0: start=[0-9a-f]{5}000 end=[0-9a-f]{8} len=5000 string@[0-9a-f]{8}='${m1} arg1 arg2' bytes=${first} last=${hex2(pattern[4999])}$`));
    expect(lines[3]).toMatch(new RegExp(`^mod 1: start=[0-9a-f]{5}000 end=[0-9a-f]{5}000 len=0 string@[0-9a-f]{8}='${empty}' bytes=last=$`));
    expect(lines[4]).toMatch(new RegExp(`^mod 2: start=[0-9a-f]{5}000 end=[0-9a-f]{8} len=13 string@[0-9a-f]{8}='${m2}' bytes=68 65 6c 6c 6f 20 6d 6f last=0a$`));
    // The command line follows the module strings: the kernel's name as typed, a space, the -append text.
    const afterStrings = parseInt(/string@([0-9a-f]{8})/.exec(lines[4])![1], 16) + m2.length + 1;
    expect(lines[5]).toBe(`cmdline@${afterStrings.toString(16).padStart(8, "0")}='${elf} console=ttyS0 x=1'`);
    // The note for an ignored option goes to stderr only where QEMU would behave differently: none here.
    expect(r.stderr).not.toMatch(/ignoring/);
  });

  it.skipIf(!hasQemu)("prints exactly what QEMU 7.2 prints for the same command line", () => {
    const q = spawnSync("qemu-system-i386", [...QEMU_HARMLESS, ...bootArgs()], { encoding: "utf8", timeout: 60_000, cwd: dir });
    const t = ttd(["run", ...QEMU_HARMLESS, ...bootArgs()]);
    expect(q.stdout.length).toBeGreaterThan(100);
    expect(t.stdout).toBe(q.stdout);
    expect(t.status).toBe(q.status);
    // Without -append QEMU still passes "<kernel> " (a trailing space), and so does ttd.
    const q2 = spawnSync("qemu-system-i386", [...QEMU_HARMLESS, "-kernel", elf], { encoding: "utf8", timeout: 60_000, cwd: dir });
    const t2 = ttd(["run", elf]);
    expect(q2.stdout).toContain(`='${elf} '\n`);
    expect(t2.stdout).toBe(q2.stdout);
    // Strings that end exactly at a page boundary: QEMU reserves room for its own loader name ("qemu"),
    // which pushes the module one page further; ttd places it there too.
    const cmd = `${elf} k`;
    const longString = `${m2} ${"x".repeat(4096 - 16 - (cmd.length + 1) - 4 - 1 - m2.length - 1)}`;
    const args = ["-kernel", elf, "-initrd", longString, "-append", "k"];
    const q3 = spawnSync("qemu-system-i386", [...QEMU_HARMLESS, ...args], { encoding: "utf8", timeout: 60_000, cwd: dir });
    const t3 = ttd(["run", ...args]);
    expect(q3.stdout).toMatch(/mods_addr=([0-9a-f]+)\n/);
    expect(t3.stdout).toBe(q3.stdout);
  });

  it("records the modules: metadata, ttd info, and replay identical across keyframes", async () => {
    const image = new Uint8Array(readFileSync(elf));
    const modules = readModules([`${m1} arg1 arg2`, empty, m2], 16 << 20);
    const options = { memoryMiB: 16, cmdline: multibootCmdline(elf, "x=1"), modules };
    const machine = Machine.fromElf(image, options);
    const out = join(dir, "rec.trace");
    const rec = new Recorder(machine, {
      path: out, image, imageName: "modules.elf", cmdline: options.cmdline, keyframeSteps: 1000, chunkSteps: 250, threaded: false,
      modules: modules.map((m) => ({ string: m.string, bytes: m.data.length, sha256: createHash("sha256").update(m.data).digest("hex") })),
    });
    const result = await rec.run();
    expect(result.reason).toBe("exit");
    expect(result.keyframes).toBeGreaterThan(3);
    const trace = Trace.open(out);
    try {
      const info = trace.info();
      expect(info.modules.map((m) => [m.string, m.bytes])).toEqual([[`${m1} arg1 arg2`, 5000], [empty, 0], [m2, 13]]);
      expect(info.modules[0].sha256).toBe(createHash("sha256").update(pattern).digest("hex"));
      // A machine run directly, compared with the trace's re-execution from each keyframe.
      const direct = Machine.fromElf(image, options);
      for (const step of [999, 1000, 1001, 2500, 4001, result.steps - 1]) {
        direct.run({ maxSteps: step });
        while (direct.cpu.steps < step) direct.step();
        const s = trace.stateAt(step);
        expect(s.machine.cpu.eip >>> 0, `EIP at step ${step}`).toBe(direct.cpu.eip >>> 0);
        expect(Array.from(s.machine.cpu.regs), `registers at step ${step}`).toEqual(Array.from(direct.cpu.regs));
      }
      // The module's bytes are in RAM at the first step, where the guest reads them.
      const ram = trace.stateAt(0).machine.mem.u8;
      const view = new DataView(ram.buffer, ram.byteOffset);
      const list = view.getUint32(INFO_ADDRESS + 24, true);
      const start = view.getUint32(list, true);
      expect(Array.from(ram.subarray(start, start + 5000))).toEqual(Array.from(pattern));
    } finally {
      trace.close();
    }
  });

  it("ttd record stores the modules and ttd info lists them", () => {
    const out = join(dir, "cli.trace");
    const r = ttd(["record", "-kernel", elf, "--module", `${m2} a b`, "-o", out, "--no-progress"]);
    expect(r.status).toBe(1);
    const info = ttd(["info", out]);
    expect(info.stdout).toMatch(new RegExp(`modules: +${m2} a b \\(13 bytes, sha256 ${createHash("sha256").update("hello module\n").digest("hex")}\\)`));
    expect(info.stdout).toContain(`guest cmdline:      ${elf} `);
    const json = JSON.parse(ttd(["info", out, "--json"]).stdout);
    expect(json.modules).toEqual([{ string: `${m2} a b`, bytes: 13, sha256: createHash("sha256").update("hello module\n").digest("hex") }]);
  });

  it("refuses missing, directory and too-big modules in one line naming the file, status 2, nothing written", () => {
    const sub = join(dir, "adir");
    mkdirSync(sub, { recursive: true });
    const big = join(dir, "big.bin");
    writeFileSync(big, new Uint8Array(3 << 20));
    const fits = join(dir, "fits.bin");
    writeFileSync(fits, new Uint8Array(1536 << 10));
    const cases: Array<[string[], RegExp]> = [
      [["--module", join(dir, "nope.bin")], new RegExp(`^ttd: ${join(dir, "nope.bin")}: no such file\n$`)],
      [["-initrd", `${m2},${sub}`], new RegExp(`^ttd: ${sub}: is a directory, not a module\n$`)],
      [["--module", `${big} arg`, "-m", "2"], new RegExp(`^ttd: ${big}: module of 3145728 bytes is larger than guest memory \\(2 MiB\\)`)],
      // Smaller than memory, but with the kernel at 2 MiB (c-guest.ld) there is no room for it.
      [["--module", fits, "--memory", "3"], new RegExp(`^ttd: ${fits}: module of 1572864 bytes does not fit in 3 MiB of memory`)],
    ];
    for (const [args, message] of cases) {
      for (const cmd of ["run", "record"]) {
        const out = join(dir, `bad-${cmd}.trace`);
        const r = ttd(cmd === "run" ? [cmd, elf, ...args] : [cmd, elf, ...args, "-o", out]);
        expect(r.stderr, `${cmd} ${args.join(" ")}`).toMatch(message);
        expect(r.stderr.split("\n").length).toBe(2);
        expect(r.status).toBe(2);
        expect(r.stdout).toBe("");
        expect(existsSync(out)).toBe(false);
      }
    }
  });
});

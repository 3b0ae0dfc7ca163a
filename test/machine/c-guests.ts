/**
 * Builds the C test guests in guests/ (each <name>.c with c-guest.h, started by c-start.S and linked
 * by c-guest.ld) with clang and ld.lld, and runs a guest under QEMU 7.2 or under ttd, for tests that
 * compare the two byte for byte.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { connect } from "node:net";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Machine, type RunResult } from "../../src/machine/machine.js";

const here = new URL("./guests/", import.meta.url).pathname;
const has = (tool: string) => spawnSync(tool, ["--version"], { stdio: "ignore" }).status === 0;
export const canBuildC = has("clang") && has("ld.lld");
export const hasQemu = has("qemu-system-i386");

let dir = "";
process.on("exit", () => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Compiles guests/<name>.c (or `source`, a path) into a multiboot ELF and returns its path; `includeDir` holds generated headers, `flags` go to clang. */
export function buildCGuest(name: string, options: { source?: string; flags?: string[]; includeDir?: string } = {}): string {
  if (!dir) dir = mkdtempSync(join(tmpdir(), "ttd-c-guest-"));
  const start = join(dir, "c-start.o");
  execFileSync("clang", ["-m32", "-c", "-o", start, join(here, "c-start.S")]);
  const obj = join(dir, `${name}.o`);
  const include = options.includeDir !== undefined ? ["-I", options.includeDir] : [];
  execFileSync("clang", ["-m32", "-ffreestanding", "-fno-pic", "-fno-stack-protector", "-O1", "-nostdlib", "-Wall", "-Werror", ...(options.flags ?? []), ...include, "-I", here, "-c", "-o", obj, options.source ?? join(here, `${name}.c`)]);
  const elf = join(dir, `${name}.elf`);
  execFileSync("ld.lld", ["-m", "elf_i386", "-T", join(here, "c-guest.ld"), "-o", elf, start, obj]);
  return elf;
}

/** QEMU's COM1 output and exit status for a guest (the command line the issue names, plus `extraArgs`). */
export function runQemu(elf: string, extraArgs: string[] = []): { stdout: string; status: number | null } {
  const q = spawnSync(
    "qemu-system-i386",
    [...extraArgs, "-display", "none", "-no-reboot", "-net", "none", "-monitor", "none", "-serial", "stdio",
      "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-kernel", elf],
    { encoding: "latin1", timeout: 60_000 },
  );
  return { stdout: q.stdout, status: q.status };
}

/** A machine with the guest loaded and its COM1 output collected in `serial()`. */
export function guestMachine(elf: string, options: { compile?: boolean } = {}): { machine: Machine; serial: () => string } {
  const machine = Machine.fromElf(new Uint8Array(readFileSync(elf)), { memoryMiB: 16, compile: options.compile });
  let out = "";
  machine.onSerial = (b) => (out += String.fromCharCode(b));
  return { machine, serial: () => out };
}

/** Runs a guest to its end under ttd. */
export function runTtd(elf: string, options: { compile?: boolean } = {}): { serial: string; result: RunResult; machine: Machine } {
  const { machine, serial } = guestMachine(elf, options);
  const result = machine.run({ maxSteps: 50_000_000 });
  return { serial: serial(), result, machine };
}

/**
 * Runs a guest under QEMU and, once its COM1 output contains `ready`, types `keys` (QEMU `sendkey`
 * names) through the monitor on a Unix socket, one every 200 ms. Resolves with COM1 output and status.
 */
export function runQemuTyping(elf: string, ready: string, keys: string[]): Promise<{ stdout: string; status: number | null }> {
  if (!dir) dir = mkdtempSync(join(tmpdir(), "ttd-c-guest-"));
  const sock = join(dir, `monitor-${process.pid}-${Date.now()}.sock`);
  return new Promise((resolve, reject) => {
    const q = spawn("qemu-system-i386", ["-display", "none", "-no-reboot", "-net", "none", "-serial", "stdio",
      "-monitor", `unix:${sock},server,nowait`, "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-kernel", elf]);
    let out = "";
    let typing = false;
    const timer = setTimeout(() => q.kill(), 60_000);
    q.stdout.setEncoding("latin1");
    q.stdout.on("data", (d: string) => {
      out += d;
      if (typing || !out.includes(ready)) return;
      typing = true;
      const mon = connect(sock);
      mon.on("error", reject);
      let i = 0;
      const next = () => {
        if (i === keys.length) return void mon.end();
        mon.write(`sendkey ${keys[i++]}\n`);
        setTimeout(next, 200);
      };
      mon.on("connect", next);
    });
    q.on("error", reject);
    q.on("close", (status) => {
      clearTimeout(timer);
      resolve({ stdout: out, status });
    });
  });
}

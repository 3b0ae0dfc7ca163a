/**
 * Builds the firmware test guests (test/machine/guests/firmware/*.c, each linked with start.S) with
 * clang and ld.lld, and runs them under ttd and under QEMU 7.2 with the command line the project
 * compares against.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Machine, type RunResult } from "../../src/machine/machine.js";
import { testTmpDir } from "../tmp-dirs.js";

const here = new URL("./guests/", import.meta.url).pathname;
const has = (tool: string) => spawnSync(tool, ["--version"], { stdio: "ignore" }).status === 0;
export const canBuild = has("clang") && has("ld.lld");
export const hasQemu = has("qemu-system-i386");

const CFLAGS = ["-m32", "-ffreestanding", "-fno-pic", "-fno-stack-protector", "-nostdlib", "-O1", "-Wall", "-Werror",
  "-Wno-unused-function", "-fno-builtin", "-mno-sse", "-mno-mmx", "-msoft-float"];

let dir = "";

/** Builds guest `name` (a .c file in guests/firmware) and returns the ELF's path. */
export function buildGuest(name: string): string {
  if (dir === "") dir = testTmpDir("ttd-firmware-");
  const src = join(here, "firmware");
  const start = join(dir, "start.o");
  execFileSync("clang", [...CFLAGS, "-c", "-o", start, join(src, "start.S")]);
  const obj = join(dir, `${name}.o`);
  const elf = join(dir, `${name}.elf`);
  execFileSync("clang", [...CFLAGS, "-c", "-o", obj, join(src, `${name}.c`)]);
  execFileSync("ld.lld", ["-m", "elf_i386", "-T", join(here, "guest.ld"), "-o", elf, start, obj]);
  return elf;
}

export interface GuestRun {
  out: string;
  result: RunResult;
  machine: Machine;
}

export function runUnderTtd(elf: string, memoryMiB = 128): GuestRun {
  const machine = Machine.fromElf(new Uint8Array(readFileSync(elf)), { memoryMiB });
  let out = "";
  machine.onSerial = (b) => (out += String.fromCharCode(b));
  const result = machine.run({ maxSteps: 50_000_000 });
  return { out, result, machine };
}

/** QEMU's serial output and exit status for `elf` (plus `extra` options, e.g. `-vga none`). */
export function runUnderQemu(elf: string, extra: string[] = []): { out: string; status: number | null } {
  const q = spawnSync(
    "qemu-system-i386",
    ["-display", "none", "-no-reboot", "-net", "none", "-monitor", "none", "-serial", "stdio",
      "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", ...extra, "-kernel", elf],
    { encoding: "latin1", timeout: 60_000 },
  );
  return { out: q.stdout, status: q.status };
}

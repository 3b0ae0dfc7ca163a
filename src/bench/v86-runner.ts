/**
 * node dist/bench/v86-runner.js <kernel.elf> --interp|--jit [--memory MiB]
 *
 * Runs a multiboot kernel in v86 as its own process so the benchmark measures it as a whole process,
 * like `ttd run`. Reports through the IPC channel: serial output, instructions retired (v86's
 * instruction counter) and why it stopped. Only v86 is loaded here, to keep the process honest.
 *
 * v86 without a BIOS boots multiboot images directly and treats a write to port 0xf4 as the
 * kvm-unit-tests exit: it prints "Test exited with code 0x.." and throws the string "HALT" out of
 * its run loop. That throw is the guest's exit; it surfaces here as an uncaught exception.
 */
import * as fs from "node:fs";
import { createRequire } from "node:module";
import { V86 } from "v86";

export interface V86RunResult {
  stop: "exit" | "error";
  serial: string;
  instructions: number;
  /** Milliseconds from the emulator's start to the guest's exit, inside this process. */
  guestMs: number;
  error?: string;
}

function parseArgs(argv: string[]): { elf: string; jit: boolean; memoryMiB: number } {
  let elf: string | undefined;
  let jit: boolean | undefined;
  let memoryMiB = 128;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--jit") jit = true;
    else if (a === "--interp") jit = false;
    else if (a === "--memory") memoryMiB = Number(argv[++i]);
    else if (!a.startsWith("-") && elf === undefined) elf = a;
    else throw new Error(`unexpected argument ${a}`);
  }
  if (elf === undefined || jit === undefined || !(memoryMiB > 0)) {
    throw new Error("usage: v86-runner.js <kernel.elf> --interp|--jit [--memory MiB]");
  }
  return { elf, jit, memoryMiB };
}

function report(r: V86RunResult): void {
  if (process.send) {
    process.send(r, () => process.exit(r.stop === "exit" ? 0 : 1));
  } else {
    console.log(JSON.stringify(r));
    process.exit(r.stop === "exit" ? 0 : 1);
  }
}

function main(): void {
  const { elf, jit, memoryMiB } = parseArgs(process.argv.slice(2));
  const file = fs.readFileSync(elf);
  const buffer = file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength);
  const wasmPath = createRequire(import.meta.url).resolve("v86/build/v86.wasm");
  let serial = "";
  let started = 0;
  // The counter is 32 bits wide; poll it to count wrap-arounds on long runs.
  let lastCount = 0;
  let wraps = 0;
  const emulator = new V86({
    wasm_path: wasmPath,
    multiboot: { buffer },
    autostart: true,
    disable_jit: !jit,
    memory_size: memoryMiB * 1024 * 1024,
  });
  const count = (): number => {
    const c = emulator.get_instruction_counter();
    if (c < lastCount) wraps++;
    lastCount = c;
    return wraps * 2 ** 32 + c;
  };
  setInterval(count, 200).unref();
  emulator.add_listener("emulator-started", () => { started = performance.now(); });
  emulator.add_listener("serial0-output-byte", (byte: number) => { serial += String.fromCharCode(byte); });
  process.on("uncaughtException", (err: unknown) => {
    const instructions = count();
    const guestMs = performance.now() - started;
    if (err === "HALT") report({ stop: "exit", serial, instructions, guestMs });
    else report({ stop: "error", serial, instructions, guestMs, error: err instanceof Error ? err.stack ?? err.message : String(err) });
  });
}

main();

/**
 * Whether ttd's CPU has an x87 FPU, found by running one: a made-up bzImage executes FNINIT and FNSTSW AX
 * (the probe Linux itself uses) and the answer is whether AX came back 0 with no unimplemented
 * instruction. The tests that need an FPU (Linux to /init) run as soon as the FPU exists, with no flag
 * to flip.
 */
import { Machine } from "../../src/machine/machine.js";
import { bzImage } from "../../src/guests/linux-hello.js";

const PROBE = Uint8Array.from([
  0x66, 0xb8, 0xff, 0xff, // mov ax, 0xffff
  0xdb, 0xe3, //           fninit
  0xdf, 0xe0, //           fnstsw ax
  0xf4, //                 hlt (interrupts are off: the run ends here)
]);

export function cpuHasFpu(): boolean {
  const m = Machine.fromElf(bzImage(PROBE), { memoryMiB: 16, cmdline: "" });
  m.run({ maxSteps: 100 });
  return m.cpu.firstUnimplemented === null && (m.cpu.regs[0] & 0xffff) === 0;
}

export const hasFpu = cpuHasFpu();

/** Port I/O from instructions: IN/OUT/INS/OUTS with the protected-mode IOPL and TSS I/O-bitmap check. */
import type { CPU } from "./cpu.js";
import type { AccessSize } from "../machine/bus.js";
import { CR0_PE, EFLAGS_IOPL_SHIFT, IOPL } from "./constants.js";

/**
 * Raises #GP(0) unless the current privilege may access `size` ports from `port`: CPL <= IOPL, or
 * every bit for those ports clear in the TSS I/O permission bitmap.
 */
export function checkIoPermission(cpu: CPU, port: number, size: number): void {
  if ((cpu.cr0 & CR0_PE) === 0) return;
  if (cpu.cpl <= ((cpu.flags & IOPL) >> EFLAGS_IOPL_SHIFT)) return;
  if ((cpu.trAttr & 0x8) === 0 || (cpu.trLimit >>> 0) < 0x67) cpu.gp(0);
  const mapBase = cpu.mmu.readSys((cpu.trBase + 0x66) | 0, 2);
  const byteOff = mapBase + (port >> 3);
  if (byteOff + 1 > (cpu.trLimit >>> 0)) cpu.gp(0);
  const bits = cpu.mmu.readSys((cpu.trBase + byteOff) | 0, 2);
  const mask = ((1 << size) - 1) << (port & 7);
  if ((bits & mask) !== 0) cpu.gp(0);
}

export function portIn(cpu: CPU, port: number, size: AccessSize): number {
  checkIoPermission(cpu, port, size);
  const v = cpu.io.read(port, size);
  if (cpu.observer !== null) cpu.observer.onPortIo(port, size, v, false);
  return v;
}

export function portOut(cpu: CPU, port: number, size: AccessSize, value: number): void {
  checkIoPermission(cpu, port, size);
  const v = size === 1 ? value & 0xff : size === 2 ? value & 0xffff : value | 0;
  if (cpu.observer !== null) cpu.observer.onPortIo(port, size, v, true);
  cpu.io.write(port, size, v);
}

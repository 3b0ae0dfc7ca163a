/**
 * Shifts and rotates (group 2: ROL ROR RCL RCR SHL SHR SAL SAR) and the double shifts SHLD/SHRD.
 * The count is masked to five bits; a masked count of zero changes nothing, flags included.
 * Flags that the SDM leaves undefined (OF for counts above one, AF) follow QEMU's choices so that
 * traces compare equal (test/cpu/arith-flags-qemu.test.ts): AF is cleared, and OF is the top bit of
 * the operand shifted by count - 1 XOR the result's, which is the count-one formula for SHL, ROL and
 * ROR; an RCL/RCR whose count is a multiple of the width + 1 changes no flag.
 */
import type { CPU } from "./cpu.js";
import { AF, CF, OF, PF, SF, ZF } from "./constants.js";
import { OP_LOGIC, SIZE_MASK } from "./flags.js";

const WIDTH = [8, 16, 32] as const;

/** Sets CF and OF eagerly and ZF/SF/PF (and AF = 0) lazily from the result. */
function shiftFlags(cpu: CPU, res: number, size: number, cf: number, of: number): void {
  cpu.setLazy(OP_LOGIC, 0, 0, res, size, ZF | SF | PF | AF);
  cpu.flags = (cpu.flags & ~(CF | OF)) | (cf ? CF : 0) | (of ? OF : 0);
}

/** Group-2 operation `op` on value `a` (zero-extended to its size) by `count` (unmasked). */
export function shift(cpu: CPU, op: number, a: number, count: number, size: number): number {
  count &= 31;
  if (count === 0) return a;
  const w = WIDTH[size];
  const mask = SIZE_MASK[size];
  const msb = w - 1;
  a &= mask;
  let r: number;
  switch (op) {
    case 0: { // ROL
      const n = count % w;
      r = n === 0 ? a : ((a << n) | (a >>> (w - n))) & mask;
      const cf = r & 1;
      cpu.setFlag(CF, cf !== 0);
      cpu.setFlag(OF, (((r >>> msb) & 1) ^ cf) !== 0);
      return r;
    }
    case 1: { // ROR
      const n = count % w;
      r = n === 0 ? a : ((a >>> n) | (a << (w - n))) & mask;
      const top = (r >>> msb) & 1;
      cpu.setFlag(CF, top !== 0);
      cpu.setFlag(OF, (top ^ ((r >>> (msb - 1)) & 1)) !== 0);
      return r;
    }
    case 2: { // RCL: rotate through carry, width + 1 bits
      const n = count % (w + 1);
      if (n === 0) return a;
      let cf = cpu.getCF() ? 1 : 0;
      r = a;
      for (let i = 0; i < n; i++) {
        const out = (r >>> msb) & 1;
        r = ((r << 1) | cf) & mask;
        cf = out;
      }
      cpu.setFlag(CF, cf !== 0);
      cpu.setFlag(OF, (((a ^ r) >>> msb) & 1) !== 0);
      return r;
    }
    case 3: { // RCR
      const n = count % (w + 1);
      if (n === 0) return a;
      let cf = cpu.getCF() ? 1 : 0;
      r = a;
      for (let i = 0; i < n; i++) {
        const out = r & 1;
        r = ((r >>> 1) | (cf << msb)) & mask;
        cf = out;
      }
      cpu.setFlag(CF, cf !== 0);
      cpu.setFlag(OF, (((a ^ r) >>> msb) & 1) !== 0);
      return r;
    }
    case 4:
    case 6: { // SHL/SAL
      r = (a << count) & mask;
      const cf = count <= w ? ((a << (count - 1)) >>> msb) & 1 : 0;
      shiftFlags(cpu, r, size, cf, ((r >>> msb) & 1) ^ cf);
      return r;
    }
    case 5: { // SHR
      r = count < 32 ? (a >>> count) & mask : 0;
      const shm1 = a >>> (count - 1);
      shiftFlags(cpu, r, size, shm1 & 1, ((shm1 ^ r) >>> msb) & 1);
      return r;
    }
    default: { // SAR
      const s = size === 0 ? (a << 24) >> 24 : size === 1 ? (a << 16) >> 16 : a | 0;
      r = (s >> count) & mask;
      const cf = (s >> (count - 1)) & 1;
      shiftFlags(cpu, r, size, cf, 0);
      return r;
    }
  }
}

/**
 * Bit `i` of the 48-bit value dst:src:dst (dst in bits 47..32 and 15..0, src in 31..16), which is what
 * 16-bit double shifts by more than 16 shift through (the SDM leaves it undefined; QEMU does this).
 */
function bit48(dst: number, src: number, i: number): number {
  if (i < 16) return (dst >>> i) & 1;
  if (i < 32) return (src >>> (i - 16)) & 1;
  return (dst >>> (i - 32)) & 1;
}

/**
 * SHLD dst, src, count (16 or 32 bits). CF and OF come from QEMU's operand shifted by count - 1: its
 * top bit is the last bit shifted out, and XOR the result's top bit is OF. For a word shifted by more
 * than 16 (undefined in the SDM) that operand takes src:dst's bits, as QEMU's does; by one, that term
 * only repeats dst.
 */
export function shld(cpu: CPU, dst: number, src: number, count: number, size: number): number {
  count &= 31;
  if (count === 0) return dst;
  const mask = SIZE_MASK[size], msb = WIDTH[size] - 1;
  dst &= mask;
  src &= mask;
  let r: number;
  if (size === 2) {
    r = (dst << count) | (src >>> (32 - count));
  } else if (count <= 16) {
    r = ((dst << count) | (src >>> (16 - count))) & mask;
  } else {
    // Shifting dst:src:dst left: result bit j is bit 32 + j - count of the 48-bit value.
    r = 0;
    for (let j = 0; j < 16; j++) r |= bit48(dst, src, 32 + j - count) << j;
  }
  const shm1 = size === 2 ? dst << (count - 1) : (dst << (count - 1)) | (((src << 16) | dst) >>> (33 - count));
  shiftFlags(cpu, r, size, (shm1 >>> msb) & 1, ((shm1 ^ r) >>> msb) & 1);
  return r;
}

/**
 * SHRD dst, src, count (16 or 32 bits). CF and OF come from QEMU's operand shifted by count - 1 (dst,
 * or for a word the 32 bits src:dst): its low bit is the last bit shifted out, and its top bit XOR
 * the result's is OF.
 */
export function shrd(cpu: CPU, dst: number, src: number, count: number, size: number): number {
  count &= 31;
  if (count === 0) return dst;
  const mask = SIZE_MASK[size], msb = WIDTH[size] - 1;
  dst &= mask;
  src &= mask;
  let r: number;
  if (size === 2) {
    r = (dst >>> count) | (src << (32 - count));
  } else if (count <= 16) {
    r = ((dst >>> count) | (src << (16 - count))) & mask;
  } else {
    // Shifting dst:src:dst right (dst lowest): result bit j is bit j + count of the 48-bit value.
    r = 0;
    for (let j = 0; j < 16; j++) r |= bit48(dst, src, j + count) << j;
  }
  const shm1 = size === 2 ? dst >>> (count - 1) : ((src << 16) | dst) >>> (count - 1);
  shiftFlags(cpu, r, size, shm1 & 1, (((shm1 & mask) ^ r) >>> msb) & 1);
  return r;
}

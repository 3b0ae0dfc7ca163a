/**
 * MUL, IMUL (one-, two- and three-operand forms), DIV and IDIV for every operand size. 64-bit
 * products and dividends are handled in 16-bit digits so no BigInt (and no allocation) is needed.
 * CF and OF follow the SDM; ZF/SF/PF, undefined there, are taken from the low half of the result as
 * QEMU does, and AF is cleared.
 */
import type { CPU } from "./cpu.js";
import { AF, CF, EAX, EDX, OF, PF, SF, ZF } from "./constants.js";
import { OP_LOGIC } from "./flags.js";

function mulFlags(cpu: CPU, low: number, size: number, overflow: boolean): void {
  cpu.setLazy(OP_LOGIC, 0, 0, low, size, ZF | SF | PF | AF);
  cpu.flags = overflow ? cpu.flags | CF | OF : cpu.flags & ~(CF | OF);
}

/** High 32 bits of the unsigned 64-bit product a * b (a, b taken as unsigned). */
export function mulHighU32(a: number, b: number): number {
  const a0 = a & 0xffff, a1 = a >>> 16, b0 = b & 0xffff, b1 = b >>> 16;
  const p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  return (p11 + (p01 >>> 16) + (p10 >>> 16) + Math.floor(mid / 65536)) | 0;
}

/** High 32 bits of the signed 64-bit product a * b. */
export function mulHighS32(a: number, b: number): number {
  let hi = mulHighU32(a, b);
  if (a < 0) hi = (hi - b) | 0;
  if (b < 0) hi = (hi - a) | 0;
  return hi;
}

/** MUL r/m (unsigned): AX = AL*src, DX:AX = AX*src or EDX:EAX = EAX*src. */
export function mul(cpu: CPU, src: number, size: number): void {
  const regs = cpu.regs;
  if (size === 0) {
    const r = cpu.regs8[0] * (src & 0xff);
    cpu.regs16[0] = r;
    mulFlags(cpu, r & 0xff, 0, (r & 0xff00) !== 0);
  } else if (size === 1) {
    const r = cpu.regs16[0] * (src & 0xffff);
    cpu.regs16[0] = r;
    cpu.regs16[EDX << 1] = r >>> 16;
    mulFlags(cpu, r & 0xffff, 1, (r >>> 16) !== 0);
  } else {
    const a = regs[EAX];
    const lo = Math.imul(a, src);
    const hi = mulHighU32(a, src);
    regs[EAX] = lo;
    regs[EDX] = hi;
    mulFlags(cpu, lo, 2, hi !== 0);
  }
}

/** IMUL r/m (one operand, signed). */
export function imul1(cpu: CPU, src: number, size: number): void {
  const regs = cpu.regs;
  if (size === 0) {
    const r = ((cpu.regs8[0] << 24) >> 24) * ((src << 24) >> 24);
    cpu.regs16[0] = r;
    mulFlags(cpu, r & 0xff, 0, r !== ((r << 24) >> 24));
  } else if (size === 1) {
    const r = ((cpu.regs16[0] << 16) >> 16) * ((src << 16) >> 16);
    cpu.regs16[0] = r;
    cpu.regs16[EDX << 1] = r >> 16;
    mulFlags(cpu, r & 0xffff, 1, r !== ((r << 16) >> 16));
  } else {
    const a = regs[EAX];
    const lo = Math.imul(a, src);
    const hi = mulHighS32(a, src);
    regs[EAX] = lo;
    regs[EDX] = hi;
    mulFlags(cpu, lo, 2, hi !== lo >> 31);
  }
}

/** IMUL with a truncated result (two- and three-operand forms); returns the result. */
export function imulTrunc(cpu: CPU, a: number, b: number, size: number): number {
  if (size === 1) {
    const r = ((a << 16) >> 16) * ((b << 16) >> 16);
    mulFlags(cpu, r & 0xffff, 1, r !== ((r << 16) >> 16));
    return r & 0xffff;
  }
  const lo = Math.imul(a, b);
  const hi = mulHighS32(a, b);
  mulFlags(cpu, lo, 2, hi !== lo >> 31);
  return lo;
}

/** Unsigned (hi:lo) / d with hi < d, by 16-bit digits; quotient in divQ, remainder in divR. */
let divQ = 0;
let divR = 0;
function udiv64(hi: number, lo: number, d: number): void {
  // hi < d < 2^32, so each partial dividend r * 65536 + digit stays below 2^48.
  let r = hi >>> 0;
  const dd = d >>> 0;
  let num = r * 65536 + (lo >>> 16);
  const q1 = Math.floor(num / dd);
  r = num - q1 * dd;
  num = r * 65536 + (lo & 0xffff);
  const q0 = Math.floor(num / dd);
  r = num - q0 * dd;
  divQ = (q1 * 65536 + q0) | 0;
  divR = r | 0;
}

/** DIV r/m (unsigned); #DE on a zero divisor or a quotient that does not fit. */
export function div(cpu: CPU, src: number, size: number): void {
  const regs = cpu.regs;
  if (size === 0) {
    const d = src & 0xff;
    if (d === 0) cpu.divideError();
    const n = cpu.regs16[0];
    const q = Math.floor(n / d);
    if (q > 0xff) cpu.divideError();
    cpu.regs8[0] = q;
    cpu.regs8[1] = n % d;
  } else if (size === 1) {
    const d = src & 0xffff;
    if (d === 0) cpu.divideError();
    const n = (cpu.regs16[EDX << 1] * 65536 + cpu.regs16[0]);
    const q = Math.floor(n / d);
    if (q > 0xffff) cpu.divideError();
    cpu.regs16[0] = q;
    cpu.regs16[EDX << 1] = n % d;
  } else {
    const d = src >>> 0;
    if (d === 0) cpu.divideError();
    const hi = regs[EDX] >>> 0;
    if (hi >= d) cpu.divideError();
    udiv64(hi, regs[EAX], d);
    regs[EAX] = divQ;
    regs[EDX] = divR;
  }
}

/** IDIV r/m (signed, quotient truncated toward zero); #DE on zero or overflow. */
export function idiv(cpu: CPU, src: number, size: number): void {
  const regs = cpu.regs;
  if (size === 0) {
    const d = (src << 24) >> 24;
    if (d === 0) cpu.divideError();
    const n = (cpu.regs16[0] << 16) >> 16;
    const q = Math.trunc(n / d);
    if (q > 127 || q < -128) cpu.divideError();
    cpu.regs8[0] = q;
    cpu.regs8[1] = n % d;
  } else if (size === 1) {
    const d = (src << 16) >> 16;
    if (d === 0) cpu.divideError();
    const n = (cpu.regs16[EDX << 1] << 16) | cpu.regs16[0];
    const q = Math.trunc(n / d);
    if (q > 32767 || q < -32768) cpu.divideError();
    cpu.regs16[0] = q;
    cpu.regs16[EDX << 1] = n % d;
  } else {
    const d = src | 0;
    if (d === 0) cpu.divideError();
    let hi = regs[EDX], lo = regs[EAX];
    const negN = hi < 0;
    if (negN) {
      // Two's-complement negation of the 64-bit dividend.
      lo = (-lo) | 0;
      hi = (~hi + (lo === 0 ? 1 : 0)) | 0;
    }
    const absD = d < 0 ? -d : d; // up to 2^31, exact as a double
    if ((hi >>> 0) >= absD) cpu.divideError();
    udiv64(hi, lo, absD);
    const qMag = divQ >>> 0, rMag = divR >>> 0;
    const negQ = negN !== d < 0;
    if (negQ ? qMag > 0x80000000 : qMag > 0x7fffffff) cpu.divideError();
    regs[EAX] = negQ ? -qMag | 0 : qMag | 0;
    regs[EDX] = negN ? -rMag | 0 : rMag | 0;
  }
}

/**
 * x87 test snippets shared by the oracle tests: operand generators (special values and random values
 * near rounding boundaries), control words over every PC x RC and mask setting, and the machine code
 * of one case. A snippet addresses a 128-byte data block through EBX:
 *
 *   0 control word under test   2 all-masked control word 0x037F
 *   16 operand a (80-bit)       32 operand b (80-bit)
 *   48 ST0 after the case       64 ST1 after the case
 *   80 FSW right after the instruction under test
 *   82..87 ZF PF CF OF SF (SETcc) and AH after LAHF, for FCOMI
 *   96..111 a memory operand or store destination (filled with 0xAA)
 *
 * The encodings used ([EBX+disp8] operands, no REX) mean the same in 32-bit and 64-bit code, so the
 * host runs the very bytes ttd runs.
 */

export const OFF_CW = 0, OFF_CW_MASKED = 2, OFF_A = 16, OFF_B = 32, OFF_R1 = 48, OFF_R2 = 64, OFF_SW = 80, OFF_FLAGS = 82, OFF_M = 96;

/** A deterministic generator (xorshift32). */
export class Rng {
  constructor(private s: number) {}
  u32(): number {
    let x = this.s;
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    this.s = x;
    return x >>> 0;
  }
  below(n: number): number {
    return this.u32() % n;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.below(a.length)];
  }
}

export type F80 = [se: number, hi: number, lo: number];

export const SPECIALS: F80[] = [
  [0, 0, 0], [0x8000, 0, 0],
  [0x3fff, 0x80000000, 0], [0xbfff, 0x80000000, 0], [0x3fff, 0xc0000000, 0], [0x4000, 0x80000000, 0],
  [0x4000, 0xc0000000, 0], [0x3ffb, 0xcccccccc, 0xcccccccd],
  [0x7ffe, 0xffffffff, 0xffffffff], [0xfffe, 0xffffffff, 0xffffffff],
  [0x0001, 0x80000000, 0], [0x8001, 0x80000000, 0],
  [0x0000, 0x00000000, 0x00000001], [0x0000, 0x7fffffff, 0xffffffff], [0x8000, 0x40000000, 0], [0x0000, 0x00000001, 0],
  [0x0000, 0x80000000, 0], [0x8000, 0x80000001, 0x00000000], // pseudo-denormals
  [0x7fff, 0x80000000, 0], [0xffff, 0x80000000, 0],
  [0x7fff, 0xc0000000, 0], [0xffff, 0xc0000000, 0], [0x7fff, 0xc0000001, 0x12345678], [0xffff, 0xe0000000, 0],
  [0x7fff, 0x80000000, 1], [0xffff, 0xa0000000, 0], [0x7fff, 0xbfffffff, 0xffffffff],
  [0x3fff, 0x40000000, 0], [0x0100, 0x00000000, 0x10000], // unnormals
  [0x7fff, 0x40000000, 0], [0x7fff, 0x00000000, 0], // pseudo-NaN, pseudo-infinity
  [0x407e, 0xffffff00, 0], [0x407e, 0xffffff80, 0], [0x43fe, 0xffffffff, 0xfffff800], [0x43fe, 0xffffffff, 0xfffffc00],
  [0x3f81, 0x80000000, 0], [0x3f80, 0xffffff80, 0], [0x3c01, 0x80000000, 0], [0x3c00, 0xffffffff, 0xfffff800],
  [0x3f6a, 0x80000000, 0], [0x3bcd, 0x80000000, 0], [0x3bcc, 0x80000000, 0x1],
  [0x403e, 0x80000000, 0], [0xc03e, 0x80000000, 0], [0x403d, 0xffffffff, 0xffffffff], [0x401d, 0xffffffff, 0], [0x400e, 0xffff0000, 0],
  [0x4039, 0xde0b6b3a, 0x763ffff0], [0x403a, 0xde0b6b3a, 0x76400000],
  [0x3ffe, 0x80000000, 0], [0x3ffe, 0x80000000, 1], [0x3ffd, 0xffffffff, 0xffffffff], [0x4001, 0xa0000000, 0],
];

/** A random finite (mostly normal) value, biased towards rounding boundaries and extreme exponents. */
export function randomF80(r: Rng): F80 {
  const kind = r.below(16);
  if (kind === 0) return r.pick(SPECIALS);
  const sign = r.below(2) << 15;
  let e: number;
  const ek = r.below(8);
  if (ek < 4) e = 0x3fff - 40 + r.below(80);
  else if (ek === 4) e = r.below(0x7fff);
  else if (ek === 5) e = r.below(3) === 0 ? 1 : r.below(70);
  else if (ek === 6) e = 0x7ffe - r.below(70);
  else e = r.pick([0x3fff - 16382 + 16383 - 1022, 0x3fff - 1022 - 53, 0x3fff - 126, 0x3fff - 126 - 24, 0x3fff + 1023, 0x3fff + 127, 0x3fff]) + r.below(5) - 2;
  let hi = (r.u32() | 0x80000000) >>> 0, lo = r.u32();
  const pat = r.below(10);
  if (pat === 0) lo = 0;
  else if (pat === 1) { lo = 0x400 | (r.below(2) ? 0 : r.u32() & 0x3ff); lo &= ~0x3ff | r.below(2); }
  else if (pat === 2) { hi = ((hi & ~0xff) | 0x80) >>> 0; lo = r.below(3) === 0 ? 1 : 0; }
  else if (pat === 3) { lo = (lo & ~0x7ff) >>> 0; }
  else if (pat === 4) { hi = (hi & ~0xff) >>> 0; lo = 0; }
  else if (pat === 5) { lo = 0xffffffff; }
  else if (pat === 6) { hi = 0xffffffff; lo = (0xffffffff - r.below(0x1000)) >>> 0; }
  if (e === 0) hi &= 0x7fffffff;
  return [sign | e, hi >>> 0, lo >>> 0];
}

/** A second operand: often close to the first (cancellation, equal exponents, ties). */
export function relatedF80(r: Rng, a: F80): F80 {
  const k = r.below(7);
  if (k === 6) {
    // Close to 1 (or to 2): products and quotients of a tiny a land next to the smallest normal.
    const hi = r.below(2) ? 0xffffffff : 0x80000000, lo = r.below(2) ? 0xffffffff - r.below(4) : r.below(4);
    return [(r.below(2) << 15) | (0x3ffe + r.below(2)), hi, lo >>> 0];
  }
  if (k === 0) return [a[0] ^ 0x8000, a[1], a[2]];
  if (k === 1) return [a[0] ^ (r.below(2) << 15), a[1], (a[2] + r.below(5) - 2) >>> 0];
  if (k === 2) return [(a[0] & 0x8000) | Math.max(1, Math.min(0x7ffe, (a[0] & 0x7fff) + r.below(130) - 65)), (r.u32() | 0x80000000) >>> 0, r.u32()];
  return randomF80(r);
}

export function randomControlWord(r: Rng): number {
  const pc = r.pick([0, 2, 3, 3]);
  const rc = r.below(4);
  const masks = r.below(4) === 0 ? r.below(64) : 0x3f;
  return 0x0040 | (rc << 10) | (pc << 8) | masks;
}

// ---- Encodings ([EBX + disp8] memory operands) ---------------------------------------------------
export const mem = (op: number, reg: number, disp: number) => [op, 0x40 | (reg << 3) | 3, disp];

// XOR EAX,EAX first: EFLAGS start known (ZF PF set, CF OF SF AF clear) on both sides.
const PROLOGUE_AB = [0x31, 0xc0, 0xdb, 0xe3, ...mem(0xd9, 5, OFF_CW), ...mem(0xdb, 5, OFF_B), ...mem(0xdb, 5, OFF_A), 0xdb, 0xe2];
/** As PROLOGUE_AB with 0 and 1 loaded underneath, so nothing the case pops leaves ST0/ST1 empty. */
const PROLOGUE_PADDED = [0x31, 0xc0, 0xdb, 0xe3, ...mem(0xd9, 5, OFF_CW), 0xd9, 0xee, 0xd9, 0xe8, ...mem(0xdb, 5, OFF_B), ...mem(0xdb, 5, OFF_A), 0xdb, 0xe2];
const PROLOGUE_B_PADDED = [0x31, 0xc0, 0xdb, 0xe3, ...mem(0xd9, 5, OFF_CW), 0xd9, 0xee, 0xd9, 0xe8, ...mem(0xdb, 5, OFF_B), 0xdb, 0xe2];
const PROLOGUE_B = [0x31, 0xc0, 0xdb, 0xe3, ...mem(0xd9, 5, OFF_CW), ...mem(0xdb, 5, OFF_B), 0xdb, 0xe2];
const EPILOGUE = [
  0x0f, 0x94, 0x43, OFF_FLAGS, 0x0f, 0x9a, 0x43, OFF_FLAGS + 1, 0x0f, 0x92, 0x43, OFF_FLAGS + 2,
  0x0f, 0x90, 0x43, OFF_FLAGS + 3, 0x0f, 0x98, 0x43, OFF_FLAGS + 4,
  ...mem(0xdd, 7, OFF_SW), 0xdb, 0xe2, ...mem(0xd9, 5, OFF_CW_MASKED), ...mem(0xdb, 7, OFF_R1), ...mem(0xdb, 7, OFF_R2), 0xc3,
];

/** A case's code: load b then a (ST0 = a, ST1 = b) unless `onlyB`, run `core`, capture everything. */
export function snippet(core: number[], onlyB = false, padded = false): number[] {
  const prologue = padded ? (onlyB ? PROLOGUE_B_PADDED : PROLOGUE_PADDED) : onlyB ? PROLOGUE_B : PROLOGUE_AB;
  // LAHF: AF and the other arithmetic flags via AH.
  return [...prologue, ...core, 0x9f, 0x88, 0x63, OFF_FLAGS + 5, ...EPILOGUE];
}

export function dataBlock(cw: number, a: F80, b: F80, m: number[]): Uint8Array {
  const d = new Uint8Array(128);
  const v = new DataView(d.buffer);
  v.setUint16(OFF_CW, cw, true);
  v.setUint16(OFF_CW_MASKED, 0x037f, true);
  const put = (off: number, x: F80) => {
    v.setUint32(off, x[2], true);
    v.setUint32(off + 4, x[1], true);
    v.setUint16(off + 8, x[0], true);
  };
  put(OFF_A, a);
  put(OFF_B, b);
  d.fill(0xaa, OFF_M, OFF_M + 16);
  for (let i = 0; i < m.length; i++) d[OFF_M + i] = m[i];
  return d;
}

export interface OpCase {
  name: string;
  core: number[];
  onlyB?: boolean;
  /** Bytes of the memory operand (loads, arithmetic with memory); random when absent and `memSize` set. */
  memSize?: number;
  /** Results depend on where the code runs (FIP/FDP): not compared with the host. */
  guestOnly?: boolean;
}

/** The operations compared, each one x87 instruction (or a short fixed sequence). */
export const OPS: OpCase[] = [
  { name: "fadd st,st1", core: [0xd8, 0xc1] },
  { name: "fsub st,st1", core: [0xd8, 0xe1] },
  { name: "fsubr st,st1", core: [0xd8, 0xe9] },
  { name: "fmul st,st1", core: [0xd8, 0xc9] },
  { name: "fdiv st,st1", core: [0xd8, 0xf1] },
  { name: "fdivr st,st1", core: [0xd8, 0xf9] },
  { name: "faddp", core: [0xde, 0xc1] },
  { name: "fsubp", core: [0xde, 0xe9] },
  { name: "fdivrp", core: [0xde, 0xf1] },
  { name: "fmul st1,st", core: [0xdc, 0xc9] },
  { name: "fsqrt", core: [0xd9, 0xfa] },
  { name: "frndint", core: [0xd9, 0xfc] },
  { name: "fprem", core: [0xd9, 0xf8] },
  { name: "fprem1", core: [0xd9, 0xf5] },
  { name: "fscale", core: [0xd9, 0xfd] },
  { name: "fxtract", core: [0xdd, 0xd9, 0xd9, 0xf4] }, // fstp st(1) first: room for the push
  { name: "fcom", core: [0xd8, 0xd1] },
  { name: "fcomp", core: [0xd8, 0xd9] },
  { name: "fucompp", core: [0xda, 0xe9] },
  { name: "fcomi", core: [0xdb, 0xf1] },
  { name: "fucomip", core: [0xdf, 0xe9] },
  { name: "ftst", core: [0xd9, 0xe4] },
  { name: "fxam", core: [0xd9, 0xe5] },
  { name: "fchs", core: [0xd9, 0xe0] },
  { name: "fabs", core: [0xd9, 0xe1] },
  { name: "fsts", core: mem(0xd9, 2, OFF_M) },
  { name: "fstpl", core: mem(0xdd, 3, OFF_M) },
  { name: "fists", core: mem(0xdf, 2, OFF_M) },
  { name: "fistl", core: mem(0xdb, 2, OFF_M) },
  { name: "fistpll", core: mem(0xdf, 7, OFF_M) },
  { name: "fisttpl", core: mem(0xdb, 1, OFF_M) },
  { name: "fisttpll", core: mem(0xdd, 1, OFF_M) },
  { name: "fbstp", core: mem(0xdf, 6, OFF_M) },
  { name: "fstpt", core: mem(0xdb, 7, OFF_M) },
  { name: "flds", core: mem(0xd9, 0, OFF_M), onlyB: true, memSize: 4 },
  { name: "fldl", core: mem(0xdd, 0, OFF_M), onlyB: true, memSize: 8 },
  { name: "filds", core: mem(0xdf, 0, OFF_M), onlyB: true, memSize: 2 },
  { name: "fildl", core: mem(0xdb, 0, OFF_M), onlyB: true, memSize: 4 },
  { name: "fildll", core: mem(0xdf, 5, OFF_M), onlyB: true, memSize: 8 },
  { name: "fbld", core: mem(0xdf, 4, OFF_M), onlyB: true, memSize: 10 },
  { name: "fadds", core: mem(0xd8, 0, OFF_M), memSize: 4 },
  { name: "fsubrl", core: mem(0xdc, 5, OFF_M), memSize: 8 },
  { name: "fmuls", core: mem(0xd8, 1, OFF_M), memSize: 4 },
  { name: "fdivl", core: mem(0xdc, 6, OFF_M), memSize: 8 },
  { name: "fcoms", core: mem(0xd8, 2, OFF_M), memSize: 4 },
  { name: "fiaddl", core: mem(0xda, 0, OFF_M), memSize: 4 },
  { name: "fidivs", core: mem(0xde, 6, OFF_M), memSize: 2 },
  { name: "fldpi", core: [0xd9, 0xeb], onlyB: true },
  { name: "fldl2t", core: [0xd9, 0xe9], onlyB: true },
  { name: "fldl2e", core: [0xd9, 0xea], onlyB: true },
  { name: "fldlg2", core: [0xd9, 0xec], onlyB: true },
  { name: "fldln2", core: [0xd9, 0xed], onlyB: true },
  { name: "fld st1 (overflow)", core: [0xd9, 0xc1, 0xd9, 0xc1, 0xd9, 0xc1, 0xd9, 0xc1, 0xd9, 0xc1, 0xd9, 0xc1, 0xd9, 0xc1] },
  { name: "fxch", core: [0xd9, 0xc9] },
  { name: "fadd empty", core: [0xd8, 0xc3] },
  { name: "fldcw/fnstcw", core: [...mem(0xd9, 5, OFF_M), ...mem(0xd9, 7, OFF_M + 4)], memSize: 2 },
  // FIP/FDP are guest addresses: compared with QEMU only (the host runs the bytes elsewhere).
  { name: "fildl; fnstenv", core: [...mem(0xdb, 0, OFF_M), ...mem(0xd9, 6, 88)], onlyB: true, memSize: 4, guestOnly: true },
  { name: "fildl; fnstenv (16-bit)", core: [...mem(0xdb, 0, OFF_M), 0x66, ...mem(0xd9, 6, 88)], onlyB: true, memSize: 4, guestOnly: true },
  { name: "fnsave (16-bit); frstor (16-bit)", core: [...mem(0xdb, 0, OFF_M), 0x66, ...mem(0xdd, 6, 24), 0x66, ...mem(0xdd, 4, 24)], memSize: 4, guestOnly: true },
];

/** Random memory operand bytes: float bit patterns with specials, integers, BCD digits. */
export function randomMemory(r: Rng, size: number): number[] {
  const out: number[] = [];
  if (size === 4 && r.below(3) === 0) {
    const w = r.pick([0, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0x7f800001, 0xffa00000, 1, 0x807fffff, 0x00800000, 0x7f7fffff, 0x3f800000]);
    for (let i = 0; i < 4; i++) out.push((w >>> (8 * i)) & 0xff);
    return out;
  }
  if (size === 8 && r.below(3) === 0) {
    const [h, l] = r.pick([[0, 0], [0x80000000, 0], [0x7ff00000, 0], [0x7ff80000, 0], [0x7ff00000, 1], [0, 1], [0x000fffff, 0xffffffff], [0x7fefffff, 0xffffffff], [0x3ff00000, 0], [0x80000000, 1]]);
    for (let i = 0; i < 4; i++) out.push((l >>> (8 * i)) & 0xff);
    for (let i = 0; i < 4; i++) out.push((h >>> (8 * i)) & 0xff);
    return out;
  }
  if (size === 10) {
    for (let i = 0; i < 9; i++) out.push(r.below(10) | (r.below(10) << 4));
    out.push(r.below(2) << 7);
    return out;
  }
  for (let i = 0; i < size; i++) out.push(r.below(256));
  if (size === 2 && r.below(2) === 0) {
    // Control words for fldcw.
    const cw = 0x0040 | (r.below(4) << 10) | (r.below(4) << 8) | r.below(64) | (r.below(4) === 0 ? r.below(0x10000) : 0);
    out[0] = cw & 0xff;
    out[1] = cw >> 8;
  }
  return out;
}

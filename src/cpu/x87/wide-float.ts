/**
 * A 128-bit-significand binary float for the transcendental instructions: enough precision (about
 * 2^-120 relative after a few dozen operations) that the 64-bit results rounded from it are correctly
 * rounded except for operands within 2^-56 ulp of a rounding boundary. Values are sign, exponent and
 * four 32-bit words (w[0] the most significant, its top bit the integer bit: value = 1.f x 2^e), or
 * zero. Operations truncate. Every temporary is preallocated: nothing is allocated after module load.
 */

export class Wide {
  sign = 0;
  exp = 0;
  zero = true;
  readonly w = new Uint32Array(4);
}

const limbsA = new Float64Array(8), limbsB = new Float64Array(8), cols = new Float64Array(16);
const t0 = new Wide(), t1 = new Wide(), t2 = new Wide(), t3 = new Wide();
const quotient = new Uint32Array(5), rem = new Uint32Array(5);
const f64 = new Float64Array(1);
const f64w = new Uint32Array(f64.buffer);

export function copy(d: Wide, a: Wide): void {
  d.sign = a.sign; d.exp = a.exp; d.zero = a.zero; d.w.set(a.w);
}

export function setZero(d: Wide): void {
  d.zero = true; d.sign = 0; d.exp = 0; d.w.fill(0);
}

/** Normalizes d.w so its top bit is set (adjusting exp); all-zero words make d zero. */
function normalize(d: Wide): void {
  const w = d.w;
  if ((w[0] | w[1] | w[2] | w[3]) === 0) {
    d.zero = true;
    return;
  }
  d.zero = false;
  while (w[0] === 0) {
    w[0] = w[1]; w[1] = w[2]; w[2] = w[3]; w[3] = 0;
    d.exp -= 32;
  }
  const s = Math.clz32(w[0]);
  if (s !== 0) {
    w[0] = (w[0] << s) | (w[1] >>> (32 - s));
    w[1] = (w[1] << s) | (w[2] >>> (32 - s));
    w[2] = (w[2] << s) | (w[3] >>> (32 - s));
    w[3] = w[3] << s;
    d.exp -= s;
  }
}

/** From a 64-bit significand (hi:lo, any normalization), unbiased exponent of its bit 63, and sign. */
export function fromParts(d: Wide, sign: number, exp: number, hi: number, lo: number): void {
  d.sign = sign; d.exp = exp;
  d.w[0] = hi; d.w[1] = lo; d.w[2] = 0; d.w[3] = 0;
  normalize(d);
}

export function fromInt(d: Wide, n: number): void {
  fromParts(d, n < 0 ? 1 : 0, 63, 0, Math.abs(n));
}

export function fromDouble(d: Wide, x: number): void {
  if (x === 0) return setZero(d);
  if (Math.abs(x) < 2 ** -1000) {
    // A denormal (or nearly): scale into the normal range exactly first.
    fromDouble(d, x * 2 ** 200);
    d.exp -= 200;
    return;
  }
  f64[0] = x;
  const hi = f64w[1], lo = f64w[0];
  const e = (hi >>> 20) & 0x7ff;
  fromParts(d, hi >>> 31, e - 1023, (0x80000000 | ((hi & 0xfffff) << 11) | (lo >>> 21)) >>> 0, (lo << 11) >>> 0);
}

export function toDouble(a: Wide): number {
  if (a.zero) return 0;
  const m = a.w[0] * 2 ** -31 + a.w[1] * 2 ** -63;
  return (a.sign ? -m : m) * 2 ** a.exp;
}

/** d = a >> n (n >= 0) into words, truncating. */
function shiftRightWords(src: Uint32Array, n: number, out: Uint32Array): void {
  const q = n >>> 5, r = n & 31;
  for (let i = 3; i >= 0; i--) {
    const j = i - q;
    const hiPart = j >= 0 ? src[j] : 0;
    const loPart = j - 1 >= 0 ? src[j - 1] : 0;
    out[i] = r === 0 ? hiPart : (hiPart >>> r) | (loPart << (32 - r));
  }
}

const aligned = new Uint32Array(4);

/** d = a + b (or a - b when `negate`). d may be a or b. */
export function add(d: Wide, a: Wide, b: Wide, negate = false): void {
  const bs = b.sign ^ (negate ? 1 : 0);
  if (b.zero) return copy(d, a);
  if (a.zero) {
    copy(d, b);
    d.sign = bs;
    return;
  }
  // x: the operand of larger magnitude.
  let x = a, y = b, xs = a.sign, ys = bs;
  if (b.exp > a.exp || (b.exp === a.exp && compareWords(b.w, a.w) > 0)) {
    x = b; y = a; xs = bs; ys = a.sign;
  }
  const shift = x.exp - y.exp;
  if (shift >= 128) aligned.fill(0);
  else shiftRightWords(y.w, shift, aligned);
  const xw = x.w;
  let exp = x.exp;
  const w = t0.w;
  if (xs === ys) {
    let carry = 0;
    for (let i = 3; i >= 0; i--) {
      const s = xw[i] + aligned[i] + carry;
      w[i] = s;
      carry = s > 0xffffffff ? 1 : 0;
    }
    if (carry) {
      w[3] = (w[3] >>> 1) | (w[2] << 31);
      w[2] = (w[2] >>> 1) | (w[1] << 31);
      w[1] = (w[1] >>> 1) | (w[0] << 31);
      w[0] = (w[0] >>> 1) | 0x80000000;
      exp++;
    }
  } else {
    let borrow = 0;
    for (let i = 3; i >= 0; i--) {
      const s = xw[i] - aligned[i] - borrow;
      w[i] = s;
      borrow = s < 0 ? 1 : 0;
    }
  }
  d.sign = xs;
  d.exp = exp;
  d.w.set(w);
  normalize(d);
}

function compareWords(a: Uint32Array, b: Uint32Array): number {
  for (let i = 0; i < 4; i++) if (a[i] !== b[i]) return a[i] > b[i] ? 1 : -1;
  return 0;
}

/** d = a x b (the top 128 bits of the product). */
export function mul(d: Wide, a: Wide, b: Wide): void {
  if (a.zero || b.zero) {
    setZero(d);
    d.sign = a.sign ^ b.sign;
    return;
  }
  for (let i = 0; i < 4; i++) {
    limbsA[7 - 2 * i] = a.w[i] >>> 16; limbsA[6 - 2 * i] = a.w[i] & 0xffff;
    limbsB[7 - 2 * i] = b.w[i] >>> 16; limbsB[6 - 2 * i] = b.w[i] & 0xffff;
  }
  cols.fill(0);
  for (let i = 0; i < 8; i++) {
    const x = limbsA[i];
    if (x === 0) continue;
    for (let j = 0; j < 8; j++) cols[i + j] += x * limbsB[j];
  }
  let carry = 0;
  for (let k = 0; k < 16; k++) {
    const t = cols[k] + carry;
    const limb = t % 65536;
    carry = (t - limb) / 65536;
    cols[k] = limb;
  }
  // 256-bit product, limbs 15 (top) .. 0; the top 128 bits are limbs 15..8.
  const w = d.w;
  d.sign = a.sign ^ b.sign;
  d.exp = a.exp + b.exp + 1;
  for (let i = 0; i < 4; i++) w[i] = (cols[15 - 2 * i] * 65536 + cols[14 - 2 * i]) >>> 0;
  d.zero = false;
  normalize(d);
}

/** d = a / b (b not zero), by restoring division over 128 quotient bits. */
export function div(d: Wide, a: Wide, b: Wide): void {
  if (a.zero) {
    setZero(d);
    d.sign = a.sign ^ b.sign;
    return;
  }
  // rem (5 words, rem[0] the overflow word) = a's significand; compare with b's.
  rem[0] = 0;
  for (let i = 0; i < 4; i++) rem[i + 1] = a.w[i];
  quotient.fill(0);
  const bw = b.w;
  for (let bit = 0; bit < 128; bit++) {
    // rem >= b ?
    let ge = rem[0] !== 0;
    if (!ge) {
      ge = true;
      for (let i = 0; i < 4; i++) {
        if (rem[i + 1] !== bw[i]) {
          ge = rem[i + 1] > bw[i];
          break;
        }
      }
    }
    if (ge) {
      let borrow = 0;
      for (let i = 3; i >= 0; i--) {
        const s = rem[i + 1] - bw[i] - borrow;
        rem[i + 1] = s;
        borrow = s < 0 ? 1 : 0;
      }
      rem[0] -= borrow;
      quotient[bit >>> 5] |= 1 << (31 - (bit & 31));
    }
    // rem <<= 1
    for (let i = 0; i < 4; i++) rem[i] = (rem[i] << 1) | (rem[i + 1] >>> 31);
    rem[4] <<= 1;
  }
  d.sign = a.sign ^ b.sign;
  d.exp = a.exp - b.exp;
  for (let i = 0; i < 4; i++) d.w[i] = quotient[i];
  d.zero = false;
  normalize(d);
}

/** d = a / n for a small positive integer n (< 2^16). */
export function divSmall(d: Wide, a: Wide, n: number): void {
  fromInt(t1, n);
  div(d, a, t1);
}

/** d = sqrt(a), a > 0: Newton's iteration from the double estimate. */
export function sqrt(d: Wide, a: Wide): void {
  if (a.zero) return setZero(d);
  // Estimate from the double of a scaled into range.
  const half = a.exp >> 1;
  copy(t2, a);
  t2.exp -= 2 * half;
  fromDouble(t3, Math.sqrt(toDouble(t2)));
  t3.exp += half;
  for (let i = 0; i < 3; i++) {
    div(t2, a, t3);
    add(t3, t3, t2);
    t3.exp -= 1;
  }
  copy(d, t3);
}

/** d = trunc(a): the fraction bits cleared. */
export function trunc(d: Wide, a: Wide): void {
  copy(d, a);
  if (a.zero || a.exp >= 127) return;
  if (a.exp < 0) {
    setZero(d);
    d.sign = a.sign;
    return;
  }
  // Keep bit positions 0..exp (position 0 the top bit of w[0]).
  const keep = a.exp + 1;
  for (let i = 0; i < 4; i++) {
    const first = 32 * i;
    if (keep <= first) d.w[i] = 0;
    else if (keep < first + 32) d.w[i] &= ~(0xffffffff >>> (keep - first));
  }
}

/** Bit `k` (2^k) of an integer-valued a (k >= 0). */
export function integerBit(a: Wide, k: number): number {
  if (a.zero) return 0;
  const pos = a.exp - k;
  if (pos < 0 || pos > 127) return 0;
  return (a.w[pos >>> 5] >>> (31 - (pos & 31))) & 1;
}

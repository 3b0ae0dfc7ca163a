/**
 * Binary floating-point values as text, the way C's printf("%.*g") writes them with the precision
 * that shows every bit: 9 significant digits for float, 17 for double, 21 for the x87's 80-bit
 * extended (long double), which is also what gdb prints. The decimal expansion is computed exactly
 * from the bits (every binary fraction has a finite decimal one) and rounded half to even, as
 * glibc does, so the text never depends on the host's double arithmetic; 80-bit values, which no
 * JS number can hold, come out right to the last digit.
 */

/** Significant digits per format: floor(significand bits x log10(2)) + 2. */
export const FLOAT_DIGITS = 9;
export const DOUBLE_DIGITS = 17;
export const EXTENDED_DIGITS = 21;

/**
 * The text of a float (4 bytes), double (8) or x87 extended (10; 12 and 16 are its padded i386 and
 * x86-64 long double slots) stored little-endian in `bytes`, or null for another size.
 */
export function formatFloatBytes(bytes: Uint8Array): string | null {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (bytes.length) {
    case 4: {
      const bits = v.getUint32(0, true);
      const exp = (bits >>> 23) & 0xff, frac = BigInt(bits & 0x7fffff), neg = bits >>> 31 === 1;
      if (exp === 0xff) return frac === 0n ? signed(neg, "inf") : signed(neg, "nan");
      return exp === 0 ? formatExact(neg, frac, -149, FLOAT_DIGITS) : formatExact(neg, frac | (1n << 23n), exp - 150, FLOAT_DIGITS);
    }
    case 8: {
      const lo = v.getUint32(0, true), hi = v.getUint32(4, true);
      const exp = (hi >>> 20) & 0x7ff, neg = hi >>> 31 === 1;
      const frac = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
      if (exp === 0x7ff) return frac === 0n ? signed(neg, "inf") : signed(neg, "nan");
      return exp === 0 ? formatExact(neg, frac, -1074, DOUBLE_DIGITS) : formatExact(neg, frac | (1n << 52n), exp - 1075, DOUBLE_DIGITS);
    }
    case 10: case 12: case 16:
      return formatExtended(v.getUint32(0, true), v.getUint32(4, true), v.getUint16(8, true));
  }
  return null;
}

/**
 * The text of an x87 extended value given as its significand halves (bit 63 the explicit integer
 * bit) and sign/exponent word. Exponent 0x7FFF is an infinity when the fraction is zero, else a NaN
 * (pseudo-infinities and pseudo-NaNs print as nan, as glibc does). Unnormals (a non-zero exponent
 * without the integer bit), which the x87 since the 387 rejects as invalid operands, print as nan too,
 * as glibc does; denormals and pseudo-denormals print the value their bits denote.
 */
export function formatExtended(mantLo: number, mantHi: number, signExp: number): string {
  const neg = (signExp & 0x8000) !== 0;
  const exp = signExp & 0x7fff;
  const mant = (BigInt(mantHi >>> 0) << 32n) | BigInt(mantLo >>> 0);
  if (exp === 0x7fff) return mant === 1n << 63n ? signed(neg, "inf") : signed(neg, "nan");
  if (exp !== 0 && mantHi >>> 31 === 0) return signed(neg, "nan");
  // A zero exponent means 2^(1 - bias), like exponent 1 (denormals and pseudo-denormals).
  return formatExact(neg, mant, Math.max(exp, 1) - 16383 - 63, EXTENDED_DIGITS);
}

function signed(neg: boolean, text: string): string {
  return neg ? "-" + text : text;
}

/** printf("%.{digits}g") of (-1)^neg x mant x 2^exp2, exactly. */
export function formatExact(neg: boolean, mant: bigint, exp2: number, digits: number): string {
  if (mant === 0n) return signed(neg, "0");
  // value = intDigits x 10^-scale, exactly: multiply by 5^k when dividing by 2^k.
  let intDigits: bigint;
  let scale: number;
  if (exp2 >= 0) {
    intDigits = mant << BigInt(exp2);
    scale = 0;
  } else {
    intDigits = mant * 5n ** BigInt(-exp2);
    scale = -exp2;
  }
  let text = intDigits.toString();
  // Decimal exponent of the leading digit.
  let exp10 = text.length - 1 - scale;
  if (text.length > digits) {
    const keep = BigInt(text.slice(0, digits));
    const rest = text.slice(digits);
    const half = "5" + "0".repeat(rest.length - 1);
    const up = rest > half || (rest === half && (keep & 1n) === 1n);
    let rounded = up ? keep + 1n : keep;
    let roundedText = rounded.toString();
    if (roundedText.length > digits) {
      // 999... rounded up to 1000...: one more digit before the point.
      rounded /= 10n;
      roundedText = rounded.toString();
      exp10++;
    }
    text = roundedText;
  }
  // text now holds at most `digits` significant digits, the first at 10^exp10.
  text = text.replace(/0+$/, "") || "0";
  let body: string;
  if (exp10 < -4 || exp10 >= digits) {
    const mantissa = text.length > 1 ? `${text[0]}.${text.slice(1)}` : text;
    const e = Math.abs(exp10);
    body = `${mantissa}e${exp10 < 0 ? "-" : "+"}${e < 10 ? "0" + e : e}`;
  } else if (exp10 < 0) {
    body = `0.${"0".repeat(-exp10 - 1)}${text}`;
  } else if (text.length > exp10 + 1) {
    body = `${text.slice(0, exp10 + 1)}.${text.slice(exp10 + 1)}`;
  } else {
    body = text + "0".repeat(exp10 + 1 - text.length);
  }
  return signed(neg, body);
}

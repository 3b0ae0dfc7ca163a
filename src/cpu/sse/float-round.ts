/**
 * Correct rounding to single or double precision in the four MXCSR rounding modes, with overflow,
 * underflow (tininess, FTZ) and precision detection.
 *
 * Operations hand over their exact result as (hi + lo) * 2^scale: hi a finite nonzero double, the
 * exact value rounded to nearest, and only the SIGN of lo (the residual, |lo| below half an ulp of
 * hi), which error-free transformations give cheaply (TwoSum, Dekker products, remainders). Rounding
 * then counts quanta of the target format exactly in doubles: no BigInt, no allocation.
 */
import { fpEnv, MX_OE, MX_PE, MX_UE, RC_DOWN, RC_NEAREST, RC_UP, RC_ZERO } from "./mxcsr.js";
import { exponentOf, scaleB } from "./float-bits.js";

export const SINGLE = 0;
export const DOUBLE = 1;
const PRECISION = [24, 53];
const EMIN = [-126, -1022];
const EMAX = [127, 1023];
/** Largest finite values. */
export const MAX_FINITE = [3.4028234663852886e38, Number.MAX_VALUE];

/**
 * Rounds (hi + lo) * 2^scale, lo having sign `loSign` (-1, 0, 1), to format `fmt` under fpEnv, adding
 * PE/UE/OE to fpEnv.flags. Returns the result as a number exactly representable in the format
 * (possibly a signed zero or an infinity).
 *
 * Underflow follows x86: a result is tiny when, rounded to the format's precision with an unbounded
 * exponent, it is below the smallest normal ("after rounding", as measured on the host: a value just
 * under 2^-126 that rounds up to it raises only PE); FTZ flushes such results to zero.
 */
export function roundToFormat(hi: number, loSign: number, scale: number, fmt: number): number {
  const neg = hi < 0;
  const x = neg ? -hi : hi;
  // Residual sign relative to the magnitude.
  const r = neg ? -loSign : loSign;
  const p = PRECISION[fmt], emin = EMIN[fmt], emax = EMAX[fmt];
  const ex = exponentOf(x);
  // The exact value's exponent: one less when hi is a power of two and the residual is below it.
  const e = r < 0 && scaleB(x, -ex) === 1 ? ex + scale - 1 : ex + scale;
  const qe = (e > emin ? e : emin) - (p - 1);
  roundsUp(x, r, neg, scale, qe, e < emin - p - 2);
  const m = rounded;
  const inexact = roundedInexact;

  let tiny = e < emin;
  if (tiny && e === emin - 1) {
    // Rounded to p bits one binade lower, does it carry up to 2^emin?
    roundsUp(x, r, neg, scale, emin - p, false);
    tiny = rounded !== 2 ** p;
  }

  // Overflow: the rounded value with an unbounded exponent exceeds the largest finite number.
  // An unmasked overflow or underflow reports precision only when the result rounded to the format's
  // precision with an unbounded exponent is inexact (measured on the host); no result is delivered.
  if (m !== 0 && qe + exponentOf(m) > emax) {
    fpEnv.flags |= (fpEnv.masked & MX_OE) !== 0 || inexact ? MX_OE | MX_PE : MX_OE;
    const rc = fpEnv.rounding;
    const toInf = rc === RC_NEAREST || (rc === RC_UP && !neg) || (rc === RC_DOWN && neg);
    const v = toInf ? Infinity : MAX_FINITE[fmt];
    return neg ? -v : v;
  }
  if (tiny) {
    if (fpEnv.ftz && (fpEnv.masked & MX_UE) !== 0) {
      fpEnv.flags |= MX_UE | MX_PE;
      return neg ? -0 : 0;
    }
    // Masked underflow is reported only with a loss of accuracy; unmasked, whenever tiny.
    if ((fpEnv.masked & MX_UE) === 0) {
      roundsUp(x, r, neg, scale, e - (p - 1), false);
      fpEnv.flags |= roundedInexact ? MX_UE | MX_PE : MX_UE;
      return neg ? -0 : 0; // not delivered: #XM follows
    }
    if (inexact) fpEnv.flags |= MX_UE;
  }
  if (inexact) fpEnv.flags |= MX_PE;
  const v = m === 0 ? 0 : scaleB(m, qe);
  return neg ? -v : v;
}

/** Outputs of `roundsUp`: the rounded count of quanta and whether it differs from the exact value. */
let rounded = 0;
let roundedInexact = false;

/**
 * Rounds the magnitude x * 2^scale (plus a residual of sign r) to a whole number of quanta 2^qe in the
 * current mode: sets `rounded` and `roundedInexact`; returns whether it rounded away from zero.
 * `farBelow`: the value is far under half a quantum (only its being nonzero matters).
 */
function roundsUp(x: number, r: number, neg: boolean, scale: number, qe: number, farBelow: boolean): boolean {
  const n = farBelow ? 0.125 : scaleB(x, scale - qe);
  let t = Math.floor(n);
  let f = n - t;
  // Exactly on a quantum with a residual below it: the value lies just under t.
  let aboveHalf = f > 0.5 || (f === 0.5 && r > 0);
  if (f === 0 && r < 0) {
    t -= 1;
    f = 1;
    aboveHalf = true;
  }
  const inexact = f !== 0 || r !== 0;
  let up = false;
  switch (fpEnv.rounding) {
    case RC_NEAREST: up = aboveHalf || (f === 0.5 && r === 0 && (t & 1) === 1); break;
    case RC_DOWN: up = neg && inexact; break;
    case RC_UP: up = !neg && inexact; break;
    case RC_ZERO: break;
  }
  rounded = up ? t + 1 : t;
  roundedInexact = inexact;
  return up;
}

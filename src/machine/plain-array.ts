/**
 * A typed array's values as a plain array, for a saved state (JSON stringifies typed arrays as
 * objects). A plain loop: `Array.from` and spreading a typed array go through its iterator, about ten
 * times slower, and the recorder saves the machine's state at every keyframe.
 */
export function plainArray(a: ArrayLike<number>): number[] {
  const n = a.length;
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = a[i];
  return out;
}

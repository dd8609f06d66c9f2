// C's float-to-int conversions as ggml uses them. JS's Math.round rounds
// halves up, which differs from both of them on exact halves.

/**
 * ggml's nearest_int (ggml/src/ggml-quants.c): adds 1.5 * 2^23 in float32 and
 * reads the mantissa, which rounds halves to even. Valid for |x| <= 4194303,
 * the range ggml asserts. `x` must already be a float32 value.
 */
export function nearestInt(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && (r & 1) !== 0 ? r - 1 : r;
}

/** C's roundf: halves go away from zero. */
export function roundHalfAwayFromZero(x: number): number {
  return x < 0 ? -Math.floor(-x + 0.5) : Math.floor(x + 0.5);
}

// C's float-to-int conversions as ggml uses them. JS's Math.round rounds
// halves up, which differs from both of them on exact halves.

/**
 * ggml's nearest_int (ggml/src/ggml-quants.c): adds 1.5 * 2^23 in float32 and
 * reads the mantissa, which rounds halves to even. Valid for |x| <= 4194303,
 * the range ggml asserts. `x` must already be a float32 value.
 */
export function nearestInt(x: number): number {
  return x + ROUNDING_MAGIC - ROUNDING_MAGIC;
}

/**
 * 1.5 * 2^52: adding it to a double of magnitude below 2^51 and subtracting
 * it again rounds to the nearest integer, ties to even, because the sum's ulp
 * is 1. Inline `x + ROUNDING_MAGIC - ROUNDING_MAGIC` in the hottest loops.
 */
export const ROUNDING_MAGIC = 6755399441055744;

/** C's roundf: halves go away from zero. */
export function roundHalfAwayFromZero(x: number): number {
  return x < 0 ? -Math.floor(-x + 0.5) : Math.floor(x + 0.5);
}

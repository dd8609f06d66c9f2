// Shared pieces of the k-quant formats (ggml/src/ggml-quants.c).

/** Weights per k-quant super-block (QK_K). */
export const QK_K = 256;

/**
 * get_scale_min_k4: the 6-bit scale and min of sub-block `j` from the 12
 * packed bytes at `q[o..]` (Q4_K and Q5_K).
 */
export function scaleMinK4(j: number, q: Uint8Array, o: number): [number, number] {
  if (j < 4) return [q[o + j] & 63, q[o + j + 4] & 63];
  return [(q[o + j + 4] & 0xf) | ((q[o + j - 4] >>> 6) << 4), (q[o + j + 4] >>> 4) | ((q[o + j] >>> 6) << 4)];
}

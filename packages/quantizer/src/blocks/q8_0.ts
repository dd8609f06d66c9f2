// Q8_0: blocks of 32 weights, one fp16 scale and 32 signed bytes.
// Follows quantize_row_q8_0_ref / dequantize_row_q8_0 in ggml/src/ggml-quants.c.
import { loadFp16, storeFp16 } from '../float/fp16.js';
import { roundHalfAwayFromZero } from '../float/c-rounding.js';

const fround = Math.fround;

/** Weights per Q8_0 block. */
export const QK8_0 = 32;
/** Bytes per Q8_0 block: fp16 d, int8 qs[32]. */
export const Q8_0_BLOCK_BYTES = 34;

/**
 * Quantizes `src` (a multiple of 32 weights) to Q8_0 blocks in `dst`,
 * byte for byte as llama.cpp writes them.
 *
 * @example
 * const dst = new Uint8Array((row.length / 32) * 34);
 * quantizeRowQ8_0(row, dst);
 */
export function quantizeRowQ8_0(src: Float32Array, dst: Uint8Array): void {
  const blocks = src.length / QK8_0;
  for (let i = 0; i < blocks; i++) {
    const x = i * QK8_0;
    const o = i * Q8_0_BLOCK_BYTES;
    let amax = 0;
    for (let j = 0; j < QK8_0; j++) {
      const a = Math.abs(src[x + j]);
      if (a > amax) amax = a;
    }
    const d = fround(amax / 127);
    const id = d !== 0 ? fround(1 / d) : 0;
    storeFp16(dst, o, d);
    for (let j = 0; j < QK8_0; j++) {
      dst[o + 2 + j] = roundHalfAwayFromZero(fround(src[x + j] * id)) & 0xff;
    }
  }
}

/** Expands Q8_0 blocks back to float32 weights (`dst.length` weights). */
export function dequantizeRowQ8_0(src: Uint8Array, dst: Float32Array): void {
  const blocks = dst.length / QK8_0;
  for (let i = 0; i < blocks; i++) {
    const o = i * Q8_0_BLOCK_BYTES;
    const d = loadFp16(src, o);
    for (let j = 0; j < QK8_0; j++) dst[i * QK8_0 + j] = fround(((src[o + 2 + j] << 24) >> 24) * d);
  }
}

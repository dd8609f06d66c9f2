// Q4_K: super-blocks of 256 weights: fp16 d and dmin, 12 bytes of 6-bit
// scales and mins, 128 bytes of 4-bit quants.
// Follows quantize_row_q4_K_ref and quantize_row_q4_K_impl (in assembly/k-quants.ts; llama-quantize calls
// the _ref function when there is no imatrix) and dequantize_row_q4_K in
// ggml/src/ggml-quants.c.
import { loadFp16 } from '../float/fp16.js';
import { runBlockKernel, runRowKernel } from './kernels.js';
import { QK_K, scaleMinK4 } from './k-scales.js';

const fround = Math.fround;

/** Bytes per Q4_K super-block: d, dmin, scales[12], qs[128]. */
export const Q4_K_BLOCK_BYTES = 144;

/** Quantizes `src` (a multiple of 256 weights) to Q4_K blocks in `dst`, as llama.cpp does (WebAssembly kernel). */
export function quantizeRowQ4K(src: Float32Array, dst: Uint8Array): void {
  runBlockKernel('quantizeQ4K', src, dst);
}

/** Quantizes whole rows of `rowLength` weights with an importance vector (llama-quantize --imatrix). */
export function quantizeRowQ4KWeighted(
  src: Float32Array,
  dst: Uint8Array,
  rowLength: number,
  importance: Float32Array,
): void {
  runRowKernel('quantizeQ4KWeighted', src, dst, rowLength, importance);
}

/** Expands Q4_K blocks back to float32 weights (`dst.length` weights). */
export function dequantizeRowQ4K(src: Uint8Array, dst: Float32Array): void {
  const blocks = dst.length / QK_K;
  let y = 0;
  for (let i = 0; i < blocks; i++) {
    const o = i * Q4_K_BLOCK_BYTES;
    const d = loadFp16(src, o);
    const min = loadFp16(src, o + 2);
    let q = o + 16;
    for (let is = 0; is < 8; is += 2) {
      const [sc1, m1] = scaleMinK4(is, src, o + 4);
      const [sc2, m2] = scaleMinK4(is + 1, src, o + 4);
      const d1 = fround(d * sc1);
      const dm1 = fround(min * m1);
      const d2 = fround(d * sc2);
      const dm2 = fround(min * m2);
      for (let l = 0; l < 32; l++) dst[y++] = fround(fround(d1 * (src[q + l] & 0xf)) - dm1);
      for (let l = 0; l < 32; l++) dst[y++] = fround(fround(d2 * (src[q + l] >>> 4)) - dm2);
      q += 32;
    }
  }
}

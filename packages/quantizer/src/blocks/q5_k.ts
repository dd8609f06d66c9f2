// Q5_K: super-blocks of 256 weights: fp16 d and dmin, 12 bytes of 6-bit
// scales and mins, 32 bytes of fifth bits, 128 bytes of low nibbles.
// Follows quantize_row_q5_K_ref and quantize_row_q5_K_impl (in assembly/k-quants.ts) and
// dequantize_row_q5_K in ggml/src/ggml-quants.c.
import { loadFp16 } from '../float/fp16.js';
import { runBlockKernel, runRowKernel } from './kernels.js';
import { QK_K, scaleMinK4 } from './k-scales.js';

const fround = Math.fround;

/** Bytes per Q5_K super-block: d, dmin, scales[12], qh[32], qs[128]. */
export const Q5_K_BLOCK_BYTES = 176;

/** Quantizes `src` (a multiple of 256 weights) to Q5_K blocks in `dst`, as llama.cpp does (WebAssembly kernel). */
export function quantizeRowQ5K(src: Float32Array, dst: Uint8Array): void {
  runBlockKernel('quantizeQ5K', src, dst);
}

/** Quantizes whole rows of `rowLength` weights with an importance vector (llama-quantize --imatrix). */
export function quantizeRowQ5KWeighted(
  src: Float32Array,
  dst: Uint8Array,
  rowLength: number,
  importance: Float32Array,
): void {
  runRowKernel('quantizeQ5KWeighted', src, dst, rowLength, importance);
}

/** Expands Q5_K blocks back to float32 weights (`dst.length` weights). */
export function dequantizeRowQ5K(src: Uint8Array, dst: Float32Array): void {
  const blocks = dst.length / QK_K;
  let y = 0;
  for (let i = 0; i < blocks; i++) {
    const o = i * Q5_K_BLOCK_BYTES;
    const d = loadFp16(src, o);
    const min = loadFp16(src, o + 2);
    const qh = o + 16;
    let ql = o + 48;
    let u1 = 1;
    let u2 = 2;
    for (let is = 0; is < 8; is += 2) {
      const [sc1, m1] = scaleMinK4(is, src, o + 4);
      const [sc2, m2] = scaleMinK4(is + 1, src, o + 4);
      const d1 = fround(d * sc1);
      const dm1 = fround(min * m1);
      const d2 = fround(d * sc2);
      const dm2 = fround(min * m2);
      for (let l = 0; l < 32; l++) {
        dst[y++] = fround(fround(d1 * ((src[ql + l] & 0xf) + (src[qh + l] & u1 ? 16 : 0))) - dm1);
      }
      for (let l = 0; l < 32; l++) {
        dst[y++] = fround(fround(d2 * ((src[ql + l] >>> 4) + (src[qh + l] & u2 ? 16 : 0))) - dm2);
      }
      ql += 32;
      u1 <<= 2;
      u2 <<= 2;
    }
  }
}

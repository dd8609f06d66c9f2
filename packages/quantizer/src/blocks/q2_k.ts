// Q2_K: super-blocks of 256 weights in 16 groups of 16: 16 bytes of 4-bit
// scales and mins, 64 bytes of 2-bit quants, fp16 d and dmin.
// Follows quantize_row_q2_K_ref and quantize_row_q2_K_impl (in
// assembly/k-quants.ts) and dequantize_row_q2_K in ggml/src/ggml-quants.c.
import { loadFp16 } from '../float/fp16.js';
import { QK_K } from './k-scales.js';
import { runBlockKernel, runRowKernel } from './kernels.js';

const fround = Math.fround;

/** Bytes per Q2_K super-block: scales[16], qs[64], d, dmin. */
export const Q2_K_BLOCK_BYTES = 84;

/** Quantizes `src` (a multiple of 256 weights) to Q2_K blocks in `dst`, as llama.cpp does (WebAssembly kernel). */
export function quantizeRowQ2K(src: Float32Array, dst: Uint8Array): void {
  runBlockKernel('quantizeQ2K', src, dst);
}

/** Quantizes whole rows of `rowLength` weights with an importance vector (llama-quantize --imatrix). */
export function quantizeRowQ2KWeighted(
  src: Float32Array,
  dst: Uint8Array,
  rowLength: number,
  importance: Float32Array,
): void {
  runRowKernel('quantizeQ2KWeighted', src, dst, rowLength, importance);
}

/** Expands Q2_K blocks back to float32 weights (`dst.length` weights). */
export function dequantizeRowQ2K(src: Uint8Array, dst: Float32Array): void {
  const blocks = dst.length / QK_K;
  let y = 0;
  for (let i = 0; i < blocks; i++) {
    const o = i * Q2_K_BLOCK_BYTES;
    const d = loadFp16(src, o + 80);
    const min = loadFp16(src, o + 82);
    let q = o + 16;
    let is = 0;
    for (let n = 0; n < QK_K; n += 128) {
      for (let shift = 0; shift < 8; shift += 2) {
        for (const half of [0, 16]) {
          const sc = src[o + is++];
          const dl = fround(d * (sc & 0xf));
          const ml = fround(min * (sc >>> 4));
          for (let l = 0; l < 16; l++)
            dst[y++] = fround(fround(dl * ((src[q + half + l] >>> shift) & 3)) - ml);
        }
      }
      q += 32;
    }
  }
}

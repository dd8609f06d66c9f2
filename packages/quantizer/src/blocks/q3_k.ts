// Q3_K: super-blocks of 256 weights in 16 groups of 16: 32 bytes of high
// bits, 64 bytes of low 2-bit quants, 12 bytes of 6-bit scales, fp16 d.
// Follows quantize_row_q3_K_ref and quantize_row_q3_K_impl (in
// assembly/k-quants.ts) and dequantize_row_q3_K in ggml/src/ggml-quants.c.
import { loadFp16 } from '../float/fp16.js';
import { QK_K } from './k-scales.js';
import { runBlockKernel, runRowKernel } from './kernels.js';

const fround = Math.fround;

/** Bytes per Q3_K super-block: hmask[32], qs[64], scales[12], d. */
export const Q3_K_BLOCK_BYTES = 110;

/** Quantizes `src` (a multiple of 256 weights) to Q3_K blocks in `dst`, as llama.cpp does (WebAssembly kernel). */
export function quantizeRowQ3K(src: Float32Array, dst: Uint8Array): void {
  runBlockKernel('quantizeQ3K', src, dst);
}

/** Quantizes whole rows of `rowLength` weights with an importance vector (llama-quantize --imatrix). */
export function quantizeRowQ3KWeighted(
  src: Float32Array,
  dst: Uint8Array,
  rowLength: number,
  importance: Float32Array,
): void {
  runRowKernel('quantizeQ3KWeighted', src, dst, rowLength, importance);
}

// The signed 6-bit scale of group j: four low bits from bytes 0-7, two high bits from bytes 8-11.
function groupScale(src: Uint8Array, s: number, j: number): number {
  const low = j < 8 ? src[s + j] & 0xf : src[s + j - 8] >>> 4;
  const high = (src[s + 8 + (j % 4)] >>> (2 * Math.trunc(j / 4))) & 3;
  return (low | (high << 4)) - 32;
}

/** Expands Q3_K blocks back to float32 weights (`dst.length` weights). */
export function dequantizeRowQ3K(src: Uint8Array, dst: Float32Array): void {
  const blocks = dst.length / QK_K;
  let y = 0;
  for (let i = 0; i < blocks; i++) {
    const o = i * Q3_K_BLOCK_BYTES;
    const dAll = loadFp16(src, o + 108);
    let q = o + 32;
    let is = 0;
    let m = 1;
    for (let n = 0; n < QK_K; n += 128) {
      for (let shift = 0; shift < 8; shift += 2) {
        for (const half of [0, 16]) {
          const dl = fround(dAll * groupScale(src, o + 96, is++));
          for (let l = 0; l < 16; l++) {
            const level = ((src[q + half + l] >>> shift) & 3) - (src[o + half + l] & m ? 0 : 4);
            dst[y++] = fround(dl * level);
          }
        }
        m <<= 1;
      }
      q += 32;
    }
  }
}

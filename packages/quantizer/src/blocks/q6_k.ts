// Q6_K: super-blocks of 256 weights in 16 groups of 16: 128 bytes of low
// nibbles, 64 bytes of high 2-bit pairs, 16 int8 group scales, fp16 d.
// Follows quantize_row_q6_K_ref and quantize_row_q6_K_impl (in assembly/k-quants.ts) and
// dequantize_row_q6_K in ggml/src/ggml-quants.c.
import { loadFp16 } from '../float/fp16.js';
import { runBlockKernel, runRowKernel } from './kernels.js';
import { QK_K } from './k-scales.js';

const fround = Math.fround;

/** Bytes per Q6_K super-block: ql[128], qh[64], scales[16], d. */
export const Q6_K_BLOCK_BYTES = 210;

/** Quantizes `src` (a multiple of 256 weights) to Q6_K blocks in `dst`, as llama.cpp does (WebAssembly kernel). */
export function quantizeRowQ6K(src: Float32Array, dst: Uint8Array): void {
  runBlockKernel('quantizeQ6K', src, dst);
}

/** Quantizes whole rows of `rowLength` weights with an importance vector (llama-quantize --imatrix). */
export function quantizeRowQ6KWeighted(
  src: Float32Array,
  dst: Uint8Array,
  rowLength: number,
  importance: Float32Array,
): void {
  runRowKernel('quantizeQ6KWeighted', src, dst, rowLength, importance);
}

/** Expands Q6_K blocks back to float32 weights (`dst.length` weights). */
export function dequantizeRowQ6K(src: Uint8Array, dst: Float32Array): void {
  const blocks = dst.length / QK_K;
  for (let i = 0; i < blocks; i++) {
    const o = i * Q6_K_BLOCK_BYTES;
    const d = loadFp16(src, o + 208);
    let ql = o;
    let qh = o + 128;
    let sc = o + 192;
    let y = i * QK_K;
    for (let n = 0; n < QK_K; n += 128) {
      for (let l = 0; l < 32; l++) {
        const is = l >> 4;
        const h = src[qh + l];
        const q1 = ((src[ql + l] & 0xf) | ((h & 3) << 4)) - 32;
        const q2 = ((src[ql + l + 32] & 0xf) | (((h >> 2) & 3) << 4)) - 32;
        const q3 = ((src[ql + l] >>> 4) | (((h >> 4) & 3) << 4)) - 32;
        const q4 = ((src[ql + l + 32] >>> 4) | (((h >> 6) & 3) << 4)) - 32;
        dst[y + l] = fround(fround(d * ((src[sc + is] << 24) >> 24)) * q1);
        dst[y + l + 32] = fround(fround(d * ((src[sc + is + 2] << 24) >> 24)) * q2);
        dst[y + l + 64] = fround(fround(d * ((src[sc + is + 4] << 24) >> 24)) * q3);
        dst[y + l + 96] = fround(fround(d * ((src[sc + is + 6] << 24) >> 24)) * q4);
      }
      y += 128;
      ql += 64;
      qh += 32;
      sc += 8;
    }
  }
}

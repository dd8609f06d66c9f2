// Q4_1: blocks of 32 weights, fp16 scale and minimum, 4-bit unsigned quants.
// Follows quantize_row_q4_1_ref / dequantize_row_q4_1 in ggml/src/ggml-quants.c;
// with an importance matrix, quantize_row_q4_1_impl (in assembly/legacy-quants.ts).
import { loadFp16, storeFp16 } from '../float/fp16.js';
import { runRowKernel } from './kernels.js';

const fround = Math.fround;

/** Weights per Q4_1 block. */
export const QK4_1 = 32;
/** Bytes per Q4_1 block: fp16 d, fp16 m, qs[16]. */
export const Q4_1_BLOCK_BYTES = 20;

/** Quantizes `src` (a multiple of 32 weights) to Q4_1 blocks in `dst`, as llama.cpp does. */
export function quantizeRowQ4_1(src: Float32Array, dst: Uint8Array): void {
  const blocks = src.length / QK4_1;
  for (let i = 0; i < blocks; i++) {
    const x = i * QK4_1;
    const o = i * Q4_1_BLOCK_BYTES;
    let min = 3.4028234663852886e38;
    let max = -3.4028234663852886e38;
    for (let j = 0; j < QK4_1; j++) {
      const v = src[x + j];
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const d = fround(fround(max - min) / 15);
    const id = d !== 0 ? fround(1 / d) : 0;
    storeFp16(dst, o, d);
    storeFp16(dst, o + 2, min);
    for (let j = 0; j < 16; j++) {
      const q0 = Math.min(15, Math.trunc(fround(fround(fround(src[x + j] - min) * id) + 0.5)));
      const q1 = Math.min(15, Math.trunc(fround(fround(fround(src[x + 16 + j] - min) * id) + 0.5)));
      dst[o + 4 + j] = q0 | (q1 << 4);
    }
  }
}

/** Quantizes whole rows of `rowLength` weights with an importance vector (llama-quantize --imatrix; WebAssembly kernel). */
export function quantizeRowQ4_1Weighted(
  src: Float32Array,
  dst: Uint8Array,
  rowLength: number,
  importance: Float32Array,
): void {
  runRowKernel('quantizeQ4_1Weighted', src, dst, rowLength, importance);
}

/** Expands Q4_1 blocks back to float32 weights (`dst.length` weights). */
export function dequantizeRowQ4_1(src: Uint8Array, dst: Float32Array): void {
  const blocks = dst.length / QK4_1;
  for (let i = 0; i < blocks; i++) {
    const o = i * Q4_1_BLOCK_BYTES;
    const d = loadFp16(src, o);
    const m = loadFp16(src, o + 2);
    for (let j = 0; j < 16; j++) {
      const q = src[o + 4 + j];
      dst[i * QK4_1 + j] = fround(fround((q & 0x0f) * d) + m);
      dst[i * QK4_1 + 16 + j] = fround(fround((q >>> 4) * d) + m);
    }
  }
}

// Q5_1: blocks of 32 weights, fp16 scale and minimum, 5-bit unsigned quants
// (low nibbles in qs, fifth bits in a 32-bit qh).
// Follows quantize_row_q5_1_ref / dequantize_row_q5_1 in ggml/src/ggml-quants.c;
// with an importance matrix, quantize_row_q5_1_impl (in assembly/legacy-quants.ts).
import { loadFp16, storeFp16 } from '../float/fp16.js';
import { runRowKernel } from './kernels.js';

const fround = Math.fround;

/** Weights per Q5_1 block. */
export const QK5_1 = 32;
/** Bytes per Q5_1 block: fp16 d, fp16 m, qh[4], qs[16]. */
export const Q5_1_BLOCK_BYTES = 24;

/** Quantizes `src` (a multiple of 32 weights) to Q5_1 blocks in `dst`, as llama.cpp does. */
export function quantizeRowQ5_1(src: Float32Array, dst: Uint8Array): void {
  const blocks = src.length / QK5_1;
  for (let i = 0; i < blocks; i++) {
    const x = i * QK5_1;
    const o = i * Q5_1_BLOCK_BYTES;
    let min = 3.4028234663852886e38;
    let max = -3.4028234663852886e38;
    for (let j = 0; j < QK5_1; j++) {
      const v = src[x + j];
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const d = fround(fround(max - min) / 31);
    const id = d !== 0 ? fround(1 / d) : 0;
    storeFp16(dst, o, d);
    storeFp16(dst, o + 2, min);
    let qh = 0;
    for (let j = 0; j < 16; j++) {
      // C converts to uint8 without a cap here (the ref function has no MIN).
      const q0 = Math.trunc(fround(fround(fround(src[x + j] - min) * id) + 0.5)) & 0xff;
      const q1 = Math.trunc(fround(fround(fround(src[x + 16 + j] - min) * id) + 0.5)) & 0xff;
      dst[o + 8 + j] = (q0 & 0x0f) | ((q1 & 0x0f) << 4);
      qh |= ((q0 & 0x10) >>> 4) << j;
      qh |= ((q1 & 0x10) >>> 4) << (j + 16);
    }
    dst[o + 4] = qh & 0xff;
    dst[o + 5] = (qh >>> 8) & 0xff;
    dst[o + 6] = (qh >>> 16) & 0xff;
    dst[o + 7] = (qh >>> 24) & 0xff;
  }
}

/** Quantizes whole rows of `rowLength` weights with an importance vector (llama-quantize --imatrix; WebAssembly kernel). */
export function quantizeRowQ5_1Weighted(
  src: Float32Array,
  dst: Uint8Array,
  rowLength: number,
  importance: Float32Array,
): void {
  runRowKernel('quantizeQ5_1Weighted', src, dst, rowLength, importance);
}

/** Expands Q5_1 blocks back to float32 weights (`dst.length` weights). */
export function dequantizeRowQ5_1(src: Uint8Array, dst: Float32Array): void {
  const blocks = dst.length / QK5_1;
  for (let i = 0; i < blocks; i++) {
    const o = i * Q5_1_BLOCK_BYTES;
    const d = loadFp16(src, o);
    const m = loadFp16(src, o + 2);
    const qh = src[o + 4] | (src[o + 5] << 8) | (src[o + 6] << 16) | (src[o + 7] << 24);
    for (let j = 0; j < 16; j++) {
      const q = src[o + 8 + j];
      const h0 = ((qh >>> j) << 4) & 0x10;
      const h1 = (qh >>> (j + 12)) & 0x10;
      dst[i * QK5_1 + j] = fround(fround(((q & 0x0f) | h0) * d) + m);
      dst[i * QK5_1 + 16 + j] = fround(fround(((q >>> 4) | h1) * d) + m);
    }
  }
}

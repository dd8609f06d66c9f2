// Q5_0: blocks of 32 weights, fp16 scale, 5-bit quants offset by 16 (low
// nibbles in qs, fifth bits in a 32-bit qh).
// Follows quantize_row_q5_0_ref / dequantize_row_q5_0 in ggml/src/ggml-quants.c;
// with an importance matrix, quantize_row_q5_0_impl (in assembly/legacy-quants.ts).
import { loadFp16, storeFp16 } from '../float/fp16.js';
import { runRowKernel } from './kernels.js';

const fround = Math.fround;

/** Weights per Q5_0 block. */
export const QK5_0 = 32;
/** Bytes per Q5_0 block: fp16 d, qh[4], qs[16]. */
export const Q5_0_BLOCK_BYTES = 22;

/** Quantizes `src` (a multiple of 32 weights) to Q5_0 blocks in `dst`, as llama.cpp does. */
export function quantizeRowQ5_0(src: Float32Array, dst: Uint8Array): void {
  const blocks = src.length / QK5_0;
  for (let i = 0; i < blocks; i++) {
    const x = i * QK5_0;
    const o = i * Q5_0_BLOCK_BYTES;
    let amax = 0;
    let max = 0;
    for (let j = 0; j < QK5_0; j++) {
      const v = src[x + j];
      if (amax < Math.abs(v)) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = fround(max / -16);
    const id = d !== 0 ? fround(1 / d) : 0;
    storeFp16(dst, o, d);
    let qh = 0;
    for (let j = 0; j < 16; j++) {
      const q0 = Math.min(31, Math.trunc(fround(fround(src[x + j] * id) + 16.5)));
      const q1 = Math.min(31, Math.trunc(fround(fround(src[x + 16 + j] * id) + 16.5)));
      dst[o + 6 + j] = (q0 & 0x0f) | ((q1 & 0x0f) << 4);
      qh |= ((q0 & 0x10) >>> 4) << j;
      qh |= ((q1 & 0x10) >>> 4) << (j + 16);
    }
    dst[o + 2] = qh & 0xff;
    dst[o + 3] = (qh >>> 8) & 0xff;
    dst[o + 4] = (qh >>> 16) & 0xff;
    dst[o + 5] = (qh >>> 24) & 0xff;
  }
}

/** Quantizes whole rows of `rowLength` weights with an importance vector (llama-quantize --imatrix; WebAssembly kernel). */
export function quantizeRowQ5_0Weighted(
  src: Float32Array,
  dst: Uint8Array,
  rowLength: number,
  importance: Float32Array,
): void {
  runRowKernel('quantizeQ5_0Weighted', src, dst, rowLength, importance);
}

/** Expands Q5_0 blocks back to float32 weights (`dst.length` weights). */
export function dequantizeRowQ5_0(src: Uint8Array, dst: Float32Array): void {
  const blocks = dst.length / QK5_0;
  for (let i = 0; i < blocks; i++) {
    const o = i * Q5_0_BLOCK_BYTES;
    const d = loadFp16(src, o);
    const qh = src[o + 2] | (src[o + 3] << 8) | (src[o + 4] << 16) | (src[o + 5] << 24);
    for (let j = 0; j < 16; j++) {
      const q = src[o + 6 + j];
      const h0 = ((qh >>> j) << 4) & 0x10;
      const h1 = (qh >>> (j + 12)) & 0x10;
      dst[i * QK5_0 + j] = fround((((q & 0x0f) | h0) - 16) * d);
      dst[i * QK5_0 + 16 + j] = fround((((q >>> 4) | h1) - 16) * d);
    }
  }
}

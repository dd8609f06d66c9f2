// Q4_0: blocks of 32 weights, one fp16 scale and 4-bit quants offset by 8.
// Follows quantize_row_q4_0_ref / dequantize_row_q4_0 in ggml/src/ggml-quants.c;
// with an importance matrix, quantize_row_q4_0_impl (in assembly/legacy-quants.ts).
import { loadFp16, storeFp16 } from '../float/fp16.js';
import { runRowKernel } from './kernels.js';

const fround = Math.fround;

/** Weights per Q4_0 block. */
export const QK4_0 = 32;
/** Bytes per Q4_0 block: fp16 d, qs[16]. */
export const Q4_0_BLOCK_BYTES = 18;

/** Quantizes `src` (a multiple of 32 weights) to Q4_0 blocks in `dst`, as llama.cpp does. */
export function quantizeRowQ4_0(src: Float32Array, dst: Uint8Array): void {
  const blocks = src.length / QK4_0;
  for (let i = 0; i < blocks; i++) {
    const x = i * QK4_0;
    const o = i * Q4_0_BLOCK_BYTES;
    // The signed value of largest magnitude; the first one wins a tie, as in C.
    let amax = 0;
    let max = 0;
    for (let j = 0; j < QK4_0; j++) {
      const v = src[x + j];
      if (amax < Math.abs(v)) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = fround(max / -8);
    const id = d !== 0 ? fround(1 / d) : 0;
    storeFp16(dst, o, d);
    for (let j = 0; j < 16; j++) {
      // C truncates the float to int8 toward zero, then caps at 15.
      const q0 = Math.min(15, Math.trunc(fround(fround(src[x + j] * id) + 8.5)));
      const q1 = Math.min(15, Math.trunc(fround(fround(src[x + 16 + j] * id) + 8.5)));
      dst[o + 2 + j] = q0 | (q1 << 4);
    }
  }
}

/** Quantizes whole rows of `rowLength` weights with an importance vector (llama-quantize --imatrix; WebAssembly kernel). */
export function quantizeRowQ4_0Weighted(
  src: Float32Array,
  dst: Uint8Array,
  rowLength: number,
  importance: Float32Array,
): void {
  runRowKernel('quantizeQ4_0Weighted', src, dst, rowLength, importance);
}

/** Expands Q4_0 blocks back to float32 weights (`dst.length` weights). */
export function dequantizeRowQ4_0(src: Uint8Array, dst: Float32Array): void {
  const blocks = dst.length / QK4_0;
  for (let i = 0; i < blocks; i++) {
    const o = i * Q4_0_BLOCK_BYTES;
    const d = loadFp16(src, o);
    for (let j = 0; j < 16; j++) {
      const q = src[o + 2 + j];
      dst[i * QK4_0 + j] = fround(((q & 0x0f) - 8) * d);
      dst[i * QK4_0 + 16 + j] = fround(((q >>> 4) - 8) * d);
    }
  }
}

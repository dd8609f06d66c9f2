// IQ4_NL: blocks of 32 weights, fp16 d and 4-bit indices into a non-linear
// table; IQ4_XS: super-blocks of 256 with 6-bit block scales.
// Follows quantize_iq4_nl, quantize_iq4_xs (in assembly/iq4.ts),
// dequantize_row_iq4_nl and dequantize_row_iq4_xs in ggml/src/ggml-quants.c.
import { loadFp16 } from '../float/fp16.js';
import { QK_K } from './k-scales.js';
import { runRowKernel } from './kernels.js';

const fround = Math.fround;

/** kvalues_iq4nl in ggml/src/ggml-common.h. */
const IQ4_VALUES = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];

/** Bytes per IQ4_NL block: d, qs[16]. */
export const IQ4_NL_BLOCK_BYTES = 18;
/** Bytes per IQ4_XS super-block: d, scales_h, scales_l[4], qs[128]. */
export const IQ4_XS_BLOCK_BYTES = 136;

/** Quantizes `src` (a multiple of 32 weights) to IQ4_NL blocks, as llama.cpp does without an importance matrix. */
export function quantizeRowIQ4NL(src: Float32Array, dst: Uint8Array): void {
  runRowKernel('quantizeIQ4NL', src, dst, src.length, undefined);
}

/** Quantizes whole rows of `rowLength` weights to IQ4_NL with an importance vector. */
export function quantizeRowIQ4NLWeighted(
  src: Float32Array,
  dst: Uint8Array,
  rowLength: number,
  importance: Float32Array,
): void {
  runRowKernel('quantizeIQ4NL', src, dst, rowLength, importance);
}

/** Quantizes `src` (a multiple of 256 weights) to IQ4_XS blocks, as llama.cpp does without an importance matrix. */
export function quantizeRowIQ4XS(src: Float32Array, dst: Uint8Array): void {
  runRowKernel('quantizeIQ4XS', src, dst, src.length, undefined);
}

/** Quantizes whole rows of `rowLength` weights to IQ4_XS with an importance vector. */
export function quantizeRowIQ4XSWeighted(
  src: Float32Array,
  dst: Uint8Array,
  rowLength: number,
  importance: Float32Array,
): void {
  runRowKernel('quantizeIQ4XS', src, dst, rowLength, importance);
}

function expandBlock(src: Uint8Array, qs: number, d: number, dst: Float32Array, y: number): void {
  for (let j = 0; j < 16; j++) {
    dst[y + j] = fround(d * IQ4_VALUES[src[qs + j] & 0xf]);
    dst[y + j + 16] = fround(d * IQ4_VALUES[src[qs + j] >>> 4]);
  }
}

/** Expands IQ4_NL blocks back to float32 weights (`dst.length` weights). */
export function dequantizeRowIQ4NL(src: Uint8Array, dst: Float32Array): void {
  for (let i = 0; i < dst.length / 32; i++) {
    const o = i * IQ4_NL_BLOCK_BYTES;
    expandBlock(src, o + 2, loadFp16(src, o), dst, i * 32);
  }
}

/** Expands IQ4_XS blocks back to float32 weights (`dst.length` weights). */
export function dequantizeRowIQ4XS(src: Uint8Array, dst: Float32Array): void {
  for (let i = 0; i < dst.length / QK_K; i++) {
    const o = i * IQ4_XS_BLOCK_BYTES;
    const d = loadFp16(src, o);
    const scalesH = src[o + 2] | (src[o + 3] << 8);
    for (let ib = 0; ib < 8; ib++) {
      const ls = ((src[o + 4 + (ib >> 1)] >>> (4 * (ib % 2))) & 0xf) | (((scalesH >>> (2 * ib)) & 3) << 4);
      expandBlock(src, o + 8 + 16 * ib, fround(d * (ls - 32)), dst, i * QK_K + 32 * ib);
    }
  }
}

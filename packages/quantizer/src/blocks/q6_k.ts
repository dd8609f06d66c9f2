// Q6_K: super-blocks of 256 weights in 16 groups of 16: 128 bytes of low
// nibbles, 64 bytes of high 2-bit pairs, 16 int8 group scales, fp16 d.
// Follows quantize_row_q6_K_ref / dequantize_row_q6_K in ggml/src/ggml-quants.c.
import { nearestInt } from '../float/c-rounding.js';
import { fp16BitsToFp32, fp32ToFp16Bits } from '../float/fp16.js';
import { GROUP_MAX_EPS, makeQxQuantsRmse1 } from './k-quant-search.js';
import { QK_K } from './k-scales.js';

const fround = Math.fround;

/** Bytes per Q6_K super-block: ql[128], qh[64], scales[16], d. */
export const Q6_K_BLOCK_BYTES = 210;

const levels = new Uint8Array(QK_K);
const groupScales = new Float32Array(QK_K / 16);

/** Quantizes `src` (a multiple of 256 weights) to Q6_K blocks in `dst`, as llama.cpp does. */
export function quantizeRowQ6K(src: Float32Array, dst: Uint8Array): void {
  const blocks = src.length / QK_K;
  for (let i = 0; i < blocks; i++) {
    const xo = i * QK_K;
    const o = i * Q6_K_BLOCK_BYTES;
    let maxScale = 0;
    let maxAbsScale = 0;
    for (let ib = 0; ib < 16; ib++) {
      const scale = makeQxQuantsRmse1(16, 32, src, xo + 16 * ib, levels, 16 * ib);
      groupScales[ib] = scale;
      const abs = Math.abs(scale);
      if (abs > maxAbsScale) {
        maxAbsScale = abs;
        maxScale = scale;
      }
    }
    if (maxAbsScale < GROUP_MAX_EPS) {
      dst.fill(0, o, o + Q6_K_BLOCK_BYTES);
      continue;
    }
    const iscale = fround(-128 / maxScale);
    const hd = fp32ToFp16Bits(fround(1 / iscale));
    dst[o + 208] = hd & 0xff;
    dst[o + 209] = hd >>> 8;
    for (let ib = 0; ib < 16; ib++) {
      dst[o + 192 + ib] = Math.min(127, nearestInt(fround(iscale * groupScales[ib]!))) & 0xff;
    }
    const d16 = fp16BitsToFp32(hd);
    for (let j = 0; j < 16; j++) {
      const d = fround(d16 * ((dst[o + 192 + j]! << 24) >> 24));
      // A zero group scale keeps the levels the search chose, as the C loop does.
      if (d === 0) continue;
      for (let ii = 0; ii < 16; ii++) {
        let l = nearestInt(fround(src[xo + 16 * j + ii]! / d));
        l = l < -32 ? -32 : l > 31 ? 31 : l;
        levels[16 * j + ii] = l + 32;
      }
    }
    let ql = o;
    let qh = o + 128;
    for (let j = 0; j < QK_K; j += 128) {
      for (let l = 0; l < 32; l++) {
        const l0 = levels[j + l]!;
        const l1 = levels[j + l + 32]!;
        const l2 = levels[j + l + 64]!;
        const l3 = levels[j + l + 96]!;
        dst[ql + l] = (l0 & 0xf) | ((l2 & 0xf) << 4);
        dst[ql + l + 32] = (l1 & 0xf) | ((l3 & 0xf) << 4);
        dst[qh + l] = (l0 >>> 4) | ((l1 >>> 4) << 2) | ((l2 >>> 4) << 4) | ((l3 >>> 4) << 6);
      }
      ql += 64;
      qh += 32;
    }
  }
}

/** Expands Q6_K blocks back to float32 weights (`dst.length` weights). */
export function dequantizeRowQ6K(src: Uint8Array, dst: Float32Array): void {
  const blocks = dst.length / QK_K;
  for (let i = 0; i < blocks; i++) {
    const o = i * Q6_K_BLOCK_BYTES;
    const d = fp16BitsToFp32(src[o + 208]! | (src[o + 209]! << 8));
    let ql = o;
    let qh = o + 128;
    let sc = o + 192;
    let y = i * QK_K;
    for (let n = 0; n < QK_K; n += 128) {
      for (let l = 0; l < 32; l++) {
        const is = l >> 4;
        const h = src[qh + l]!;
        const q1 = ((src[ql + l]! & 0xf) | ((h & 3) << 4)) - 32;
        const q2 = ((src[ql + l + 32]! & 0xf) | (((h >> 2) & 3) << 4)) - 32;
        const q3 = ((src[ql + l]! >>> 4) | (((h >> 4) & 3) << 4)) - 32;
        const q4 = ((src[ql + l + 32]! >>> 4) | (((h >> 6) & 3) << 4)) - 32;
        dst[y + l] = fround(fround(d * ((src[sc + is]! << 24) >> 24)) * q1);
        dst[y + l + 32] = fround(fround(d * ((src[sc + is + 2]! << 24) >> 24)) * q2);
        dst[y + l + 64] = fround(fround(d * ((src[sc + is + 4]! << 24) >> 24)) * q3);
        dst[y + l + 96] = fround(fround(d * ((src[sc + is + 6]! << 24) >> 24)) * q4);
      }
      y += 128;
      ql += 64;
      qh += 32;
      sc += 8;
    }
  }
}

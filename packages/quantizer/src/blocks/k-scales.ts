// The shared front half of Q4_K and Q5_K (quantize_row_q4_K_ref and
// quantize_row_q5_K_ref in ggml/src/ggml-quants.c): eight sub-blocks of 32
// weights, each with a scale and a minimum, both quantized to 6 bits and
// packed into 12 bytes (the layout get_scale_min_k4 reads).
import { nearestInt } from '../float/c-rounding.js';
import { fp16BitsToFp32, fp32ToFp16Bits } from '../float/fp16.js';
import { makeQkx2Quants } from './k-quant-search.js';

const fround = Math.fround;

/** Weights per k-quant super-block (QK_K). */
export const QK_K = 256;

/** Per-call scratch, so hot loops allocate nothing. */
export interface KScratch {
  levels: Uint8Array;
  aux: Uint8Array;
  weights: Float32Array;
  scales: Float32Array;
  mins: Float32Array;
}

export function createKScratch(): KScratch {
  return {
    levels: new Uint8Array(QK_K),
    aux: new Uint8Array(32),
    weights: new Float32Array(32),
    scales: new Float32Array(QK_K / 32),
    mins: new Float32Array(QK_K / 32),
  };
}

/** The 6-bit scale and min of sub-block `j` from the 12 packed bytes at `q[o..]`. */
export function scaleMinK4(j: number, q: Uint8Array, o: number): [number, number] {
  if (j < 4) return [q[o + j]! & 63, q[o + j + 4]! & 63];
  return [(q[o + j + 4]! & 0xf) | ((q[o + j - 4]! >>> 6) << 4), (q[o + j + 4]! >>> 4) | ((q[o + j]! >>> 6) << 4)];
}

/**
 * Quantizes the 256 weights at `x[xo..]` into d, dmin and the packed scales at
 * `dst[o..o+16)`, leaving the final levels (0..nmax) in `scratch.levels`.
 */
export function quantizeScalesAndMinsK(
  x: Float32Array,
  xo: number,
  dst: Uint8Array,
  o: number,
  nmax: number,
  rmin: number,
  nstep: number,
  scratch: KScratch,
): void {
  const { levels, aux, weights, scales, mins } = scratch;
  let maxScale = 0;
  let maxMin = 0;
  for (let j = 0; j < 8; j++) {
    const base = xo + 32 * j;
    let sumX2 = 0;
    for (let l = 0; l < 32; l++) {
      const v = x[base + l]!;
      sumX2 = fround(sumX2 + fround(v * v));
    }
    const avX = fround(Math.sqrt(fround(sumX2 / 32)));
    for (let l = 0; l < 32; l++) weights[l] = fround(avX + Math.abs(x[base + l]!));
    const scale = makeQkx2Quants(32, nmax, x, base, weights, levels, 32 * j, aux, rmin, nstep, mins, j);
    scales[j] = scale;
    if (scale > maxScale) maxScale = scale;
    const min = mins[j]!;
    if (min > maxMin) maxMin = min;
  }

  const invScale = maxScale > 0 ? fround(63 / maxScale) : 0;
  const invMin = maxMin > 0 ? fround(63 / maxMin) : 0;
  const s = o + 4;
  for (let j = 0; j < 8; j++) {
    // C stores nearest_int into a uint8_t before capping at 63.
    const ls = Math.min(63, nearestInt(fround(invScale * scales[j]!)) & 0xff);
    const lm = Math.min(63, nearestInt(fround(invMin * mins[j]!)) & 0xff);
    if (j < 4) {
      dst[s + j] = ls;
      dst[s + j + 4] = lm;
    } else {
      dst[s + j + 4] = (ls & 0xf) | ((lm & 0xf) << 4);
      dst[s + j - 4] |= (ls >>> 4) << 6;
      dst[s + j] |= (lm >>> 4) << 6;
    }
  }
  const hd = fp32ToFp16Bits(fround(maxScale / 63));
  const hm = fp32ToFp16Bits(fround(maxMin / 63));
  dst[o] = hd & 0xff;
  dst[o + 1] = hd >>> 8;
  dst[o + 2] = hm & 0xff;
  dst[o + 3] = hm >>> 8;

  const d16 = fp16BitsToFp32(hd);
  const m16 = fp16BitsToFp32(hm);
  for (let j = 0; j < 8; j++) {
    const [sc, m] = scaleMinK4(j, dst, s);
    const d = fround(d16 * sc);
    // A zero scale keeps the levels the search chose, as the C loop does.
    if (d === 0) continue;
    const dm = fround(m16 * m);
    const base = xo + 32 * j;
    for (let i = 0; i < 32; i++) {
      const l = nearestInt(fround(fround(x[base + i]! + dm) / d));
      levels[32 * j + i] = l < 0 ? 0 : l > nmax ? nmax : l;
    }
  }
}

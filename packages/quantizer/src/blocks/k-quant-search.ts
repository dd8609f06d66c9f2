// The scale searches behind the k-quants, from ggml/src/ggml-quants.c.
// Every float operation is rounded to float32 with Math.fround, in C's order
// of evaluation, because ggml-base is built for baseline x86-64 (SSE, no FMA
// contraction) and the searches compare errors that differ in the last bit.
import { nearestInt, ROUNDING_MAGIC } from '../float/c-rounding.js';

const fround = Math.fround;

// GROUP_MAX_EPS in ggml-quants.c: a group whose largest magnitude is below
// this quantizes to all zeros.
export const GROUP_MAX_EPS = fround(1e-15);
const RDELTA = fround(0.1);
const TENTH = fround(0.1);
const SHIFTED = new Float32Array(256);

/**
 * make_qkx2_quants: the scale and minimum of `n` weights on a 0..nmax grid,
 * searched over nstep+1 candidate scales and refined by weighted least
 * squares (squared error; the reference k-quants never pass use_mad).
 * Writes the levels to `levels[levelsOffset..]`, the negated minimum to
 * `minOut[minIndex]`, and returns the scale.
 */
export function makeQkx2Quants(
  n: number,
  nmax: number,
  x: Float32Array,
  xOffset: number,
  weights: Float32Array,
  levels: Uint8Array,
  levelsOffset: number,
  scratch: Uint8Array,
  rmin: number,
  nstep: number,
  minOut: Float32Array,
  minIndex: number,
): number {
  let min = x[xOffset];
  let max = min;
  let sumW = weights[0];
  let sumX = fround(sumW * min);
  for (let i = 1; i < n; i++) {
    const v = x[xOffset + i];
    if (v < min) min = v;
    if (v > max) max = v;
    const w = weights[i];
    sumW = fround(sumW + w);
    sumX = fround(sumX + fround(w * v));
  }
  if (min > 0) min = 0;
  if (max === min) {
    for (let i = 0; i < n; i++) levels[levelsOffset + i] = 0;
    minOut[minIndex] = -min;
    return 0;
  }
  let iscale = fround(nmax / fround(max - min));
  let scale = fround(1 / iscale);
  let bestError = 0;
  // x - min rounded to float32 (the Float32Array store rounds), redone only when min moves.
  const shifted = SHIFTED;
  let shiftedMin = NaN;
  for (let i = 0; i < n; i++) {
    const v = x[xOffset + i];
    let l = nearestInt(fround(iscale * fround(v - min)));
    l = l < 0 ? 0 : l > nmax ? nmax : l;
    levels[levelsOffset + i] = l;
    const diff = fround(fround(fround(scale * l) + min) - v);
    bestError = fround(bestError + fround(weights[i] * fround(diff * diff)));
  }
  for (let step = 0; step <= nstep; step++) {
    iscale = fround(fround(fround(rmin + fround(RDELTA * step)) + nmax) / fround(max - min));
    let sumL = 0;
    let sumL2 = 0;
    let sumXL = 0;
    if (shiftedMin !== min) {
      for (let i = 0; i < n; i++) shifted[i] = x[xOffset + i] - min;
      shiftedMin = min;
    }
    for (let i = 0; i < n; i++) {
      const v = x[xOffset + i];
      // Adding and removing 1.5 * 2^52 rounds a double to the nearest integer, ties to even:
      // nearest_int's float trick, without a call.
      let l = fround(iscale * shifted[i]) + ROUNDING_MAGIC - ROUNDING_MAGIC;
      l = l < 0 ? 0 : l > nmax ? nmax : l;
      scratch[i] = l;
      const wl = fround(weights[i] * l);
      sumL = fround(sumL + wl);
      sumL2 = fround(sumL2 + fround(wl * l));
      sumXL = fround(sumXL + fround(wl * v));
    }
    const det = fround(fround(sumW * sumL2) - fround(sumL * sumL));
    if (det > 0) {
      let thisScale = fround(fround(fround(sumW * sumXL) - fround(sumX * sumL)) / det);
      let thisMin = fround(fround(fround(sumL2 * sumX) - fround(sumL * sumXL)) / det);
      if (thisMin > 0) {
        thisMin = 0;
        thisScale = fround(sumXL / sumL2);
      }
      let error = 0;
      for (let i = 0; i < n; i++) {
        const diff = fround(fround(fround(thisScale * scratch[i]) + thisMin) - x[xOffset + i]);
        error = fround(error + fround(weights[i] * fround(diff * diff)));
      }
      if (error < bestError) {
        for (let i = 0; i < n; i++) levels[levelsOffset + i] = scratch[i];
        bestError = error;
        scale = thisScale;
        min = thisMin;
      }
    }
  }
  minOut[minIndex] = -min;
  return scale;
}

/**
 * make_qx_quants with rmse_type 1 and no importance weights (the only way
 * quantize_row_q6_K_ref calls it): a symmetric scale for `n` weights on a
 * -nmax..nmax-1 grid, weighted by x^2, tried at 19 candidate scales. Writes
 * levels + nmax to `levels[levelsOffset..]` and returns the scale.
 */
export function makeQxQuantsRmse1(
  n: number,
  nmax: number,
  x: Float32Array,
  xOffset: number,
  levels: Uint8Array,
  levelsOffset: number,
): number {
  let max = 0;
  let amax = 0;
  for (let i = 0; i < n; i++) {
    const v = x[xOffset + i]!;
    const a = Math.abs(v);
    if (a > amax) {
      amax = a;
      max = v;
    }
  }
  if (amax < GROUP_MAX_EPS) {
    for (let i = 0; i < n; i++) levels[levelsOffset + i] = 0;
    return 0;
  }
  let iscale = fround(-nmax / max);
  let sumLX = 0;
  let sumL2 = 0;
  for (let i = 0; i < n; i++) {
    const v = x[xOffset + i]!;
    let l = nearestInt(fround(iscale * v));
    l = l < -nmax ? -nmax : l > nmax - 1 ? nmax - 1 : l;
    levels[levelsOffset + i] = l + nmax;
    const w = fround(v * v);
    sumLX = fround(sumLX + fround(fround(w * v) * l));
    sumL2 = fround(sumL2 + fround(fround(w * l) * l));
  }
  let scale = sumL2 !== 0 ? fround(sumLX / sumL2) : 0;
  let best = fround(scale * sumLX);
  for (let step = -9; step <= 9; step++) {
    if (step === 0) continue;
    iscale = fround(-fround(nmax + fround(TENTH * step)) / max);
    sumLX = 0;
    sumL2 = 0;
    for (let i = 0; i < n; i++) {
      const v = x[xOffset + i]!;
      let l = nearestInt(fround(iscale * v));
      l = l < -nmax ? -nmax : l > nmax - 1 ? nmax - 1 : l;
      const w = fround(v * v);
      sumLX = fround(sumLX + fround(fround(w * v) * l));
      sumL2 = fround(sumL2 + fround(fround(w * l) * l));
    }
    if (sumL2 > 0 && fround(sumLX * sumLX) > fround(best * sumL2)) {
      for (let i = 0; i < n; i++) {
        let l = nearestInt(fround(iscale * x[xOffset + i]!));
        l = l < -nmax ? -nmax : l > nmax - 1 ? nmax - 1 : l;
        levels[levelsOffset + i] = l + nmax;
      }
      scale = fround(sumLX / sumL2);
      best = fround(scale * sumLX);
    }
  }
  return scale;
}

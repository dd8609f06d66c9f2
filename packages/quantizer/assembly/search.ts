// The scale searches of ggml/src/ggml-quants.c: make_qkx2_quants and
// make_qkx3_quants (one function: they differ only in their arguments),
// make_qx_quants, make_q3_quants and make_qp_quants. Operation for operation
// as in C, so the results are bit-identical.
import { AUX, AUX_F, f32At, GROUP_MAX_EPS, nearestInt, WL, WL2, WLX } from './common';

/** The negated min of the last makeQkxQuants call (C's *the_min). */
export let lastMin: f32 = 0;

// make_qkx2_quants / make_qkx3_quants for n = 16 or 32 with non-negative
// weights given; levels (u8) at `levels`. The search steps use 4-wide SIMD
// for the element-wise products (each lane is the same IEEE f32 operation as
// C's), and add the products up one by one in C's order, so the sums are
// bit-identical.
export function makeQkxQuants(
  n: i32,
  nmax: i32,
  x: usize,
  weights: usize,
  levels: usize,
  rmin: f32,
  rdelta: f32,
  nstep: i32,
  useMad: bool,
): f32 {
  const bytes = <usize>(n << 2);
  let min = load<f32>(x);
  let max = min;
  let sumW = load<f32>(weights);
  let sumX: f32 = sumW * min;
  for (let i = 1; i < n; i++) {
    const v = load<f32>(f32At(x, i));
    if (v < min) min = v;
    if (v > max) max = v;
    const w = load<f32>(f32At(weights, i));
    sumW += w;
    sumX += w * v;
  }
  if (min > 0) min = 0;
  if (max == min) {
    for (let i = 0; i < n; i++) store<u8>(levels + i, 0);
    lastMin = -min;
    return 0;
  }
  let iscale: f32 = <f32>nmax / (max - min);
  let scale: f32 = 1 / iscale;
  let bestError: f32 = 0;
  for (let i = 0; i < n; i++) {
    const v = load<f32>(f32At(x, i));
    let l = nearestInt(iscale * (v - min));
    l = l < 0 ? 0 : l > nmax ? nmax : l;
    store<u8>(levels + i, <u8>l);
    let diff: f32 = scale * <f32>l + min - v;
    diff = useMad ? Mathf.abs(diff) : diff * diff;
    bestError += load<f32>(f32At(weights, i)) * diff;
  }
  if (nstep < 1) {
    lastMin = -min;
    return scale;
  }
  const magic = f32x4.splat(12582912.0);
  const mantissa = i32x4.splat(0x007fffff);
  const bias = i32x4.splat(0x00400000);
  const zero = i32x4.splat(0);
  const top = i32x4.splat(nmax);
  for (let step = 0; step <= nstep; step++) {
    iscale = (rmin + rdelta * <f32>step + <f32>nmax) / (max - min);
    const vIscale = f32x4.splat(iscale);
    const vMin = f32x4.splat(min);
    // Levels equal to the previous step's give the same sums, scale, min and
    // error, which cannot beat a best error already at or below it: skip them.
    let changed = step == 0;
    for (let i: usize = 0; i < bytes; i += 16) {
      const v = v128.load(x + i);
      // nearest_int(iscale * (x - min)), clamped to 0..nmax, four at a time.
      const rounded = f32x4.add(f32x4.mul(vIscale, f32x4.sub(v, vMin)), magic);
      const l = i32x4.min_s(i32x4.max_s(i32x4.sub(v128.and(rounded, mantissa), bias), zero), top);
      if (!changed && v128.any_true(i32x4.ne(l, v128.load(AUX + i)))) changed = true;
      v128.store(AUX + i, l);
      const lf = f32x4.convert_i32x4_s(l);
      v128.store(AUX_F + i, lf);
      const wl = f32x4.mul(v128.load(weights + i), lf);
      v128.store(WL + i, wl);
      v128.store(WL2 + i, f32x4.mul(wl, lf));
      v128.store(WLX + i, f32x4.mul(wl, v));
    }
    if (!changed) continue;
    let sumL: f32 = 0;
    let sumL2: f32 = 0;
    let sumXL: f32 = 0;
    for (let i: usize = 0; i < bytes; i += 4) {
      sumL += load<f32>(WL + i);
      sumL2 += load<f32>(WL2 + i);
      sumXL += load<f32>(WLX + i);
    }
    const det: f32 = sumW * sumL2 - sumL * sumL;
    if (det > 0) {
      let thisScale: f32 = (sumW * sumXL - sumX * sumL) / det;
      let thisMin: f32 = (sumL2 * sumX - sumL * sumXL) / det;
      if (thisMin > 0) {
        thisMin = 0;
        thisScale = sumXL / sumL2;
      }
      const vScale = f32x4.splat(thisScale);
      const vThisMin = f32x4.splat(thisMin);
      // w * (scale * l + min - x)^2 (or w * |...|) per lane, stored, then added in order.
      for (let i: usize = 0; i < bytes; i += 16) {
        const diff = f32x4.sub(
          f32x4.add(f32x4.mul(vScale, v128.load(AUX_F + i)), vThisMin),
          v128.load(x + i),
        );
        const error = useMad ? f32x4.abs(diff) : f32x4.mul(diff, diff);
        v128.store(WL + i, f32x4.mul(v128.load(weights + i), error));
      }
      let error: f32 = 0;
      for (let i: usize = 0; i < bytes; i += 4) error += load<f32>(WL + i);
      if (error < bestError) {
        for (let i = 0; i < n; i++) store<u8>(levels + i, <u8>load<i32>(AUX + ((<usize>i) << 2)));
        bestError = error;
        scale = thisScale;
        min = thisMin;
      }
    }
  }
  lastMin = -min;
  return scale;
}

/** The value of largest magnitude among n floats (the first one on a tie), as the quantizers find their max. */
export function signedMax(x: usize, n: i32): f32 {
  let max: f32 = 0;
  let amax: f32 = 0;
  for (let i = 0; i < n; i++) {
    const v = load<f32>(f32At(x, i));
    const a = Mathf.abs(v);
    if (a > amax) {
      amax = a;
      max = v;
    }
  }
  return max;
}

// The importance of x[i] in make_qx_quants: qw[i] when given (qw != 0),
// otherwise x[i]^2 (rmse_type 1, the only type llama-quantize uses).
function qxWeight(qw: usize, i: i32, v: f32): f32 {
  return qw ? load<f32>(f32At(qw, i)) : v * v;
}

function clampSigned(l: i32, nmax: i32): i32 {
  return l < -nmax ? -nmax : l > nmax - 1 ? nmax - 1 : l;
}

let lastSumL2: f32 = 0;

// The first pass of make_qx_quants and make_q3_quants: levels at iscale,
// clamped to -nmax..nmax-1, stored plus `offset`; returns sum(w*x*l), and
// leaves sum(w*l*l) in lastSumL2.
function firstPass(n: i32, nmax: i32, x: usize, levels: usize, qw: usize, iscale: f32, offset: i32): f32 {
  let sumLX: f32 = 0;
  let sumL2: f32 = 0;
  for (let i = 0; i < n; i++) {
    const v = load<f32>(f32At(x, i));
    const l = clampSigned(nearestInt(iscale * v), nmax);
    store<u8>(levels + i, <u8>(l + offset));
    const w = qxWeight(qw, i, v);
    const lf = <f32>l;
    sumLX += w * v * lf;
    sumL2 += w * lf * lf;
  }
  lastSumL2 = sumL2;
  return sumLX;
}

/** make_qx_quants with rmse_type 1; levels plus nmax (u8) at `levels`. */
export function makeQxQuants(n: i32, nmax: i32, x: usize, levels: usize, qw: usize): f32 {
  const max = signedMax(x, n);
  if (Mathf.abs(max) < GROUP_MAX_EPS) {
    for (let i = 0; i < n; i++) store<u8>(levels + i, 0);
    return 0;
  }
  let iscale: f32 = <f32>-nmax / max;
  let sumLX = firstPass(n, nmax, x, levels, qw, iscale, nmax);
  let sumL2 = lastSumL2;
  let scale: f32 = sumL2 != 0 ? sumLX / sumL2 : 0;
  let best: f32 = scale * sumLX;
  for (let step = -9; step <= 9; step++) {
    if (step == 0) continue;
    iscale = -(<f32>nmax + <f32>0.1 * <f32>step) / max;
    sumLX = 0;
    sumL2 = 0;
    for (let i = 0; i < n; i++) {
      const v = load<f32>(f32At(x, i));
      const l = clampSigned(nearestInt(iscale * v), nmax);
      const w = qxWeight(qw, i, v);
      const lf = <f32>l;
      sumLX += w * v * lf;
      sumL2 += w * lf * lf;
    }
    if (sumL2 > 0 && sumLX * sumLX > best * sumL2) {
      for (let i = 0; i < n; i++) {
        const l = clampSigned(nearestInt(iscale * load<f32>(f32At(x, i))), nmax);
        store<u8>(levels + i, <u8>(l + nmax));
      }
      scale = sumLX / sumL2;
      best = scale * sumLX;
    }
  }
  return scale;
}

/** make_q3_quants with do_rmse (quantize_row_q3_K_ref); int8 levels plus nmax at `levels`. */
export function makeQ3Quants(n: i32, nmax: i32, x: usize, levels: usize): f32 {
  const max = signedMax(x, n);
  if (Mathf.abs(max) < GROUP_MAX_EPS) {
    for (let i = 0; i < n; i++) store<i8>(levels + i, 0);
    return 0;
  }
  let sumLX = firstPass(n, nmax, x, levels, 0, <f32>-nmax / max, 0);
  let sumL2 = lastSumL2;
  for (let attempt = 0; attempt < 5; attempt++) {
    let changed = 0;
    for (let i = 0; i < n; i++) {
      const v = load<f32>(f32At(x, i));
      const w: f32 = v * v;
      const current = <i32>load<i8>(levels + i);
      let slx: f32 = sumLX - w * v * <f32>current;
      if (slx > 0) {
        let sl2: f32 = sumL2 - w * <f32>current * <f32>current;
        const next = clampSigned(nearestInt((v * sl2) / slx), nmax);
        if (next != current) {
          slx += w * v * <f32>next;
          sl2 += w * <f32>next * <f32>next;
          if (sl2 > 0 && slx * slx * sumL2 > sumLX * sumLX * sl2) {
            store<i8>(levels + i, <i8>next);
            sumLX = slx;
            sumL2 = sl2;
            changed++;
          }
        }
      }
    }
    if (!changed) break;
  }
  for (let i = 0; i < n; i++) store<i8>(levels + i, <i8>(load<i8>(levels + i) + nmax));
  return sumL2 > 0 ? sumLX / sumL2 : 0;
}

/** make_qp_quants: non-negative x (the sub-block scales or mins), levels (u8) at `levels`, weights at qw. */
export function makeQpQuants(n: i32, nmax: i32, x: usize, levels: usize, qw: usize): f32 {
  let max: f32 = 0;
  for (let i = 0; i < n; i++) {
    const v = load<f32>(f32At(x, i));
    max = max > v ? max : v;
  }
  if (max < GROUP_MAX_EPS) {
    for (let i = 0; i < n; i++) store<u8>(levels + i, 0);
    return 0;
  }
  let iscale: f32 = <f32>nmax / max;
  // Stored as uint8_t in C, so a negative level wraps around: read it back the same way.
  for (let i = 0; i < n; i++) store<u8>(levels + i, <u8>nearestInt(iscale * load<f32>(f32At(x, i))));
  const scale: f32 = 1 / iscale;
  let bestMse: f32 = 0;
  for (let i = 0; i < n; i++) {
    const diff: f32 = load<f32>(f32At(x, i)) - scale * <f32>load<u8>(levels + i);
    bestMse += load<f32>(f32At(qw, i)) * diff * diff;
  }
  for (let step = -4; step <= 4; step++) {
    if (step == 0) continue;
    const iscaleStep: f32 = (<f32>0.1 * <f32>step + <f32>nmax) / max;
    const scaleStep: f32 = 1 / iscaleStep;
    let mse: f32 = 0;
    for (let i = 0; i < n; i++) {
      const v = load<f32>(f32At(x, i));
      let l = nearestInt(iscaleStep * v);
      if (l > nmax) l = nmax;
      const diff: f32 = v - scaleStep * <f32>l;
      mse += load<f32>(f32At(qw, i)) * diff * diff;
    }
    if (mse < bestMse) {
      bestMse = mse;
      iscale = iscaleStep;
    }
  }
  let sumLX: f32 = 0;
  let sumL2: f32 = 0;
  for (let i = 0; i < n; i++) {
    const v = load<f32>(f32At(x, i));
    let l = nearestInt(iscale * v);
    if (l > nmax) l = nmax;
    store<u8>(levels + i, <u8>l);
    const w = load<f32>(f32At(qw, i));
    const lf = <f32>l;
    sumLX += w * v * lf;
    sumL2 += w * lf * lf;
  }
  for (let attempt = 0; attempt < 5; attempt++) {
    let changed = 0;
    for (let i = 0; i < n; i++) {
      const v = load<f32>(f32At(x, i));
      const w = load<f32>(f32At(qw, i));
      const current = <i32>load<u8>(levels + i);
      let slx: f32 = sumLX - w * v * <f32>current;
      let sl2: f32 = sumL2 - w * <f32>current * <f32>current;
      if (slx > 0 && sl2 > 0) {
        let next = nearestInt((v * sl2) / slx);
        if (next > nmax) next = nmax;
        if (next != current) {
          slx += w * v * <f32>next;
          sl2 += w * <f32>next * <f32>next;
          if (slx * slx * sumL2 > sumLX * sumLX * sl2) {
            store<u8>(levels + i, <u8>next);
            sumLX = slx;
            sumL2 = sl2;
            changed++;
          }
        }
      }
    }
    if (!changed) break;
  }
  return sumL2 > 0 ? sumLX / sumL2 : 0;
}

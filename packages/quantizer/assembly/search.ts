// The scale searches of ggml/src/ggml-quants.c: make_qkx2_quants and
// make_qkx3_quants (one function: they differ only in their arguments),
// make_qx_quants, make_q3_quants and make_qp_quants. Operation for operation
// as in C, so the results are bit-identical.
import { f32At, GROUP_MAX_EPS, LANE_LEVELS, LANE_VALUES, LANES, nearestInt } from './common';

/** The negated min of the last makeQkxQuants call (C's *the_min). */
export let lastMin: f32 = 0;

// make_qkx2_quants / make_qkx3_quants for n = 16 or 32 with the weights
// given; levels (u8) at `levels`. The search steps run four at a time, one
// per SIMD lane: each lane adds its products up one by one in C's order, so
// every step's sums, scale, min and error are bit-identical to C's; then the
// steps are compared with the best so far in C's order. A step that wins
// changes the min the next steps start from, so after a win that moves it the
// following steps are computed again.
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
  const iscale: f32 = <f32>nmax / (max - min);
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
  const vSumW = f32x4.splat(sumW);
  const vSumX = f32x4.splat(sumX);
  const bytes = <usize>(n << 2);
  for (let first = 0; first <= nstep;) {
    const vMin = f32x4.splat(min);
    // iscale of each lane's step, computed as C computes it.
    for (let k = 0; k < 4; k++)
      store<f32>(f32At(LANES, k), (rmin + rdelta * <f32>(first + k) + <f32>nmax) / (max - min));
    const vIscale = v128.load(LANES);
    let sumL = f32x4.splat(0);
    let sumL2 = f32x4.splat(0);
    let sumXL = f32x4.splat(0);
    for (let i: usize = 0; i < bytes; i += 4) {
      const v = v128.load32_splat(x + i);
      const w = v128.load32_splat(weights + i);
      // nearest_int(iscale * (x - min)), clamped to 0..nmax, for four steps.
      const rounded = f32x4.add(f32x4.mul(vIscale, f32x4.sub(v, vMin)), magic);
      const l = i32x4.min_s(i32x4.max_s(i32x4.sub(v128.and(rounded, mantissa), bias), zero), top);
      v128.store(LANE_LEVELS + (i << 2), l);
      const lf = f32x4.convert_i32x4_s(l);
      const wl = f32x4.mul(w, lf);
      sumL = f32x4.add(sumL, wl);
      sumL2 = f32x4.add(sumL2, f32x4.mul(wl, lf));
      sumXL = f32x4.add(sumXL, f32x4.mul(wl, v));
    }
    const det = f32x4.sub(f32x4.mul(vSumW, sumL2), f32x4.mul(sumL, sumL));
    let thisScale = f32x4.div(f32x4.sub(f32x4.mul(vSumW, sumXL), f32x4.mul(vSumX, sumL)), det);
    let thisMin = f32x4.div(f32x4.sub(f32x4.mul(sumL2, vSumX), f32x4.mul(sumL, sumXL)), det);
    // A positive min is clamped to 0, with the scale refitted without it.
    const positive = f32x4.gt(thisMin, f32x4.splat(0));
    thisScale = v128.bitselect(f32x4.div(sumXL, sumL2), thisScale, positive);
    thisMin = v128.bitselect(f32x4.splat(0), thisMin, positive);
    let error = f32x4.splat(0);
    for (let i: usize = 0; i < bytes; i += 4) {
      const lf = f32x4.convert_i32x4_s(v128.load(LANE_LEVELS + (i << 2)));
      const diff = f32x4.sub(f32x4.add(f32x4.mul(thisScale, lf), thisMin), v128.load32_splat(x + i));
      error = f32x4.add(
        error,
        f32x4.mul(v128.load32_splat(weights + i), useMad ? f32x4.abs(diff) : f32x4.mul(diff, diff)),
      );
    }
    v128.store(LANES, det);
    v128.store(LANES + 16, error);
    v128.store(LANES + 32, thisScale);
    v128.store(LANES + 48, thisMin);
    const steps = nstep + 1 - first < 4 ? nstep + 1 - first : 4;
    let next = first + steps;
    for (let k = 0; k < steps; k++) {
      const stepError = load<f32>(f32At(LANES + 16, k));
      if (load<f32>(f32At(LANES, k)) > 0 && stepError < bestError) {
        for (let i = 0; i < n; i++)
          store<u8>(levels + i, <u8>load<i32>(LANE_LEVELS + ((<usize>i) << 4) + ((<usize>k) << 2)));
        bestError = stepError;
        scale = load<f32>(f32At(LANES + 32, k));
        const newMin = load<f32>(f32At(LANES + 48, k));
        // The later lanes used the old min: compute them again from the new one.
        if (reinterpret<u32>(newMin) != reinterpret<u32>(min)) {
          min = newMin;
          next = first + k + 1;
          break;
        }
      }
    }
    first = next;
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
  const iscale: f32 = <f32>-nmax / max;
  let sumLX = firstPass(n, nmax, x, levels, qw, iscale, nmax);
  let sumL2 = lastSumL2;
  let scale: f32 = sumL2 != 0 ? sumLX / sumL2 : 0;
  let best: f32 = scale * sumLX;
  const magic = f32x4.splat(12582912.0);
  const mantissa = i32x4.splat(0x007fffff);
  const bias = i32x4.splat(0x00400000);
  const low = i32x4.splat(-nmax);
  const high = i32x4.splat(nmax - 1);
  const bytes = <usize>(n << 2);
  // The steps -9..-1 and 1..9, four at a time, one per SIMD lane; each lane
  // sums in C's order, and the steps are compared with the best in order.
  for (let first = 0; first < 18; first += 4) {
    for (let k = 0; k < 4; k++) {
      const j = first + k;
      const step = j < 9 ? j - 9 : j - 8;
      store<f32>(f32At(LANES, k), -(<f32>nmax + <f32>0.1 * <f32>step) / max);
    }
    const vIscale = v128.load(LANES);
    let vSumLX = f32x4.splat(0);
    let vSumL2 = f32x4.splat(0);
    for (let i: usize = 0; i < bytes; i += 4) {
      const v = v128.load32_splat(x + i);
      const w = qw ? v128.load32_splat(qw + i) : f32x4.mul(v, v);
      const rounded = f32x4.add(f32x4.mul(vIscale, v), magic);
      const l = i32x4.min_s(i32x4.max_s(i32x4.sub(v128.and(rounded, mantissa), bias), low), high);
      v128.store(LANE_LEVELS + (i << 2), l);
      const lf = f32x4.convert_i32x4_s(l);
      vSumLX = f32x4.add(vSumLX, f32x4.mul(f32x4.mul(w, v), lf));
      vSumL2 = f32x4.add(vSumL2, f32x4.mul(f32x4.mul(w, lf), lf));
    }
    v128.store(LANES + 16, vSumLX);
    v128.store(LANES + 32, vSumL2);
    const steps = 18 - first < 4 ? 18 - first : 4;
    for (let k = 0; k < steps; k++) {
      sumLX = load<f32>(f32At(LANES + 16, k));
      sumL2 = load<f32>(f32At(LANES + 32, k));
      if (sumL2 > 0 && sumLX * sumLX > best * sumL2) {
        for (let i = 0; i < n; i++)
          store<u8>(levels + i, <u8>(load<i32>(LANE_LEVELS + ((<usize>i) << 4) + ((<usize>k) << 2)) + nmax));
        scale = sumLX / sumL2;
        best = scale * sumLX;
      }
    }
  }
  return scale;
}

// The 16 floats of four consecutive 16-float groups at x, transposed: vector
// i holds element i of each group, one group per lane.
function transpose16x4(x: usize, out: usize): void {
  for (let i: usize = 0; i < 64; i += 16) {
    const a = v128.load(x + i);
    const b = v128.load(x + 64 + i);
    const c = v128.load(x + 128 + i);
    const d = v128.load(x + 192 + i);
    const ab01 = i32x4.shuffle(a, b, 0, 4, 1, 5);
    const ab23 = i32x4.shuffle(a, b, 2, 6, 3, 7);
    const cd01 = i32x4.shuffle(c, d, 0, 4, 1, 5);
    const cd23 = i32x4.shuffle(c, d, 2, 6, 3, 7);
    v128.store(out + (i << 2), i32x4.shuffle(ab01, cd01, 0, 1, 4, 5));
    v128.store(out + (i << 2) + 16, i32x4.shuffle(ab01, cd01, 2, 3, 6, 7));
    v128.store(out + (i << 2) + 32, i32x4.shuffle(ab23, cd23, 0, 1, 4, 5));
    v128.store(out + (i << 2) + 48, i32x4.shuffle(ab23, cd23, 2, 3, 6, 7));
  }
}

/**
 * make_q3_quants with do_rmse and n = 16, nmax = 4 (quantize_row_q3_K_ref),
 * for four consecutive groups at once, one per SIMD lane: each lane makes
 * C's choices in C's order. The scales go to `scales` (f32[4]), the levels
 * plus 4 (int8, 0 for an all-zero group, as in C) to `levels` (16 per group).
 * The refinement passes stop when no lane changed: a pass that changes
 * nothing in a group would change nothing again, so running it for a group
 * C has stopped is harmless.
 */
export function makeQ3Quants4(x: usize, levels: usize, scales: usize): void {
  const X = LANE_VALUES;
  const L = LANE_LEVELS;
  transpose16x4(x, X);
  let amax = f32x4.splat(0);
  let max = f32x4.splat(0);
  for (let i: usize = 0; i < 256; i += 16) {
    const v = v128.load(X + i);
    const bigger = f32x4.gt(f32x4.abs(v), amax);
    amax = v128.bitselect(f32x4.abs(v), amax, bigger);
    max = v128.bitselect(v, max, bigger);
  }
  const zero = f32x4.lt(amax, f32x4.splat(GROUP_MAX_EPS));
  const iscale = f32x4.div(f32x4.splat(-4), max);
  const magic = f32x4.splat(12582912.0);
  const mantissa = i32x4.splat(0x007fffff);
  const bias = i32x4.splat(0x00400000);
  const low = i32x4.splat(-4);
  const high = i32x4.splat(3);
  let sumLX = f32x4.splat(0);
  let sumL2 = f32x4.splat(0);
  for (let i: usize = 0; i < 256; i += 16) {
    const v = v128.load(X + i);
    const rounded = f32x4.add(f32x4.mul(iscale, v), magic);
    const l = i32x4.min_s(i32x4.max_s(i32x4.sub(v128.and(rounded, mantissa), bias), low), high);
    v128.store(L + i, l);
    const w = f32x4.mul(v, v);
    const lf = f32x4.convert_i32x4_s(l);
    sumLX = f32x4.add(sumLX, f32x4.mul(f32x4.mul(w, v), lf));
    sumL2 = f32x4.add(sumL2, f32x4.mul(f32x4.mul(w, lf), lf));
  }
  for (let attempt = 0; attempt < 5; attempt++) {
    let changed = i32x4.splat(0);
    for (let i: usize = 0; i < 256; i += 16) {
      const v = v128.load(X + i);
      const w = f32x4.mul(v, v);
      const wv = f32x4.mul(w, v);
      const current = v128.load(L + i);
      const cf = f32x4.convert_i32x4_s(current);
      let slx = f32x4.sub(sumLX, f32x4.mul(wv, cf));
      let sl2 = f32x4.sub(sumL2, f32x4.mul(f32x4.mul(w, cf), cf));
      const positive = f32x4.gt(slx, f32x4.splat(0));
      const rounded = f32x4.add(f32x4.div(f32x4.mul(v, sl2), slx), magic);
      const next = i32x4.min_s(i32x4.max_s(i32x4.sub(v128.and(rounded, mantissa), bias), low), high);
      const nf = f32x4.convert_i32x4_s(next);
      slx = f32x4.add(slx, f32x4.mul(wv, nf));
      sl2 = f32x4.add(sl2, f32x4.mul(f32x4.mul(w, nf), nf));
      const better = f32x4.gt(f32x4.mul(f32x4.mul(slx, slx), sumL2), f32x4.mul(f32x4.mul(sumLX, sumLX), sl2));
      const accept = v128.and(
        v128.and(positive, v128.not(i32x4.eq(next, current))),
        v128.and(f32x4.gt(sl2, f32x4.splat(0)), better),
      );
      v128.store(L + i, v128.bitselect(next, current, accept));
      sumLX = v128.bitselect(slx, sumLX, accept);
      sumL2 = v128.bitselect(sl2, sumL2, accept);
      changed = v128.or(changed, accept);
    }
    if (!v128.any_true(changed)) break;
  }
  const scale = v128.bitselect(f32x4.div(sumLX, sumL2), f32x4.splat(0), f32x4.gt(sumL2, f32x4.splat(0)));
  v128.store(scales, v128.andnot(scale, zero));
  const offset = v128.andnot(i32x4.splat(4), zero);
  for (let i: usize = 0; i < 16; i++) {
    const l = v128.andnot(i32x4.add(v128.load(L + (i << 4)), offset), zero);
    store<i8>(levels + i, <i8>i32x4.extract_lane(l, 0));
    store<i8>(levels + 16 + i, <i8>i32x4.extract_lane(l, 1));
    store<i8>(levels + 32 + i, <i8>i32x4.extract_lane(l, 2));
    store<i8>(levels + 48 + i, <i8>i32x4.extract_lane(l, 3));
  }
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

// AssemblyScript source of the k-quant block quantizers (Q4_K, Q5_K, Q6_K).
// WebAssembly's f32 instructions are IEEE single precision, exactly what
// ggml-base's SSE scalar code computes, so this follows
// quantize_row_q{4,5,6}_K_ref, make_qkx2_quants and make_qx_quants in
// ggml/src/ggml-quants.c operation for operation and is bit-exact by
// construction. Compiled by scripts/build-wasm.mjs into src/blocks/k-quants-wasm.ts.

// Scratch layout in linear memory: above the module's own static data, below
// the caller's rows, which start at 64 KiB (DATA_OFFSET in k-quants-kernels.ts).
const LEVELS: usize = 32768; // u8[256]
const AUX: usize = LEVELS + 256; // i32[32]: a search step's levels
const AUX_F: usize = LEVELS + 384; // f32[32]: the same levels as floats
const WEIGHTS: usize = LEVELS + 512; // f32[32]
const WL: usize = LEVELS + 640; // f32[32]: w * l
const WL2: usize = LEVELS + 768; // f32[32]: w * l * l
const WLX: usize = LEVELS + 896; // f32[32]: w * l * x
const SCALES: usize = LEVELS + 1024; // f32[16]
const MINS: usize = LEVELS + 1088; // f32[8]

const GROUP_MAX_EPS: f32 = 1e-15;
const RDELTA: f32 = 0.1;

let lastMin: f32 = 0;

// nearest_int: add 1.5 * 2^23 in float and read the mantissa (rounds halves to even).
function nearestInt(fval: f32): i32 {
  const val: f32 = fval + 12582912.0;
  return (reinterpret<i32>(val) & 0x007fffff) - 0x00400000;
}

// IEEE binary16 bits nearest to f (ties to even), infinity on overflow, 0x7e00 for NaN.
function fp32ToFp16(f: f32): u32 {
  const bits = reinterpret<u32>(f);
  const sign = (bits >> 16) & 0x8000;
  const exponent = <i32>((bits >> 23) & 0xff);
  const mantissa = bits & 0x7fffff;
  if (exponent == 0xff) return sign | (mantissa == 0 ? 0x7c00 : 0x7e00);
  const halfExponent = exponent - 112;
  if (halfExponent >= 0x1f) return sign | 0x7c00;
  if (halfExponent <= 0) {
    if (halfExponent < -10) return sign;
    const full = mantissa | 0x800000;
    const shift = <u32>(14 - halfExponent);
    const rest = full & ((1 << shift) - 1);
    const halfway: u32 = 1 << (shift - 1);
    let result = full >> shift;
    if (rest > halfway || (rest == halfway && (result & 1) != 0)) result += 1;
    return sign | result;
  }
  const rest = mantissa & 0x1fff;
  let result = ((<u32>halfExponent) << 10) | (mantissa >> 13);
  if (rest > 0x1000 || (rest == 0x1000 && (result & 1) != 0)) result += 1;
  return sign | result;
}

function fp16ToFp32(h: u32): f32 {
  const sign = (h & 0x8000) << 16;
  const exponent = (h >> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent == 0) {
    const magnitude: f32 = <f32>mantissa * 5.9604644775390625e-8;
    return reinterpret<f32>(reinterpret<u32>(magnitude) | sign);
  }
  if (exponent == 0x1f) return reinterpret<f32>(sign | 0x7f800000 | (mantissa << 13));
  return reinterpret<f32>(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

function storeHalf(at: usize, value: f32): u32 {
  const h = fp32ToFp16(value);
  store<u16>(at, <u16>h);
  return h;
}

// make_qkx2_quants with use_mad = false, for n = 32; the negated min goes to
// lastMin. The search steps use 4-wide SIMD for the element-wise products
// (each lane is the same IEEE f32 operation as C's), and add the products up
// one by one in C's order, so the sums are bit-identical.
function makeQkx2Quants(nmax: i32, x: usize, weights: usize, levels: usize, rmin: f32, nstep: i32): f32 {
  const n = 32;
  let min = load<f32>(x);
  let max = min;
  let sumW = load<f32>(weights);
  let sumX: f32 = sumW * min;
  for (let i = 1; i < n; i++) {
    const v = load<f32>(x + ((<usize>i) << 2));
    if (v < min) min = v;
    if (v > max) max = v;
    const w = load<f32>(weights + ((<usize>i) << 2));
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
    const v = load<f32>(x + ((<usize>i) << 2));
    let l = nearestInt(iscale * (v - min));
    l = l < 0 ? 0 : l > nmax ? nmax : l;
    store<u8>(levels + i, <u8>l);
    let diff: f32 = scale * <f32>l + min - v;
    diff = diff * diff;
    bestError += load<f32>(weights + ((<usize>i) << 2)) * diff;
  }
  const magic = f32x4.splat(12582912.0);
  const mantissa = i32x4.splat(0x007fffff);
  const bias = i32x4.splat(0x00400000);
  const zero = i32x4.splat(0);
  const top = i32x4.splat(nmax);
  for (let step = 0; step <= nstep; step++) {
    iscale = (rmin + RDELTA * <f32>step + <f32>nmax) / (max - min);
    const vIscale = f32x4.splat(iscale);
    const vMin = f32x4.splat(min);
    // Levels equal to the previous step's give the same sums, scale, min and
    // error, which cannot beat a best error already at or below it: skip them.
    let changed = step == 0;
    for (let i: usize = 0; i < 128; i += 16) {
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
    for (let i: usize = 0; i < 128; i += 4) {
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
      // w * (scale * l + min - x)^2 per lane, stored, then added in order.
      for (let i: usize = 0; i < 128; i += 16) {
        const diff = f32x4.sub(
          f32x4.add(f32x4.mul(vScale, v128.load(AUX_F + i)), vThisMin),
          v128.load(x + i),
        );
        v128.store(WL + i, f32x4.mul(v128.load(weights + i), f32x4.mul(diff, diff)));
      }
      let error: f32 = 0;
      for (let i: usize = 0; i < 128; i += 4) error += load<f32>(WL + i);
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

// get_scale_min_k4, packed: scale in the low byte, min in the next.
function scaleMinK4(j: i32, q: usize): u32 {
  if (j < 4) return ((<u32>load<u8>(q + j)) & 63) | (((<u32>load<u8>(q + j + 4)) & 63) << 8);
  const sc = ((<u32>load<u8>(q + j + 4)) & 0xf) | (((<u32>load<u8>(q + j - 4)) >> 6) << 4);
  const m = ((<u32>load<u8>(q + j + 4)) >> 4) | (((<u32>load<u8>(q + j)) >> 6) << 4);
  return sc | (m << 8);
}

// The shared front half of quantize_row_q4_K_ref and quantize_row_q5_K_ref:
// d, dmin and the 12 packed scale bytes at y, final levels at LEVELS.
function scalesAndMins(x: usize, y: usize, nmax: i32, rmin: f32, nstep: i32): void {
  let maxScale: f32 = 0;
  let maxMin: f32 = 0;
  for (let j = 0; j < 8; j++) {
    const xb = x + ((<usize>(32 * j)) << 2);
    let sumX2: f32 = 0;
    for (let l = 0; l < 32; l++) {
      const v = load<f32>(xb + ((<usize>l) << 2));
      sumX2 += v * v;
    }
    const avX: f32 = Mathf.sqrt(sumX2 / 32);
    for (let l = 0; l < 32; l++)
      store<f32>(WEIGHTS + ((<usize>l) << 2), avX + Mathf.abs(load<f32>(xb + ((<usize>l) << 2))));
    const scale = makeQkx2Quants(nmax, xb, WEIGHTS, LEVELS + 32 * j, rmin, nstep);
    store<f32>(SCALES + ((<usize>j) << 2), scale);
    store<f32>(MINS + ((<usize>j) << 2), lastMin);
    if (scale > maxScale) maxScale = scale;
    if (lastMin > maxMin) maxMin = lastMin;
  }
  const invScale: f32 = maxScale > 0 ? 63 / maxScale : 0;
  const invMin: f32 = maxMin > 0 ? 63 / maxMin : 0;
  const s = y + 4;
  for (let j = 0; j < 8; j++) {
    let ls = <u32>(<u8>nearestInt(invScale * load<f32>(SCALES + ((<usize>j) << 2))));
    let lm = <u32>(<u8>nearestInt(invMin * load<f32>(MINS + ((<usize>j) << 2))));
    if (ls > 63) ls = 63;
    if (lm > 63) lm = 63;
    if (j < 4) {
      store<u8>(s + j, <u8>ls);
      store<u8>(s + j + 4, <u8>lm);
    } else {
      store<u8>(s + j + 4, <u8>((ls & 0xf) | ((lm & 0xf) << 4)));
      store<u8>(s + j - 4, load<u8>(s + j - 4) | (<u8>((ls >> 4) << 6)));
      store<u8>(s + j, load<u8>(s + j) | (<u8>((lm >> 4) << 6)));
    }
  }
  const d16 = fp16ToFp32(storeHalf(y, maxScale / 63));
  const m16 = fp16ToFp32(storeHalf(y + 2, maxMin / 63));
  for (let j = 0; j < 8; j++) {
    const packed = scaleMinK4(j, s);
    const d: f32 = d16 * <f32>(packed & 0xff);
    if (d == 0) continue;
    const dm: f32 = m16 * <f32>(packed >> 8);
    const xb = x + ((<usize>(32 * j)) << 2);
    for (let i = 0; i < 32; i++) {
      let l = nearestInt((load<f32>(xb + ((<usize>i) << 2)) + dm) / d);
      l = l < 0 ? 0 : l > nmax ? nmax : l;
      store<u8>(LEVELS + 32 * j + i, <u8>l);
    }
  }
}

/** quantize_row_q4_K_ref over `blocks` super-blocks: floats at x, 144-byte blocks at y. */
export function quantizeQ4K(x: usize, y: usize, blocks: i32): void {
  for (let i = 0; i < blocks; i++) {
    const xb = x + ((<usize>(256 * i)) << 2);
    const yb = y + <usize>(144 * i);
    scalesAndMins(xb, yb, 15, -1, 20);
    let q = yb + 16;
    for (let j = 0; j < 256; j += 64) {
      for (let l = 0; l < 32; l++)
        store<u8>(q + l, load<u8>(LEVELS + j + l) | (load<u8>(LEVELS + j + l + 32) << 4));
      q += 32;
    }
  }
}

/** quantize_row_q5_K_ref over `blocks` super-blocks: floats at x, 176-byte blocks at y. */
export function quantizeQ5K(x: usize, y: usize, blocks: i32): void {
  for (let i = 0; i < blocks; i++) {
    const xb = x + ((<usize>(256 * i)) << 2);
    const yb = y + <usize>(176 * i);
    scalesAndMins(xb, yb, 31, -0.5, 15);
    const qh = yb + 16;
    let ql = yb + 48;
    memory.fill(qh, 0, 32);
    let m1: u8 = 1;
    let m2: u8 = 2;
    for (let n = 0; n < 256; n += 64) {
      for (let j = 0; j < 32; j++) {
        let l1 = load<u8>(LEVELS + n + j);
        if (l1 > 15) {
          l1 -= 16;
          store<u8>(qh + j, load<u8>(qh + j) | m1);
        }
        let l2 = load<u8>(LEVELS + n + j + 32);
        if (l2 > 15) {
          l2 -= 16;
          store<u8>(qh + j, load<u8>(qh + j) | m2);
        }
        store<u8>(ql + j, l1 | (l2 << 4));
      }
      m1 <<= 2;
      m2 <<= 2;
      ql += 32;
    }
  }
}

// make_qx_quants with rmse_type 1 and no importance weights; levels + nmax at `levels`.
function makeQxQuantsRmse1(n: i32, nmax: i32, x: usize, levels: usize): f32 {
  let max: f32 = 0;
  let amax: f32 = 0;
  for (let i = 0; i < n; i++) {
    const v = load<f32>(x + ((<usize>i) << 2));
    const a = Mathf.abs(v);
    if (a > amax) {
      amax = a;
      max = v;
    }
  }
  if (amax < GROUP_MAX_EPS) {
    for (let i = 0; i < n; i++) store<u8>(levels + i, 0);
    return 0;
  }
  let iscale: f32 = <f32>-nmax / max;
  let sumLX: f32 = 0;
  let sumL2: f32 = 0;
  for (let i = 0; i < n; i++) {
    const v = load<f32>(x + ((<usize>i) << 2));
    let l = nearestInt(iscale * v);
    l = l < -nmax ? -nmax : l > nmax - 1 ? nmax - 1 : l;
    store<u8>(levels + i, <u8>(l + nmax));
    const w: f32 = v * v;
    const lf = <f32>l;
    sumLX += w * v * lf;
    sumL2 += w * lf * lf;
  }
  let scale: f32 = sumL2 != 0 ? sumLX / sumL2 : 0;
  let best: f32 = scale * sumLX;
  for (let step = -9; step <= 9; step++) {
    if (step == 0) continue;
    iscale = -(<f32>nmax + RDELTA * <f32>step) / max;
    sumLX = 0;
    sumL2 = 0;
    for (let i = 0; i < n; i++) {
      const v = load<f32>(x + ((<usize>i) << 2));
      let l = nearestInt(iscale * v);
      l = l < -nmax ? -nmax : l > nmax - 1 ? nmax - 1 : l;
      const w: f32 = v * v;
      const lf = <f32>l;
      sumLX += w * v * lf;
      sumL2 += w * lf * lf;
    }
    if (sumL2 > 0 && sumLX * sumLX > best * sumL2) {
      for (let i = 0; i < n; i++) {
        let l = nearestInt(iscale * load<f32>(x + ((<usize>i) << 2)));
        l = l < -nmax ? -nmax : l > nmax - 1 ? nmax - 1 : l;
        store<u8>(levels + i, <u8>(l + nmax));
      }
      scale = sumLX / sumL2;
      best = scale * sumLX;
    }
  }
  return scale;
}

/** quantize_row_q6_K_ref over `blocks` super-blocks: floats at x, 210-byte blocks at y. */
export function quantizeQ6K(x: usize, y: usize, blocks: i32): void {
  for (let i = 0; i < blocks; i++) {
    const xb = x + ((<usize>(256 * i)) << 2);
    const yb = y + <usize>(210 * i);
    let maxScale: f32 = 0;
    let maxAbsScale: f32 = 0;
    for (let ib = 0; ib < 16; ib++) {
      const scale = makeQxQuantsRmse1(16, 32, xb + ((<usize>(16 * ib)) << 2), LEVELS + 16 * ib);
      store<f32>(SCALES + ((<usize>ib) << 2), scale);
      const abs = Mathf.abs(scale);
      if (abs > maxAbsScale) {
        maxAbsScale = abs;
        maxScale = scale;
      }
    }
    if (maxAbsScale < GROUP_MAX_EPS) {
      memory.fill(yb, 0, 210);
      continue;
    }
    const iscale: f32 = -128 / maxScale;
    const d16 = fp16ToFp32(storeHalf(yb + 208, 1 / iscale));
    for (let ib = 0; ib < 16; ib++) {
      let q = nearestInt(iscale * load<f32>(SCALES + ((<usize>ib) << 2)));
      if (q > 127) q = 127;
      store<i8>(yb + 192 + ib, <i8>q);
    }
    for (let j = 0; j < 16; j++) {
      const d: f32 = d16 * <f32>load<i8>(yb + 192 + j);
      if (d == 0) continue;
      const xg = xb + ((<usize>(16 * j)) << 2);
      for (let ii = 0; ii < 16; ii++) {
        let l = nearestInt(load<f32>(xg + ((<usize>ii) << 2)) / d);
        l = l < -32 ? -32 : l > 31 ? 31 : l;
        store<u8>(LEVELS + 16 * j + ii, <u8>(l + 32));
      }
    }
    let ql = yb;
    let qh = yb + 128;
    for (let j = 0; j < 256; j += 128) {
      for (let l = 0; l < 32; l++) {
        const l0 = load<u8>(LEVELS + j + l);
        const l1 = load<u8>(LEVELS + j + l + 32);
        const l2 = load<u8>(LEVELS + j + l + 64);
        const l3 = load<u8>(LEVELS + j + l + 96);
        store<u8>(ql + l, (l0 & 0xf) | ((l2 & 0xf) << 4));
        store<u8>(ql + l + 32, (l1 & 0xf) | ((l3 & 0xf) << 4));
        store<u8>(qh + l, (l0 >> 4) | ((l1 >> 4) << 2) | ((l2 >> 4) << 4) | ((l3 >> 4) << 6));
      }
      ql += 64;
      qh += 32;
    }
  }
}

// Helpers shared by the kernels: the scratch layout, nearest_int and the
// fp16 conversions of ggml/src/ggml-quants.c and ggml-impl.h.

// Scratch in linear memory: above the module's own static data, below the
// caller's rows, which start at 64 KiB (DATA_OFFSET in src/blocks/kernels.ts).
export const LEVELS: usize = 32768; // u8[256]: a super-block's levels (int8 for Q3_K and Q6_K)
export const WEIGHTS: usize = LEVELS + 512; // f32[32]
export const SCALES: usize = LEVELS + 1024; // f32[16]
export const MINS: usize = LEVELS + 1088; // f32[16]
export const SUM_WEIGHTS: usize = LEVELS + 1152; // f32[16]: a sub-block's summed weights
export const LS: usize = LEVELS + 1216; // u8[16]: quantized scales
export const LM: usize = LEVELS + 1232; // u8[16]: quantized mins
export const LANES: usize = LEVELS + 1280; // f32x4[4]: per-lane results of four search steps
export const LANE_LEVELS: usize = LEVELS + 1536; // i32x4[32]: four search steps' levels, element by element
export const LANE_VALUES: usize = LEVELS + 2048; // f32x4[32]: four groups' floats, element by element

export const GROUP_MAX_EPS: f32 = 1e-15;

/** Address of the i-th f32 after `base`. */
export function f32At(base: usize, i: i32): usize {
  return base + ((<usize>i) << 2);
}

// nearest_int: add 1.5 * 2^23 in float and read the mantissa (rounds halves to even).
export function nearestInt(fval: f32): i32 {
  const val: f32 = fval + 12582912.0;
  return (reinterpret<i32>(val) & 0x007fffff) - 0x00400000;
}

/**
 * The final levels of n floats at x (n a multiple of 4), four at a time, as
 * the quantizers' last loops compute them one by one: nearest_int((x + add) /
 * d) clamped to lo..hi, plus offset, one byte each at `levels`. Where C
 * divides x alone, add is 0: that turns only -0 into +0, which rounds to the
 * same level.
 */
export function roundLevels(
  x: usize,
  n: i32,
  add: f32,
  d: f32,
  lo: i32,
  hi: i32,
  offset: i32,
  levels: usize,
): void {
  const vAdd = f32x4.splat(add);
  const vD = f32x4.splat(d);
  const magic = f32x4.splat(12582912.0);
  const mantissa = i32x4.splat(0x007fffff);
  const bias = i32x4.splat(0x00400000);
  const low = i32x4.splat(lo);
  const high = i32x4.splat(hi);
  const vOffset = i32x4.splat(offset);
  for (let i = 0; i < n; i += 4) {
    const rounded = f32x4.add(f32x4.div(f32x4.add(v128.load(f32At(x, i)), vAdd), vD), magic);
    const l = i32x4.min_s(i32x4.max_s(i32x4.sub(v128.and(rounded, mantissa), bias), low), high);
    // The low byte of each lane, packed into four bytes.
    const bytes = i8x16.swizzle(
      i32x4.add(l, vOffset),
      i8x16(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1),
    );
    store<u32>(levels + <usize>i, i32x4.extract_lane(bytes, 0));
  }
}

// IEEE binary16 bits nearest to f (ties to even), infinity on overflow, 0x7e00 for NaN.
export function fp32ToFp16(f: f32): u32 {
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

export function fp16ToFp32(h: u32): f32 {
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

/** Stores GGML_FP32_TO_FP16(value) at `at` and returns what GGML_FP16_TO_FP32 reads back. */
export function storeHalf(at: usize, value: f32): f32 {
  const h = fp32ToFp16(value);
  store<u16>(at, <u16>h);
  return fp16ToFp32(h);
}

/** The sum of x*x over n floats, added in order. */
export function sumOfSquares(x: usize, n: i32): f32 {
  let sum: f32 = 0;
  for (let i = 0; i < n; i++) {
    const v = load<f32>(f32At(x, i));
    sum += v * v;
  }
  return sum;
}

/** Packs 256 two-bit levels four to a byte, as Q2_K and Q3_K store their qs. */
export function packTwoBitLevels(levels: usize, qs: usize): void {
  for (let j = 0; j < 256; j += 128) {
    for (let l = 0; l < 32; l++) {
      const at = levels + j + l;
      store<u8>(
        qs + (j >> 2) + l,
        load<u8>(at) | (load<u8>(at + 32) << 2) | (load<u8>(at + 64) << 4) | (load<u8>(at + 96) << 6),
      );
    }
  }
}

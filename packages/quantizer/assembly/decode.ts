// Source weights to float32, and the check llama-quantize's loader makes
// (no NaN or infinity): F16 and BF16 decode exactly, as GGML_FP16_TO_FP32 and
// ggml_bf16_to_fp32 do; F32 is only checked. Each returns the index of the
// first non-finite weight, or -1.

// 2^112: a half's exponent and mantissa, shifted into a float's bits, times
// this is the half's value (subnormals too: the float is then subnormal and
// the product exact).
const HALF_TO_FLOAT = f32x4.splat(5.192296858534828e33);

function halfToFloat(h: u32): f32 {
  const value = reinterpret<f32>((h & 0x7fff) << 13) * <f32>5.192296858534828e33;
  return reinterpret<f32>(reinterpret<u32>(value) | ((h & 0x8000) << 16));
}

/** F16 at src to F32 at dst, 8 at a time, the rest one by one. */
export function decodeF16(src: usize, dst: usize, count: i32): i32 {
  const magnitude = i32x4.splat(0x7fff);
  let bad = -1;
  const whole = count & ~7;
  for (let i = whole; i < count; i++) {
    const h = <u32>load<u16>(src + ((<usize>i) << 1));
    store<f32>(dst + ((<usize>i) << 2), halfToFloat(h));
    if (bad < 0 && (h & 0x7c00) == 0x7c00) bad = i;
  }
  for (let i = 0; i < whole; i += 8) {
    const halves = v128.load(src + ((<usize>i) << 1));
    if (
      (bad < 0 || bad >= whole) &&
      v128.any_true(i16x8.eq(v128.and(halves, i16x8.splat(0x7c00)), i16x8.splat(0x7c00)))
    ) {
      for (let k = 0; k < 8; k++) {
        if ((load<u16>(src + ((<usize>(i + k)) << 1)) & 0x7c00) == 0x7c00) {
          bad = i + k;
          break;
        }
      }
    }
    for (let half = 0; half < 2; half++) {
      const h = half == 0 ? i32x4.extend_low_i16x8_u(halves) : i32x4.extend_high_i16x8_u(halves);
      const value = f32x4.mul(i32x4.shl(v128.and(h, magnitude), 13), HALF_TO_FLOAT);
      const sign = i32x4.shl(v128.andnot(h, magnitude), 16);
      v128.store(dst + ((<usize>(i + 4 * half)) << 2), v128.or(value, sign));
    }
  }
  // A non-finite half decodes to garbage here: the caller reports it instead.
  return bad;
}

/** BF16 at src to F32 at dst (the bits shifted up), 8 at a time, the rest one by one. */
export function decodeBF16(src: usize, dst: usize, count: i32): i32 {
  let bad = -1;
  const whole = count & ~7;
  for (let i = whole; i < count; i++) {
    const h = <u32>load<u16>(src + ((<usize>i) << 1));
    store<u32>(dst + ((<usize>i) << 2), h << 16);
    if (bad < 0 && (h & 0x7f80) == 0x7f80) bad = i;
  }
  for (let i = 0; i < whole; i += 8) {
    const halves = v128.load(src + ((<usize>i) << 1));
    const low = i32x4.shl(i32x4.extend_low_i16x8_u(halves), 16);
    const high = i32x4.shl(i32x4.extend_high_i16x8_u(halves), 16);
    v128.store(dst + ((<usize>i) << 2), low);
    v128.store(dst + ((<usize>(i + 4)) << 2), high);
    if (
      (bad < 0 || bad >= whole) &&
      v128.any_true(i16x8.eq(v128.and(halves, i16x8.splat(0x7f80)), i16x8.splat(0x7f80)))
    ) {
      for (let k = 0; k < 8; k++) {
        if ((load<u16>(src + ((<usize>(i + k)) << 1)) & 0x7f80) == 0x7f80) {
          bad = i + k;
          break;
        }
      }
    }
  }
  return bad;
}

/** The first NaN or infinity among count F32 at src, 4 at a time, the rest one by one. */
export function checkF32(src: usize, count: i32): i32 {
  const exponent = i32x4.splat(0x7f800000);
  const whole = count & ~3;
  for (let i = 0; i < whole; i += 4) {
    const bits = v128.load(src + ((<usize>i) << 2));
    if (v128.any_true(i32x4.eq(v128.and(bits, exponent), exponent))) {
      for (let k = 0; k < 4; k++)
        if ((load<u32>(src + ((<usize>(i + k)) << 2)) & 0x7f800000) == 0x7f800000) return i + k;
    }
  }
  for (let i = whole; i < count; i++)
    if ((load<u32>(src + ((<usize>i) << 2)) & 0x7f800000) == 0x7f800000) return i;
  return -1;
}

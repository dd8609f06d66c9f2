// Conversions between float32 and the 16-bit formats stored in GGUF files.
// They reproduce ggml's semantics (ggml/src/ggml-impl.h): fp32 -> fp16
// rounds to nearest, ties to even, overflows to infinity and turns every NaN
// into the quiet NaN 0x7e00; fp16 -> fp32 and bf16 -> fp32 are exact.

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/**
 * The IEEE binary16 bits nearest to a float32 value, as ggml's
 * GGML_FP32_TO_FP16 computes them.
 *
 * @example
 * fp32ToFp16Bits(1); // 0x3c00
 */
export function fp32ToFp16Bits(value: number): number {
  scratchF32[0] = value;
  const bits = scratchU32[0];
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | (mantissa === 0 ? 0x7c00 : 0x7e00);
  const halfExponent = exponent - 112;
  if (halfExponent >= 0x1f) return sign | 0x7c00;
  if (halfExponent <= 0) {
    // A subnormal half (or zero): shift the mantissa with its implicit one.
    if (halfExponent < -10) return sign;
    const full = mantissa | 0x800000;
    const shift = 14 - halfExponent;
    const rest = full & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    let result = full >>> shift;
    if (rest > halfway || (rest === halfway && (result & 1) !== 0)) result += 1;
    return sign | result;
  }
  const rest = mantissa & 0x1fff;
  let result = (halfExponent << 10) | (mantissa >>> 13);
  // A carry out of the mantissa rolls into the exponent, which is the right rounding (up to infinity).
  if (rest > 0x1000 || (rest === 0x1000 && (result & 1) !== 0)) result += 1;
  return sign | result;
}

function buildFp16Table(): Float32Array {
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >>> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    if (exponent === 0) table[h] = sign * mantissa * 2 ** -24;
    else if (exponent === 0x1f) table[h] = mantissa ? NaN : sign * Infinity;
    else table[h] = sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
  }
  return table;
}

// Every half value, decoded once: a table lookup is the fastest exact decoder
// in JS. Built on first use: a quantization worker that decodes its input in
// WebAssembly never needs it, and building it takes a cold worker tens of ms.
let fp16Table: Float32Array | undefined;
const fp16ToFp32Table = (): Float32Array => (fp16Table ??= buildFp16Table());

/**
 * The float32 value of binary16 bits (exact).
 *
 * @example
 * fp16BitsToFp32(0x3c00); // 1
 */
export function fp16BitsToFp32(bits: number): number {
  return fp16ToFp32Table()[bits & 0xffff];
}

/** Writes `value` as little-endian fp16 at `dst[offset]` and returns the bits (a block's scale fields). */
export function storeFp16(dst: Uint8Array, offset: number, value: number): number {
  const h = fp32ToFp16Bits(value);
  dst[offset] = h & 0xff;
  dst[offset + 1] = h >>> 8;
  return h;
}

/** The float32 value of the little-endian fp16 at `src[offset]`. */
export function loadFp16(src: Uint8Array, offset: number): number {
  return fp16ToFp32Table()[src[offset] | (src[offset + 1] << 8)];
}

/** Decodes `count` little-endian fp16 values from `src` into `dst`. */
export function fp16ToFp32Row(src: Uint8Array, dst: Float32Array, count = dst.length): void {
  const table = fp16ToFp32Table();
  for (let i = 0, o = 0; i < count; i++, o += 2) dst[i] = table[src[o] | (src[o + 1] << 8)]!;
}

/** Encodes `src` as little-endian fp16 into `dst` (2 bytes per value). */
export function fp32ToFp16Row(src: Float32Array, dst: Uint8Array): void {
  for (let i = 0, o = 0; i < src.length; i++, o += 2) {
    const h = fp32ToFp16Bits(src[i]);
    dst[o] = h & 0xff;
    dst[o + 1] = h >>> 8;
  }
}

/** Decodes `count` little-endian bfloat16 values from `src` into `dst` (exact). */
export function bf16ToFp32Row(src: Uint8Array, dst: Float32Array, count = dst.length): void {
  const out = new Uint32Array(dst.buffer, dst.byteOffset, count);
  for (let i = 0, o = 0; i < count; i++, o += 2) out[i] = ((src[o] | (src[o + 1] << 8)) << 16) >>> 0;
}

// float32 -> bfloat16, the one float conversion @alki/quantizer does not
// carry (its fp16 helpers and bf16ToFp32Row are used for the rest). It
// follows ggml_compute_fp32_to_bf16 in ggml/src/ggml-impl.h: round to nearest
// even on the dropped 16 bits, and force NaN quiet.

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** The bfloat16 bits nearest to `value`, as ggml computes them. */
export function fp32ToBf16Bits(value: number): number {
  scratchF32[0] = value;
  const bits = scratchU32[0];
  if ((bits & 0x7fffffff) > 0x7f800000) return ((bits >>> 16) | 64) & 0xffff;
  return ((bits + (0x7fff + ((bits >>> 16) & 1))) >>> 16) & 0xffff;
}

/**
 * Encodes `src` as little-endian bfloat16 into `dst` (2 bytes per value).
 *
 * @example
 * const out = new Uint8Array(2);
 * fp32ToBf16Row(new Float32Array([1]), out); // out = [0x80, 0x3f]
 */
export function fp32ToBf16Row(src: Float32Array, dst: Uint8Array): void {
  for (let i = 0, o = 0; i < src.length; i++, o += 2) {
    const b = fp32ToBf16Bits(src[i]);
    dst[o] = b & 0xff;
    dst[o + 1] = b >>> 8;
  }
}

import { describe, expect, it } from '@jest/globals';
import { GgmlType, ggmlTypeInfo } from '@alki/gguf-reader';
import { BLOCK_FORMATS } from './block-types.js';

function gaussian(count: number, seed: number): Float32Array {
  let state = seed;
  const next = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 4294967296;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++)
    out[i] = Math.sqrt(-2 * Math.log(next() + 1e-12)) * Math.cos(2 * Math.PI * next());
  return out;
}

// Upper bounds on the dequantized RMSE of unit-variance Gaussian weights,
// from the step size of each format (RMSE ~ step / sqrt(12)) with headroom:
// 8 bits ~ 0.006, 6 bits ~ 0.02, 5 bits ~ 0.04, 4 bits ~ 0.09, 3 bits ~ 0.2,
// 2 bits ~ 0.4.
const RMSE_BOUND: Record<string, number> = {
  Q2_K: 0.5,
  Q3_K: 0.25,
  IQ4_NL: 0.12,
  IQ4_XS: 0.12,
  Q8_0: 0.01,
  Q6_K: 0.03,
  Q5_K: 0.06,
  Q5_0: 0.06,
  Q5_1: 0.06,
  Q4_K: 0.12,
  Q4_0: 0.12,
  Q4_1: 0.12,
};

describe('block formats', () => {
  it.each([...BLOCK_FORMATS.values()].map((f) => [f.name, f] as const))(
    '%s agrees with the GGUF type table on block size and bytes',
    (_name, format) => {
      const info = ggmlTypeInfo(format.type);
      expect([format.blockWeights, format.blockBytes]).toEqual([info.blockSize, info.typeSize]);
    },
  );

  it.each([...BLOCK_FORMATS.values()].map((f) => [f.name, f] as const))(
    '%s round-trips Gaussian weights within its RMSE bound',
    (name, format) => {
      const weights = gaussian(256 * 64, 42);
      const packed = new Uint8Array((weights.length / format.blockWeights) * format.blockBytes);
      format.quantize(weights, packed);
      const restored = new Float32Array(weights.length);
      format.dequantize(packed, restored);
      let sum = 0;
      for (let i = 0; i < weights.length; i++) sum += (weights[i] - restored[i]) ** 2;
      const rmse = Math.sqrt(sum / weights.length);
      expect(rmse).toBeGreaterThan(0);
      expect(rmse).toBeLessThan(RMSE_BOUND[name]);
    },
  );

  it.each([...BLOCK_FORMATS.values()].map((f) => [f.name, f] as const))(
    '%s turns all-zero blocks into zeros',
    (_name, format) => {
      const packed = new Uint8Array(format.blockBytes).fill(0xaa);
      format.quantize(new Float32Array(format.blockWeights), packed);
      const restored = new Float32Array(format.blockWeights).fill(1);
      format.dequantize(packed, restored);
      expect([...restored].every((v) => v === 0)).toBe(true);
    },
  );

  it('has all twelve types', () => {
    expect([...BLOCK_FORMATS.keys()].sort((a, b) => a - b)).toEqual(
      [
        GgmlType.Q4_0,
        GgmlType.Q4_1,
        GgmlType.Q5_0,
        GgmlType.Q5_1,
        GgmlType.Q8_0,
        GgmlType.Q2_K,
        GgmlType.Q3_K,
        GgmlType.IQ4_NL,
        GgmlType.IQ4_XS,
        GgmlType.Q4_K,
        GgmlType.Q5_K,
        GgmlType.Q6_K,
      ].sort((a, b) => a - b),
    );
  });
});

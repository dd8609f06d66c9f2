import { describe, expect, it } from '@jest/globals';
import { roundHalfAwayFromZero } from './c-rounding.js';
import { bf16ToFp32Row, fp16BitsToFp32, fp16ToFp32Row, fp32ToFp16Bits } from './fp16.js';

describe('fp32ToFp16Bits', () => {
  it('encodes exact values', () => {
    expect([1, -2, 0.5, 65504, 2 ** -14, 2 ** -24].map(fp32ToFp16Bits)).toEqual([
      0x3c00, 0xc000, 0x3800, 0x7bff, 0x0400, 0x0001,
    ]);
  });

  it('rounds halfway cases to even mantissas', () => {
    // 1 + 2^-11 lies halfway between 1 and 1 + 2^-10: even wins (1); 1 + 3 * 2^-11 rounds up to 1 + 2^-9.
    expect(fp32ToFp16Bits(1 + 2 ** -11)).toBe(0x3c00);
    expect(fp32ToFp16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    // Subnormal halfway: 2^-25 is half of the smallest subnormal, rounds to zero (even).
    expect(fp32ToFp16Bits(2 ** -25)).toBe(0);
    expect(fp32ToFp16Bits(3 * 2 ** -25)).toBe(0x0002);
  });

  it('overflows to infinity, keeps signed zero and makes every NaN 0x7e00 with its sign', () => {
    expect(fp32ToFp16Bits(65520)).toBe(0x7c00);
    expect(fp32ToFp16Bits(-1e10)).toBe(0xfc00);
    expect(fp32ToFp16Bits(-0)).toBe(0x8000);
    expect(fp32ToFp16Bits(Number.NaN)).toBe(0x7e00);
  });

  it('round-trips every finite half through fp16BitsToFp32', () => {
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7c00) === 0x7c00) continue;
      expect(fp32ToFp16Bits(fp16BitsToFp32(h))).toBe(h);
    }
  });
});

describe('row decoders', () => {
  it('decodes little-endian fp16 and bf16 rows', () => {
    const f16 = new Float32Array(2);
    fp16ToFp32Row(new Uint8Array([0x00, 0x3c, 0x00, 0xc0]), f16);
    expect([...f16]).toEqual([1, -2]);
    const bf16 = new Float32Array(2);
    bf16ToFp32Row(new Uint8Array([0x80, 0x3f, 0x40, 0xc0]), bf16);
    expect([...bf16]).toEqual([1, -3]);
  });
});

describe('C rounding', () => {
  it('roundHalfAwayFromZero rounds halves away from zero, like roundf', () => {
    expect([0.5, 1.5, 2.5, -0.5, -2.5, 2.4].map(roundHalfAwayFromZero)).toEqual([1, 2, 3, -1, -3, 2]);
  });
});

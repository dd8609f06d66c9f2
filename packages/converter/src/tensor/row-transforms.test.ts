import { describe, expect, it } from '@jest/globals';
import { permuteHeadRows } from './row-transforms.js';
import { fp32ToBf16Bits, fp32ToBf16Row } from './bf16.js';

describe('permuteHeadRows', () => {
  it('interleaves the two rotary halves of each head, as reshape(h, 2, n/2).swapaxes(1, 2) does', () => {
    // Two heads of 4 rows, one byte per row: head rows [a0 a1 b0 b1] become [a0 b0 a1 b1].
    const rows = new Uint8Array([0, 1, 2, 3, 10, 11, 12, 13]);
    permuteHeadRows(rows, 8, 1, 4);
    expect([...rows]).toEqual([0, 2, 1, 3, 10, 12, 11, 13]);
  });

  it('moves whole rows of any width', () => {
    const rows = new Uint8Array([1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6]);
    permuteHeadRows(rows, 6, 2, 6);
    expect([...rows]).toEqual([1, 1, 4, 4, 2, 2, 5, 5, 3, 3, 6, 6]);
  });
});

describe('fp32ToBf16Row', () => {
  it('rounds to nearest even and keeps NaN a quiet NaN', () => {
    expect(fp32ToBf16Bits(1)).toBe(0x3f80);
    // 1 + 2^-8 is exactly halfway between two bf16 values: ties go to the even one (1.0).
    expect(fp32ToBf16Bits(1 + 2 ** -8)).toBe(0x3f80);
    expect(fp32ToBf16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(fp32ToBf16Bits(-2)).toBe(0xc000);
    expect(fp32ToBf16Bits(NaN) & 0x7fc0).toBe(0x7fc0);
    const out = new Uint8Array(4);
    fp32ToBf16Row(new Float32Array([1, -2]), out);
    expect([...out]).toEqual([0x80, 0x3f, 0x00, 0xc0]);
  });
});

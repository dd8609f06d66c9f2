// The 32-weight block quantizers with an importance matrix:
// quantize_row_q{4,5}_{0,1}_impl in ggml/src/ggml-quants.c. (Without one,
// llama-quantize calls the _ref functions, which src/blocks/q*_{0,1}.ts
// implement in JS.)
import { f32At, LEVELS, storeHalf, sumOfSquares, WEIGHTS } from './common';
import { lastMin, makeQkxQuants, makeQxQuants } from './search';

// weight[j] = qw[j] * sqrt(sigma2 + x[j]^2) for one 32-weight block.
function blockWeights(xb: usize, qw: usize, sigma2: f32): void {
  for (let j = 0; j < 32; j++) {
    const v = load<f32>(f32At(xb, j));
    store<f32>(f32At(WEIGHTS, j), load<f32>(f32At(qw, j)) * Mathf.sqrt(sigma2 + v * v));
  }
}

function packNibbles(qs: usize): void {
  for (let j = 0; j < 16; j++) store<u8>(qs + j, load<u8>(LEVELS + j) | (load<u8>(LEVELS + j + 16) << 4));
}

// The low nibbles to qs and the fifth bits to the 32-bit qh, as Q5_0 and Q5_1 store them.
function packFiveBits(qh: usize, qs: usize): void {
  let bits: u32 = 0;
  for (let j = 0; j < 16; j++) {
    const x0 = <u32>load<u8>(LEVELS + j);
    const x1 = <u32>load<u8>(LEVELS + j + 16);
    store<u8>(qs + j, <u8>((x0 & 0x0f) | ((x1 & 0x0f) << 4)));
    bits |= ((x0 & 0x10) >> 4) << j;
    bits |= ((x1 & 0x10) >> 4) << (j + 16);
  }
  store<u32>(qh, bits);
}

// One kernel for the four types: `kind` 0 = Q4_0, 1 = Q4_1, 2 = Q5_0, 3 = Q5_1.
function quantizeLegacyWeighted(kind: i32, x: usize, y: usize, rows: i32, perRow: i32, qw: usize): void {
  const blockBytes: i32 = kind == 0 ? 18 : kind == 1 ? 20 : kind == 2 ? 22 : 24;
  const blocks = perRow / 32;
  for (let row = 0; row < rows; row++) {
    const xr = f32At(x, row * perRow);
    const sigma2: f32 = sumOfSquares(xr, perRow) / <f32>perRow;
    for (let ib = 0; ib < blocks; ib++) {
      const xb = f32At(xr, 32 * ib);
      const yb = y + <usize>(blockBytes * (row * blocks + ib));
      blockWeights(xb, f32At(qw, 32 * ib), sigma2);
      if (kind == 0 || kind == 2) {
        storeHalf(yb, makeQxQuants(32, kind == 0 ? 8 : 16, xb, LEVELS, WEIGHTS));
        if (kind == 0) packNibbles(yb + 2);
        else packFiveBits(yb + 2, yb + 6);
      } else {
        const d = makeQkxQuants(32, kind == 1 ? 15 : 31, xb, WEIGHTS, LEVELS, -0.9, 0.05, 36, false);
        storeHalf(yb, d);
        storeHalf(yb + 2, -lastMin);
        if (kind == 1) packNibbles(yb + 4);
        else packFiveBits(yb + 4, yb + 8);
      }
    }
  }
}

/** quantize_row_q4_0_impl: `rows` rows of `perRow` floats at x, importance at qw. */
export function quantizeQ4_0Weighted(x: usize, y: usize, rows: i32, perRow: i32, qw: usize): void {
  quantizeLegacyWeighted(0, x, y, rows, perRow, qw);
}

/** quantize_row_q4_1_impl. */
export function quantizeQ4_1Weighted(x: usize, y: usize, rows: i32, perRow: i32, qw: usize): void {
  quantizeLegacyWeighted(1, x, y, rows, perRow, qw);
}

/** quantize_row_q5_0_impl. */
export function quantizeQ5_0Weighted(x: usize, y: usize, rows: i32, perRow: i32, qw: usize): void {
  quantizeLegacyWeighted(2, x, y, rows, perRow, qw);
}

/** quantize_row_q5_1_impl. */
export function quantizeQ5_1Weighted(x: usize, y: usize, rows: i32, perRow: i32, qw: usize): void {
  quantizeLegacyWeighted(3, x, y, rows, perRow, qw);
}

// The 4-bit non-linear quantizers IQ4_NL and IQ4_XS: quantize_row_iq4_nl_impl
// as quantize_iq4_nl and quantize_iq4_xs call it (ntry 7, with or without an
// importance matrix), in ggml/src/ggml-quants.c.
import { f32At, fp32ToFp16, GROUP_MAX_EPS, LANES, LEVELS, nearestInt, SCALES, WEIGHTS } from './common';
import { signedMax } from './search';

// kvalues_iq4nl (ggml/src/ggml-common.h), as floats: C compares them with floats.
const VALUES = memory.data<f32>([-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113]);

function value(i: i32): f32 {
  return load<f32>(VALUES + ((<usize>i) << 2));
}

// The values as int8 bytes, for a table lookup with i8x16.swizzle.
const TABLE = i8x16(-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113);

// The values at four indices (0..15), as floats.
function valuesAt(index: v128): v128 {
  // The upper three bytes of each lane index past the table, which swizzle reads as 0.
  const bytes = i8x16.swizzle(TABLE, v128.or(index, i32x4.splat(0x80808000)));
  return f32x4.convert_i32x4_s(i32x4.shr_s(i32x4.shl(bytes, 24), 24));
}

// best_index_int8 for four floats at once: the index of the nearest value,
// the lower one when x is not nearer the upper (x - lower < upper - x in
// float, as C compares). The binary search ends at the last value <= x; here
// those are counted. A NaN ends the search at the top, as in C.
function bestIndex4(x: v128): v128 {
  let below = i32x4.splat(0);
  for (let k = 1; k < 15; k++) below = i32x4.sub(below, f32x4.le(f32x4.splat(value(k)), x));
  const upper = i32x4.add(below, i32x4.splat(1));
  const lower = f32x4.lt(f32x4.sub(x, valuesAt(below)), f32x4.sub(valuesAt(upper), x));
  let index = v128.bitselect(below, upper, lower);
  index = v128.bitselect(i32x4.splat(0), index, f32x4.le(x, f32x4.splat(value(0))));
  const top = v128.or(f32x4.ge(x, f32x4.splat(value(15))), f32x4.ne(x, x));
  return v128.bitselect(i32x4.splat(15), index, top);
}

// Levels (u8) at `levels` for n floats at x scaled by id, four at a time.
function indexAll(x: usize, n: i32, id: f32, levels: usize): void {
  const vId = f32x4.splat(id);
  for (let j = 0; j < n; j += 4) {
    const index = bestIndex4(f32x4.mul(vId, v128.load(f32At(x, j))));
    // The low byte of each lane, packed into four bytes.
    store<u32>(
      levels + j,
      i32x4.extract_lane(
        i8x16.swizzle(index, i8x16(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1)),
        0,
      ),
    );
  }
}

// quantize_row_iq4_nl_impl with ntry = 7 for one super-block of `superSize`
// weights (32 for IQ4_NL, 256 for IQ4_XS) in blocks of 32; qw = 0 when there
// is no importance matrix. Writes d at dh, the quants at q4, and for IQ4_XS
// the 6-bit block scales at scalesH (u16) and scalesL (u8[4]).
function quantizeSuperBlock(
  superSize: i32,
  x: usize,
  dh: usize,
  q4: usize,
  scalesH: usize,
  scalesL: usize,
  qw: usize,
): void {
  let sigma2: f32 = 0;
  for (let j = 0; j < superSize; j++) {
    const v = load<f32>(f32At(x, j));
    sigma2 += v * v;
  }
  sigma2 *= <f32>2 / <f32>superSize;
  memory.fill(q4, 0, superSize >> 1);
  store<u16>(dh, 0);
  let maxScale: f32 = 0;
  let amaxScale: f32 = 0;
  const blocks = superSize >> 5;
  for (let ib = 0; ib < blocks; ib++) {
    const xb = f32At(x, 32 * ib);
    const lb = LEVELS + 32 * ib;
    for (let j = 0; j < 32; j++) {
      const v = load<f32>(f32At(xb, j));
      const w: f32 = qw ? load<f32>(f32At(qw, 32 * ib + j)) * Mathf.sqrt(sigma2 + v * v) : v * v;
      store<f32>(f32At(WEIGHTS, j), w);
    }
    const max = signedMax(xb, 32);
    if (Mathf.abs(max) < GROUP_MAX_EPS) {
      store<f32>(f32At(SCALES, ib), 0);
      continue;
    }
    let d: f32 = -max / value(0);
    indexAll(xb, 32, 1 / d, lb);
    let sumQX: f32 = 0;
    let sumQ2: f32 = 0;
    for (let j = 0; j < 32; j++) {
      const v = load<f32>(f32At(xb, j));
      const q = value(load<u8>(lb + j));
      const w = load<f32>(f32At(WEIGHTS, j));
      sumQX += w * q * v;
      sumQ2 += w * q * q;
    }
    d = sumQ2 > 0 ? sumQX / sumQ2 : 0;
    let best: f32 = d * sumQX;
    // The 15 tries, four at a time, one per SIMD lane; each lane sums in C's
    // order, and the tries are compared with the best in order.
    for (let first = 0; first < 15; first += 4) {
      for (let k = 0; k < 4; k++) store<f32>(f32At(LANES, k), <f32>(first + k - 7 + -127) / max);
      const vId = v128.load(LANES);
      let vSumQX = f32x4.splat(0);
      let vSumQ2 = f32x4.splat(0);
      for (let j: usize = 0; j < 128; j += 4) {
        const v = v128.load32_splat(xb + j);
        const q = valuesAt(bestIndex4(f32x4.mul(vId, v)));
        const wq = f32x4.mul(v128.load32_splat(WEIGHTS + j), q);
        vSumQX = f32x4.add(vSumQX, f32x4.mul(wq, v));
        vSumQ2 = f32x4.add(vSumQ2, f32x4.mul(wq, q));
      }
      v128.store(LANES, vSumQX);
      v128.store(LANES + 16, vSumQ2);
      const tries = 15 - first < 4 ? 15 - first : 4;
      for (let k = 0; k < tries; k++) {
        sumQX = load<f32>(f32At(LANES, k));
        sumQ2 = load<f32>(f32At(LANES + 16, k));
        if (sumQ2 > 0 && sumQX * sumQX > best * sumQ2) {
          d = sumQX / sumQ2;
          best = d * sumQX;
        }
      }
    }
    store<f32>(f32At(SCALES, ib), d);
    const absD = Mathf.abs(d);
    if (absD > amaxScale) {
      amaxScale = absD;
      maxScale = d;
    }
  }
  if (blocks > 1) {
    store<u16>(scalesH, 0);
    const d: f32 = -maxScale / 32;
    const dBits = fp32ToFp16(d);
    store<u16>(dh, <u16>dBits);
    const id: f32 = d != 0 ? 1 / d : 0;
    for (let ib = 0; ib < blocks; ib++) {
      let l = nearestInt(id * load<f32>(f32At(SCALES, ib)));
      l = l < -32 ? -32 : l > 31 ? 31 : l;
      const dl: f32 = d * <f32>l;
      const idl: f32 = dl != 0 ? 1 / dl : 0;
      const lb = LEVELS + 32 * ib;
      const xb = f32At(x, 32 * ib);
      indexAll(xb, 32, idl, lb);
      l += 32;
      const low = <u8>(l & 0xf);
      const high = <u32>(l >> 4);
      if ((ib & 1) == 0) store<u8>(scalesL + (ib >> 1), low);
      else store<u8>(scalesL + (ib >> 1), load<u8>(scalesL + (ib >> 1)) | (low << 4));
      store<u16>(scalesH, <u16>((<u32>load<u16>(scalesH)) | (high << (2 * (ib & 7)))));
    }
  } else {
    const scale = load<f32>(SCALES);
    store<u16>(dh, <u16>fp32ToFp16(scale));
    const id: f32 = scale != 0 ? 1 / scale : 0;
    indexAll(x, superSize, id, LEVELS);
  }
  for (let i = 0; i < superSize >> 5; i++) {
    for (let j = 0; j < 16; j++) {
      store<u8>(q4 + 16 * i + j, load<u8>(LEVELS + 32 * i + j) | (load<u8>(LEVELS + 32 * i + 16 + j) << 4));
    }
  }
}

/** quantize_iq4_nl: `rows` rows of `perRow` floats at x, 18-byte blocks at y; importance at qw, or qw = 0. */
export function quantizeIQ4NL(x: usize, y: usize, rows: i32, perRow: i32, qw: usize): void {
  const blocks = perRow >> 5;
  for (let row = 0; row < rows; row++) {
    for (let ib = 0; ib < blocks; ib++) {
      const yb = y + <usize>(18 * (row * blocks + ib));
      quantizeSuperBlock(32, f32At(x, row * perRow + 32 * ib), yb, yb + 2, 0, 0, qw ? f32At(qw, 32 * ib) : 0);
    }
  }
}

/** quantize_iq4_xs: `rows` rows of `perRow` floats at x, 136-byte blocks at y; importance at qw, or qw = 0. */
export function quantizeIQ4XS(x: usize, y: usize, rows: i32, perRow: i32, qw: usize): void {
  const blocks = perRow >> 8;
  for (let row = 0; row < rows; row++) {
    for (let ib = 0; ib < blocks; ib++) {
      const yb = y + <usize>(136 * (row * blocks + ib));
      quantizeSuperBlock(
        256,
        f32At(x, row * perRow + 256 * ib),
        yb,
        yb + 8,
        yb + 2,
        yb + 4,
        qw ? f32At(qw, 256 * ib) : 0,
      );
    }
  }
}

// The k-quant block quantizers (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K), without an
// importance matrix (quantize_row_q{2,3,4,5,6}_K_ref, which llama-quantize
// calls when it has none) and with one (quantize_row_q{2,3,4,5,6}_K_impl),
// following ggml/src/ggml-quants.c operation for operation.
import {
  f32At,
  fp16ToFp32,
  LEVELS,
  LM,
  LS,
  MINS,
  nearestInt,
  packTwoBitLevels,
  roundLevels,
  SCALES,
  storeHalf,
  SUM_WEIGHTS,
  sumOfSquares,
  WEIGHTS,
} from './common';
import { lastMin, makeQ3Quants4, makeQkxQuants, makeQpQuants, makeQxQuants } from './search';

const Q2_K_BYTES = 84;
const Q3_K_BYTES = 110;
const Q4_K_BYTES = 144;
const Q5_K_BYTES = 176;
const Q6_K_BYTES = 210;

// ---------------------------------------------------------------- Q2_K

// The tail both Q2_K quantizers share: levels from the packed 4-bit scales and
// mins, packed four to a byte.
function finishQ2K(x: usize, y: usize): void {
  const d16 = fp16ToFp32(load<u16>(y + 80));
  const m16 = fp16ToFp32(load<u16>(y + 82));
  for (let j = 0; j < 16; j++) {
    const sc = <u32>load<u8>(y + j);
    const d: f32 = d16 * <f32>(sc & 0xf);
    if (d == 0) continue;
    const dm: f32 = m16 * <f32>(sc >> 4);
    roundLevels(f32At(x, 16 * j), 16, dm, d, 0, 3, 0, LEVELS + 16 * j);
  }
  packTwoBitLevels(LEVELS, y + 16);
}

/** quantize_row_q2_K_ref over `blocks` super-blocks: floats at x, 84-byte blocks at y. */
export function quantizeQ2K(x: usize, y: usize, blocks: i32): void {
  const q4scale: f32 = 15;
  for (let i = 0; i < blocks; i++) {
    const xb = f32At(x, 256 * i);
    const yb = y + <usize>(Q2_K_BYTES * i);
    let maxScale: f32 = 0;
    let maxMin: f32 = 0;
    for (let j = 0; j < 16; j++) {
      const xs = f32At(xb, 16 * j);
      for (let l = 0; l < 16; l++) store<f32>(f32At(WEIGHTS, l), Mathf.abs(load<f32>(f32At(xs, l))));
      const scale = makeQkxQuants(16, 3, xs, WEIGHTS, LEVELS + 16 * j, -0.5, 0.1, 15, true);
      store<f32>(f32At(SCALES, j), scale);
      store<f32>(f32At(MINS, j), lastMin);
      if (scale > maxScale) maxScale = scale;
      if (lastMin > maxMin) maxMin = lastMin;
    }
    if (maxScale > 0) {
      const iscale: f32 = q4scale / maxScale;
      for (let j = 0; j < 16; j++) store<u8>(yb + j, <u8>nearestInt(iscale * load<f32>(f32At(SCALES, j))));
      storeHalf(yb + 80, maxScale / q4scale);
    } else {
      for (let j = 0; j < 16; j++) store<u8>(yb + j, 0);
      storeHalf(yb + 80, 0);
    }
    if (maxMin > 0) {
      const iscale: f32 = q4scale / maxMin;
      for (let j = 0; j < 16; j++) {
        const l = nearestInt(iscale * load<f32>(f32At(MINS, j)));
        store<u8>(yb + j, load<u8>(yb + j) | (<u8>(l << 4)));
      }
      storeHalf(yb + 82, maxMin / q4scale);
    } else {
      storeHalf(yb + 82, 0);
    }
    finishQ2K(xb, yb);
  }
}

/** quantize_row_q2_K_impl: `rows` rows of `perRow` floats at x, importance (perRow floats) at qw. */
export function quantizeQ2KWeighted(x: usize, y: usize, rows: i32, perRow: i32, qw: usize): void {
  const blocks = perRow / 256;
  for (let row = 0; row < rows; row++) {
    for (let i = 0; i < blocks; i++) {
      const xb = f32At(x, row * perRow + 256 * i);
      const yb = y + <usize>(Q2_K_BYTES * (row * blocks + i));
      const sigma2: f32 = sumOfSquares(xb, 256) / 256;
      for (let j = 0; j < 16; j++) {
        const xs = f32At(xb, 16 * j);
        const qs = f32At(qw, 256 * i + 16 * j);
        let sumW: f32 = 0;
        for (let l = 0; l < 16; l++) {
          const v = load<f32>(f32At(xs, l));
          const w: f32 = load<f32>(f32At(qs, l)) * Mathf.sqrt(sigma2 + v * v);
          store<f32>(f32At(WEIGHTS, l), w);
        }
        for (let l = 0; l < 16; l++) sumW += load<f32>(f32At(WEIGHTS, l));
        store<f32>(f32At(SUM_WEIGHTS, j), sumW);
        store<f32>(
          f32At(SCALES, j),
          makeQkxQuants(16, 3, xs, WEIGHTS, LEVELS + 16 * j, -0.9, 0.05, 36, false),
        );
        store<f32>(f32At(MINS, j), lastMin);
      }
      const dm = makeQpQuants(16, 15, SCALES, LS, SUM_WEIGHTS);
      const mm = makeQpQuants(16, 15, MINS, LM, SUM_WEIGHTS);
      storeHalf(yb + 80, dm);
      storeHalf(yb + 82, mm);
      for (let j = 0; j < 16; j++) store<u8>(yb + j, load<u8>(LS + j) | (load<u8>(LM + j) << 4));
      finishQ2K(xb, yb);
    }
  }
}

// ---------------------------------------------------------------- Q3_K

// Packs the sixteen 6-bit scales (offset by 32, at LS as u8) into the 12 scale bytes at s.
function packQ3KScales(s: usize): void {
  memory.fill(s, 0, 12);
  for (let j = 0; j < 16; j++) {
    let l = <u32>load<u8>(LS + j);
    if (j < 8) store<u8>(s + j, <u8>(l & 0xf));
    else store<u8>(s + j - 8, load<u8>(s + j - 8) | (<u8>((l & 0xf) << 4)));
    l >>= 4;
    const at = s + 8 + (j & 3);
    store<u8>(at, load<u8>(at) | (<u8>(l << (2 * (j >> 2)))));
  }
}

// The tail both Q3_K quantizers share: levels from the packed scales, the
// high bits to hmask and the low two bits to qs.
function finishQ3K(x: usize, y: usize): void {
  const s = y + 96;
  const dAll = fp16ToFp32(load<u16>(y + 108));
  for (let j = 0; j < 16; j++) {
    let sc = j < 8 ? <i32>(load<u8>(s + j) & 0xf) : <i32>(load<u8>(s + j - 8) >> 4);
    sc = <i32>(<i8>((sc | ((((<i32>load<u8>(s + 8 + (j & 3))) >> (2 * (j >> 2))) & 3) << 4)) - 32));
    const d: f32 = dAll * <f32>sc;
    if (d == 0) continue;
    roundLevels(f32At(x, 16 * j), 16, 0, d, -4, 3, 4, LEVELS + 16 * j);
  }
  memory.fill(y, 0, 32);
  let m = 0;
  let hm: u8 = 1;
  for (let j = 0; j < 256; j++) {
    const l = load<i8>(LEVELS + j);
    if (l > 3) {
      store<u8>(y + m, load<u8>(y + m) | hm);
      store<i8>(LEVELS + j, l - 4);
    }
    if (++m == 32) {
      m = 0;
      hm <<= 1;
    }
  }
  packTwoBitLevels(LEVELS, y + 32);
}

/** quantize_row_q3_K_ref over `blocks` super-blocks: floats at x, 110-byte blocks at y. */
export function quantizeQ3K(x: usize, y: usize, blocks: i32): void {
  for (let i = 0; i < blocks; i++) {
    const xb = f32At(x, 256 * i);
    const yb = y + <usize>(Q3_K_BYTES * i);
    let maxScale: f32 = 0;
    let amax: f32 = 0;
    for (let j = 0; j < 16; j += 4) makeQ3Quants4(f32At(xb, 16 * j), LEVELS + 16 * j, f32At(SCALES, j));
    for (let j = 0; j < 16; j++) {
      const scale = load<f32>(f32At(SCALES, j));
      const a = Mathf.abs(scale);
      if (a > amax) {
        amax = a;
        maxScale = scale;
      }
    }
    if (maxScale != 0) {
      const iscale: f32 = -32 / maxScale;
      for (let j = 0; j < 16; j++) {
        // C stores nearest_int's result in an int8_t before clamping.
        let l = <i32>(<i8>nearestInt(iscale * load<f32>(f32At(SCALES, j))));
        l = (l < -32 ? -32 : l > 31 ? 31 : l) + 32;
        store<u8>(LS + j, <u8>l);
      }
      packQ3KScales(yb + 96);
      storeHalf(yb + 108, 1 / iscale);
    } else {
      memory.fill(yb + 96, 0, 12);
      storeHalf(yb + 108, 0);
    }
    finishQ3K(xb, yb);
  }
}

/** quantize_row_q3_K_impl: `rows` rows of `perRow` floats at x, importance at qw. */
export function quantizeQ3KWeighted(x: usize, y: usize, rows: i32, perRow: i32, qw: usize): void {
  const blocks = perRow / 256;
  for (let row = 0; row < rows; row++) {
    for (let i = 0; i < blocks; i++) {
      const xb = f32At(x, row * perRow + 256 * i);
      const yb = y + <usize>(Q3_K_BYTES * (row * blocks + i));
      const sigma2: f32 = (2 * sumOfSquares(xb, 256)) / 256;
      for (let j = 0; j < 16; j++) {
        const xs = f32At(xb, 16 * j);
        const qs = f32At(qw, 256 * i + 16 * j);
        for (let l = 0; l < 16; l++) {
          const v = load<f32>(f32At(xs, l));
          store<f32>(f32At(WEIGHTS, l), load<f32>(f32At(qs, l)) * Mathf.sqrt(sigma2 + v * v));
        }
        let sumW: f32 = 0;
        for (let l = 0; l < 16; l++) sumW += load<f32>(f32At(WEIGHTS, l));
        store<f32>(f32At(SUM_WEIGHTS, j), sumW);
        store<f32>(f32At(SCALES, j), makeQxQuants(16, 4, xs, LEVELS + 16 * j, WEIGHTS));
      }
      const dBlock = makeQxQuants(16, 32, SCALES, LS, SUM_WEIGHTS);
      packQ3KScales(yb + 96);
      storeHalf(yb + 108, dBlock);
      finishQ3K(xb, yb);
    }
  }
}

// ---------------------------------------------------------------- Q4_K and Q5_K

// Packs eight 6-bit scales and mins (at LS and LM) into the 12 bytes at s.
function packK4Scales(s: usize): void {
  for (let j = 0; j < 8; j++) {
    const ls = load<u8>(LS + j);
    const lm = load<u8>(LM + j);
    if (j < 4) {
      store<u8>(s + j, ls);
      store<u8>(s + j + 4, lm);
    } else {
      store<u8>(s + j + 4, (ls & 0xf) | ((lm & 0xf) << 4));
      store<u8>(s + j - 4, load<u8>(s + j - 4) | ((ls >> 4) << 6));
      store<u8>(s + j, load<u8>(s + j) | ((lm >> 4) << 6));
    }
  }
}

// get_scale_min_k4, packed: scale in the low byte, min in the next.
function scaleMinK4(j: i32, q: usize): u32 {
  if (j < 4) return ((<u32>load<u8>(q + j)) & 63) | (((<u32>load<u8>(q + j + 4)) & 63) << 8);
  const sc = ((<u32>load<u8>(q + j + 4)) & 0xf) | (((<u32>load<u8>(q + j - 4)) >> 6) << 4);
  const m = ((<u32>load<u8>(q + j + 4)) >> 4) | (((<u32>load<u8>(q + j)) >> 6) << 4);
  return sc | (m << 8);
}

// The final levels of Q4_K and Q5_K from the stored d, dmin and scales.
function finalLevelsK4(x: usize, y: usize, nmax: i32): void {
  const d16 = fp16ToFp32(load<u16>(y));
  const m16 = fp16ToFp32(load<u16>(y + 2));
  for (let j = 0; j < 8; j++) {
    const packed = scaleMinK4(j, y + 4);
    const d: f32 = d16 * <f32>(packed & 0xff);
    if (d == 0) continue;
    const dm: f32 = m16 * <f32>(packed >> 8);
    roundLevels(f32At(x, 32 * j), 32, dm, d, 0, nmax, 0, LEVELS + 32 * j);
  }
}

// The front half of quantize_row_q4_K_ref and quantize_row_q5_K_ref: d, dmin
// and the 12 packed scale bytes at y, final levels at LEVELS.
function scalesAndMinsRef(x: usize, y: usize, nmax: i32, rmin: f32, nstep: i32): void {
  let maxScale: f32 = 0;
  let maxMin: f32 = 0;
  for (let j = 0; j < 8; j++) {
    const xb = f32At(x, 32 * j);
    const avX: f32 = Mathf.sqrt(sumOfSquares(xb, 32) / 32);
    for (let l = 0; l < 32; l++) store<f32>(f32At(WEIGHTS, l), avX + Mathf.abs(load<f32>(f32At(xb, l))));
    const scale = makeQkxQuants(32, nmax, xb, WEIGHTS, LEVELS + 32 * j, rmin, 0.1, nstep, false);
    store<f32>(f32At(SCALES, j), scale);
    store<f32>(f32At(MINS, j), lastMin);
    if (scale > maxScale) maxScale = scale;
    if (lastMin > maxMin) maxMin = lastMin;
  }
  const invScale: f32 = maxScale > 0 ? 63 / maxScale : 0;
  const invMin: f32 = maxMin > 0 ? 63 / maxMin : 0;
  for (let j = 0; j < 8; j++) {
    const ls = <u8>nearestInt(invScale * load<f32>(f32At(SCALES, j)));
    const lm = <u8>nearestInt(invMin * load<f32>(f32At(MINS, j)));
    store<u8>(LS + j, ls > 63 ? 63 : ls);
    store<u8>(LM + j, lm > 63 ? 63 : lm);
  }
  packK4Scales(y + 4);
  storeHalf(y, maxScale / 63);
  storeHalf(y + 2, maxMin / 63);
  finalLevelsK4(x, y, nmax);
}

// The front half of quantize_row_q4_K_impl and quantize_row_q5_K_impl (Q5_K
// caps the scale levels at 63, Q4_K does not).
function scalesAndMinsWeighted(x: usize, y: usize, nmax: i32, qw: usize, capAt63: bool): void {
  const sigma2: f32 = (2 * sumOfSquares(x, 256)) / 256;
  for (let j = 0; j < 8; j++) {
    const xb = f32At(x, 32 * j);
    const qs = f32At(qw, 32 * j);
    for (let l = 0; l < 32; l++) {
      const v = load<f32>(f32At(xb, l));
      store<f32>(f32At(WEIGHTS, l), load<f32>(f32At(qs, l)) * Mathf.sqrt(sigma2 + v * v));
    }
    let sumW: f32 = 0;
    for (let l = 0; l < 32; l++) sumW += load<f32>(f32At(WEIGHTS, l));
    store<f32>(f32At(SUM_WEIGHTS, j), sumW);
    store<f32>(
      f32At(SCALES, j),
      makeQkxQuants(32, nmax, xb, WEIGHTS, LEVELS + 32 * j, -0.9, 0.05, 36, false),
    );
    store<f32>(f32At(MINS, j), lastMin);
  }
  const dBlock = makeQpQuants(8, 63, SCALES, LS, SUM_WEIGHTS);
  const mBlock = makeQpQuants(8, 63, MINS, LM, SUM_WEIGHTS);
  if (capAt63) {
    for (let j = 0; j < 8; j++) {
      if (load<u8>(LS + j) > 63) store<u8>(LS + j, 63);
      if (load<u8>(LM + j) > 63) store<u8>(LM + j, 63);
    }
  }
  packK4Scales(y + 4);
  storeHalf(y, dBlock);
  storeHalf(y + 2, mBlock);
  finalLevelsK4(x, y, nmax);
}

function packQ4K(y: usize): void {
  let q = y + 16;
  for (let j = 0; j < 256; j += 64) {
    for (let l = 0; l < 32; l++)
      store<u8>(q + l, load<u8>(LEVELS + j + l) | (load<u8>(LEVELS + j + l + 32) << 4));
    q += 32;
  }
}

function packQ5K(y: usize): void {
  const qh = y + 16;
  let ql = y + 48;
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

/** quantize_row_q4_K_ref over `blocks` super-blocks: floats at x, 144-byte blocks at y. */
export function quantizeQ4K(x: usize, y: usize, blocks: i32): void {
  for (let i = 0; i < blocks; i++) {
    const yb = y + <usize>(Q4_K_BYTES * i);
    scalesAndMinsRef(f32At(x, 256 * i), yb, 15, -1, 20);
    packQ4K(yb);
  }
}

/** quantize_row_q4_K_impl: `rows` rows of `perRow` floats at x, importance at qw. */
export function quantizeQ4KWeighted(x: usize, y: usize, rows: i32, perRow: i32, qw: usize): void {
  const blocks = perRow / 256;
  for (let row = 0; row < rows; row++) {
    for (let i = 0; i < blocks; i++) {
      const yb = y + <usize>(Q4_K_BYTES * (row * blocks + i));
      scalesAndMinsWeighted(f32At(x, row * perRow + 256 * i), yb, 15, f32At(qw, 256 * i), false);
      packQ4K(yb);
    }
  }
}

/** quantize_row_q5_K_ref over `blocks` super-blocks: floats at x, 176-byte blocks at y. */
export function quantizeQ5K(x: usize, y: usize, blocks: i32): void {
  for (let i = 0; i < blocks; i++) {
    const yb = y + <usize>(Q5_K_BYTES * i);
    scalesAndMinsRef(f32At(x, 256 * i), yb, 31, -0.5, 15);
    packQ5K(yb);
  }
}

/** quantize_row_q5_K_impl: `rows` rows of `perRow` floats at x, importance at qw. */
export function quantizeQ5KWeighted(x: usize, y: usize, rows: i32, perRow: i32, qw: usize): void {
  const blocks = perRow / 256;
  for (let row = 0; row < rows; row++) {
    for (let i = 0; i < blocks; i++) {
      const yb = y + <usize>(Q5_K_BYTES * (row * blocks + i));
      scalesAndMinsWeighted(f32At(x, row * perRow + 256 * i), yb, 31, f32At(qw, 256 * i), true);
      packQ5K(yb);
    }
  }
}

// ---------------------------------------------------------------- Q6_K

// One Q6_K super-block; the sub-block search weighs by qw when given
// (quantize_row_q6_K_impl passes the importance as is), by x^2 otherwise.
function quantizeQ6KBlock(xb: usize, yb: usize, qw: usize): void {
  let maxScale: f32 = 0;
  let maxAbsScale: f32 = 0;
  for (let ib = 0; ib < 16; ib++) {
    const scale = makeQxQuants(16, 32, f32At(xb, 16 * ib), LEVELS + 16 * ib, qw ? f32At(qw, 16 * ib) : 0);
    store<f32>(f32At(SCALES, ib), scale);
    const abs = Mathf.abs(scale);
    if (abs > maxAbsScale) {
      maxAbsScale = abs;
      maxScale = scale;
    }
  }
  if (maxAbsScale < 1e-15) {
    memory.fill(yb, 0, Q6_K_BYTES);
    return;
  }
  const iscale: f32 = -128 / maxScale;
  const d16 = storeHalf(yb + 208, 1 / iscale);
  for (let ib = 0; ib < 16; ib++) {
    let q = nearestInt(iscale * load<f32>(f32At(SCALES, ib)));
    if (q > 127) q = 127;
    store<i8>(yb + 192 + ib, <i8>q);
  }
  for (let j = 0; j < 16; j++) {
    const d: f32 = d16 * <f32>load<i8>(yb + 192 + j);
    if (d == 0) continue;
    roundLevels(f32At(xb, 16 * j), 16, 0, d, -32, 31, 32, LEVELS + 16 * j);
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

/** quantize_row_q6_K_ref over `blocks` super-blocks: floats at x, 210-byte blocks at y. */
export function quantizeQ6K(x: usize, y: usize, blocks: i32): void {
  for (let i = 0; i < blocks; i++) quantizeQ6KBlock(f32At(x, 256 * i), y + <usize>(Q6_K_BYTES * i), 0);
}

/** quantize_row_q6_K_impl: `rows` rows of `perRow` floats at x, importance at qw. */
export function quantizeQ6KWeighted(x: usize, y: usize, rows: i32, perRow: i32, qw: usize): void {
  const blocks = perRow / 256;
  for (let row = 0; row < rows; row++) {
    for (let i = 0; i < blocks; i++) {
      quantizeQ6KBlock(
        f32At(x, row * perRow + 256 * i),
        y + <usize>(Q6_K_BYTES * (row * blocks + i)),
        f32At(qw, 256 * i),
      );
    }
  }
}

// Quantization error as llama.cpp measures it (tests/test-quantize-stats.cpp:
// update_error_stats, find_quantile, print_error_stats): the round trip's
// differences, their root mean square, maximum, and the 95th percentile and
// median read off a histogram of 150 buckets over [0, 0.03). With an
// importance matrix, also the error weighted by each column's importance, the
// quantity the weighted quantizers minimise. Pure.

/** HISTOGRAM_BUCKETS and HISTOGRAM_RANGE in test-quantize-stats.cpp. */
const BUCKETS = 150;
const RANGE = 0.03;

/** Running error statistics of one or more round trips. */
export interface ErrorStats {
  samples: number;
  sumSquares: number;
  maxError: number;
  histogram: number[];
  /** Sum of importance * diff^2 and of the importances, when there was an importance vector. */
  weightedSquares: number;
  weights: number;
}

export function emptyErrorStats(): ErrorStats {
  return {
    samples: 0,
    sumSquares: 0,
    maxError: 0,
    histogram: new Array<number>(BUCKETS).fill(0),
    weightedSquares: 0,
    weights: 0,
  };
}

/**
 * Adds the differences between `input` and its round trip `output` (whole
 * rows of `rowLength`), weighted by `importance` per column when given.
 */
export function addErrors(
  stats: ErrorStats,
  input: Float32Array,
  output: Float32Array,
  rowLength: number,
  importance?: Float32Array,
): void {
  for (let i = 0; i < input.length; i++) {
    // C subtracts in float, then widens to double.
    const diff = Math.fround(input[i] - output[i]);
    const abs = Math.abs(diff);
    stats.sumSquares += diff * diff;
    if (abs > stats.maxError) stats.maxError = abs;
    stats.histogram[Math.max(0, Math.min(Math.floor((abs / RANGE) * BUCKETS), BUCKETS - 1))]++;
    if (importance) {
      const w = importance[i % rowLength];
      stats.weightedSquares += w * diff * diff;
      stats.weights += w;
    }
  }
  stats.samples += input.length;
}

export function combineErrorStats(into: ErrorStats, from: ErrorStats): void {
  into.samples += from.samples;
  into.sumSquares += from.sumSquares;
  into.maxError = Math.max(into.maxError, from.maxError);
  for (let i = 0; i < BUCKETS; i++) into.histogram[i] += from.histogram[i];
  into.weightedSquares += from.weightedSquares;
  into.weights += from.weights;
}

// find_quantile: the upper edge of the bucket where the running count reaches the quantile.
function quantile(stats: ErrorStats, q: number): number {
  const sum = stats.histogram.reduce((a, b) => a + b, 0);
  let accumulated = 0;
  for (let i = 0; i < BUCKETS; i++) {
    accumulated += stats.histogram[i];
    if (accumulated >= sum * q) return ((i + 1) * RANGE) / BUCKETS;
  }
  return Infinity;
}

/** The figures print_error_stats prints, plus the importance-weighted RMSE. */
export interface ErrorSummary {
  rmse: number;
  maxError: number;
  /** Upper bounds of the 95th percentile and of the median, to the histogram's 0.0002 resolution. */
  p95: number;
  median: number;
  /** sqrt(sum(w * diff^2) / sum(w)); absent without an importance vector. */
  weightedRmse?: number;
}

export function summarizeErrors(stats: ErrorStats): ErrorSummary {
  return {
    rmse: stats.samples ? Math.sqrt(stats.sumSquares / stats.samples) : 0,
    maxError: stats.maxError,
    p95: quantile(stats, 0.95),
    median: quantile(stats, 0.5),
    ...(stats.weights > 0 && { weightedRmse: Math.sqrt(stats.weightedSquares / stats.weights) }),
  };
}

/** A cumulative histogram as Prometheus keeps it: upper bounds (the last +Inf) and counts at or below each. */
export interface CumulativeHistogram {
  bounds: number[];
  cumulative: number[];
}

/**
 * Cumulative bucket series (`le` label to count) in bound order. Counts that
 * dip below the bucket before them, which `increase()` extrapolation can
 * produce, are lifted to keep the histogram monotonic, as Prometheus'
 * histogram_quantile does (promql/quantile.go, ensureMonotonic).
 */
export function toCumulative(byBound: ReadonlyMap<number, number>): CumulativeHistogram {
  const bounds = [...byBound.keys()].sort((a, b) => a - b);
  let floor = 0;
  const cumulative = bounds.map((bound) => {
    floor = Math.max(floor, byBound.get(bound) ?? 0);
    return floor;
  });
  return { bounds, cumulative };
}

/** Observations per bucket (not cumulative), rounded to whole requests. */
export function bucketCounts(histogram: CumulativeHistogram): number[] {
  return histogram.cumulative.map((count, i) =>
    Math.round(count - (i > 0 ? histogram.cumulative[i - 1] : 0)),
  );
}

/**
 * The q-quantile of a histogram by linear interpolation inside the bucket
 * it falls in, the way Prometheus' histogram_quantile computes it
 * (promql/quantile.go, bucketQuantile): the lowest bucket starts at 0, and a
 * quantile in the +Inf bucket is the largest finite bound. NaN when empty.
 */
export function histogramQuantile(q: number, histogram: CumulativeHistogram): number {
  const { bounds, cumulative } = histogram;
  const total = cumulative[cumulative.length - 1] ?? 0;
  if (total === 0 || bounds.length < 2) return NaN;
  const rank = q * total;
  let i = cumulative.findIndex((count) => count >= rank);
  if (i < 0) i = cumulative.length - 1;
  if (bounds[i] === Infinity) return bounds[bounds.length - 2];
  const lower = i === 0 ? 0 : bounds[i - 1];
  const below = i === 0 ? 0 : cumulative[i - 1];
  const inBucket = cumulative[i] - below;
  if (inBucket === 0) return bounds[i];
  return lower + (bounds[i] - lower) * ((rank - below) / inBucket);
}

import type { Cohort, CohortData, ReportWindow } from './collect.js';
import { bucketCounts, histogramQuantile, type CumulativeHistogram } from './histogram.js';
import { holmAdjust, mannWhitneyBinned, twoProportionTest, welchTTest } from './statistics.js';

export type MetricName = 'error-rate' | 'latency' | 'time-to-first-token' | 'tokens-per-second';

/** One metric compared between the cohorts. */
export interface MetricComparison {
  metric: MetricName;
  /** Which test, named: "Welch's t-test", "two-proportion z-test", "Mann-Whitney U". */
  test: string;
  /** Why this test suits the metric. */
  why: string;
  /** Raw p-value; null when there was too little data to test. */
  p: number | null;
  /** Holm-adjusted over the metrics tested; significance is judged on it. */
  pAdjusted: number | null;
  significant: boolean;
  /** B relative to A, as a fraction (tokens/s, medians) or in points (error rate); null when untested. */
  effect: number | null;
  /** Half-width of the effect's 95% confidence interval, when the test gives one. */
  effectHalfWidth95: number | null;
  sentence: string;
}

export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  count: number;
}

export interface CohortSummary {
  devices: string[];
  requests: number;
  errors: number;
  errorRate: number | null;
  latency: LatencySummary;
  firstToken: LatencySummary;
  tokensPerSecond: { mean: number | null; samples: number };
}

/** Observations per histogram bucket of each cohort, with the buckets' names (`≤ 250 ms`, `> 120 s`). */
export interface BucketSeries {
  labels: string[];
  a: number[];
  b: number[];
}

/** An A/B report: what each cohort did, each metric compared, and the verdict. */
export interface ExperimentReport {
  experiment: string;
  window: { start: string; end: string; stepSeconds: number };
  alpha: number;
  cohorts: Record<Cohort, CohortSummary>;
  comparisons: MetricComparison[];
  verdict: string;
  /** What the HTML report charts. */
  series: {
    latency: BucketSeries;
    firstToken: BucketSeries;
    /** [ISO time, mean tokens/s of the cohort's devices] per interval. */
    tokensPerSecondOverTime: Record<Cohort, Array<[string, number]>>;
  };
}

export function formatP(p: number): string {
  if (p < 0.001) return 'p<0.001';
  if (p < 0.01) return 'p<0.01';
  return `p=${p.toPrecision(2)}`;
}

function percent(fraction: number, digits = 0): string {
  return `${(fraction * 100).toFixed(digits)}%`;
}

function seconds(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  return value < 1 ? `${Math.round(value * 1000)} ms` : `${value.toFixed(2)} s`;
}

function bucketLabels(bounds: number[]): string[] {
  return bounds.map((bound, i) =>
    bound === Infinity ? `> ${seconds(bounds[i - 1] ?? 0)}` : `≤ ${seconds(bound)}`,
  );
}

function latencySummary(histogram: CumulativeHistogram): LatencySummary {
  return {
    p50: histogramQuantile(0.5, histogram),
    p90: histogramQuantile(0.9, histogram),
    p99: histogramQuantile(0.99, histogram),
    count: Math.round(histogram.cumulative[histogram.cumulative.length - 1] ?? 0),
  };
}

// Both histograms over the same bounds (a cohort that never saw a request
// has none), so the bins line up for the Mann-Whitney test.
function alignedCounts(
  a: CumulativeHistogram,
  b: CumulativeHistogram,
): { bounds: number[]; a: number[]; b: number[] } {
  const bounds = [...new Set([...a.bounds, ...b.bounds])].sort((x, y) => x - y);
  const at = (h: CumulativeHistogram) => {
    const cumulative = bounds.map((bound) => {
      let value = 0;
      h.bounds.forEach((hb, i) => {
        if (hb <= bound) value = h.cumulative[i];
      });
      return value;
    });
    return bucketCounts({ bounds, cumulative });
  };
  return { bounds, a: at(a), b: at(b) };
}

interface Pending extends Omit<MetricComparison, 'pAdjusted' | 'significant' | 'sentence'> {
  sentence: (significant: boolean, p: string) => string;
}

function compareTokens(a: CohortData, b: CohortData): Pending {
  const base = {
    metric: 'tokens-per-second' as const,
    test: "Welch's t-test",
    why: 'tokens/s is a rate measured once per device and interval; Welch allows the cohorts different variances',
  };
  if (a.tokensPerSecond.length < 2 || b.tokensPerSecond.length < 2) {
    return {
      ...base,
      p: null,
      effect: null,
      effectHalfWidth95: null,
      sentence: () =>
        `Too little data to compare tokens/s (${a.tokensPerSecond.length} and ${b.tokensPerSecond.length} intervals with generation; llama-server's metrics are needed).`,
    };
  }
  const result = welchTTest(a.tokensPerSecond, b.tokensPerSecond);
  const figures = `${result.meanB.toFixed(1)} vs ${result.meanA.toFixed(1)} tokens/s`;
  return {
    ...base,
    p: result.p,
    effect: result.relative,
    effectHalfWidth95: result.relativeHalfWidth95,
    sentence: (significant, p) =>
      significant
        ? `B is ${result.relative < 0 ? 'slower' : 'faster'} by ${percent(Math.abs(result.relative))} ± ${percent(result.relativeHalfWidth95)} in tokens/s (${figures}; ${base.test}, ${p}).`
        : `No significant difference in tokens/s (${figures}; ${base.test}, ${p}).`,
  };
}

function compareErrors(a: CohortData, b: CohortData): Pending {
  const base = {
    metric: 'error-rate' as const,
    test: 'two-proportion z-test',
    why: 'each request fails or not: the error rate is a proportion of the request counts',
  };
  if (a.requests === 0 || b.requests === 0) {
    return {
      ...base,
      p: null,
      effect: null,
      effectHalfWidth95: null,
      sentence: () => 'No requests to compare error rates.',
    };
  }
  const result = twoProportionTest(a.errors, a.requests, b.errors, b.requests);
  const figures = `${percent(result.rateB, 1)} of requests vs ${percent(result.rateA, 1)}`;
  const points = `${result.difference >= 0 ? '+' : '-'}${(Math.abs(result.difference) * 100).toFixed(1)} ± ${(result.differenceHalfWidth95 * 100).toFixed(1)} points`;
  return {
    ...base,
    p: result.p,
    effect: result.difference,
    effectHalfWidth95: result.differenceHalfWidth95,
    sentence: (significant, p) =>
      significant
        ? `B fails ${result.difference > 0 ? 'more' : 'less'} often: ${figures} (${points}; ${base.test}, ${p}).`
        : `No significant difference in error rate (${figures}; ${base.test}, ${p}).`,
  };
}

function compareLatency(
  metric: 'latency' | 'time-to-first-token',
  a: CumulativeHistogram,
  b: CumulativeHistogram,
): Pending {
  const name = metric === 'latency' ? 'latency' : 'time to first token';
  const base = {
    metric,
    test: 'Mann-Whitney U',
    why: `${name} is skewed and kept only as histogram buckets: a rank test on the bucket counts needs neither normality nor the raw values`,
  };
  const aligned = alignedCounts(a, b);
  const nA = aligned.a.reduce((s, c) => s + c, 0);
  const nB = aligned.b.reduce((s, c) => s + c, 0);
  if (nA === 0 || nB === 0) {
    return {
      ...base,
      p: null,
      effect: null,
      effectHalfWidth95: null,
      sentence: () => `No observations to compare ${name}.`,
    };
  }
  const result = mannWhitneyBinned(aligned.a, aligned.b);
  const medianA = histogramQuantile(0.5, a);
  const medianB = histogramQuantile(0.5, b);
  const relative = medianA > 0 ? medianB / medianA - 1 : 0;
  const figures = `median ${seconds(medianB)} vs ${seconds(medianA)}${medianA > 0 ? `, ${relative >= 0 ? '+' : '-'}${percent(Math.abs(relative))}` : ''}`;
  const slower = result.probabilityBGreater > 0.5;
  const verb =
    metric === 'latency'
      ? slower
        ? 'answers slower'
        : 'answers faster'
      : slower
        ? 'gives its first token later'
        : 'gives its first token sooner';
  return {
    ...base,
    p: result.p,
    effect: relative,
    effectHalfWidth95: null,
    sentence: (significant, p) =>
      significant
        ? `B ${verb}: ${figures} (${base.test}, ${p}).`
        : `No significant difference in ${name} (${figures}; ${base.test}, ${p}).`,
  };
}

function summarize(data: CohortData): CohortSummary {
  const mean = data.tokensPerSecond.length
    ? data.tokensPerSecond.reduce((s, v) => s + v, 0) / data.tokensPerSecond.length
    : null;
  return {
    devices: data.devices,
    requests: data.requests,
    errors: data.errors,
    errorRate: data.requests > 0 ? data.errors / data.requests : null,
    latency: latencySummary(data.duration),
    firstToken: latencySummary(data.firstToken),
    tokensPerSecond: { mean, samples: data.tokensPerSecond.length },
  };
}

/**
 * Compares cohort B with cohort A on each metric with the test suited to
 * it, adjusts the p-values for testing four metrics at once (Holm), and
 * says what differs. Pure.
 *
 * @example
 * const report = compareCohorts('q8-vs-q4', data, window, 0.01);
 * console.log(report.verdict); // "B is slower by 12% ± 3% in tokens/s (...; Welch's t-test, p<0.01)."
 */
export function compareCohorts(
  experiment: string,
  data: Record<Cohort, CohortData>,
  window: ReportWindow,
  alpha: number,
): ExperimentReport {
  const pending = [
    compareErrors(data.a, data.b),
    compareLatency('latency', data.a.duration, data.b.duration),
    compareLatency('time-to-first-token', data.a.firstToken, data.b.firstToken),
    compareTokens(data.a, data.b),
  ];
  const tested = pending.filter((c) => c.p !== null);
  const adjusted = holmAdjust(tested.map((c) => c.p as number));
  const comparisons: MetricComparison[] = pending.map((c) => {
    const index = tested.indexOf(c);
    const pAdjusted = index >= 0 ? adjusted[index] : null;
    const significant = pAdjusted !== null && pAdjusted < alpha;
    return {
      ...c,
      pAdjusted,
      significant,
      sentence: c.sentence(significant, pAdjusted === null ? '' : formatP(pAdjusted)),
    };
  });
  const found = comparisons.filter((c) => c.significant);
  const verdict = found.length
    ? found.map((c) => c.sentence).join(' ')
    : `No significant difference between B and A at α=${alpha} (Holm-adjusted over ${tested.length} tests).`;
  const latency = alignedCounts(data.a.duration, data.b.duration);
  const firstToken = alignedCounts(data.a.firstToken, data.b.firstToken);
  return {
    experiment,
    window: {
      start: new Date(window.start * 1000).toISOString(),
      end: new Date(window.end * 1000).toISOString(),
      stepSeconds: window.stepSeconds,
    },
    alpha,
    cohorts: { a: summarize(data.a), b: summarize(data.b) },
    comparisons,
    verdict,
    series: {
      latency: { labels: bucketLabels(latency.bounds), a: latency.a, b: latency.b },
      firstToken: { labels: bucketLabels(firstToken.bounds), a: firstToken.a, b: firstToken.b },
      tokensPerSecondOverTime: {
        a: data.a.tokensPerSecondOverTime.map(([t, v]) => [new Date(t * 1000).toISOString(), v]),
        b: data.b.tokensPerSecondOverTime.map(([t, v]) => [new Date(t * 1000).toISOString(), v]),
      },
    },
  };
}

import { GENERATION_ROUTES, METRICS, promSelector, SERIES_LABELS, type Matcher } from '../metrics/series.js';
import { toCumulative, type CumulativeHistogram } from './histogram.js';
import type { PrometheusApi } from './prometheus-api.js';

/** The two cohorts of an experiment, as the `alki_variant` label names them. */
export const COHORTS = ['a', 'b'] as const;
export type Cohort = (typeof COHORTS)[number];

/** What Prometheus holds about one cohort over the report's window. */
export interface CohortData {
  devices: string[];
  requests: number;
  errors: number;
  duration: CumulativeHistogram;
  firstToken: CumulativeHistogram;
  /** Generation tokens/s, one sample per device and interval in which it generated. */
  tokensPerSecond: number[];
  /** Mean tokens/s of the cohort per interval: [unix seconds, tokens/s]. */
  tokensPerSecondOverTime: Array<[number, number]>;
}

export interface ReportWindow {
  /** Unix seconds. */
  start: number;
  end: number;
  stepSeconds: number;
}

function emptyCohort(): CohortData {
  return {
    devices: [],
    requests: 0,
    errors: 0,
    duration: { bounds: [], cumulative: [] },
    firstToken: { bounds: [], cumulative: [] },
    tokensPerSecond: [],
    tokensPerSecondOverTime: [],
  };
}

function cohortOf(labels: Record<string, string>): Cohort | undefined {
  const value = labels[SERIES_LABELS.variant];
  return value === 'a' || value === 'b' ? value : undefined;
}

/**
 * Queries Prometheus for both cohorts of an experiment: request and error
 * counts and latency histograms over the whole window (increase at its end),
 * and generation tokens/s per device over non-overlapping intervals of one
 * step each (so the samples of Welch's test do not share data).
 */
export async function collectExperiment(
  api: PrometheusApi,
  experiment: string,
  window: ReportWindow,
): Promise<Record<Cohort, CohortData>> {
  const data: Record<Cohort, CohortData> = { a: emptyCohort(), b: emptyCohort() };
  const base: Matcher[] = [[SERIES_LABELS.experiment, '=', experiment]];
  const routes: Matcher = ['route', '=~', GENERATION_ROUTES];
  const range = `${Math.max(1, Math.round(window.end - window.start))}s`;
  const by = SERIES_LABELS.variant;

  const total = async (metric: string, matchers: Matcher[]) => {
    const samples = await api.query(
      `sum by (${by}) (increase(${promSelector(metric, matchers)}[${range}]))`,
      window.end,
    );
    const out: Partial<Record<Cohort, number>> = {};
    for (const s of samples) {
      const cohort = cohortOf(s.labels);
      if (cohort && Number.isFinite(s.value)) out[cohort] = Math.round(s.value);
    }
    return out;
  };
  const histogram = async (metric: string, matchers: Matcher[]) => {
    const samples = await api.query(
      `sum by (${by}, le) (increase(${promSelector(`${metric}_bucket`, matchers)}[${range}]))`,
      window.end,
    );
    const byCohort: Record<Cohort, Map<number, number>> = { a: new Map(), b: new Map() };
    for (const s of samples) {
      const cohort = cohortOf(s.labels);
      // Prometheus writes the last bound `+Inf`, which Number() does not read.
      const bound = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
      if (cohort && Number.isFinite(s.value) && !Number.isNaN(bound)) byCohort[cohort].set(bound, s.value);
    }
    return { a: toCumulative(byCohort.a), b: toCumulative(byCohort.b) };
  };

  const devices = await api.query(
    `count by (${by}, ${SERIES_LABELS.device}) (last_over_time(${promSelector(METRICS.requests, base)}[${range}]))`,
    window.end,
  );
  for (const s of devices) {
    const cohort = cohortOf(s.labels);
    const device = s.labels[SERIES_LABELS.device];
    if (cohort && device && !data[cohort].devices.includes(device)) data[cohort].devices.push(device);
  }
  const requests = await total(METRICS.requests, [...base, routes]);
  const errors = await total(METRICS.errors, [...base, routes]);
  const duration = await histogram(METRICS.duration, [...base, routes]);
  const firstToken = await histogram(METRICS.firstToken, [...base, routes]);

  const step = `${window.stepSeconds}s`;
  const perDevice = `sum by (${by}, ${SERIES_LABELS.device}) (increase(${promSelector(METRICS.generatedTokens, base)}[${step}])) / sum by (${by}, ${SERIES_LABELS.device}) (increase(${promSelector(METRICS.generationSeconds, base)}[${step}]))`;
  const series = await api.queryRange(
    perDevice,
    window.start + window.stepSeconds,
    window.end,
    window.stepSeconds,
  );
  const perTime: Record<Cohort, Map<number, number[]>> = { a: new Map(), b: new Map() };
  for (const s of series) {
    const cohort = cohortOf(s.labels);
    if (!cohort) continue;
    for (const [time, value] of s.points) {
      // An interval with no generation is 0/0: nothing was measured, so it is no sample.
      if (!Number.isFinite(value) || value <= 0) continue;
      data[cohort].tokensPerSecond.push(value);
      perTime[cohort].set(time, [...(perTime[cohort].get(time) ?? []), value]);
    }
  }

  for (const cohort of COHORTS) {
    data[cohort].devices.sort();
    data[cohort].requests = requests[cohort] ?? 0;
    data[cohort].errors = errors[cohort] ?? 0;
    data[cohort].duration = duration[cohort];
    data[cohort].firstToken = firstToken[cohort];
    data[cohort].tokensPerSecondOverTime = [...perTime[cohort].entries()]
      .sort(([x], [y]) => x - y)
      .map(([time, values]) => [time, values.reduce((sum, v) => sum + v, 0) / values.length]);
  }
  return data;
}

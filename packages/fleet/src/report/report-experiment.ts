import { FleetError } from '../errors.js';
import { SERIES_LABELS } from '../metrics/series.js';
import { collectExperiment, COHORTS, type ReportWindow } from './collect.js';
import { compareCohorts, type ExperimentReport } from './compare.js';
import { prometheusApi } from './prometheus-api.js';

export const DEFAULT_REPORT_WINDOW_SECONDS = 3600;
export const DEFAULT_REPORT_STEP_SECONDS = 60;
export const DEFAULT_ALPHA = 0.01;

export interface ExperimentReportOptions {
  /** The Prometheus server, `http://prometheus:9090`. */
  prometheus: string;
  experiment: string;
  /** How far back from `end`. Default one hour. */
  windowSeconds?: number;
  /** Unix seconds; now by default. */
  end?: number;
  /** The interval of the tokens/s samples. Default 60 s. */
  stepSeconds?: number;
  /** Significance level. Default 0.01. */
  alpha?: number;
  fetch?: typeof fetch;
  now?: () => number;
  signal?: AbortSignal;
}

/**
 * Reports an A/B experiment from Prometheus: each cohort's requests, errors,
 * latency and time-to-first-token percentiles and tokens/s, each metric
 * tested for a difference, and a verdict.
 *
 * @example
 * const report = await reportExperiment({ prometheus: 'http://prometheus:9090', experiment: 'q8-vs-q4' });
 * console.log(report.verdict);
 */
export async function reportExperiment(options: ExperimentReportOptions): Promise<ExperimentReport> {
  const windowSeconds = options.windowSeconds ?? DEFAULT_REPORT_WINDOW_SECONDS;
  const stepSeconds = options.stepSeconds ?? DEFAULT_REPORT_STEP_SECONDS;
  const alpha = options.alpha ?? DEFAULT_ALPHA;
  if (!(stepSeconds > 0) || !(windowSeconds >= 2 * stepSeconds)) {
    throw new FleetError(
      'INVALID_OPTIONS',
      `The window (${windowSeconds} s) must hold at least two intervals of ${stepSeconds} s.`,
      { hint: 'Widen --window or shorten --step.' },
    );
  }
  if (!(alpha > 0 && alpha < 1)) {
    throw new FleetError('INVALID_OPTIONS', `--alpha ${alpha} is not a probability between 0 and 1.`, {
      hint: 'Use 0.01 or 0.05.',
    });
  }
  const end = options.end ?? (options.now ?? Date.now)() / 1000;
  const window: ReportWindow = { start: end - windowSeconds, end, stepSeconds };
  const api = prometheusApi({ url: options.prometheus, fetch: options.fetch, signal: options.signal });
  const data = await collectExperiment(api, options.experiment, window);
  for (const cohort of COHORTS) {
    if (data[cohort].requests === 0) {
      throw new FleetError(
        'NO_DATA',
        `Prometheus has no requests of experiment "${options.experiment}", cohort ${cohort.toUpperCase()}, between ${new Date(window.start * 1000).toISOString()} and ${new Date(window.end * 1000).toISOString()}.`,
        {
          hint: `Check the experiment's name and --window; the devices' series need the labels ${SERIES_LABELS.experiment} and ${SERIES_LABELS.variant}, which the plan's PodMonitor and scrape targets set.`,
          details: { experiment: options.experiment, cohort, devices: data[cohort].devices },
        },
      );
    }
  }
  return compareCohorts(options.experiment, data, window, alpha);
}

import type { CanaryCheckName } from '../inventory/fleet-spec.js';
import type { Inventory } from '../inventory/inventory.js';
import { GENERATION_ROUTES, METRICS, promSelector, SERIES_LABELS, type Matcher } from '../metrics/series.js';

/** The AnalysisTemplate every canary Rollout of the plan runs. */
export const ANALYSIS_TEMPLATE_NAME = 'alki-canary';
/** Its arguments, filled in by each group's Rollout. */
export const ANALYSIS_ARGS = { group: 'group', digest: 'canary-digest' } as const;

/** One check of the canary analysis: a PromQL query and the condition its result must meet. */
export interface CanaryCheck {
  name: CanaryCheckName;
  query: string;
  successCondition: string;
}

function errorRatio(matchers: readonly Matcher[], window: string): string {
  const routes: Matcher = ['route', '=~', GENERATION_ROUTES];
  const errors = promSelector(METRICS.errors, [...matchers, routes]);
  const requests = promSelector(METRICS.requests, [...matchers, routes]);
  // No error series at all means no errors: alki serve creates a counter's series at its first increment.
  return `(sum(rate(${errors}[${window}])) or vector(0)) / sum(rate(${requests}[${window}]))`;
}

function firstTokenP95(matchers: readonly Matcher[], window: string): string {
  return `histogram_quantile(0.95, sum by (le) (rate(${promSelector(`${METRICS.firstToken}_bucket`, matchers)}[${window}])))`;
}

function tokensPerSecond(matchers: readonly Matcher[], window: string): string {
  return `sum(rate(${promSelector(METRICS.generatedTokens, matchers)}[${window}])) / sum(rate(${promSelector(METRICS.generationSeconds, matchers)}[${window}]))`;
}

/**
 * The canary checks: the canary's devices (those of the group that run the
 * new digest) against the group's other devices, which still run the old
 * one, over the same window. A ring rollout always leaves such a baseline;
 * a first install has none, and then the queries return nothing and the
 * analysis errors, which stops the rollout rather than passing it blind.
 * No traffic at all gives NaN, which passes: there is nothing to judge.
 *
 * @example
 * canaryChecks({ window: '5m', maxErrorRateIncrease: 0.02, maxTimeToFirstTokenRatio: 1.25, minTokensPerSecondRatio: 0.8 }, 'oslo', 'sha256:...');
 */
export function canaryChecks(
  analysis: Pick<
    Inventory['analysis'],
    'window' | 'maxErrorRateIncrease' | 'maxTimeToFirstTokenRatio' | 'minTokensPerSecondRatio'
  >,
  group: string,
  digest: string,
): CanaryCheck[] {
  const canary: Matcher[] = [
    [SERIES_LABELS.group, '=', group],
    [SERIES_LABELS.digest, '=', digest],
  ];
  const baseline: Matcher[] = [
    [SERIES_LABELS.group, '=', group],
    [SERIES_LABELS.digest, '!=', digest],
  ];
  const w = analysis.window;
  return [
    {
      name: 'error-rate-increase',
      query: `(${errorRatio(canary, w)}) - (${errorRatio(baseline, w)})`,
      successCondition: `isNaN(result[0]) || result[0] <= ${analysis.maxErrorRateIncrease}`,
    },
    {
      name: 'time-to-first-token-p95-ratio',
      query: `(${firstTokenP95(canary, w)}) / (${firstTokenP95(baseline, w)})`,
      successCondition: `isNaN(result[0]) || result[0] <= ${analysis.maxTimeToFirstTokenRatio}`,
    },
    {
      name: 'tokens-per-second-ratio',
      query: `(${tokensPerSecond(canary, w)}) / (${tokensPerSecond(baseline, w)})`,
      successCondition: `isNaN(result[0]) || result[0] >= ${analysis.minTokensPerSecondRatio}`,
    },
  ];
}

/** The Argo Rollouts AnalysisTemplate of the canary checks, querying the fleet's Prometheus. */
export function analysisTemplate(inventory: Inventory): Record<string, unknown> {
  const checks = canaryChecks(
    inventory.analysis,
    `{{args.${ANALYSIS_ARGS.group}}}`,
    `{{args.${ANALYSIS_ARGS.digest}}}`,
  ).filter((check) => inventory.analysis.checks.includes(check.name));
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'AnalysisTemplate',
    metadata: { name: ANALYSIS_TEMPLATE_NAME, labels: { 'app.kubernetes.io/managed-by': 'alki' } },
    spec: {
      args: [{ name: ANALYSIS_ARGS.group }, { name: ANALYSIS_ARGS.digest }],
      metrics: checks.map((check) => ({
        name: check.name,
        interval: inventory.analysis.interval,
        // Two bad readings abort the rollout: one can be a scrape that landed mid-restart.
        failureLimit: 1,
        consecutiveErrorLimit: 4,
        successCondition: check.successCondition,
        provider: { prometheus: { address: inventory.prometheusUrl, query: check.query } },
      })),
    },
  };
}

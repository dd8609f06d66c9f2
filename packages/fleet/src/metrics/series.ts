// The Prometheus series a fleet is judged by, in one place: the names the
// devices export and the labels Alki's scrape configuration adds.

/**
 * Metrics `alki serve` exports (packages/runtime/src/metrics/server-metrics.ts)
 * and llama-server's `--metrics` (llama.cpp tools/server/server-task.cpp,
 * `server_task_result_metrics::to_metrics`; `alki serve` passes them through
 * when it fronts llama-server).
 */
export const METRICS = {
  requests: 'alki_requests_total',
  errors: 'alki_request_errors_total',
  duration: 'alki_request_duration_seconds',
  firstToken: 'alki_time_to_first_token_seconds',
  completionTokens: 'alki_completion_tokens_total',
  generatedTokens: 'llamacpp:tokens_predicted_total',
  generationSeconds: 'llamacpp:tokens_predicted_seconds_total',
} as const;

/** The generation routes of `alki serve`, as its `route` label spells them. */
export const GENERATION_ROUTES = '/v1/chat/completions|/v1/completions';

/** Labels Alki's scrape configuration puts on every series of a fleet device. */
export const SERIES_LABELS = {
  fleet: 'alki_fleet',
  group: 'alki_group',
  device: 'alki_device',
  ring: 'alki_ring',
  experiment: 'alki_experiment',
  variant: 'alki_variant',
  digest: 'alki_bundle_digest',
} as const;

/** Kubernetes labels and the annotation Alki puts on fleet pods; the scrape configuration maps them to SERIES_LABELS. */
export const POD_LABELS = {
  fleet: 'alki.dev/fleet',
  group: 'alki.dev/group',
  experiment: 'alki.dev/experiment',
  variant: 'alki.dev/variant',
} as const;
export const DIGEST_ANNOTATION = 'alki.dev/bundle-digest';

/** One matcher of a PromQL selector. */
export type Matcher = [label: string, op: '=' | '!=' | '=~' | '!~', value: string];

/**
 * A PromQL series selector. Values are quoted with JSON string escapes,
 * which PromQL's string literals accept.
 *
 * @example
 * promSelector('alki_requests_total', [['alki_group', '=', 'oslo']]); // alki_requests_total{alki_group="oslo"}
 */
export function promSelector(metric: string, matchers: readonly Matcher[]): string {
  return `${metric}{${matchers.map(([label, op, value]) => `${label}${op}${JSON.stringify(value)}`).join(',')}}`;
}

import { MetricsRegistry } from '@alki/metrics';

// Latency buckets in seconds, from a fast tokenizer-bound reply to a long
// CPU generation; time to first token gets finer low buckets.
const DURATION_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
const FIRST_TOKEN_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The metrics every Alki server exposes on /metrics, whatever the engine. */
export function createServerMetrics() {
  const registry = new MetricsRegistry();
  const metrics = {
    registry,
    requests: registry.counter('alki_requests_total', 'HTTP requests answered, by route and status code.'),
    errors: registry.counter(
      'alki_request_errors_total',
      'Requests answered with an error, by route and error code.',
    ),
    promptTokens: registry.counter('alki_prompt_tokens_total', 'Prompt tokens evaluated.'),
    completionTokens: registry.counter('alki_completion_tokens_total', 'Tokens generated.'),
    inFlight: registry.gauge('alki_requests_in_flight', 'Generation requests being answered now.'),
    duration: registry.histogram(
      'alki_request_duration_seconds',
      'Time from request to the last byte of the answer, by route.',
      DURATION_BUCKETS,
    ),
    firstToken: registry.histogram(
      'alki_time_to_first_token_seconds',
      'Time from request to the first generated text, by route.',
      FIRST_TOKEN_BUCKETS,
    ),
  };
  // Shown as 0 from the start, so a scrape before the first request sees it.
  metrics.inFlight.set({}, 0);
  return metrics;
}

export type ServerMetrics = ReturnType<typeof createServerMetrics>;

// The public API of @alki/metrics. Everything else is private.
export { Counter, Gauge, Histogram, METRICS_CONTENT_TYPE, MetricsRegistry } from './prometheus.js';
export { MAX_METRICS_BYTES, parseMetricsText, sumMetric } from './parse.js';
export type { MetricSample } from './parse.js';

// The public API of @alki/metrics. Everything else is private.
export { Counter, Gauge, Histogram, METRICS_CONTENT_TYPE, MetricsRegistry } from './prometheus.js';

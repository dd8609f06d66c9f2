// A minimal Prometheus registry: counters, gauges and histograms with labels,
// rendered in the text exposition format (prometheus.io/docs/instrumenting/exposition_formats).

type Labels = Record<string, string>;

/** The Content-Type of a /metrics answer in the text exposition format 0.0.4. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

function labelKey(labels: Labels): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));
}

// Label values escape backslash, double quote and newline (exposition format spec).
function renderLabels(labels: Labels, extra?: [string, string]): string {
  const pairs = Object.entries(labels).sort(([a], [b]) => a.localeCompare(b));
  if (extra) pairs.push(extra);
  if (pairs.length === 0) return '';
  return `{${pairs.map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',')}}`;
}

function renderNumber(value: number): string {
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

interface Metric {
  name: string;
  help: string;
  render(): string[];
}

// A series exists from its first update on, so a metric with labels shows
// only the label sets it has seen; an unlabelled one that must show 0 before
// anything happens is started with `inc({}, 0)` or `set({}, 0)`.
abstract class SingleValueMetric implements Metric {
  protected readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  protected update(labels: Labels, change: (value: number) => number): void {
    const key = labelKey(labels);
    const entry = this.values.get(key) ?? { labels, value: 0 };
    entry.value = change(entry.value);
    this.values.set(key, entry);
  }

  get(labels: Labels = {}): number {
    return this.values.get(labelKey(labels))?.value ?? 0;
  }

  render(): string[] {
    return [...this.values.values()].map(
      ({ labels, value }) => `${this.name}${renderLabels(labels)} ${renderNumber(value)}`,
    );
  }
}

export class Counter extends SingleValueMetric {
  inc(labels: Labels = {}, by = 1): void {
    this.update(labels, (value) => value + by);
  }

  /** The sum over every label set, or over those `match` accepts. */
  total(match: (labels: Labels) => boolean = () => true): number {
    let sum = 0;
    for (const { labels, value } of this.values.values()) if (match(labels)) sum += value;
    return sum;
  }
}

export class Gauge extends SingleValueMetric {
  set(labels: Labels, value: number): void {
    this.update(labels, () => value);
  }

  add(labels: Labels, by: number): void {
    this.update(labels, (value) => value + by);
  }

  /** Drops every series, for a gauge whose label sets describe what is true now (such as an `_info` gauge). */
  reset(): void {
    this.values.clear();
  }
}

export class Histogram implements Metric {
  private readonly series = new Map<
    string,
    { labels: Labels; counts: number[]; sum: number; count: number }
  >();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
  ) {}

  private seriesOf(labels: Labels) {
    const key = labelKey(labels);
    const entry = this.series.get(key) ?? { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
    this.series.set(key, entry);
    return entry;
  }

  observe(value: number, labels: Labels = {}): void {
    const entry = this.seriesOf(labels);
    this.buckets.forEach((bound, i) => {
      if (value <= bound) entry.counts[i]++;
    });
    entry.sum += value;
    entry.count++;
  }

  /** Starts the series of `labels` with no observations, so it renders before the first one. */
  zero(labels: Labels = {}): void {
    this.seriesOf(labels);
  }

  /** Sum and count of the observations of every label set together. */
  totals(): { sum: number; count: number } {
    let sum = 0;
    let count = 0;
    for (const series of this.series.values()) {
      sum += series.sum;
      count += series.count;
    }
    return { sum, count };
  }

  render(): string[] {
    const lines: string[] = [];
    for (const { labels, counts, sum, count } of this.series.values()) {
      this.buckets.forEach((bound, i) =>
        lines.push(`${this.name}_bucket${renderLabels(labels, ['le', renderNumber(bound)])} ${counts[i]}`),
      );
      lines.push(`${this.name}_bucket${renderLabels(labels, ['le', '+Inf'])} ${count}`);
      lines.push(`${this.name}_sum${renderLabels(labels)} ${renderNumber(sum)}`);
      lines.push(`${this.name}_count${renderLabels(labels)} ${count}`);
    }
    return lines;
  }
}

/**
 * A set of metrics rendered together on /metrics, in the order they were added.
 *
 * @example
 * const registry = new MetricsRegistry();
 * const requests = registry.counter('demo_requests_total', 'Requests answered, by route.');
 * requests.inc({ route: '/health' });
 * registry.render(); // '# HELP demo_requests_total ...\n# TYPE demo_requests_total counter\ndemo_requests_total{route="/health"} 1\n'
 */
export class MetricsRegistry {
  private readonly metrics: Array<{ metric: Metric; type: string }> = [];

  counter(name: string, help: string): Counter {
    return this.add(new Counter(name, help), 'counter');
  }

  gauge(name: string, help: string): Gauge {
    return this.add(new Gauge(name, help), 'gauge');
  }

  histogram(name: string, help: string, buckets: readonly number[]): Histogram {
    return this.add(new Histogram(name, help, buckets), 'histogram');
  }

  private add<T extends Metric>(metric: T, type: string): T {
    this.metrics.push({ metric, type });
    return metric;
  }

  /** The text exposition format, ending with a newline. */
  render(): string {
    const lines: string[] = [];
    for (const { metric, type } of this.metrics) {
      lines.push(`# HELP ${metric.name} ${metric.help}`, `# TYPE ${metric.name} ${type}`, ...metric.render());
    }
    return `${lines.join('\n')}\n`;
  }
}

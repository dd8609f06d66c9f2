// Reads the Prometheus text exposition format
// (prometheus.io/docs/instrumenting/exposition_formats) far enough to sum a
// metric's samples: `name{label="value",...} value [timestamp]` lines;
// comments and anything malformed are skipped.

/** One sample line. */
export interface MetricSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

// A device could answer with anything; a page this long is not metrics.
export const MAX_METRICS_BYTES = 8 * 1024 * 1024;

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function parseValue(text: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return Number(text);
}

// One pass, so that an escaped backslash before an n (`C:\\new`) stays a
// backslash and an n: the three escapes of the exposition format.
function unescapeLabel(value: string): string {
  return value.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

/**
 * The samples of a /metrics page.
 *
 * @example
 * parseMetricsText('alki_requests_total{route="/health",status="200"} 3\n');
 * // [{ name: 'alki_requests_total', labels: { route: '/health', status: '200' }, value: 3 }]
 */
export function parseMetricsText(text: string): MetricSample[] {
  const samples: MetricSample[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = SAMPLE.exec(line.trim());
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(LABEL)) {
      labels[key] = unescapeLabel(value);
    }
    const value = parseValue(match[3]);
    if (!Number.isNaN(value)) samples.push({ name: match[1], labels, value });
  }
  return samples;
}

/** The sum of a metric's samples whose labels pass `keep`; undefined when the page has none. */
export function sumMetric(
  samples: readonly MetricSample[],
  name: string,
  keep: (labels: Record<string, string>) => boolean = () => true,
): number | undefined {
  let total: number | undefined;
  for (const sample of samples) {
    if (sample.name === name && keep(sample.labels)) total = (total ?? 0) + sample.value;
  }
  return total;
}

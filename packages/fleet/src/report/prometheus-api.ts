import { FleetError } from '../errors.js';

/** One series of an instant query: its labels and value. */
export interface InstantSample {
  labels: Record<string, string>;
  value: number;
}

/** One series of a range query: its labels and [unix seconds, value] points. */
export interface RangeSeries {
  labels: Record<string, string>;
  points: Array<[number, number]>;
}

/** The two Prometheus HTTP API calls a report needs. */
export interface PrometheusApi {
  query(expr: string, time: number): Promise<InstantSample[]>;
  queryRange(expr: string, start: number, end: number, stepSeconds: number): Promise<RangeSeries[]>;
}

export interface PrometheusApiOptions {
  /** Base URL, `http://prometheus:9090`. */
  url: string;
  fetch?: typeof fetch;
  /** Per request. Default 30 s. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

interface ApiBody {
  status: 'success' | 'error';
  error?: string;
  errorType?: string;
  data?: {
    resultType: string;
    result: Array<{
      metric: Record<string, string>;
      value?: [number, string];
      values?: Array<[number, string]>;
    }>;
  };
}

/**
 * A client of Prometheus' HTTP API (prometheus.io/docs/prometheus/latest/querying/api):
 * `/api/v1/query` and `/api/v1/query_range`, by POST so long PromQL is not
 * cut by URL limits. An unreachable server is a network failure; a query
 * Prometheus refuses is a bug in the query, so it is reported with the query.
 *
 * @example
 * const api = prometheusApi({ url: 'http://127.0.0.1:9090' });
 * const [up] = await api.query('count(up)', Date.now() / 1000);
 */
export function prometheusApi(options: PrometheusApiOptions): PrometheusApi {
  const doFetch = options.fetch ?? fetch;
  const base = options.url.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 30_000;

  async function call(endpoint: string, params: Record<string, string>): Promise<ApiBody['data']> {
    const signals = [AbortSignal.timeout(timeoutMs), ...(options.signal ? [options.signal] : [])];
    let response: Response;
    try {
      response = await doFetch(`${base}${endpoint}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(params).toString(),
        signal: AbortSignal.any(signals),
      });
    } catch (cause) {
      options.signal?.throwIfAborted();
      throw new FleetError(
        'PROMETHEUS_FAILED',
        `Prometheus at ${base} did not answer: ${(cause as Error).message}.`,
        {
          cause,
          hint: 'Check --prometheus (the server URL, such as http://prometheus.monitoring:9090) and that it is running.',
          details: { url: base },
        },
      );
    }
    const text = await response.text();
    let body: ApiBody;
    try {
      body = JSON.parse(text) as ApiBody;
    } catch {
      throw new FleetError(
        'PROMETHEUS_FAILED',
        `${base}${endpoint} answered HTTP ${response.status} with something that is not Prometheus' API.`,
        {
          hint: 'Point --prometheus at the Prometheus server itself, not a dashboard in front of it.',
          details: { url: base },
        },
      );
    }
    if (body.status !== 'success' || !body.data) {
      throw new FleetError(
        'PROMETHEUS_FAILED',
        `Prometheus refused a query: ${body.error ?? `HTTP ${response.status}`}.`,
        {
          category: body.errorType === 'bad_data' ? 'internal' : 'network',
          details: { url: base, query: params.query, errorType: body.errorType },
        },
      );
    }
    return body.data;
  }

  return {
    async query(expr, time) {
      const data = await call('/api/v1/query', { query: expr, time: String(time) });
      return (data?.result ?? []).map((r) => ({ labels: r.metric, value: Number(r.value?.[1]) }));
    },
    async queryRange(expr, start, end, stepSeconds) {
      const data = await call('/api/v1/query_range', {
        query: expr,
        start: String(start),
        end: String(end),
        step: String(stepSeconds),
      });
      return (data?.result ?? []).map((r) => ({
        labels: r.metric,
        points: (r.values ?? []).map(([t, v]) => [t, Number(v)] as [number, number]),
      }));
    },
  };
}

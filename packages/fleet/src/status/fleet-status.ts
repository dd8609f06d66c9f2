import { abortableSleep } from '@alki/oci';
import type { Inventory } from '../inventory/inventory.js';
import { GENERATION_ROUTES, METRICS } from '../metrics/series.js';
import { MAX_METRICS_BYTES, parseMetricsText, sumMetric, type MetricSample } from '@alki/metrics';

export const DEFAULT_STATUS_CONCURRENCY = 16;
export const DEFAULT_STATUS_TIMEOUT_MS = 5_000;
export const DEFAULT_STATUS_RETRIES = 2;
export const DEFAULT_STATUS_INTERVAL_MS = 5_000;
// First retry after 250 ms, then 500 ms: a device that is rebooting or busy
// gets a second chance without stalling the sweep.
const RETRY_BASE_MS = 250;

export type DeviceState = 'healthy' | 'unhealthy' | 'unreachable' | 'no-endpoint';

/** Rates over the interval between two scrapes. */
export interface DeviceRates {
  /** Generation requests answered per second. */
  requestsPerSecond: number;
  /** Errors per generation request in the interval; null without requests. */
  errorRatio: number | null;
  /** llama-server's generation speed: tokens per second of generation; null when it generated nothing. */
  generationTokensPerSecond: number | null;
}

export interface DeviceStatus {
  device: string;
  group: string;
  endpoint?: string;
  state: DeviceState;
  /** HTTP status of /health, when it answered. */
  healthStatus?: number;
  /** The model name the server announces (`/v1/models`). */
  model?: string;
  /** The bundle digest the model name carries (plans name models `<name>@sha256:...`). */
  digest?: string;
  /** The digest plan.json assigns the device, when a plan was given. */
  plannedDigest?: string;
  /** Generation requests in flight at the last scrape. */
  inFlight?: number;
  rates?: DeviceRates;
  /** Why the device is unhealthy or unreachable. */
  problem?: string;
}

export interface FleetStatus {
  fleet: string;
  devices: DeviceStatus[];
  counts: Record<DeviceState, number>;
  /** Devices per digest they report (`unknown` when they do not say). */
  digests: Record<string, number>;
  /** Devices whose reported digest differs from the plan's. */
  offPlan: string[];
}

export interface StatusOptions {
  /** Devices scraped at once. Default 16. */
  concurrency?: number;
  /** Per request. Default 5 s. */
  timeoutMs?: number;
  /** Retries of a request that failed to connect or timed out. Default 2. */
  retries?: number;
  /** Time between the two scrapes that give rates; 0 scrapes once and gives none. Default 5 s. */
  intervalMs?: number;
  /** Digest per device, from a plan's plan.json. */
  planned?: ReadonlyMap<string, string>;
  fetch?: typeof fetch;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  now?: () => number;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/** Runs `work` over `items`, at most `limit` at a time, keeping the order of results. */
async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

interface Fetched {
  status: number;
  text: string;
}

function makeGet(options: StatusOptions) {
  const doFetch = options.fetch ?? fetch;
  const sleep = options.sleep ?? abortableSleep;
  const timeoutMs = options.timeoutMs ?? DEFAULT_STATUS_TIMEOUT_MS;
  const retries = options.retries ?? DEFAULT_STATUS_RETRIES;
  return async (url: string): Promise<Fetched> => {
    let lastError: unknown;
    for (let attempt = 0; attempt <= retries; attempt++) {
      options.signal?.throwIfAborted();
      if (attempt > 0) await sleep(RETRY_BASE_MS * 2 ** (attempt - 1), options.signal);
      try {
        const signals = [AbortSignal.timeout(timeoutMs), ...(options.signal ? [options.signal] : [])];
        const response = await doFetch(url, { signal: AbortSignal.any(signals) });
        const text = await response.text();
        return { status: response.status, text: text.length > MAX_METRICS_BYTES ? '' : text };
      } catch (error) {
        options.signal?.throwIfAborted();
        lastError = error;
      }
    }
    const reason = lastError as Error & { cause?: { code?: string } };
    throw new Error(
      reason.name === 'TimeoutError'
        ? `no answer within ${timeoutMs} ms`
        : reason.cause?.code === 'ECONNREFUSED'
          ? 'connection refused'
          : (reason.cause?.code ?? reason.message ?? String(lastError)),
    );
  };
}

interface Snapshot {
  at: number;
  samples: MetricSample[];
}

const generation = new RegExp(`^(?:${GENERATION_ROUTES})$`);
const isGeneration = (labels: Record<string, string>) => generation.test(labels.route ?? '');

function rates(first: Snapshot, second: Snapshot): DeviceRates {
  const seconds = Math.max(1e-3, (second.at - first.at) / 1000);
  const delta = (name: string, keep?: (labels: Record<string, string>) => boolean) => {
    const a = sumMetric(first.samples, name, keep);
    const b = sumMetric(second.samples, name, keep);
    // A restart resets counters; a negative delta is no measurement.
    return a === undefined || b === undefined || b < a ? undefined : b - a;
  };
  const requests = delta(METRICS.requests, isGeneration) ?? 0;
  const errors = delta(METRICS.errors, isGeneration) ?? 0;
  const tokens = delta(METRICS.generatedTokens);
  const tokenSeconds = delta(METRICS.generationSeconds);
  return {
    requestsPerSecond: requests / seconds,
    errorRatio: requests > 0 ? errors / requests : null,
    generationTokensPerSecond:
      tokens !== undefined && tokenSeconds !== undefined && tokenSeconds > 0 ? tokens / tokenSeconds : null,
  };
}

const DIGEST_IN_MODEL = /@(sha256:[0-9a-f]{64})$/;

function firstModelId(text: string): string | undefined {
  try {
    const id = (JSON.parse(text) as { data?: Array<{ id?: unknown }> }).data?.[0]?.id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Scrapes every device that has an endpoint: /health, /v1/models (the plan
 * names each model `<name>@sha256:...`, so the device says which bundle it
 * runs) and /metrics twice, `intervalMs` apart, for request, error and
 * generation rates. At most `concurrency` devices at once; each request has
 * a timeout and retries. A device that does not answer is listed as
 * unreachable, never an error of the whole sweep.
 *
 * @example
 * const status = await fleetStatus(await loadFleet('fleet.yaml'), { intervalMs: 0 });
 * console.log(status.counts, status.digests);
 */
export async function fleetStatus(inventory: Inventory, options: StatusOptions = {}): Promise<FleetStatus> {
  const get = makeGet(options);
  const now = options.now ?? Date.now;
  const concurrency = Math.max(1, options.concurrency ?? DEFAULT_STATUS_CONCURRENCY);
  const intervalMs = options.intervalMs ?? DEFAULT_STATUS_INTERVAL_MS;
  const reachable = inventory.devices.filter((d) => d.endpoint !== undefined);
  // The second sweep's size is known once the first is done: the devices whose /metrics answered.
  let total = reachable.length;
  let done = 0;
  const progress = () => options.onProgress?.(++done, total);

  const firsts = new Map<string, Snapshot>();
  const statuses = await mapBounded(inventory.devices, concurrency, async (device): Promise<DeviceStatus> => {
    const base: DeviceStatus = {
      device: device.name,
      group: device.group,
      state: 'no-endpoint',
      ...(device.endpoint ? { endpoint: device.endpoint } : {}),
      ...(options.planned?.get(device.name) ? { plannedDigest: options.planned.get(device.name) } : {}),
    };
    if (!device.endpoint) return base;
    const root = device.endpoint.replace(/\/+$/, '');
    try {
      const health = await get(`${root}/health`);
      const status: DeviceStatus = {
        ...base,
        state: health.status === 200 ? 'healthy' : 'unhealthy',
        healthStatus: health.status,
        ...(health.status === 200 ? {} : { problem: `/health answered ${health.status}` }),
      };
      const models = await get(`${root}/v1/models`).catch(() => undefined);
      const id = models?.status === 200 ? firstModelId(models.text) : undefined;
      if (typeof id === 'string') {
        status.model = id;
        const match = DIGEST_IN_MODEL.exec(id);
        if (match) status.digest = match[1];
      }
      const metrics = await get(`${root}/metrics`).catch(() => undefined);
      if (metrics?.status === 200) {
        const samples = parseMetricsText(metrics.text);
        firsts.set(device.name, { at: now(), samples });
        const inFlight =
          sumMetric(samples, 'alki_requests_in_flight') ?? sumMetric(samples, 'llamacpp:requests_processing');
        if (inFlight !== undefined) status.inFlight = inFlight;
      }
      return status;
    } catch (error) {
      return { ...base, state: 'unreachable', problem: (error as Error).message };
    } finally {
      progress();
    }
  });

  if (intervalMs > 0 && firsts.size > 0) {
    total += firsts.size;
    const earliest = Math.min(...[...firsts.values()].map((s) => s.at));
    const wait = earliest + intervalMs - now();
    if (wait > 0) await (options.sleep ?? abortableSleep)(wait, options.signal);
    await mapBounded(statuses, concurrency, async (status) => {
      const first = firsts.get(status.device);
      if (!first || !status.endpoint) return;
      try {
        const metrics = await get(`${status.endpoint.replace(/\/+$/, '')}/metrics`);
        if (metrics.status === 200)
          status.rates = rates(first, { at: now(), samples: parseMetricsText(metrics.text) });
      } catch {
        // A device that stopped answering between the scrapes keeps its first answer, without rates.
      } finally {
        progress();
      }
    });
  }

  const counts: Record<DeviceState, number> = { healthy: 0, unhealthy: 0, unreachable: 0, 'no-endpoint': 0 };
  const digests: Record<string, number> = {};
  for (const status of statuses) {
    counts[status.state]++;
    if (status.state === 'healthy' || status.state === 'unhealthy') {
      const key = status.digest ?? 'unknown';
      digests[key] = (digests[key] ?? 0) + 1;
    }
  }
  const offPlan = statuses
    .filter((s) => s.plannedDigest !== undefined && s.digest !== undefined && s.digest !== s.plannedDigest)
    .map((s) => s.device);
  return { fleet: inventory.name, devices: statuses, counts, digests, offPlan };
}

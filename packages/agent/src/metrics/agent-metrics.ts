import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { METRICS_CONTENT_TYPE, MetricsRegistry } from '@alki/metrics';
import { AgentError } from '../errors.js';
import type { AgentState } from '../state/agent-state.js';

/** Upper bounds, in seconds, of the restart-window histogram's buckets. */
export const RESTART_WINDOW_BUCKETS = [1, 2, 5, 10, 20, 30, 60, 120, 300] as const;

/** What /metrics reports as `alki_agent_health_state`; exactly one is 1. */
export const HEALTH_STATES = ['healthy', 'updating', 'failing', 'unknown'] as const;
export type AgentHealthState = (typeof HEALTH_STATES)[number];

function seconds(iso: string): number {
  return Date.parse(iso) / 1000;
}

/** The health an agent state shows: an update under way, a failing last look, a served bundle that passed here. */
export function healthState(state: AgentState | undefined): AgentHealthState {
  if (!state) return 'unknown';
  if (state.update) return 'updating';
  if (state.lastCheck?.outcome === 'failed') return 'failing';
  if (state.current && state.healthy.includes(state.current.digest)) return 'healthy';
  return 'unknown';
}

/**
 * The agent's own Prometheus metrics, fed by `UpdateAgent`'s `onState` and
 * `onProgress` callbacks and rendered in the text exposition format 0.0.4.
 * Counters count what this process saw (they start at 0 with the agent, as
 * Prometheus counters may).
 *
 * @example
 * const metrics = new AgentMetrics();
 * await runAgent({ ...options, onState: (s) => metrics.observeState(s), onProgress: (d) => metrics.observeProgress(d) });
 */
export class AgentMetrics {
  // Registered in the order /metrics lists them.
  private readonly registry = new MetricsRegistry();
  private readonly bundleInfo = this.registry.gauge(
    'alki_agent_bundle_info',
    'The bundle the current link names (1), by manifest digest.',
  );
  private readonly attempts = this.registry.counter(
    'alki_agent_update_attempts_total',
    'Updates started (download of a new bundle).',
  );
  private readonly successes = this.registry.counter(
    'alki_agent_update_successes_total',
    'Updates switched to and found healthy.',
  );
  private readonly rollbacks = this.registry.counter(
    'alki_agent_rollbacks_total',
    'Updates that failed their health check and were rolled back.',
  );
  private readonly lastCheck = this.registry.gauge(
    'alki_agent_last_check_timestamp_seconds',
    'Unix time of the last look at the channel.',
  );
  private readonly downloadBytes = this.registry.counter(
    'alki_agent_download_bytes_total',
    'Bytes of bundles downloaded.',
  );
  private readonly restartWindow = this.registry.histogram(
    'alki_agent_restart_window_seconds',
    'Time the server did not answer during a switch: from stopping the old server to the first healthy answer.',
    RESTART_WINDOW_BUCKETS,
  );
  private readonly health = this.registry.gauge(
    'alki_agent_health_state',
    'The agent health: 1 for the state it is in, 0 for the others.',
  );
  private observed = false;
  private lastDone = 0;
  private seenUpdate: string | undefined;
  private seenSwitch: string | undefined;

  constructor() {
    // The counts are 0 before anything happens, and a scrape shows them so.
    for (const counter of [this.attempts, this.successes, this.rollbacks, this.downloadBytes])
      counter.inc({}, 0);
    this.restartWindow.zero();
    this.showState(undefined);
  }

  /** A new state from the agent; an update started, a switch made, are counted once each. */
  observeState(state: AgentState): void {
    const first = !this.observed;
    this.observed = true;
    this.showState(state);
    const update = state.update ? `${state.update.digest}@${state.update.started}` : undefined;
    if (update && update !== this.seenUpdate && !first) this.attempts.inc();
    if (update) this.seenUpdate = update;
    const last = state.lastSwitch;
    const key = last ? `${last.to}@${last.at}` : undefined;
    if (first) {
      // A switch recorded by an earlier run is not this process's to count.
      this.seenSwitch = key;
      return;
    }
    if (!last || key === this.seenSwitch) return;
    this.seenSwitch = key;
    if (last.outcome === 'updated') this.successes.inc();
    else this.rollbacks.inc();
    if (last.restartWindowMs !== undefined) this.restartWindow.observe(last.restartWindowMs / 1000);
  }

  /** Bytes of the current download so far; a smaller number than before starts a new download. */
  observeProgress(done: number): void {
    if (done < this.lastDone) this.lastDone = 0;
    this.downloadBytes.inc({}, done - this.lastDone);
    this.lastDone = done;
  }

  /** The metrics in the Prometheus text format 0.0.4. */
  render(): string {
    return this.registry.render();
  }

  // The gauges that describe the state as it is now: the bundle served, the last look, the health.
  private showState(state: AgentState | undefined): void {
    const bundle = state?.current;
    this.bundleInfo.reset();
    if (bundle)
      this.bundleInfo.set(
        { channel: state.channel, digest: bundle.digest, name: bundle.name, version: bundle.version },
        1,
      );
    this.lastCheck.reset();
    if (state?.lastCheck) this.lastCheck.set({}, seconds(state.lastCheck.at));
    const health = healthState(state);
    for (const s of HEALTH_STATES) this.health.set({ state: s }, s === health ? 1 : 0);
  }
}

/** A listening /metrics endpoint. */
export interface MetricsServer {
  /** `http://host:port` */
  url: string;
  close(): Promise<void>;
}

/**
 * Parses `--listen HOST:PORT` (an IPv6 host in brackets); port 0 takes a free one.
 *
 * @example
 * parseListen('127.0.0.1:9464') // { host: '127.0.0.1', port: 9464 }
 */
export function parseListen(value: string): { host: string; port: number } {
  const match = /^(\[[^\]]+\]|[^:[\]]+):(\d{1,5})$/.exec(value);
  const port = match ? Number(match[2]) : NaN;
  if (!match?.[1] || !(port >= 0 && port <= 65535))
    throw new AgentError(
      'INVALID_INPUT',
      `--listen takes HOST:PORT, such as 127.0.0.1:9464; got "${value}".`,
    );
  return { host: match[1].replace(/^\[|\]$/g, ''), port };
}

/**
 * Serves `GET /metrics` from the agent's metrics on host:port (the caller
 * gives loopback unless asked otherwise). Other paths answer 404.
 */
export async function serveMetrics(
  metrics: AgentMetrics,
  listen: { host: string; port: number },
): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/metrics') {
      res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE }).end(metrics.render());
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new AgentError(
          'INVALID_INPUT',
          `Cannot listen on ${listen.host}:${listen.port}: ${error.code ?? error.message}.`,
          {
            cause: error,
          },
        ),
      ),
    );
    server.listen(listen.port, listen.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

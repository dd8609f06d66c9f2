import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AgentError } from '../errors.js';
import type { AgentState } from '../state/agent-state.js';

/** Upper bounds, in seconds, of the restart-window histogram's buckets. */
export const RESTART_WINDOW_BUCKETS = [1, 2, 5, 10, 20, 30, 60, 120, 300] as const;

/** What /metrics reports as `alki_agent_health_state`; exactly one is 1. */
export const HEALTH_STATES = ['healthy', 'updating', 'failing', 'unknown'] as const;
export type AgentHealthState = (typeof HEALTH_STATES)[number];

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

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
  private state: AgentState | undefined;
  private attempts = 0;
  private successes = 0;
  private rollbacks = 0;
  private downloadBytes = 0;
  private lastDone = 0;
  private seenUpdate: string | undefined;
  private seenSwitch: string | undefined;
  private readonly windowCounts = RESTART_WINDOW_BUCKETS.map(() => 0);
  private windowCount = 0;
  private windowSum = 0;

  /** A new state from the agent; an update started, a switch made, are counted once each. */
  observeState(state: AgentState): void {
    const first = this.state === undefined;
    this.state = state;
    const update = state.update ? `${state.update.digest}@${state.update.started}` : undefined;
    if (update && update !== this.seenUpdate && !first) this.attempts += 1;
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
    if (last.outcome === 'updated') this.successes += 1;
    else this.rollbacks += 1;
    if (last.restartWindowMs !== undefined) {
      const s = last.restartWindowMs / 1000;
      this.windowCount += 1;
      this.windowSum += s;
      RESTART_WINDOW_BUCKETS.forEach((bound, i) => {
        if (s <= bound) this.windowCounts[i] = (this.windowCounts[i] ?? 0) + 1;
      });
    }
  }

  /** Bytes of the current download so far; a smaller number than before starts a new download. */
  observeProgress(done: number): void {
    if (done < this.lastDone) this.lastDone = 0;
    this.downloadBytes += done - this.lastDone;
    this.lastDone = done;
  }

  /** The metrics in the Prometheus text format 0.0.4. */
  render(): string {
    const lines: string[] = [];
    const metric = (name: string, type: string, help: string, samples: string[]) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...samples);
    };
    const state = this.state;
    const bundle = state?.current;
    metric(
      'alki_agent_bundle_info',
      'gauge',
      'The bundle the current link names (1), by manifest digest.',
      bundle
        ? [
            `alki_agent_bundle_info{channel="${escapeLabel(state.channel)}",digest="${escapeLabel(bundle.digest)}",name="${escapeLabel(bundle.name)}",version="${escapeLabel(bundle.version)}"} 1`,
          ]
        : [],
    );
    metric('alki_agent_update_attempts_total', 'counter', 'Updates started (download of a new bundle).', [
      `alki_agent_update_attempts_total ${this.attempts}`,
    ]);
    metric('alki_agent_update_successes_total', 'counter', 'Updates switched to and found healthy.', [
      `alki_agent_update_successes_total ${this.successes}`,
    ]);
    metric(
      'alki_agent_rollbacks_total',
      'counter',
      'Updates that failed their health check and were rolled back.',
      [`alki_agent_rollbacks_total ${this.rollbacks}`],
    );
    metric(
      'alki_agent_last_check_timestamp_seconds',
      'gauge',
      'Unix time of the last look at the channel.',
      state?.lastCheck ? [`alki_agent_last_check_timestamp_seconds ${seconds(state.lastCheck.at)}`] : [],
    );
    metric('alki_agent_download_bytes_total', 'counter', 'Bytes of bundles downloaded.', [
      `alki_agent_download_bytes_total ${this.downloadBytes}`,
    ]);
    metric(
      'alki_agent_restart_window_seconds',
      'histogram',
      'Time the server did not answer during a switch: from stopping the old server to the first healthy answer.',
      [
        ...RESTART_WINDOW_BUCKETS.map(
          (bound, i) =>
            `alki_agent_restart_window_seconds_bucket{le="${bound}"} ${this.windowCounts[i] ?? 0}`,
        ),
        `alki_agent_restart_window_seconds_bucket{le="+Inf"} ${this.windowCount}`,
        `alki_agent_restart_window_seconds_sum ${this.windowSum}`,
        `alki_agent_restart_window_seconds_count ${this.windowCount}`,
      ],
    );
    const health = healthState(state);
    metric(
      'alki_agent_health_state',
      'gauge',
      'The agent health: 1 for the state it is in, 0 for the others.',
      HEALTH_STATES.map((s) => `alki_agent_health_state{state="${s}"} ${s === health ? 1 : 0}`),
    );
    return `${lines.join('\n')}\n`;
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
      res
        .writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' })
        .end(metrics.render());
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

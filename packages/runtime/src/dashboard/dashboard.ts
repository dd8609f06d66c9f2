// The edge dashboard of `alki serve`: a page and the JSON it polls, drawn
// from the server's own metrics. A timer reads the metrics every interval
// into a ring of points (an hour at the defaults); each poll gets the ring
// plus a point for the time since the last reading, so the page moves as
// soon as requests come in.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { hashFile, MANIFEST_PATH } from '@alki/bundler';
import type { ServerMetrics } from '../metrics/server-metrics.js';
import { sendJson } from '../serve/http-io.js';
import { readAgentStatus, type AgentStatus } from './agent-status.js';
import { samplePoint, SampleRing, type DashboardSample, type MetricsReading } from './samples.js';

/** Where the page polls its data, whatever path the page itself is served on. */
export const DASHBOARD_DATA_PATH = '/dashboard/data.json';

/** One reading every 10 s, 360 of them: the last hour. */
const DEFAULT_INTERVAL_MS = 10_000;
const DEFAULT_CAPACITY = 360;
// A point for less than a second since the last reading would be mostly noise.
const MIN_LIVE_MS = 1000;
// The page polls at most this often, and at least once an interval.
const MAX_POLL_MS = 5000;

/** What the page's data URL answers. */
export interface DashboardData {
  model: string;
  engine: string;
  /** `sha256:<hex>` of the bundle's metadata/manifest.json; null for a bare GGUF file. */
  bundleDigest: string | null;
  startedAt: string;
  uptimeSeconds: number;
  intervalSeconds: number;
  totals: { requests: number; errors: number; completionTokens: number };
  /** Oldest first; the last point runs from the last reading to now. */
  samples: DashboardSample[];
  /** The update agent's state, when the server runs under `alki agent`; null otherwise. */
  agent: AgentStatus | null;
}

export type RouteHandler = (request: IncomingMessage, response: ServerResponse) => Promise<void>;

export interface DashboardOptions {
  /** The page's path, such as `/`. */
  path: string;
  metrics: ServerMetrics;
  model: string;
  engine: string;
  bundleDigest?: string;
  /** The agent's state.json, read on every poll (ALKI_AGENT_STATE). */
  agentStateFile?: string;
  /** Milliseconds between readings; default 10 000. */
  intervalMs?: number;
  /** Readings kept; default 360. */
  capacity?: number;
  /** The process the engine runs in when it is not this one (llama-server), for memory. */
  enginePid?: number;
  now?: () => number;
  /** Resident bytes now; by default this process's and the engine process's. */
  memory?: () => number;
  chartJs?: string;
}

export interface Dashboard {
  /** The page and its data, by path. */
  routes: ReadonlyMap<string, RouteHandler>;
  /** Takes a reading now (the timer does it every interval). */
  sample(): void;
  /** Stops the timer. */
  close(): void;
}

// A plain absolute path, of the characters a URL path keeps as they are (RFC 3986 unreserved and `/`).
const PAGE_PATH = /^\/[A-Za-z0-9._~/-]*$/;

/**
 * Why `path` cannot be the dashboard's page, in a sentence; undefined when it can.
 * It must be an absolute path that no other route of the server answers.
 */
export function dashboardPathProblem(path: string): string | undefined {
  if (!PAGE_PATH.test(path))
    return `The dashboard path must start with / and hold only letters, digits and . _ ~ - /; got ${JSON.stringify(path)}.`;
  if (
    ['/health', '/metrics', DASHBOARD_DATA_PATH].includes(path) ||
    path.startsWith('/v1/') ||
    path === '/v1'
  )
    return `The dashboard cannot be served on ${path}: the server answers that path itself.`;
  return undefined;
}

/** Resident bytes of another process, from /proc (Linux); 0 where it cannot be read. */
function processRss(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status)?.[1];
    return kib ? Number(kib) * 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * The digest the dashboard shows for a bundle: SHA-256 of its
 * metadata/manifest.json, which lists every file's digest and is what
 * `alki sign` signs.
 */
export async function bundleManifestDigest(bundleDir: string): Promise<string> {
  return `sha256:${(await hashFile(path.join(bundleDir, MANIFEST_PATH))).sha256}`;
}

/**
 * The dashboard's routes and the timer that samples the metrics.
 *
 * @example
 * const dashboard = createDashboard({ path: '/', metrics, model: 'tiny', engine: 'llama-server' });
 * const server = await startOpenAiServer({ engine, metrics, routes: dashboard.routes });
 */
export function createDashboard(options: DashboardOptions): Dashboard {
  const now = options.now ?? (() => Date.now());
  const intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS;
  const memory =
    options.memory ??
    (() => process.memoryUsage.rss() + (options.enginePid ? processRss(options.enginePid) : 0));
  const { metrics } = options;
  const started = now();
  const ring = new SampleRing<DashboardSample>(options.capacity ?? DEFAULT_CAPACITY);

  // Requests to the OpenAI API; the dashboard's own polls, /health and /metrics are not counted.
  const api = (labels: Record<string, string>) =>
    Object.hasOwn(labels, 'route') && labels.route.startsWith('/v1/');
  const read = (): MetricsReading => {
    const firstToken = metrics.firstToken.totals();
    return {
      at: now(),
      requests: metrics.requests.total(api),
      errors: metrics.errors.total(api),
      completionTokens: metrics.completionTokens.total(),
      firstTokenSum: firstToken.sum,
      firstTokenCount: firstToken.count,
      rssBytes: memory(),
    };
  };
  let last = read();
  const sample = () => {
    const current = read();
    ring.push(samplePoint(last, current));
    last = current;
  };
  const timer = setInterval(sample, intervalMs);
  timer.unref();

  // The page's renderer, and Chart.js through @alki/calibrate, load at the first view
  // rather than at every start of the server (or of anything importing this package).
  let page: Promise<Buffer> | undefined;
  const pageBytes = () =>
    (page ??= import('./page.js').then(({ renderDashboardPage }) =>
      Buffer.from(
        renderDashboardPage({
          title: options.model,
          dataUrl: DASHBOARD_DATA_PATH,
          pollMs: Math.min(intervalMs, MAX_POLL_MS),
          chartJs: options.chartJs,
        }),
      ),
    ));

  const data = async (): Promise<DashboardData> => {
    const current = read();
    const samples = ring.toArray();
    if (current.at - last.at >= MIN_LIVE_MS) samples.push(samplePoint(last, current));
    return {
      model: options.model,
      engine: options.engine,
      bundleDigest: options.bundleDigest ?? null,
      startedAt: new Date(started).toISOString(),
      uptimeSeconds: Math.round((current.at - started) / 1000),
      intervalSeconds: intervalMs / 1000,
      totals: {
        requests: current.requests,
        errors: current.errors,
        completionTokens: current.completionTokens,
      },
      samples,
      agent: options.agentStateFile ? await readAgentStatus(options.agentStateFile) : null,
    };
  };

  const routes = new Map<string, RouteHandler>([
    [
      options.path,
      async (_request, response) => {
        const html = await pageBytes();
        response.writeHead(200, {
          'Content-Type': 'text/html; charset=utf-8',
          'Content-Length': html.length,
          // The page may reach nothing but this server: its scripts and styles are inline.
          'Content-Security-Policy':
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:",
          'Cache-Control': 'no-cache',
        });
        response.end(html);
      },
    ],
    [
      DASHBOARD_DATA_PATH,
      async (_request, response) => sendJson(response, 200, await data(), { 'Cache-Control': 'no-store' }),
    ],
  ]);
  return { routes, sample, close: () => clearInterval(timer) };
}

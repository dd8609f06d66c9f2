import fs from 'node:fs';
import os from 'node:os';
import { slotsThatFit } from '@alki/bundler';
import { isAlkiError } from '@alki/errors';
import { getMetadata, openGguf, summarizeGguf } from '@alki/gguf-reader';
import { requireLlamaTool } from '@alki/llama-tools';
import {
  bundleManifestDigest,
  createDashboard,
  dashboardPathProblem,
  type Dashboard,
} from '../dashboard/dashboard.js';
import { RuntimeError } from '../errors.js';
import { createServerMetrics } from '../metrics/server-metrics.js';
import { checkGgufStructure } from '../validate/structure.js';
import type { Engine } from './engine.js';
import type { ServeSettings } from './llama-server-args.js';
import type { AccessPolicy } from './access.js';
import { startLlamaServerEngine } from './llama-server-engine.js';
import { createNodeLlamaEngine } from './node-llama-engine.js';
import { startOpenAiServer, type RunningServer } from './openai-server.js';

export type EngineName = 'llama-server' | 'node-llama-cpp';

export interface ServeOptions {
  /** Runtime settings, from a bundle's runtime.json or resolveGgufSettings. */
  settings: ServeSettings;
  /** `auto` (default) uses llama-server when one is found, else node-llama-cpp. */
  engine?: EngineName | 'auto';
  /** The llama-server binary; by default the native tools build, then PATH. */
  llamaServerBinary?: string;
  /**
   * Memory the server may use, in bytes; slots that do not fit beside the
   * model are not started. Default: the memory available now, within the
   * cgroup's limit.
   */
  availableMemory?: number;
  /** API keys and open probes, enforced by the front whichever engine runs; default: no key. */
  access?: AccessPolicy;
  /** Serve HTTPS with this PEM certificate and key. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Serve the edge dashboard; none by default. */
  dashboard?: DashboardSettings;
  log?: (line: string) => void;
  /** Called when the engine dies under the server (llama-server exited). */
  onEngineExit?: (reason: string) => void;
  signal?: AbortSignal;
}

/** Where the dashboard is served and what it shows beside the metrics. */
export interface DashboardSettings {
  /** The page's path, such as `/`; its data is at /dashboard/data.json. */
  path: string;
  /** The bundle directory served, whose manifest digest the page shows. */
  bundleDir?: string;
  /** The update agent's state file (ALKI_AGENT_STATE), shown when given. */
  agentStateFile?: string;
  /** Milliseconds between the metric readings it charts; default 10 000 (an hour in 360 points). */
  intervalMs?: number;
}

export interface ServingModel {
  server: RunningServer;
  engine: EngineName;
  /** The settings served: `parallel` is lowered when the slots asked for do not fit in memory. */
  settings: ServeSettings;
  /** What was changed from the settings asked for, and why, in sentences. */
  notes: string[];
}

function findLlamaServer(explicit?: string): string | undefined {
  if (explicit) return explicit;
  try {
    return requireLlamaTool('llama-server');
  } catch {
    return undefined;
  }
}

/** Memory this process may still take: what the system has available, within a cgroup limit. */
function availableMemory(): number {
  const constrained = process.constrainedMemory?.() ?? 0;
  return constrained > 0 ? Math.min(os.freemem(), constrained) : os.freemem();
}

// A projector is a GGUF whose architecture is clip (llama.cpp's mmproj
// files); anything else given as one fails here with a sentence, not inside
// llama-server's loader.
async function checkProjector(file: string): Promise<void> {
  let architecture: unknown;
  try {
    architecture = getMetadata(await openGguf(file), 'general.architecture');
  } catch (error) {
    if (!isAlkiError(error)) throw error;
    throw new RuntimeError(
      'INVALID_INPUT',
      `The vision projector ${file} is not a readable GGUF: ${error.message}`,
      {
        category: 'input',
        cause: error,
        details: { path: file },
      },
    );
  }
  if (architecture !== 'clip') {
    throw new RuntimeError(
      'INVALID_INPUT',
      `${file} is not a vision projector: its general.architecture is ${JSON.stringify(architecture ?? null)}, not "clip".`,
      {
        category: 'input',
        hint: 'Give the mmproj-*.gguf file that belongs to the model.',
        details: { path: file },
      },
    );
  }
}

/**
 * Checks the model before any native code loads it, and fits the slots to
 * memory: each of `parallel` slots holds a KV cache for the whole context.
 */
async function prepare(
  settings: ServeSettings,
  memory: number,
): Promise<{ settings: ServeSettings; notes: string[] }> {
  let file;
  try {
    file = await openGguf(settings.modelPath);
  } catch (error) {
    if (!isAlkiError(error)) throw error;
    throw new RuntimeError(
      'INVALID_INPUT',
      `${settings.modelPath} is not a readable GGUF: ${error.message}`,
      {
        category: 'input',
        cause: error,
        details: { path: settings.modelPath },
      },
    );
  }
  // A model llama.cpp would abort on must not take a server down with the
  // first unlucky request (or at start, in this process with node-llama-cpp).
  const structure = checkGgufStructure(file);
  if (structure.status === 'fail') {
    throw new RuntimeError('INVALID_INPUT', `${settings.modelPath} cannot be served: ${structure.message}`, {
      category: 'input',
      hint: 'Run `alki validate` on it for every check; repack the model with a complete vocabulary.',
      details: { path: settings.modelPath },
    });
  }
  if (settings.projectorPath !== undefined) await checkProjector(settings.projectorPath);
  if (settings.embeddings && !namesPooling(file)) settings = { ...settings, pooling: 'mean' };
  const kvCacheBytesPerToken = summarizeGguf(file, { contextSize: 1 }).memory.kvCacheBytes;
  // The projector's weights are loaded beside the model's.
  const modelBytes =
    fs.statSync(settings.modelPath).size +
    (settings.projectorPath !== undefined ? fs.statSync(settings.projectorPath).size : 0);
  const parallel = slotsThatFit(
    { kvCacheBytesPerToken },
    modelBytes,
    settings.ctx,
    settings.parallel,
    memory,
  );
  if (parallel === settings.parallel) return { settings, notes: [] };
  const mib = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MiB`;
  return {
    settings: { ...settings, parallel },
    notes: [
      `Serving ${parallel} request${parallel === 1 ? '' : 's'} at once instead of ${settings.parallel}: each slot holds a ${mib(kvCacheBytesPerToken * settings.ctx)} KV cache for ${settings.ctx} tokens, and ${mib(memory)} is available beside the ${mib(modelBytes)} model. More requests wait in the queue.`,
    ],
  };
}

/**
 * Starts a model behind the OpenAI-compatible front on the settings' host
 * and port. With llama-server, llama-server listens on a private 127.0.0.1
 * port with exactly the bundle's arguments, and the front adds /metrics,
 * request checks and graceful shutdown. Each of `settings.parallel` slots
 * serves one request with the whole context; more requests wait.
 *
 * @example
 * const { server } = await serveModel({ settings: await resolveGgufSettings('model.gguf', { port: 8080 }) });
 * process.once('SIGTERM', () => void server.close());
 */
export async function serveModel(options: ServeOptions): Promise<ServingModel> {
  const wanted = options.engine ?? 'auto';
  const binary = wanted === 'node-llama-cpp' ? undefined : findLlamaServer(options.llamaServerBinary);
  if (wanted === 'llama-server' && !binary) {
    throw new RuntimeError('ENGINE_UNAVAILABLE', 'llama-server was not found in the Alki cache or on PATH.', {
      hint: 'Build it with `alki tools build`, or serve with `--engine node-llama-cpp`.',
    });
  }
  const dashboardProblem = options.dashboard && dashboardPathProblem(options.dashboard.path);
  if (dashboardProblem)
    throw new RuntimeError('INVALID_INPUT', dashboardProblem, { details: { path: options.dashboard?.path } });
  const bundleDigest =
    options.dashboard?.bundleDir !== undefined
      ? await bundleManifestDigest(options.dashboard.bundleDir)
      : undefined;
  const { settings, notes } = await prepare(options.settings, options.availableMemory ?? availableMemory());
  let engine: Engine;
  let name: EngineName;
  if (binary) {
    name = 'llama-server';
    engine = await startLlamaServerEngine({
      binary,
      settings: { ...settings, host: '127.0.0.1', port: 0 },
      log: options.log,
      onExit: options.onEngineExit,
      signal: options.signal,
    });
  } else {
    name = 'node-llama-cpp';
    engine = await createNodeLlamaEngine({
      modelPath: settings.modelPath,
      modelId: settings.modelId,
      contextSize: settings.ctx,
      threads: settings.threads === 'auto' ? undefined : settings.threads,
      parallel: settings.parallel,
      ...(settings.embeddings ? { embeddings: true } : {}),
      ...(settings.projectorPath !== undefined ? { projectorPath: settings.projectorPath } : {}),
    });
    if (settings.projectorPath !== undefined)
      notes.push(
        wanted === 'auto'
          ? 'llama-server was not found, so node-llama-cpp serves this vision model, and it reads no images: requests with images get a 400. Build llama-server with `alki tools build` to serve them.'
          : 'node-llama-cpp reads no images: requests with images get a 400. Serve with --engine llama-server to answer them.',
      );
  }
  const metrics = createServerMetrics();
  let dashboard: Dashboard | undefined;
  try {
    // Loading a model can take a while; a stop asked for meanwhile is honoured before listening.
    options.signal?.throwIfAborted();
    const access = options.access ?? { apiKeys: [] };
    dashboard =
      options.dashboard &&
      createDashboard({
        path: options.dashboard.path,
        metrics,
        model: settings.modelId,
        engine: name,
        bundleDigest,
        agentStateFile: options.dashboard.agentStateFile,
        intervalMs: options.dashboard.intervalMs,
        enginePid: engine.pid,
      });
    const server = await startOpenAiServer({
      engine,
      host: settings.host,
      port: settings.port,
      log: options.log,
      access: dashboard ? { ...access, dashboardPaths: [...dashboard.routes.keys()] } : access,
      tls: options.tls,
      metrics,
      routes: dashboard?.routes,
    });
    const sampling = dashboard;
    return {
      server: {
        ...server,
        close: () => {
          sampling?.close();
          return server.close();
        },
      },
      engine: name,
      settings,
      notes,
    };
  } catch (error) {
    dashboard?.close();
    await engine.close();
    throw error;
  }
}

/**
 * Whether a model names how its embeddings are pooled (`<arch>.pooling_type`
 * other than none, as embedding models do). A generative model names none,
 * and llama-server's OpenAI embeddings need one: it is given mean pooling.
 */
function namesPooling(header: Awaited<ReturnType<typeof openGguf>>): boolean {
  const architecture = getMetadata(header, 'general.architecture');
  const pooling =
    typeof architecture === 'string' ? getMetadata(header, `${architecture}.pooling_type`) : undefined;
  return (typeof pooling === 'number' || typeof pooling === 'bigint') && Number(pooling) > 0;
}

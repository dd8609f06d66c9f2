import { requireLlamaTool } from '@alki/llama-tools';
import { RuntimeError } from '../errors.js';
import type { Engine } from './engine.js';
import type { ServeSettings } from './llama-server-args.js';
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
  /** Requests generated at once. Default 4. */
  parallel?: number;
  log?: (line: string) => void;
  /** Called when the engine dies under the server (llama-server exited). */
  onEngineExit?: (reason: string) => void;
  signal?: AbortSignal;
}

export interface ServingModel {
  server: RunningServer;
  engine: EngineName;
  settings: ServeSettings;
}

function findLlamaServer(explicit?: string): string | undefined {
  if (explicit) return explicit;
  try {
    return requireLlamaTool('llama-server');
  } catch {
    return undefined;
  }
}

/**
 * Starts a model behind the OpenAI-compatible front on the settings' host
 * and port. With llama-server, llama-server listens on a private 127.0.0.1
 * port with exactly the bundle's arguments, and the front adds /metrics,
 * request checks and graceful shutdown.
 *
 * @example
 * const { server } = await serveModel({ settings: await resolveGgufSettings('model.gguf', { port: 8080 }) });
 * process.once('SIGTERM', () => void server.close());
 */
export async function serveModel(options: ServeOptions): Promise<ServingModel> {
  const { settings } = options;
  const wanted = options.engine ?? 'auto';
  const binary = wanted === 'node-llama-cpp' ? undefined : findLlamaServer(options.llamaServerBinary);
  if (wanted === 'llama-server' && !binary) {
    throw new RuntimeError('ENGINE_UNAVAILABLE', 'llama-server was not found in the Alki cache or on PATH.', {
      hint: 'Build it with `alki tools build`, or serve with `--engine node-llama-cpp`.',
    });
  }
  let engine: Engine;
  let name: EngineName;
  if (binary) {
    name = 'llama-server';
    engine = await startLlamaServerEngine({
      binary,
      settings: { ...settings, host: '127.0.0.1', port: 0 },
      parallel: options.parallel,
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
      parallel: options.parallel,
    });
  }
  try {
    const server = await startOpenAiServer({
      engine,
      host: settings.host,
      port: settings.port,
      log: options.log,
    });
    return { server, engine: name, settings };
  } catch (error) {
    await engine.close();
    throw error;
  }
}

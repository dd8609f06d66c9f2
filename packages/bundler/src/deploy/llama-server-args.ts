import type { RuntimeManifest } from '../format/types.js';

/**
 * Slots (requests served at once) when runtime.json names none: llama-server's
 * own count when `--parallel` is auto (tools/server/server.cpp).
 */
export const DEFAULT_PARALLEL = 4;

/** The parts of runtime.json that become llama-server flags. */
export interface LlamaServerRuntime {
  server: Pick<RuntimeManifest['server'], 'host' | 'port'>;
  args: RuntimeManifest['args'];
}

/** The slots a runtime.json asks for. */
export function slotCount(args: Pick<RuntimeManifest['args'], 'parallel'>): number {
  return args.parallel ?? DEFAULT_PARALLEL;
}

/**
 * `--ctx-size` and `--parallel` for `ctx` tokens per request in each of the
 * slots: llama-server divides `--ctx-size` among its `--parallel` slots
 * (tools/server/server-context.cpp, n_ctx_slot), so it gets `ctx × parallel`.
 * An explicit `--parallel` also keeps the KV cache split per slot: with the
 * automatic count llama-server shares one unified cache of `--ctx-size`
 * among all slots, and concurrent requests then fail with "Context size has
 * been exceeded". Used by llamaServerArgs and by anything that overrides a
 * bundle's context (the fleet's per-group settings).
 *
 * @example
 * contextArgs({ ctx: 4096, parallel: 2 }); // ['--ctx-size', '8192', '--parallel', '2']
 */
export function contextArgs(args: Pick<RuntimeManifest['args'], 'ctx' | 'parallel'>): string[] {
  const parallel = slotCount(args);
  return ['--ctx-size', String(args.ctx * parallel), '--parallel', String(parallel)];
}

/**
 * The llama-server command line (after the program name) for a bundle's
 * runtime.json. Every way Alki runs a bundle uses this one function: the
 * systemd unit, the Dockerfile and k3s deployment, the images, and
 * `alki serve`, so they can never drift apart. Flag names are llama.cpp's
 * (tools/server/README.md); `--alias` names the model in /v1/models.
 *
 * `--metrics` is always on: every deployment exposes llama-server's
 * Prometheus metrics on /metrics (the k3s manifests carry scrape annotations).
 *
 * Context and slots come from contextArgs: every request has the whole
 * context the bundle promises.
 *
 * A vision bundle's projector (runtime.json `mmproj`) follows the model as
 * `--mmproj`, at the path the caller resolves it to, as the model's.
 *
 * @example
 * llamaServerArgs({ server: { host: '0.0.0.0', port: 8080 }, args: { ctx: 4096, threads: 'auto', ngl: 0, parallel: 2 } }, '/models/m.gguf', 'm');
 * // ['--model', '/models/m.gguf', '--host', '0.0.0.0', '--port', '8080', '--ctx-size', '8192', '--parallel', '2', '--n-gpu-layers', '0', '--metrics', '--alias', 'm']
 */
export function llamaServerArgs(
  runtime: LlamaServerRuntime,
  modelPath: string,
  alias: string,
  projectorPath?: string,
): string[] {
  const args = [
    '--model',
    modelPath,
    ...(projectorPath !== undefined ? ['--mmproj', projectorPath] : []),
    '--host',
    runtime.server.host,
    '--port',
    String(runtime.server.port),
    ...contextArgs(runtime.args),
  ];
  // Without --n-gpu-layers llama-server fits the layers to the device it finds
  // (common/arg.cpp: "auto" is the default), which older builds read as 0.
  if (runtime.args.ngl !== 'auto') args.push('--n-gpu-layers', String(runtime.args.ngl));
  if (runtime.args.threads !== 'auto') args.push('--threads', String(runtime.args.threads));
  args.push('--metrics', '--alias', alias);
  return args;
}

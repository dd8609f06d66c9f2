import { llamaServerArgs } from '@alki/bundler';

/** The runtime settings a served model needs, from a bundle's runtime.json or flags. */
export interface ServeSettings {
  modelPath: string;
  /** The vision projector llama-server loads beside the model (runtime.json `mmproj`, or --mmproj). */
  projectorPath?: string;
  /** The id clients send as `model`. */
  modelId: string;
  host: string;
  port: number;
  /** Context size in tokens (runtime.json `args.ctx`). */
  ctx: number;
  /** CPU threads (runtime.json `args.threads`); `auto` lets the engine choose. */
  threads: number | 'auto';
  /** Layers offloaded to a GPU (runtime.json `args.ngl`); `auto` leaves it to llama-server's fit. */
  ngl: number | 'auto';
  /** Requests served at once, each with `ctx` tokens (runtime.json `args.parallel`). */
  parallel: number;
  /**
   * Serve /v1/embeddings as well (`alki serve --embeddings`). llama-server then
   * runs with `--embeddings`, pooled by `pooling` (the model's own when it names one).
   */
  embeddings?: boolean;
  /** llama-server's `--pooling` for embeddings: set for a model that names no pooling (a generative model). */
  pooling?: 'mean';
}

/**
 * The llama-server command line for served settings: the same flags, in the
 * same order, as the bundle's deploy configs, because both come from
 * @alki/bundler's llamaServerArgs.
 */
export function serveSettingsArgs(settings: ServeSettings): string[] {
  const runtime = {
    server: { host: settings.host, port: settings.port },
    args: { ctx: settings.ctx, threads: settings.threads, ngl: settings.ngl, parallel: settings.parallel },
  };
  const args = llamaServerArgs(runtime, settings.modelPath, settings.modelId, settings.projectorPath);
  if (!settings.embeddings) return args;
  return [...args, '--embeddings', ...(settings.pooling ? ['--pooling', settings.pooling] : [])];
}

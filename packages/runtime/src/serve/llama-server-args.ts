/** The runtime settings a served model needs, from a bundle's runtime.json or flags. */
export interface ServeSettings {
  modelPath: string;
  /** The id clients send as `model`. */
  modelId: string;
  host: string;
  port: number;
  /** Context size in tokens (runtime.json `args.ctx`). */
  ctx: number;
  /** CPU threads (runtime.json `args.threads`); `auto` lets the engine choose. */
  threads: number | 'auto';
  /** Layers offloaded to a GPU (runtime.json `args.ngl`). */
  ngl: number;
}

/**
 * The llama-server command line for a model, with the flags the bundle's
 * deploy configs (systemd unit, Dockerfile, k3s deployment) use, in their
 * order: @alki/bundler's deploy/render-deploy.ts (serverArgs). Flag names are
 * llama.cpp's (tools/server/README.md).
 *
 * @example
 * llamaServerArgs({ modelPath: '/models/m.gguf', modelId: 'm', host: '0.0.0.0', port: 8080, ctx: 4096, threads: 'auto', ngl: 0 });
 * // ['--model', '/models/m.gguf', '--host', '0.0.0.0', '--port', '8080', '--ctx-size', '4096', '--n-gpu-layers', '0', '--alias', 'm']
 */
export function llamaServerArgs(settings: ServeSettings): string[] {
  const args = ['--model', settings.modelPath, '--host', settings.host, '--port', String(settings.port), '--ctx-size', String(settings.ctx), '--n-gpu-layers', String(settings.ngl)];
  if (settings.threads !== 'auto') args.push('--threads', String(settings.threads));
  args.push('--alias', settings.modelId);
  return args;
}

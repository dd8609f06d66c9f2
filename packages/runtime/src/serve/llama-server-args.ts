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
 * The llama-server command line for a model, in the form the bundle's deploy
 * configs (systemd unit, Dockerfile, k3s deployment) use: model, address,
 * context, threads and GPU layers. Flags are the ones in llama.cpp's
 * common/arg.cpp (`-m`, `--host`, `--port`, `-c`, `-t`, `-ngl`).
 *
 * @example
 * llamaServerArgs({ modelPath: '/models/m.gguf', modelId: 'm', host: '0.0.0.0', port: 8080, ctx: 4096, threads: 'auto', ngl: 0 });
 * // ['-m', '/models/m.gguf', '--host', '0.0.0.0', '--port', '8080', '-c', '4096', '-ngl', '0']
 */
export function llamaServerArgs(settings: ServeSettings): string[] {
  const args = ['-m', settings.modelPath, '--host', settings.host, '--port', String(settings.port), '-c', String(settings.ctx)];
  if (settings.threads !== 'auto') args.push('-t', String(settings.threads));
  args.push('-ngl', String(settings.ngl));
  return args;
}

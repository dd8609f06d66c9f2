import type { RuntimeManifest } from '../format/types.js';

/** The parts of runtime.json that become llama-server flags. */
export interface LlamaServerRuntime {
  server: Pick<RuntimeManifest['server'], 'host' | 'port'>;
  args: RuntimeManifest['args'];
}

/**
 * The llama-server command line (after the program name) for a bundle's
 * runtime.json. Every way Alki runs a bundle uses this one function: the
 * systemd unit, the Dockerfile and k3s deployment, the images, and
 * `alki serve`, so they can never drift apart. Flag names are llama.cpp's
 * (tools/server/README.md); `--alias` names the model in /v1/models.
 *
 * @example
 * llamaServerArgs({ server: { host: '0.0.0.0', port: 8080 }, args: { ctx: 4096, threads: 'auto', ngl: 0 } }, '/models/m.gguf', 'm');
 * // ['--model', '/models/m.gguf', '--host', '0.0.0.0', '--port', '8080', '--ctx-size', '4096', '--n-gpu-layers', '0', '--alias', 'm']
 */
export function llamaServerArgs(runtime: LlamaServerRuntime, modelPath: string, alias: string): string[] {
  const args = [
    '--model',
    modelPath,
    '--host',
    runtime.server.host,
    '--port',
    String(runtime.server.port),
    '--ctx-size',
    String(runtime.args.ctx),
    '--n-gpu-layers',
    String(runtime.args.ngl),
  ];
  if (runtime.args.threads !== 'auto') args.push('--threads', String(runtime.args.threads));
  args.push('--alias', alias);
  return args;
}

import { resolveServeSettings, RuntimeError, serveModel, type EngineName } from '@alki/runtime';
import type { Argv } from 'yargs';
import { withContext, type AlkiCommand, type GlobalOptions } from '../context.js';

interface ServeArgs extends GlobalOptions {
  target: string;
  engine: EngineName | 'auto';
  host?: string;
  port?: number;
  ctx?: number;
  threads?: number;
  ngl?: string;
  parallel?: number;
}

/** `--ngl auto` or a whole number of layers. */
function parseGpuLayers(value: string | undefined): number | 'auto' | undefined {
  if (value === undefined || value === 'auto') return value;
  const layers = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(layers))
    throw new RuntimeError('INVALID_INPUT', `--ngl must be auto or a whole number of layers; got ${value}.`);
  return layers;
}

export const serveCommand: AlkiCommand = {
  command: 'serve <target>',
  describe:
    'Serve a model with an OpenAI-compatible API (/v1/chat/completions, /v1/completions, /v1/models, /health, /metrics)',
  builder: (y: Argv<GlobalOptions>) =>
    y
      .positional('target', {
        type: 'string',
        demandOption: true,
        describe: 'A bundle directory (served with its metadata/runtime.json) or a .gguf file',
      })
      .option('engine', {
        choices: ['auto', 'llama-server', 'node-llama-cpp'] as const,
        default: 'auto' as const,
        describe:
          'llama-server (native tools or PATH), or the built-in node-llama-cpp server; auto prefers llama-server',
      })
      .option('host', { type: 'string', describe: 'Address to listen on (default 127.0.0.1)' })
      .option('port', { type: 'number', describe: 'Port to listen on (default 8080)' })
      .option('ctx', {
        type: 'number',
        describe: "Context size in tokens (default: the model's, at most 4096)",
      })
      .option('threads', { type: 'number', describe: 'CPU threads (default: all cores)' })
      .option('ngl', {
        type: 'string',
        describe:
          "GPU layers: auto (llama-server's fit to the device) or a number, 0 for the CPU only (llama-server only; default: runtime.json, else auto)",
      })
      .option('parallel', {
        type: 'number',
        describe:
          'Requests generated at once, each with the whole context; more wait in a queue (default: runtime.json, else 4; fewer when memory is short)',
      })
      .example(
        '$0 serve ./dist/tiny',
        'Serve a bundle with the host, port, context, threads and GPU layers of its runtime.json',
      )
      .example(
        '$0 serve model.gguf --port 8080',
        'Serve on http://127.0.0.1:8080; stop with Ctrl-C or SIGTERM (requests in flight finish first)',
      )
      .example(
        '$0 serve model.gguf --engine node-llama-cpp',
        'Serve without llama-server, on the node-llama-cpp prebuilt binary',
      ),
  handler: withContext<ServeArgs>(async (argv, { out, signal, interruptIsNormalStop }) => {
    // Ctrl-C or SIGTERM is how a server is stopped (systemd, Kubernetes): a
    // clean shutdown after one exits 0.
    interruptIsNormalStop();
    for (const [flag, value, min] of [
      ['--port', argv.port, 0],
      ['--ctx', argv.ctx, 16],
      ['--threads', argv.threads, 1],
      ['--parallel', argv.parallel, 1],
    ] as const) {
      if (
        value !== undefined &&
        (!Number.isInteger(value) || value < min || (flag === '--port' && value > 65535))
      ) {
        throw new RuntimeError(
          'INVALID_INPUT',
          `${flag} must be an integer of at least ${min}${flag === '--port' ? ' and at most 65535' : ''}; got ${value}.`,
        );
      }
    }
    const overrides = Object.fromEntries(
      Object.entries({
        host: argv.host,
        port: argv.port,
        ctx: argv.ctx,
        threads: argv.threads,
        ngl: parseGpuLayers(argv.ngl),
        parallel: argv.parallel,
      }).filter(([, v]) => v !== undefined),
    );
    const requested = await resolveServeSettings(argv.target, overrides);
    signal.throwIfAborted();
    out.info(
      `Starting ${requested.modelId} (context ${requested.ctx} per request, ${requested.parallel} at once, threads ${requested.threads}) ...`,
    );
    let engineFailure: ((error: Error) => void) | undefined;
    const engineFailed = new Promise<never>((_resolve, reject) => (engineFailure = reject));
    engineFailed.catch(() => undefined);
    const serving = await serveModel({
      settings: requested,
      engine: argv.engine,
      log: (line) => out.debug(line),
      signal,
      onEngineExit: (reason) =>
        engineFailure?.(
          new RuntimeError('UPSTREAM_FAILED', `${reason} while serving.`, {
            hint: 'Run with --verbose to see its output.',
          }),
        ),
    });
    const { server, settings } = serving;
    for (const note of serving.notes) out.warn(note);
    if (serving.engine === 'node-llama-cpp' && settings.ngl !== 0 && settings.ngl !== 'auto')
      out.warn(
        `The built-in engine runs on the CPU; --ngl ${settings.ngl} is ignored. Use --engine llama-server for GPU offload.`,
      );
    out.result(
      { url: server.url, engine: serving.engine, model: settings.modelId, settings },
      () => `Serving ${settings.modelId} on ${server.url} with ${serving.engine}. Press Ctrl-C to stop.`,
    );
    const stopped = new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      signal.addEventListener('abort', () => resolve(), { once: true });
    });
    try {
      await Promise.race([stopped, engineFailed]);
    } finally {
      out.info('Stopping: requests in flight finish first.');
      await server.close();
    }
  }),
};

import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  dashboardPathProblem,
  loadApiKeys,
  resolveServeSettings,
  RuntimeError,
  serveModel,
  type DashboardSettings,
  type EngineName,
} from '@alki/runtime';
import type { Argv } from 'yargs';
import { withContext, type AlkiCommandBody, type GlobalOptions } from '../context.js';
import { parseGpuLayers, refuseSpecialFile } from '../flags.js';
import { CliError } from '../errors.js';

interface ServeArgs extends GlobalOptions {
  target: string;
  engine: EngineName | 'auto';
  host?: string;
  port?: number;
  ctx?: number;
  threads?: number;
  ngl?: string;
  parallel?: number;
  apiKey?: string[];
  apiKeyFile?: string[];
  protectHealth: boolean;
  protectMetrics: boolean;
  tlsCert?: string;
  tlsKey?: string;
  mmproj?: string;
  embeddings: boolean;
  dashboard: string;
}

/** The environment variable that holds API keys, comma-separated. */
const API_KEY_ENV = 'ALKI_API_KEY';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** Reads the PEM files named by --tls-cert and --tls-key; both or neither. */
async function readTls(cert?: string, key?: string) {
  if (cert === undefined && key === undefined) return undefined;
  if (cert === undefined || key === undefined)
    throw new RuntimeError('INVALID_INPUT', '--tls-cert and --tls-key go together; got only one of them.', {
      hint: 'Pass the PEM certificate with --tls-cert and its private key with --tls-key.',
    });
  const read = async (file: string, flag: string) => {
    await refuseSpecialFile(file, flag);
    return readFile(file).catch((error: NodeJS.ErrnoException) => {
      throw new RuntimeError('INVALID_INPUT', `${flag} ${file} cannot be read: ${error.code ?? 'error'}.`, {
        category: 'input',
        cause: error,
        details: { path: file },
      });
    });
  };
  return { cert: await read(cert, '--tls-cert'), key: await read(key, '--tls-key') };
}

/** The environment variable in which `alki agent --exec` names its state file, for the dashboard. */
const AGENT_STATE_ENV = 'ALKI_AGENT_STATE';

/** The dashboard page's path from --dashboard (off, on, or a path); undefined for off. */
function dashboardPage(value: string): string | undefined {
  if (value === 'off') return undefined;
  const page = value === 'on' ? '/' : value;
  const problem = dashboardPathProblem(page);
  if (problem) throw new CliError('USAGE', `--dashboard: ${problem}`, { details: { flag: '--dashboard' } });
  return page;
}

export const serveCommand: AlkiCommandBody = {
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
      .option('embeddings', {
        type: 'boolean',
        default: false,
        describe:
          'Serve /v1/embeddings too (llama-server gets --embeddings, with mean pooling for a model that names none)',
      })
      .option('api-key', {
        type: 'string',
        array: true,
        describe: `An API key clients must send (Authorization: Bearer); repeat or separate with commas for several. Visible in \`ps\`: prefer --api-key-file or ${API_KEY_ENV}`,
      })
      .option('api-key-file', {
        type: 'string',
        array: true,
        describe: 'A file of API keys, one a line (# starts a comment); repeatable',
      })
      .option('protect-health', {
        type: 'boolean',
        default: false,
        describe: '/health needs a key too (default: open, for probes)',
      })
      .option('protect-metrics', {
        type: 'boolean',
        default: true,
        describe: '/metrics needs a key when keys are set; --no-protect-metrics leaves it open',
      })
      .option('dashboard', {
        type: 'string',
        default: 'on',
        describe: `The live dashboard page: on (at /), off, or the path to serve it on; it needs a key when /metrics does. Under \`alki agent --exec\` it shows the agent's state (${AGENT_STATE_ENV})`,
      })
      .option('tls-cert', { type: 'string', describe: 'Serve HTTPS with this PEM certificate (chain)' })
      .option('tls-key', { type: 'string', describe: 'The PEM private key of --tls-cert' })
      .option('mmproj', {
        type: 'string',
        describe:
          'A vision projector (mmproj-*.gguf) loaded beside a .gguf model, so requests may carry images (llama-server only; a bundle names its own in runtime.json)',
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
        `${API_KEY_ENV}=$(cat key) $0 serve ./dist/tiny --host 0.0.0.0 --tls-cert cert.pem --tls-key key.pem`,
        'Serve HTTPS on every interface; requests without the key get 401, /health stays open',
      )
      .example(
        '$0 serve gemma-3-4b-it-Q4_K_M.gguf --mmproj mmproj-gemma-3-4b-it-f16.gguf',
        'Serve a vision-language model: chat messages may carry image_url parts with data URLs',
      )
      .example(
        '$0 serve ./dist/tiny --dashboard /status',
        'Serve the live dashboard (model, digest, requests, tokens/s, first token, memory) at /status instead of /',
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
        throw new CliError(
          'USAGE',
          `${flag} must be an integer of at least ${min}${flag === '--port' ? ' and at most 65535' : ''}; got ${value}.`,
          { details: { flag } },
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
        projectorPath: argv.mmproj === undefined ? undefined : path.resolve(argv.mmproj),
        embeddings: argv.embeddings || undefined,
      }).filter(([, v]) => v !== undefined),
    );
    await refuseSpecialFile(argv.mmproj, '--mmproj');
    for (const file of argv.apiKeyFile ?? []) await refuseSpecialFile(file, '--api-key-file');
    const page = dashboardPage(argv.dashboard);
    const requested = await resolveServeSettings(argv.target, overrides);
    // A bundle shows its manifest digest; under `alki agent --exec`, the agent's state too.
    const agentState = process.env[AGENT_STATE_ENV];
    const dashboard: DashboardSettings | undefined = page
      ? {
          path: page,
          ...((await stat(argv.target)).isDirectory() ? { bundleDir: argv.target } : {}),
          ...(agentState ? { agentStateFile: agentState } : {}),
        }
      : undefined;
    const apiKeys = await loadApiKeys({
      keys: argv.apiKey,
      files: argv.apiKeyFile,
      env: process.env[API_KEY_ENV],
    });
    const tls = await readTls(argv.tlsCert, argv.tlsKey);
    signal.throwIfAborted();
    if (apiKeys.length === 0 && !LOOPBACK.has(requested.host))
      out.warn(
        `Serving on ${requested.host} without an API key: anyone who reaches this port can generate. Set one with --api-key-file or ${API_KEY_ENV}.`,
      );
    out.info(
      `Starting ${requested.modelId} (context ${requested.ctx} per request, ${requested.parallel} at once, threads ${requested.threads}) ...`,
    );
    let engineFailure: ((error: Error) => void) | undefined;
    const engineFailed = new Promise<never>((_resolve, reject) => (engineFailure = reject));
    engineFailed.catch(() => undefined);
    const serving = await serveModel({
      settings: requested,
      engine: argv.engine,
      access: { apiKeys, openHealth: !argv.protectHealth, openMetrics: !argv.protectMetrics },
      tls,
      dashboard,
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
      {
        url: server.url,
        engine: serving.engine,
        model: settings.modelId,
        settings,
        // How many keys, never the keys.
        access: {
          apiKeys: apiKeys.length,
          openHealth: apiKeys.length === 0 || !argv.protectHealth,
          openMetrics: apiKeys.length === 0 || !argv.protectMetrics,
        },
        dashboard: page === undefined ? null : `${server.url}${page}`,
      },
      () =>
        `Serving ${settings.modelId} on ${server.url} with ${serving.engine}${apiKeys.length ? `, ${apiKeys.length} API key${apiKeys.length === 1 ? '' : 's'}` : ''}.${page === undefined ? '' : ` Dashboard: ${server.url}${page}`} Press Ctrl-C to stop.`,
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

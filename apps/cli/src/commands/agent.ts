import {
  AgentMetrics,
  DEFAULT_SCHEDULE,
  DirectProcessManager,
  parseChannel,
  parseListen,
  serveMetrics,
  runAgent,
  SystemdManager,
  UpdateAgent,
  agentPaths,
  type RunAgentOptions,
  type ServiceManager,
} from '@alki/agent';
import { connectRegistry } from '@alki/oci';
import { loadApiKeys } from '@alki/runtime';
import { fileURLToPath } from 'node:url';
import { withContext, type AlkiCommandBody } from '../context.js';
import { connectOptions, withRegistryFlags, type RegistryFlags } from './registry-options.js';
import { trustOptions, trustPolicyFromFlags, wantsTrust, type TrustFlags } from './trust-options.js';

interface AgentArgs extends RegistryFlags, TrustFlags {
  channel: string;
  dir: string;
  exec: boolean;
  systemdUnit?: string;
  port?: number;
  host?: string;
  engine?: string;
  serveArg?: string[];
  apiKeyFile?: string;
  interval: number;
  jitter: number;
  retry: number;
  maxBackoff: number;
  keep: number;
  healthTimeout: number;
  reserve: number;
  once: boolean;
  listen: string;
}

/** This CLI's own entry point, which `--exec` starts as `alki serve`. */
const ALKI_BIN = fileURLToPath(new URL('../../bin/alki.js', import.meta.url));

function positive(flag: string, value: number, min = 0): true | string {
  return Number.isFinite(value) && value > min ? true : `${flag} takes a number above ${min}; got ${value}.`;
}

function serviceFor(argv: AgentArgs): ServiceManager {
  const paths = agentPaths(argv.dir);
  if (argv.systemdUnit) return new SystemdManager({ unit: argv.systemdUnit, port: argv.port });
  return new DirectProcessManager({
    command: [process.execPath, ALKI_BIN, 'serve'],
    args: [
      ...(argv.host ? ['--host', argv.host] : []),
      ...(argv.engine ? ['--engine', argv.engine] : []),
      ...(argv.apiKeyFile ? ['--api-key-file', argv.apiKeyFile] : []),
      ...(argv.serveArg ?? []),
    ],
    port: argv.port,
    slotsDir: paths.slots,
    logFile: paths.serverLog,
    // The dashboard of `alki serve` shows the agent's state from this file.
    env: { ...process.env, ALKI_AGENT_STATE: paths.state },
  });
}

/** The key health checks present: the file's first, read again before each check so a rotated key is used. */
function healthKey(file: string): () => Promise<string | undefined> {
  return async () => (await loadApiKeys({ files: [file] }))[0];
}

export const agentCommand: AlkiCommandBody = {
  builder: (y) =>
    trustOptions(
      withRegistryFlags(y)
        .positional('channel', {
          type: 'string',
          demandOption: true,
          describe: 'host/repo:tag to follow (the publisher moves the tag), or host/repo@sha256:... to pin',
        })
        .option('dir', {
          type: 'string',
          default: '/var/lib/alki/agent',
          describe: 'The agent directory: slots, the `current` link, state.json, server.log',
        })
        .option('exec', {
          type: 'boolean',
          default: false,
          describe: 'Run `alki serve` on the current slot and supervise it',
        })
        .option('systemd-unit', {
          type: 'string',
          describe: 'Or: restart this systemd unit, which serves <dir>/current, with systemctl',
        })
        .option('port', {
          type: 'number',
          describe: "The server's port (default: the bundle's runtime.json); health checks go there",
        })
        .option('host', { type: 'string', describe: 'With --exec: the address alki serve listens on' })
        .option('engine', {
          choices: ['auto', 'llama-server', 'node-llama-cpp'] as const,
          describe: 'With --exec: the engine alki serve uses',
        })
        .option('serve-arg', {
          type: 'string',
          array: true,
          describe:
            'With --exec: one more argument for alki serve (repeatable), such as --serve-arg=--threads=2',
        })
        .option('api-key-file', {
          type: 'string',
          describe:
            'A file of API keys (one a line) the server requires: with --exec, alki serve takes it; health checks present its first key',
        })
        .option('interval', {
          type: 'number',
          default: DEFAULT_SCHEDULE.intervalMs / 1000,
          describe: 'Seconds between two looks at the channel',
        })
        .option('jitter', {
          type: 'number',
          default: DEFAULT_SCHEDULE.jitter,
          describe: 'Fraction of each delay added or taken at random (0 to 1)',
        })
        .option('retry', {
          type: 'number',
          default: DEFAULT_SCHEDULE.retryMs / 1000,
          describe: 'Seconds before the first retry after a failed look; doubled per failure',
        })
        .option('max-backoff', {
          type: 'number',
          default: DEFAULT_SCHEDULE.maxBackoffMs / 1000,
          describe: 'The longest delay between two looks, in seconds',
        })
        .option('keep', {
          type: 'number',
          default: 2,
          describe: 'Slots kept on disk, the served one included (2 or more)',
        })
        .option('health-timeout', {
          type: 'number',
          default: 120,
          describe: 'Seconds a restarted server has to answer /health and one completion',
        })
        .option('reserve', {
          type: 'number',
          default: 64,
          describe: 'MiB that must stay free on the disk after a download',
        })
        .option('listen', {
          type: 'string',
          default: '127.0.0.1:9464',
          describe: 'HOST:PORT where the agent serves its Prometheus /metrics (port 0: any free port)',
        })
        .option('once', {
          type: 'boolean',
          default: false,
          describe:
            'With --systemd-unit: finish what a stopped agent left, look at the channel once, and exit',
        }),
    )
      .check((argv) => {
        if (argv.exec === Boolean(argv['systemd-unit']))
          return 'Give exactly one of --exec (supervise alki serve) and --systemd-unit NAME.';
        if (argv.once && argv.exec)
          return '--once needs --systemd-unit: with --exec the agent supervises the server and keeps running.';
        if (argv.keep < 2 || !Number.isInteger(argv.keep))
          return '--keep takes a whole number of at least 2: the served slot and one to roll back to.';
        if (argv.jitter < 0 || argv.jitter > 1) return '--jitter takes a fraction from 0 to 1.';
        for (const [flag, value] of [
          ['--interval', argv.interval],
          ['--retry', argv.retry],
          ['--max-backoff', argv['max-backoff']],
          ['--health-timeout', argv['health-timeout']],
        ] as const) {
          const ok = positive(flag, Number(value));
          if (ok !== true) return ok;
        }
        try {
          parseListen(String(argv.listen));
        } catch (error) {
          return (error as Error).message;
        }
        return Number(argv.reserve) >= 0 ? true : '--reserve takes a number of MiB, 0 or more.';
      })
      .example(
        '$0 agent registry.local:5000/models/qwen3:stable --dir /var/lib/alki/qwen3 --exec --port 8080',
        'Serve what the stable tag names with alki serve, and follow the tag',
      )
      .example(
        '$0 agent registry.local:5000/models/qwen3:stable --dir /var/lib/alki/qwen3 --systemd-unit alki-qwen3.service',
        'Follow the tag for a systemd unit that serves /var/lib/alki/qwen3/current',
      )
      .example(
        '$0 agent registry.local:5000/models/qwen3@sha256:4f0c... --dir /var/lib/alki/qwen3 --exec --key release.pub',
        'Pin one digest, and serve it only when signed by that key',
      ),
  handler: withContext<AgentArgs>(async (argv, { out, signal, interruptIsNormalStop }) => {
    // SIGTERM is how systemd stops the agent: a clean stop exits 0.
    interruptIsNormalStop();
    const channel = parseChannel(argv.channel);
    const listen = parseListen(argv.listen);
    const client = await connectRegistry(channel.registry, await connectOptions(argv, out, signal));
    const options: RunAgentOptions = {
      channel,
      client,
      dir: argv.dir,
      service: serviceFor(argv),
      keep: argv.keep,
      healthTimeoutMs: argv.healthTimeout * 1000,
      reserveBytes: Math.round(argv.reserve * 2 ** 20),
      ...(argv.apiKeyFile ? { healthApiKey: healthKey(argv.apiKeyFile) } : {}),
      ...(wantsTrust(argv) ? { trust: { policy: await trustPolicyFromFlags(argv) } } : {}),
      schedule: {
        intervalMs: argv.interval * 1000,
        jitter: argv.jitter,
        retryMs: argv.retry * 1000,
        maxBackoffMs: argv.maxBackoff * 1000,
      },
      log: (event) => out.event(event, `${event.at} ${event.decision}: ${event.message}`),
      signal,
    };
    if (!argv.once) {
      const metrics = new AgentMetrics();
      const server = await serveMetrics(metrics, listen);
      out.event({ metrics: `${server.url}/metrics` }, `Metrics on ${server.url}/metrics`);
      try {
        await runAgent({
          ...options,
          onState: (state) => metrics.observeState(state),
          onProgress: (done) => metrics.observeProgress(done),
        });
      } finally {
        await server.close();
      }
      return;
    }
    const agent = new UpdateAgent(options);
    await agent.start(signal);
    try {
      const outcome = await agent.check(signal);
      // A failed look, or an update rolled back, is the exit status of a one-shot run (cron, a timer unit).
      if (outcome === 'failed' || outcome === 'rolled-back') throw agent.lastFailure;
    } finally {
      await agent.stop();
    }
  }),
};

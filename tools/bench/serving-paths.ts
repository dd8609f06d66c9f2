// The three ways a model is served that the serving benchmarks compare, all
// with the same settings: llama-server alone (the reference, started with the
// deploy configs' arguments from llamaServerArgs), `alki serve` with the
// llama-server engine (Alki's front proxying a private llama-server), and
// `alki serve` with the built-in node-llama-cpp engine.
import { llamaServerArgs } from '@alki/bundler';
import { serveModel, type ServeSettings } from '@alki/runtime';
import { freePort, nativeTools, startProcess, waitForHttp } from '@alki/testkit';

export interface ServingPath {
  label: string;
  url: string;
}

export const REFERENCE_PATH = 'llama-server alone';

/** Starts the three paths; `stop` stops whichever have started, newest first. */
export async function startServingPaths(
  settings: ServeSettings,
): Promise<{ paths: ServingPath[]; stop: () => Promise<void> }> {
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const one of stops.reverse()) await one().catch(() => undefined);
  };
  try {
    const tools = await nativeTools();
    const directPort = await freePort();
    const direct = startProcess(
      tools.paths['llama-server'],
      llamaServerArgs(
        {
          server: { host: '127.0.0.1', port: directPort },
          args: {
            ctx: settings.ctx,
            threads: settings.threads,
            ngl: settings.ngl,
            parallel: settings.parallel,
          },
        },
        settings.modelPath,
        settings.modelId,
      ),
    );
    stops.push(() => direct.stop());
    await waitForHttp(`http://127.0.0.1:${directPort}/health`, { timeoutMs: 120_000 });
    const viaFront = await serveModel({
      settings,
      engine: 'llama-server',
      llamaServerBinary: tools.paths['llama-server'],
    });
    stops.push(() => viaFront.server.close());
    const builtin = await serveModel({ settings, engine: 'node-llama-cpp' });
    stops.push(() => builtin.server.close());
    return {
      paths: [
        { label: REFERENCE_PATH, url: `http://127.0.0.1:${directPort}` },
        { label: 'alki serve (llama-server)', url: viaFront.server.url },
        { label: 'alki serve (node-llama-cpp)', url: builtin.server.url },
      ],
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

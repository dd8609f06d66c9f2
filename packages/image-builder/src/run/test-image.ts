import { randomBytes } from 'node:crypto';
import { ImageBuilderError } from '../errors.js';
import { abortableSleep, type ImageConfig } from '@alki/oci';
import { engineCommand, type ContainerEngine } from './engine.js';

export interface TestImageOptions {
  engine: ContainerEngine;
  /** What the engine runs: `localhost/acme/tiny:latest`, `oci:/path:tag`, `docker-archive:/x.tar`... */
  image: string;
  /** The image's config, to find its Cmd and port; read with `podman image inspect` when not given. */
  config?: ImageConfig;
  /** Host port to serve on; the image's `--port` argument is rewritten to it so tests can run side by side. */
  port: number;
  /** Extra environment for the container (`ALKI_BUNDLE_URI=...`). */
  env?: Record<string, string>;
  /** Extra `run` flags (`--network host`, `-v`). */
  runFlags?: string[];
  /** How long to wait for /health; default 180 s. */
  healthTimeoutMs?: number;
  prompt?: string;
  maxTokens?: number;
  fetch?: typeof fetch;
  signal?: AbortSignal;
  now?: () => number;
  /** Called as the test moves along ('starting', 'waiting for /health', ...). */
  onStatus?: (status: string) => void;
}

export interface ImageTestResult {
  image: string;
  engine: string;
  /** Milliseconds from `run` until /health answered 200. */
  startupMs: number;
  /** Milliseconds the chat completion took. */
  completionMs: number;
  model: string;
  reply: string;
  completionTokens?: number;
}

/** Replaces (or adds) `--port N` in llama-server's arguments. */
export function withPort(args: string[], port: number): string[] {
  const result = [...args];
  const at = result.findIndex((a) => a === '--port');
  if (at >= 0 && at + 1 < result.length) result[at + 1] = String(port);
  else result.push('--port', String(port));
  return result;
}

function inspectConfig(engine: ContainerEngine, image: string): ImageConfig {
  const text = engineCommand(engine, ['image', 'inspect', image]);
  const [info] = JSON.parse(text) as Array<{
    Config?: ImageConfig['config'];
    Architecture?: string;
    Os?: string;
  }>;
  return {
    architecture: info.Architecture ?? 'amd64',
    os: info.Os ?? 'linux',
    config: info.Config,
    rootfs: { type: 'layers', diff_ids: [] },
  };
}

/**
 * Runs an image, waits for llama-server's /health, sends one chat
 * completion, and reports the reply and the latencies. The container is
 * removed afterwards whatever happens; on failure the error carries the
 * container's last log lines.
 *
 * @example
 * const result = await testImage({ engine: detectEngine(), image: 'localhost/acme/tiny:latest', port: 8080 });
 */
export async function testImage(options: TestImageOptions): Promise<ImageTestResult> {
  const { engine, port } = options;
  const doFetch = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  const config =
    options.config ?? (options.image.includes(':/') ? undefined : inspectConfig(engine, options.image));
  const cmd = config?.config?.Cmd;
  const name = `alki-image-test-${randomBytes(4).toString('hex')}`;
  const envFlags = Object.entries(options.env ?? {}).flatMap(([k, v]) => ['--env', `${k}=${v}`]);
  // --init: llama-server as PID 1 ignores SIGTERM (so the server inside stops on SIGTERM).
  const runArgs = [
    'run',
    '-d',
    '--init',
    '--name',
    name,
    '-p',
    `127.0.0.1:${port}:${port}`,
    ...envFlags,
    ...(options.runFlags ?? []),
    options.image,
    ...(cmd ? withPort(cmd, port) : []),
  ];
  const base = `http://127.0.0.1:${port}`;
  const started = now();
  options.onStatus?.(`starting ${options.image} with ${engine.name}`);
  engineCommand(engine, runArgs);
  const logs = () => {
    const result = engine.run(engine.name, ['logs', '--tail', '20', name]);
    return `${result.stdout}${result.stderr}`.trim();
  };
  const fail = (message: string, cause?: unknown): never => {
    throw new ImageBuilderError('IMAGE_TEST_FAILED', message, {
      cause,
      details: { image: options.image, logs: logs() },
      hint: `Container log:\n${logs()}`,
    });
  };
  try {
    options.onStatus?.('waiting for /health');
    const deadline = started + (options.healthTimeoutMs ?? 180_000);
    let healthy = false;
    while (!healthy) {
      options.signal?.throwIfAborted();
      try {
        const response = await doFetch(`${base}/health`, { signal: options.signal });
        healthy = response.status === 200;
      } catch {
        // not listening yet
      }
      if (healthy) break;
      const state = engine
        .run(engine.name, ['inspect', '--format', '{{.State.Running}}', name])
        .stdout.trim();
      if (state === 'false') fail(`The container of ${options.image} exited before /health answered.`);
      if (now() > deadline)
        fail(
          `${options.image} did not answer /health with 200 within ${Math.round((options.healthTimeoutMs ?? 180_000) / 1000)} s.`,
        );
      await abortableSleep(250, options.signal);
    }
    const startupMs = now() - started;
    options.onStatus?.('sending a chat completion');
    const askedAt = now();
    let body: {
      model?: string;
      choices?: Array<{ message?: { content?: string } }>;
      usage?: { completion_tokens?: number };
    } = {};
    try {
      const response = await doFetch(`${base}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          messages: [{ role: 'user', content: options.prompt ?? 'Say hello.' }],
          max_tokens: options.maxTokens ?? 8,
          temperature: 0,
        }),
        signal: options.signal,
      });
      if (response.status !== 200)
        fail(
          `The chat completion answered HTTP ${response.status}: ${(await response.text()).slice(0, 200)}`,
        );
      body = (await response.json()) as typeof body;
    } catch (error) {
      if (error instanceof ImageBuilderError) throw error;
      fail(`The chat completion failed: ${(error as Error).message}`, error);
    }
    const completionMs = now() - askedAt;
    const reply = body.choices?.[0]?.message?.content;
    if (typeof reply !== 'string') fail('The chat completion answered without choices[0].message.content.');
    return {
      image: options.image,
      engine: engine.name,
      startupMs,
      completionMs,
      model: body.model ?? '',
      reply: reply as string,
      completionTokens: body.usage?.completion_tokens,
    };
  } finally {
    // podman's -t shortens the stop grace; docker's rm has no such flag.
    engine.run(engine.name, engine.name === 'podman' ? ['rm', '-f', '-t', '2', name] : ['rm', '-f', name]);
  }
}

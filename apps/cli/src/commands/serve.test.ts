import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { cachedTinyLlamaGguf, freePort, startProcess, waitForHttp } from '@alki/testkit';
import OpenAI from 'openai';
import { EXIT_CODES } from '../exit-codes.js';
import { cliLauncher, runCli } from '../test-support.js';

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));

/** A launcher script for the CLI sources; node-llama-cpp forks helpers with our execArgv, so no `-e`. */
/** `alki serve` of the tiny model on node-llama-cpp, in a real process; resolves once /health answers. */
async function startServe(launcher: string, flags: string[], env: NodeJS.ProcessEnv = process.env) {
  const { path: model } = await cachedTinyLlamaGguf();
  const port = await freePort();
  const cli = startProcess(
    process.execPath,
    [
      '--import',
      'tsx',
      launcher,
      'serve',
      model,
      '--engine',
      'node-llama-cpp',
      '--port',
      String(port),
      '--ctx',
      '128',
      '--threads',
      '1',
      ...flags,
      '--json',
    ],
    { cwd: repoRoot, env },
  );
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${url}/health`, { timeoutMs: 90_000 });
  } catch (error) {
    await cli.stop();
    throw new Error(`${(error as Error).message}\n${cli.output()}`);
  }
  return { cli, url };
}

describe('alki serve', () => {
  // A real process, because the test needs a real SIGTERM. It runs the CLI
  // sources through tsx; the libraries come from their builds (nx builds
  // dependencies before tests).
  it('serves until SIGTERM, lets the request in flight finish, then exits 0', async () => {
    const launcher = cliLauncher(fs.mkdtempSync(path.join(os.tmpdir(), 'alki-serve-test-')));
    const { cli, url } = await startServe(launcher, []);
    try {
      const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });
      const modelId = (await client.models.list()).data[0].id;
      const stream = await client.chat.completions.create({
        model: modelId,
        messages: [{ role: 'user', content: 'Go on' }],
        max_tokens: 16,
        temperature: 0,
        stream: true,
        stream_options: { include_usage: true },
      });
      const exited = once(cli.child, 'exit');
      let completionTokens = 0;
      for await (const chunk of stream) {
        if (cli.child.signalCode === null && !cli.child.killed) cli.child.kill('SIGTERM');
        if (chunk.usage) completionTokens = chunk.usage.completion_tokens;
      }
      const [code] = (await exited) as [number | null];
      expect(completionTokens).toBeGreaterThan(1);
      expect(code).toBe(EXIT_CODES.ok);
      expect(cli.output()).toContain(`"url": "${url}"`);
      await expect(fetch(`${url}/health`)).rejects.toThrow();
    } finally {
      await cli.stop();
      fs.rmSync(path.dirname(launcher), { recursive: true, force: true });
    }
  }, 120_000);

  it('takes API keys from a key file and the environment, answers 401 without one, and prints no key', async () => {
    const launcher = cliLauncher(fs.mkdtempSync(path.join(os.tmpdir(), 'alki-serve-test-')));
    const keyFile = path.join(path.dirname(launcher), 'api-keys');
    fs.writeFileSync(keyFile, '# the fleet key\nkey-from-file-5b1e\n');
    const { cli, url } = await startServe(launcher, ['--api-key-file', keyFile, '--verbose'], {
      ...process.env,
      ALKI_API_KEY: 'key-from-env-c40d',
    });
    try {
      const client = (apiKey: string) => new OpenAI({ baseURL: `${url}/v1`, apiKey, maxRetries: 0 });
      const refused = await client('key-guessed-0000')
        .models.list()
        .catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(OpenAI.AuthenticationError);
      expect((refused as InstanceType<typeof OpenAI.AuthenticationError>).code).toBe('invalid_api_key');
      for (const key of ['key-from-file-5b1e', 'key-from-env-c40d']) {
        const answer = await client(key).chat.completions.create({
          messages: [{ role: 'user', content: 'Hi' }],
          model: (await client(key).models.list()).data[0].id,
          max_tokens: 2,
        });
        expect(answer.object).toBe('chat.completion');
      }
      expect(cli.output()).toContain('"apiKeys": 2');
      for (const key of ['key-from-file-5b1e', 'key-from-env-c40d', 'key-guessed-0000'])
        expect(cli.output()).not.toContain(key);
    } finally {
      await cli.stop();
      fs.rmSync(path.dirname(launcher), { recursive: true, force: true });
    }
  }, 120_000);

  it('refuses --tls-cert without --tls-key as a usage error', async () => {
    const { path: model } = await cachedTinyLlamaGguf();
    const { code, stderr } = await runCli(['serve', model, '--tls-cert', 'cert.pem']);
    expect(code).toBe(EXIT_CODES.usage);
    expect(stderr).toMatch(/--tls-cert and --tls-key go together/);
  });

  it('refuses a port out of range as a usage error', async () => {
    const { path: model } = await cachedTinyLlamaGguf();
    const { code, stderr } = await runCli(['serve', model, '--port', '70000']);
    expect(code).toBe(EXIT_CODES.usage);
    expect(stderr).toMatch(/--port must be an integer of at least 0 and at most 65535/);
  });
});

import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { cachedTinyLlamaGguf, freePort, startProcess, waitForHttp } from '@alki/testkit';
import OpenAI from 'openai';
import { EXIT_CODES } from '../exit-codes.js';
import { runCli } from '../test-support.js';

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));

/** A launcher script for the CLI sources; node-llama-cpp forks helpers with our execArgv, so no `-e`. */
function cliLauncher(): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'alki-serve-test-')), 'alki.mjs');
  fs.writeFileSync(
    file,
    `import { main } from ${JSON.stringify(new URL('../main.ts', import.meta.url).href)};\nprocess.exitCode = await main(process.argv.slice(2));\n`,
  );
  return file;
}

describe('alki serve', () => {
  // A real process, because the test needs a real SIGTERM. It runs the CLI
  // sources through tsx; the libraries come from their builds (nx builds
  // dependencies before tests).
  it('serves until SIGTERM, lets the request in flight finish, then exits 0', async () => {
    const { path: model } = await cachedTinyLlamaGguf();
    const port = await freePort();
    const launcher = cliLauncher();
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
        '--json',
      ],
      { cwd: repoRoot },
    );
    try {
      const url = `http://127.0.0.1:${port}`;
      await waitForHttp(`${url}/health`, { timeoutMs: 90_000 }).catch((error: Error) => {
        throw new Error(`${error.message}\n${cli.output()}`);
      });
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
      const [code] = await exited;
      expect(completionTokens).toBeGreaterThan(1);
      expect(code).toBe(EXIT_CODES.ok);
      expect(cli.output()).toContain(`"url": "${url}"`);
      await expect(fetch(`${url}/health`)).rejects.toThrow();
    } finally {
      await cli.stop();
      fs.rmSync(path.dirname(launcher), { recursive: true, force: true });
    }
  }, 120_000);

  it('refuses a port out of range as a usage error', async () => {
    const { path: model } = await cachedTinyLlamaGguf();
    const { code, stderr } = await runCli(['serve', model, '--port', '70000']);
    expect(code).toBe(EXIT_CODES.usage);
    expect(stderr).toMatch(/--port must be an integer of at least 0 and at most 65535/);
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import os from 'node:os';
import { cachedTinyLlamaGguf, fixtureCacheDir, rewriteGgufMetadata, startFakeHub } from '@alki/testkit';
import type { ValidationReport } from '@alki/runtime';
import { EXIT_CODES } from '../exit-codes.js';
import { runCli } from '../test-support.js';

async function abortingModel(): Promise<string> {
  const tiny = await cachedTinyLlamaGguf();
  const file = path.join(fixtureCacheDir('cli'), `no-feed-forward-${path.basename(tiny.path)}`);
  if (!fs.existsSync(file))
    await rewriteGgufMetadata(tiny.path, file, (entries) =>
      entries.filter((e) => e.key !== 'llama.feed_forward_length'),
    );
  return file;
}

describe('alki validate', () => {
  it('prints a passing report with speed and memory figures as JSON', async () => {
    const { path: model } = await cachedTinyLlamaGguf();
    const { code, stdout } = await runCli([
      'validate',
      model,
      '--max-tokens',
      '3',
      '--context-size',
      '64',
      '--threads',
      '1',
      '--json',
    ]);
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as ValidationReport;
    expect(report).toMatchObject({ kind: 'gguf', ok: true });
    expect(report.models[0].checks.map((c) => c.name)).toEqual([
      'structure',
      'load',
      'tokenizer',
      'chat-template',
      'generation',
    ]);
    expect(report.models[0].metrics.loadMs).toBeGreaterThan(0);
    expect(report.models[0].metrics.peakRssBytes).toBeGreaterThan(0);
  }, 120_000);

  it('reports a model that makes llama.cpp abort as a failed check (exit 1), and the CLI survives', async () => {
    const { code, stderr } = await runCli(['validate', await abortingModel(), '--threads', '1']);
    expect(code).toBe(EXIT_CODES.checkFailed);
    expect(stderr).toMatch(
      /^error: The load check failed for .*: llama\.cpp aborted the process during the load check: .*GGML_ASSERT.*llama\.feed_forward_length/m,
    );
    expect(stderr).not.toMatch(/\n\s+at /);
    // Still here: the abort killed only the child process.
    const again = await runCli(['validate', path.join(fixtureCacheDir('cli'), 'missing.gguf')]);
    expect(again.code).toBe(EXIT_CODES.inputInvalid);
    expect(again.stderr).toMatch(/^error: .*missing\.gguf does not exist\./m);
  }, 120_000);

  it('refuses a non-positive --max-tokens as a usage error', async () => {
    const { path: model } = await cachedTinyLlamaGguf();
    const { code, stderr } = await runCli(['validate', model, '--max-tokens', '0']);
    expect(code).toBe(EXIT_CODES.usage);
    expect(stderr).toMatch(/--max-tokens must be a positive integer/);
  });
});

describe('alki validate on the hub', () => {
  it("runs the seed README's command as written: -f picks the GGUF, --no-cleanup keeps it", async () => {
    const { path: model } = await cachedTinyLlamaGguf();
    const hub = await startFakeHub({
      repos: [
        {
          id: 'Qwen/Qwen2-0.5B-Instruct-GGUF',
          files: { 'qwen2-0_5b-instruct-q8_0.gguf': fs.readFileSync(model) },
        },
      ],
    });
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-validate-hub-'));
    const saved = { ...process.env };
    process.env.HF_ENDPOINT = hub.url;
    process.env.HF_HUB_CACHE = cache;
    delete process.env.HF_TOKEN;
    try {
      // alki validate "Qwen/Qwen2-0.5B-Instruct-GGUF" -f "*q8_0.gguf" --prompt "Explain machine learning" --max-tokens 50 --no-cleanup
      const { code, stdout } = await runCli([
        'validate',
        'Qwen/Qwen2-0.5B-Instruct-GGUF',
        '-f',
        '*q8_0.gguf',
        '--prompt',
        'Explain machine learning',
        '--max-tokens',
        '50',
        '--no-cleanup',
        '--threads',
        '1',
        '--json',
      ]);
      expect(code).toBe(0);
      expect(JSON.parse(stdout)).toMatchObject({
        kind: 'hub',
        ok: true,
        target: 'Qwen/Qwen2-0.5B-Instruct-GGUF/qwen2-0_5b-instruct-q8_0.gguf',
      });
      expect(fs.readdirSync(cache)).toContain('models--Qwen--Qwen2-0.5B-Instruct-GGUF');
    } finally {
      process.env = saved;
      await hub.stop();
      fs.rmSync(cache, { recursive: true, force: true });
    }
  }, 120_000);
});

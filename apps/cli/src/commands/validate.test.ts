import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { cachedTinyLlamaGguf, fixtureCacheDir, rewriteGgufMetadata } from '@alki/testkit';
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
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({ kind: 'gguf', ok: true });
    expect(report.models[0].checks.map((c: { name: string }) => c.name)).toEqual([
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

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { pack } from '@alki/bundler';
import { startRegistry, writeTinyLlamaGguf, type TestRegistry } from '@alki/testkit';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { publishedDigest, runCli } from '../test-support.js';

let registry: TestRegistry;
let work: string;
let digest: string;

beforeAll(async () => {
  registry = await startRegistry();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-cli-tags-'));
  const gguf = path.join(work, 'tiny.gguf');
  await writeTinyLlamaGguf(gguf, { name: 'tags-tiny' });
  const bundle = path.join(work, 'bundle');
  await pack({ source: gguf, out: bundle, sourceDateEpoch: 1_700_000_000 });
  digest = await publishedDigest(bundle, registry.host, 'v1.0.0');
  await runCli(['publish', bundle, '--registry', registry.host, '--tag', 'v1.0.1', '--quiet']);
});
afterAll(async () => {
  await registry?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('alki tags', () => {
  it('lists every tag with the digest it points at', async () => {
    const run = await runCli(['tags', `${registry.host}/tags-tiny`, '--json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      repository: `${registry.host}/tags-tiny`,
      tags: [
        { tag: 'latest', digest },
        { tag: 'v1.0.0', digest },
        { tag: 'v1.0.1', digest },
      ],
    });
    const human = await runCli(['tags', `${registry.host}/tags-tiny`]);
    expect(human.stdout.split('\n').filter(Boolean)).toEqual([
      `${'latest'.padEnd(24)} ${digest}`,
      `${'v1.0.0'.padEnd(24)} ${digest}`,
      `${'v1.0.1'.padEnd(24)} ${digest}`,
    ]);
  });

  it('exits 3 for a repository the registry does not have, like any other name that does not exist', async () => {
    const run = await runCli(['tags', `${registry.host}/nothing-here`]);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/has no repository nothing-here/);
  });
});

describe('registry command help', () => {
  it('shows an example for publish, pull and tags', async () => {
    for (const [command, example] of [
      ['publish', 'alki publish ./dist/qwen3 --local ./oci'],
      ['pull', 'alki pull registry.example.com/ai/qwen3:v1.0.0'],
      ['tags', 'alki tags registry.example.com/ai/qwen3'],
    ]) {
      const run = await runCli([command, '--help']);
      expect(run.code).toBe(0);
      const examples = run.stdout.slice(run.stdout.indexOf('Examples:'));
      expect(examples).toContain(example);
    }
  });
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { artifactPath, readBundle } from '@alki/bundler';
import { startFakeHub, type FakeHub } from '@alki/testkit';
import { tinyBundle, tinyModel } from '../test-support/models.js';
import { validate } from './validate.js';

const FAST = { maxTokens: 2, contextSize: 64, threads: 1 } as const;
let work: string;

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-runtime-validate-'));
});

afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

describe('validate on a bundle', () => {
  it('checks every hash against the manifest and validates every artifact', async () => {
    const dir = await tinyBundle(work, 'good');
    const report = await validate(dir, FAST);
    expect(report.kind).toBe('bundle');
    expect(report.checks).toEqual([expect.objectContaining({ name: 'hash', status: 'pass' })]);
    expect(report.models.map((m) => path.basename(m.file))).toEqual([
      'alki-tiny-llama-q8_0.gguf',
      'alki-tiny-llama-f32.gguf',
    ]);
    expect(report.models.every((m) => m.ok)).toBe(true);
    expect(report.ok).toBe(true);
  }, 180_000);

  it('fails the hash check of a model changed after packing, naming the file', async () => {
    const dir = await tinyBundle(work, 'tampered', ['Q8_0']);
    const { manifest } = await readBundle(dir);
    const model = path.join(dir, artifactPath(manifest.artifacts[0].uri));
    // Flip one byte of the last tensor: the file still loads, only the hash can tell.
    const bytes = fs.readFileSync(model);
    bytes[bytes.length - 3] ^= 0x01;
    fs.writeFileSync(model, bytes);
    const report = await validate(dir, FAST);
    expect(report.ok).toBe(false);
    const hash = report.checks.find((c) => c.name === 'hash');
    expect(hash?.status).toBe('fail');
    expect(hash?.message).toContain(artifactPath(manifest.artifacts[0].uri));
  }, 180_000);
});

describe('validate on a hub repo', () => {
  let hub: FakeHub;

  beforeAll(async () => {
    const weights = fs.readFileSync(await tinyModel());
    hub = await startFakeHub({
      repos: [{ id: 'acme/tiny-GGUF', files: { 'tiny-F32.gguf': weights, 'README.md': '# tiny' } }],
    });
  });

  afterAll(async () => {
    await hub?.stop();
  });

  it('downloads the GGUF the glob picks into a temporary cache, validates it and removes the download', async () => {
    const cache = fs.mkdtempSync(path.join(work, 'hf-'));
    const report = await validate('acme/tiny-GGUF', {
      ...FAST,
      filename: '*F32.gguf',
      hub: { endpoint: hub.url, env: { HF_HUB_CACHE: cache } },
    });
    expect(report).toMatchObject({ kind: 'hub', ok: true, target: 'acme/tiny-GGUF/tiny-F32.gguf' });
    expect(fs.existsSync(report.models[0].file)).toBe(false);
    expect(fs.readdirSync(cache)).toEqual([]);
  }, 120_000);

  it('keeps the download in the Hugging Face cache with keepDownloads (--no-cleanup)', async () => {
    const cache = fs.mkdtempSync(path.join(work, 'hf-'));
    const report = await validate('acme/tiny-GGUF', {
      ...FAST,
      filename: '*F32.gguf',
      keepDownloads: true,
      hub: { endpoint: hub.url, env: { HF_HUB_CACHE: cache } },
    });
    expect(report.ok).toBe(true);
    expect(report.models[0].file.startsWith(cache)).toBe(true);
    expect(fs.existsSync(report.models[0].file)).toBe(true);
  }, 120_000);
});

describe('validate on a bad target', () => {
  it('throws NOT_FOUND for a path that does not exist and is not a repo id', async () => {
    await expect(validate(path.join(work, 'nothing.gguf'))).rejects.toMatchObject({
      code: 'NOT_FOUND',
      category: 'input',
    });
  });
});

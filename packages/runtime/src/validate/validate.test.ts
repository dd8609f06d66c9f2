import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { artifactPath, pack, readBundle } from '@alki/bundler';
import { cachedVisionGgufs, nativeTools, startFakeHub, type FakeHub } from '@alki/testkit';
import { tinyBundle, tinyModel } from '../test-support/models.js';
import { validate } from './validate.js';
import { checkVision } from './vision-check.js';

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

  it('never loads a model that is a link out of the bundle, nor one that is a named pipe', async () => {
    const dir = await tinyBundle(work, 'escaping', ['Q8_0']);
    const { manifest } = await readBundle(dir);
    const relative = artifactPath(manifest.artifacts[0].uri);
    const outside = path.join(work, 'outside.gguf');
    fs.renameSync(path.join(dir, relative), outside);
    fs.symlinkSync(outside, path.join(dir, relative));
    const linked = await validate(dir, FAST);
    expect(linked.ok).toBe(false);
    expect(linked.models).toEqual([]);
    expect(linked.checks.find((c) => c.name === 'hash')?.message).toContain(`${relative} is a symbolic link`);
    fs.unlinkSync(path.join(dir, relative));
    execFileSync('mkfifo', [path.join(dir, relative)]);
    const piped = await validate(dir, FAST);
    expect(piped.models).toEqual([]);
    expect(piped.checks.find((c) => c.name === 'hash')?.message).toContain(
      `${relative} is not a regular file`,
    );
  }, 60_000);
});

describe('validate on a vision bundle', () => {
  it('sends a generated image through llama-server with the projector, and fails the check on a damaged projector', async () => {
    await nativeTools();
    const { model, mmproj } = await cachedVisionGgufs();
    const dir = path.join(work, 'vision');
    await pack({ source: model, mmproj, out: dir, name: 'gemma3-vlm' });
    const report = await validate(dir, FAST);
    // The projector is checked with its model, not validated as a language model.
    expect(report.models.map((m) => path.basename(m.file))).toEqual(['gemma3-vlm-f16.gguf']);
    const vision = report.checks.find((c) => c.name === 'vision');
    expect(vision).toMatchObject({ status: 'pass' });
    expect(vision?.message).toMatch(
      /^llama-server read a 32×32 PNG through the projector \(a \d+-token prompt\) and answered with \d+ tokens\.$/,
    );
    expect(report.ok).toBe(true);

    // A projector cut short no longer loads: the check fails and says why.
    const cut = path.join(work, 'mmproj-cut.gguf');
    fs.writeFileSync(cut, fs.readFileSync(mmproj).subarray(0, fs.statSync(mmproj).size - 1024));
    const failed = await checkVision(model, cut, { maxTokens: 2, contextSize: 256, threads: 1 });
    expect(failed.status).toBe('fail');
    expect(failed.message).toMatch(/^llama-server could not load the model with its projector: /);
  }, 600_000);
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
  it('throws TARGET_NOT_FOUND for a path that does not exist and is not a repo id', async () => {
    await expect(validate(path.join(work, 'nothing.gguf'))).rejects.toMatchObject({
      code: 'TARGET_NOT_FOUND',
      category: 'input',
    });
  });

  it('refuses a named pipe given as the model, before anything opens it', async () => {
    const fifo = path.join(work, 'pipe.gguf');
    execFileSync('mkfifo', [fifo]);
    await expect(validate(fifo)).rejects.toMatchObject({ code: 'NOT_A_REGULAR_FILE', category: 'input' });
  });
});

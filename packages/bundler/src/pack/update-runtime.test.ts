import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeTestGguf } from '../__fixtures__/test-gguf.js';
import { pack, readBundle, verifyBundle } from '../index.js';
import { updateBundleRuntime } from './update-runtime.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'alki-update-runtime-'));
const source = path.join(work, 'tiny.gguf');
const out = path.join(work, 'bundle');

beforeAll(async () => {
  await writeTestGguf(source, { name: 'Tiny Test', fileType: 0 });
  await pack({ source, out, quantize: ['f32', 'Q8_0'], sourceDateEpoch: 1_700_000_000 });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('updateBundleRuntime', () => {
  it('serves another quant at another context and thread count, in runtime.json and every deploy file, and the bundle still verifies', async () => {
    const before = await readBundle(out);
    expect(before.runtime.model).toBe('./models/tiny-test-f32.gguf');
    const q8Inode = statSync(path.join(out, 'models/tiny-test-q8_0.gguf')).ino;

    const { runtime, changed } = await updateBundleRuntime(out, { quant: 'Q8_0', ctx: 128, threads: 3 });

    expect(runtime.model).toBe('./models/tiny-test-q8_0.gguf');
    expect(runtime.args).toMatchObject({ ctx: 128, threads: 3 });
    expect(changed).toEqual(
      expect.arrayContaining([
        'metadata/runtime.json',
        'metadata/README.md',
        'deploy/systemd/alki-tiny-test.service',
        'deploy/k3s/deployment.yaml',
        'deploy/docker/Dockerfile',
        'deploy/podman/alki-tiny-test.container',
        'deploy/compose/compose.yaml',
        // The chart's values carry runtime.json's settings.
        'deploy/helm/alki-tiny-test/values.yaml',
        'metadata/manifest.json',
      ]),
    );
    const after = await readBundle(out);
    expect(after.runtime).toEqual(runtime);
    const unit = readFileSync(path.join(out, 'deploy/systemd/alki-tiny-test.service'), 'utf8');
    expect(unit).toMatch(/tiny-test-q8_0\.gguf/);
    // llama-server gets the context of every slot: 128 tokens x the 4 slots pack gives.
    expect(unit).toMatch(/--ctx-size 512 --parallel 4\b/);
    expect(unit).toMatch(/--threads 3\b/);
    expect(readFileSync(path.join(out, 'deploy/k3s/deployment.yaml'), 'utf8')).toMatch(/cpu: "?3"?/);
    expect((await verifyBundle(out)).problems).toEqual([]);
    // The models were linked into the new bundle, not copied.
    expect(statSync(path.join(out, 'models/tiny-test-q8_0.gguf')).ino).toBe(q8Inode);
    // Nothing is left beside the bundle.
    expect(readdirSync(work).sort()).toEqual(['bundle', 'tiny.gguf']);
  });

  it('changes nothing when the settings are already those', async () => {
    const { changed } = await updateBundleRuntime(out, { quant: 'Q8_0', ctx: 128, threads: 3 });
    expect(changed).toEqual([]);
  });

  it('refuses a quant the bundle does not hold, naming the ones it does, and leaves it untouched', async () => {
    const manifest = readFileSync(path.join(out, 'metadata/manifest.json'), 'utf8');
    await expect(updateBundleRuntime(out, { quant: 'Q4_K_M' })).rejects.toThrow(
      expect.objectContaining({ code: 'INVALID_INPUT', hint: expect.stringContaining('F32, Q8_0') }),
    );
    expect(readFileSync(path.join(out, 'metadata/manifest.json'), 'utf8')).toBe(manifest);
  });
});

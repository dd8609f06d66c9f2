import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { cachedTinyLlamaGguf, generateCheckpoint, startFakeHub, type FakeHub } from '@alki/testkit';
import { downloadFile } from './download-file.js';
import { snapshotDownload, type SnapshotOptions } from './snapshot-download.js';

const CHECKPOINT = {
  'config.json': '{"architectures":["LlamaForCausalLM"]}',
  'model-00001-of-00002.safetensors': 'a'.repeat(5000),
  'model-00002-of-00002.safetensors': 'b'.repeat(3000),
  'model.safetensors.index.json': '{}',
  'tokenizer.json': '{}',
  'original/consolidated.pth': 'pickle bytes',
};

let hub: FakeHub;
const caches: string[] = [];
function freshCache(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-hub-snapshot-'));
  caches.push(dir);
  return dir;
}
const options = (cacheDir: string, extra: SnapshotOptions = {}): SnapshotOptions => ({
  endpoint: hub.url,
  cacheDir,
  env: {},
  ...extra,
});

beforeAll(async () => {
  hub = await startFakeHub({ repos: [{ id: 'acme/tiny', files: CHECKPOINT }] });
});
afterAll(async () => {
  await hub.stop();
  for (const dir of caches) fs.rmSync(dir, { recursive: true, force: true });
});

describe('snapshotDownload', () => {
  it('downloads the files matching include into one snapshot folder laid out as the repo', async () => {
    const cacheDir = freshCache();
    const snapshot = await snapshotDownload(
      'acme/tiny',
      options(cacheDir, { include: ['*.json', '*.safetensors'] }),
    );
    const commit = hub.commitOf('acme/tiny');
    expect(snapshot.commit).toBe(commit);
    expect(snapshot.dir).toBe(path.join(cacheDir, 'models--acme--tiny', 'snapshots', commit));
    expect(snapshot.files.map((f) => f.path)).toEqual([
      'config.json',
      'model-00001-of-00002.safetensors',
      'model-00002-of-00002.safetensors',
      'model.safetensors.index.json',
      'tokenizer.json',
    ]);
    for (const file of snapshot.files) {
      expect(fs.readFileSync(path.join(snapshot.dir, file.path), 'utf8')).toBe(
        CHECKPOINT[file.path as keyof typeof CHECKPOINT],
      );
    }
    expect(fs.existsSync(path.join(snapshot.dir, 'original'))).toBe(false);
  });

  it('counts progress over all files, ending at their total', async () => {
    const seen: Array<[number, number]> = [];
    await snapshotDownload(
      'acme/tiny',
      options(freshCache(), {
        include: ['*.safetensors'],
        onProgress: (bytes, total) => seen.push([bytes, total]),
      }),
    );
    expect(seen.every(([, total]) => total === 8000)).toBe(true);
    expect(seen.at(-1)).toEqual([8000, 8000]);
    expect(seen.map(([bytes]) => bytes)).toEqual([...seen.map(([bytes]) => bytes)].sort((a, b) => a - b));
  });

  it('fetches no content the second time, and works offline afterwards', async () => {
    const cacheDir = freshCache();
    const first = await snapshotDownload('acme/tiny', options(cacheDir));
    hub.clearRequests();
    const second = await snapshotDownload('acme/tiny', options(cacheDir));
    expect(second.files.every((f) => f.fromCache)).toBe(true);
    expect(hub.requests.filter((r) => r.path.includes('/resolve/'))).toEqual([]);
    const offline = await snapshotDownload('acme/tiny', {
      cacheDir,
      env: { HF_HUB_OFFLINE: '1' },
      include: ['*.safetensors'],
    });
    expect(offline.dir).toBe(first.dir);
    expect(offline.files.map((f) => f.path)).toEqual([
      'model-00001-of-00002.safetensors',
      'model-00002-of-00002.safetensors',
    ]);
  });

  it('says which files exist when include matches none', async () => {
    await expect(
      snapshotDownload('acme/tiny', options(freshCache(), { include: ['*.gguf'] })),
    ).rejects.toMatchObject({
      code: 'NO_MATCH',
      hint: expect.stringContaining('config.json'),
    });
  });
});

describe('snapshotDownload of generated fixtures', () => {
  it('brings a sharded safetensors checkpoint and a GGUF through the hub byte for byte', async () => {
    const checkpoint = await generateCheckpoint({ family: 'qwen3', shards: 2 });
    const gguf = await cachedTinyLlamaGguf();
    const ggufDir = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-hub-gguf-'));
    caches.push(ggufDir);
    fs.copyFileSync(gguf.path, path.join(ggufDir, 'tiny-F32.gguf'));
    const fixtures = await startFakeHub({
      repos: [
        { id: 'fixtures/qwen3-tiny', dir: checkpoint },
        { id: 'fixtures/tiny-GGUF', dir: ggufDir },
      ],
    });
    try {
      const cacheDir = freshCache();
      const snapshot = await snapshotDownload('fixtures/qwen3-tiny', {
        endpoint: fixtures.url,
        cacheDir,
        env: {},
      });
      const expected = fs
        .readdirSync(checkpoint, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile());
      expect(snapshot.files.length).toBe(expected.length);
      expect(snapshot.files.map((f) => f.path)).toEqual(
        expect.arrayContaining([
          'config.json',
          'model-00001-of-00002.safetensors',
          'model.safetensors.index.json',
        ]),
      );
      for (const file of snapshot.files) {
        expect(
          fs
            .readFileSync(path.join(snapshot.dir, file.path))
            .equals(fs.readFileSync(path.join(checkpoint, file.path))),
        ).toBe(true);
      }
      const model = await downloadFile('fixtures/tiny-GGUF', 'tiny-F32.gguf', {
        endpoint: fixtures.url,
        cacheDir,
        env: {},
      });
      expect(fs.readFileSync(model.localPath).equals(fs.readFileSync(gguf.path))).toBe(true);
    } finally {
      await fixtures.stop();
    }
  });
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startFakeHub, type FakeHub } from '@alki/testkit';
import * as hfjs from '@huggingface/hub';
import { downloadFile } from './download-file.js';
import { snapshotDownload } from './snapshot-download.js';

// huggingface.js implements the same cache layout as Python's huggingface_hub
// (its downloadFileToCacheDir, snapshotDownload and scanCacheDir follow
// file_download.py), so it is an independent writer and reader to check ours
// against. Python itself is not installed here.
const FILES = {
  'config.json': '{"model_type":"llama"}',
  'model.safetensors': 'x'.repeat(4096),
  'tokenizer/tokenizer.json': '{}',
};

let hub: FakeHub;
const dirs: string[] = [];
function freshCache(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-hub-interop-'));
  dirs.push(dir);
  return dir;
}

beforeAll(async () => {
  hub = await startFakeHub({ repos: [{ id: 'acme/tiny', files: FILES }] });
});
afterAll(async () => {
  await hub.stop();
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

describe('the cache shared with huggingface.js', () => {
  it('reuses a snapshot that huggingface.js downloaded, offline and online without content requests', async () => {
    const cacheDir = freshCache();
    const commit = hub.commitOf('acme/tiny');
    const folder = await hfjs.snapshotDownload({ repo: 'acme/tiny', hubUrl: hub.url, cacheDir });
    expect(folder).toBe(path.join(cacheDir, 'models--acme--tiny', 'snapshots', commit));

    const offline = await snapshotDownload('acme/tiny', { cacheDir, offline: true, env: {} });
    expect(offline.dir).toBe(folder);
    expect(
      Object.fromEntries(offline.files.map((f) => [f.path, fs.readFileSync(f.localPath, 'utf8')])),
    ).toEqual(FILES);

    hub.clearRequests();
    const online = await downloadFile('acme/tiny', 'model.safetensors', {
      endpoint: hub.url,
      cacheDir,
      env: {},
    });
    expect(online.fromCache).toBe(true);
    expect(hub.requests.filter((r) => r.path.includes('/resolve/'))).toEqual([]);
  });

  it('writes a cache that huggingface.js scans and reuses', async () => {
    const cacheDir = freshCache();
    const ours = await snapshotDownload('acme/tiny', { endpoint: hub.url, cacheDir, env: {} });
    const scan = await hfjs.scanCacheDir(cacheDir);
    expect(scan.warnings).toEqual([]);
    expect(scan.repos).toHaveLength(1);
    const [repo] = scan.repos;
    expect(repo.id).toEqual({ name: 'acme/tiny', type: 'model' });
    expect(repo.revisions.map((r) => [r.commitOid, r.refs])).toEqual([[ours.commit, ['main']]]);
    // huggingface.js's scanSnapshotDir looks at the top folder only (Python's
    // scan_cache_dir recurses), so tokenizer/tokenizer.json is not listed.
    const topLevel = Object.entries(FILES).filter(([p]) => !p.includes('/'));
    expect(repo.revisions[0].files.map((f) => f.path).sort()).toEqual(
      topLevel.map(([p]) => path.join(ours.dir, p)).sort(),
    );
    for (const file of repo.revisions[0].files)
      expect(path.dirname(file.blob.path)).toBe(path.join(cacheDir, 'models--acme--tiny', 'blobs'));
    expect(repo.size).toBe(topLevel.reduce((sum, [, text]) => sum + text.length, 0));

    hub.clearRequests();
    const pointer = await hfjs.downloadFileToCacheDir({
      repo: 'acme/tiny',
      path: 'model.safetensors',
      revision: ours.commit,
      hubUrl: hub.url,
      cacheDir,
    });
    expect(pointer).toBe(path.join(ours.dir, 'model.safetensors'));
    expect(hub.requests).toEqual([]);
  });
});

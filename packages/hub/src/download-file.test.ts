import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { startFakeHub, type FakeHub } from '@alki/testkit';
import { downloadFile, type DownloadOptions } from './download-file.js';
import { HubError } from './errors.js';
import { snapshotDownload } from './snapshot-download.js';

const TOKEN = 'hf_reader';
const OTHER_TOKEN = 'hf_stranger';
// Big enough to arrive in several chunks, small enough to stay fast.
const WEIGHTS = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 251));
const README = '---\nlicense: mit\n---\n# tiny\n';
const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');
const gitOid = (data: string) =>
  createHash('sha1')
    .update(`blob ${Buffer.byteLength(data)}\0`)
    .update(data)
    .digest('hex');

let hub: FakeHub;
const caches: string[] = [];

function freshCache(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-hub-cache-'));
  caches.push(dir);
  return dir;
}

function options(cacheDir: string, extra: DownloadOptions = {}): DownloadOptions {
  // An empty env, so the developer's own HF_TOKEN or HF_HUB_OFFLINE never leak in.
  return { endpoint: hub.url, cacheDir, env: {}, ...extra };
}

const contentRequests = () => hub.requests.filter((r) => r.path.includes('/resolve/'));

beforeAll(async () => {
  hub = await startFakeHub({
    tokens: [TOKEN, OTHER_TOKEN],
    repos: [
      {
        id: 'acme/tiny-GGUF',
        files: { 'tiny-Q8_0.gguf': WEIGHTS, 'README.md': README, 'nested/dir/notes.txt': 'hello' },
        revisions: { v2: { files: { 'tiny-Q8_0.gguf': 'v2 weights' } } },
      },
      { id: 'acme/odd-names', files: { 'dir with space/odd #1?%.txt': 'odd', 'ünïcödé.json': '{}' } },
      { id: 'acme/hostile', files: { '../escape.txt': 'out', 'ok.txt': 'in' } },
      { id: 'acme/private', private: true, files: { 'model.gguf': 'secret weights' } },
      { id: 'acme/gated', gated: 'manual', access: [TOKEN], files: { 'model.gguf': 'gated weights' } },
    ],
  });
});

afterAll(async () => {
  await hub.stop();
  for (const dir of caches) fs.rmSync(dir, { recursive: true, force: true });
});

afterEach(() => hub.clearRequests());

describe('downloadFile into a fresh cache', () => {
  it('writes the huggingface_hub layout: blobs named by sha256 or git oid, relative snapshot symlinks, refs/main', async () => {
    const cacheDir = freshCache();
    const commit = hub.commitOf('acme/tiny-GGUF');
    const weights = await downloadFile('acme/tiny-GGUF', 'tiny-Q8_0.gguf', options(cacheDir));
    const readme = await downloadFile('acme/tiny-GGUF', 'README.md', options(cacheDir));
    const nested = await downloadFile('acme/tiny-GGUF', 'nested/dir/notes.txt', options(cacheDir));

    const storage = path.join(cacheDir, 'models--acme--tiny-GGUF');
    expect(fs.readFileSync(path.join(storage, 'refs', 'main'), 'utf8')).toBe(commit);
    expect(fs.readdirSync(path.join(storage, 'blobs')).sort()).toEqual(
      [sha256(WEIGHTS), gitOid(README), gitOid('hello')].sort(),
    );
    const snapshot = path.join(storage, 'snapshots', commit);
    expect(fs.readlinkSync(path.join(snapshot, 'tiny-Q8_0.gguf'))).toBe(`../../blobs/${sha256(WEIGHTS)}`);
    expect(fs.readlinkSync(path.join(snapshot, 'README.md'))).toBe(`../../blobs/${gitOid(README)}`);
    expect(fs.readlinkSync(path.join(snapshot, 'nested', 'dir', 'notes.txt'))).toBe(
      `../../../../blobs/${gitOid('hello')}`,
    );

    expect(weights).toMatchObject({
      commit,
      localPath: path.join(snapshot, 'tiny-Q8_0.gguf'),
      size: WEIGHTS.length,
      sha256: sha256(WEIGHTS),
      fromCache: false,
    });
    expect(fs.readFileSync(weights.localPath).equals(WEIGHTS)).toBe(true);
    expect(fs.readFileSync(readme.localPath, 'utf8')).toBe(README);
    expect(readme.sha256).toBeUndefined();
    expect(fs.readFileSync(nested.localPath, 'utf8')).toBe('hello');
  });

  it('reports progress that only grows and ends at the file size', async () => {
    const seen: Array<[number, number]> = [];
    await downloadFile(
      'acme/tiny-GGUF',
      'tiny-Q8_0.gguf',
      options(freshCache(), { onProgress: (bytes, total) => seen.push([bytes, total]) }),
    );
    expect(seen.length).toBeGreaterThan(1);
    expect(seen.every(([, total]) => total === WEIGHTS.length)).toBe(true);
    expect(seen.map(([bytes]) => bytes)).toEqual([...seen.map(([bytes]) => bytes)].sort((a, b) => a - b));
    expect(seen.at(-1)).toEqual([WEIGHTS.length, WEIGHTS.length]);
  });

  it('keeps each revision in its own snapshot and ref, sharing nothing that differs', async () => {
    const cacheDir = freshCache();
    const main = await downloadFile('acme/tiny-GGUF', 'tiny-Q8_0.gguf', options(cacheDir));
    const v2 = await downloadFile('acme/tiny-GGUF', 'tiny-Q8_0.gguf', options(cacheDir, { revision: 'v2' }));
    expect(v2.commit).toBe(hub.commitOf('acme/tiny-GGUF', 'v2'));
    expect(v2.commit).not.toBe(main.commit);
    expect(fs.readFileSync(v2.localPath, 'utf8')).toBe('v2 weights');
    expect(fs.readFileSync(path.join(cacheDir, 'models--acme--tiny-GGUF', 'refs', 'v2'), 'utf8')).toBe(
      v2.commit,
    );
  });
});

describe('downloadFile with a warm cache', () => {
  it('downloads no content the second time', async () => {
    const cacheDir = freshCache();
    await downloadFile('acme/tiny-GGUF', 'tiny-Q8_0.gguf', options(cacheDir));
    hub.clearRequests();
    const again = await downloadFile('acme/tiny-GGUF', 'tiny-Q8_0.gguf', options(cacheDir));
    expect(again.fromCache).toBe(true);
    expect(contentRequests()).toEqual([]);
  });

  it('makes no request at all when the revision is a cached commit', async () => {
    const cacheDir = freshCache();
    const first = await downloadFile('acme/tiny-GGUF', 'README.md', options(cacheDir));
    hub.clearRequests();
    const again = await downloadFile(
      'acme/tiny-GGUF',
      'README.md',
      options(cacheDir, { revision: first.commit }),
    );
    expect(again.localPath).toBe(first.localPath);
    expect(hub.requests).toEqual([]);
  });

  it('links a blob another revision already downloaded instead of fetching it again', async () => {
    const cacheDir = freshCache();
    const main = await downloadFile('acme/tiny-GGUF', 'README.md', options(cacheDir));
    // Same content, new commit: only the snapshot entry is new.
    fs.rmSync(path.join(cacheDir, 'models--acme--tiny-GGUF', 'snapshots'), { recursive: true });
    hub.clearRequests();
    const relinked = await downloadFile('acme/tiny-GGUF', 'README.md', options(cacheDir));
    expect(relinked.fromCache).toBe(true);
    expect(relinked.localPath).toBe(main.localPath);
    expect(contentRequests()).toEqual([]);
  });
});

describe('downloadFile over a failing connection', () => {
  it('resumes a dropped connection with a Range request from where it stopped', async () => {
    const cacheDir = freshCache();
    hub.inject({
      kind: 'drop-connection',
      repo: 'acme/tiny-GGUF',
      path: 'tiny-Q8_0.gguf',
      afterBytes: 100_000,
    });
    const file = await downloadFile('acme/tiny-GGUF', 'tiny-Q8_0.gguf', options(cacheDir));
    expect(fs.readFileSync(file.localPath).equals(WEIGHTS)).toBe(true);
    expect(contentRequests().map((r) => r.range)).toEqual([undefined, 'bytes=100000-']);
  });

  it('cuts a download whose bytes stop coming, and resumes it with Range', async () => {
    hub.inject({ kind: 'stall', repo: 'acme/tiny-GGUF', path: 'tiny-Q8_0.gguf', afterBytes: 100_000 });
    const file = await downloadFile(
      'acme/tiny-GGUF',
      'tiny-Q8_0.gguf',
      options(freshCache(), { timeoutMs: 300 }),
    );
    expect(fs.readFileSync(file.localPath).equals(WEIGHTS)).toBe(true);
    expect(contentRequests().map((r) => r.range)).toEqual([undefined, 'bytes=100000-']);
  });

  it('gives up on a hub that does not answer within the timeout', async () => {
    const silent: typeof fetch = (_input, init) =>
      new Promise((_resolve, reject) =>
        init?.signal?.addEventListener('abort', () => reject(init.signal?.reason)),
      );
    const started = Date.now();
    const error = await downloadFile(
      'acme/tiny-GGUF',
      'README.md',
      options(freshCache(), { fetch: silent, timeoutMs: 200 }),
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'NETWORK',
      details: expect.objectContaining({ reason: 'timeout' }),
      hint: expect.stringContaining('HF_HUB_DOWNLOAD_TIMEOUT'),
    });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('keeps the .incomplete file when the connection keeps dropping, and the next run resumes it', async () => {
    const cacheDir = freshCache();
    // The first try and its five resumes all drop after 40 000 bytes.
    hub.inject({
      kind: 'drop-connection',
      repo: 'acme/tiny-GGUF',
      path: 'tiny-Q8_0.gguf',
      afterBytes: 40_000,
      times: 6,
    });
    const error = await downloadFile('acme/tiny-GGUF', 'tiny-Q8_0.gguf', options(cacheDir)).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(HubError);
    expect(error).toMatchObject({ code: 'NETWORK', category: 'network' });
    expect(contentRequests().map((r) => r.range)).toEqual([
      undefined,
      'bytes=40000-',
      'bytes=80000-',
      'bytes=120000-',
      'bytes=160000-',
      'bytes=200000-',
    ]);
    const partial = path.join(cacheDir, 'models--acme--tiny-GGUF', 'blobs', `${sha256(WEIGHTS)}.incomplete`);
    expect(fs.statSync(partial).size).toBe(240_000);
    expect(fs.existsSync(path.join(cacheDir, 'models--acme--tiny-GGUF', 'snapshots'))).toBe(false);

    // As if an earlier process had been killed mid-write: a shorter partial.
    fs.truncateSync(partial, 123_456);
    hub.clearRequests();
    const file = await downloadFile('acme/tiny-GGUF', 'tiny-Q8_0.gguf', options(cacheDir));
    expect(fs.readFileSync(file.localPath).equals(WEIGHTS)).toBe(true);
    expect(contentRequests().map((r) => r.range)).toEqual(['bytes=123456-']);
    expect(fs.existsSync(partial)).toBe(false);
  });

  it('starts over when the server ignores the Range header', async () => {
    const cacheDir = freshCache();
    const partial = path.join(cacheDir, 'models--acme--tiny-GGUF', 'blobs', `${sha256(WEIGHTS)}.incomplete`);
    fs.mkdirSync(path.dirname(partial), { recursive: true });
    // A partial with wrong bytes: only a full answer can repair it.
    fs.writeFileSync(partial, Buffer.alloc(1000, 0xff));
    const noRanges: typeof fetch = (input, init) => {
      const headers = new Headers(init?.headers);
      headers.delete('range');
      return fetch(input, { ...init, headers });
    };
    const file = await downloadFile(
      'acme/tiny-GGUF',
      'tiny-Q8_0.gguf',
      options(cacheDir, { fetch: noRanges }),
    );
    expect(fs.readFileSync(file.localPath).equals(WEIGHTS)).toBe(true);
    expect(contentRequests().map((r) => [r.range, r.status])).toEqual([[undefined, 200]]);
  });

  it('finishes a complete .incomplete file left by a crash before the rename, with no content request', async () => {
    const cacheDir = freshCache();
    const partial = path.join(cacheDir, 'models--acme--tiny-GGUF', 'blobs', `${sha256(WEIGHTS)}.incomplete`);
    fs.mkdirSync(path.dirname(partial), { recursive: true });
    fs.writeFileSync(partial, WEIGHTS);
    const file = await downloadFile('acme/tiny-GGUF', 'tiny-Q8_0.gguf', options(cacheDir));
    expect(fs.readFileSync(file.localPath).equals(WEIGHTS)).toBe(true);
    expect(contentRequests()).toEqual([]);
    expect(fs.existsSync(partial)).toBe(false);
  });

  it('rejects content that does not match the advertised sha256, and deletes the partial', async () => {
    const wrong = await startFakeHub({
      repos: [{ id: 'acme/tiny-GGUF', files: { 'tiny-Q8_0.gguf': WEIGHTS } }],
    });
    wrong.inject({ kind: 'wrong-etag', repo: 'acme/tiny-GGUF', path: 'tiny-Q8_0.gguf' });
    const cacheDir = freshCache();
    try {
      const error = await downloadFile('acme/tiny-GGUF', 'tiny-Q8_0.gguf', {
        ...options(cacheDir),
        endpoint: wrong.url,
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(HubError);
      expect(error).toMatchObject({ code: 'INTEGRITY_MISMATCH', category: 'network' });
      expect((error as HubError).message).toContain(sha256(WEIGHTS));
      const blobs = path.join(cacheDir, 'models--acme--tiny-GGUF', 'blobs');
      expect(fs.readdirSync(blobs)).toEqual([]);
      expect(fs.existsSync(path.join(cacheDir, 'models--acme--tiny-GGUF', 'snapshots'))).toBe(false);
    } finally {
      await wrong.stop();
    }
  });

  it('rejects a resolve answer whose etag differs from the listing', async () => {
    const cacheDir = freshCache();
    const tampering: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (!new Request(input).url.includes('/resolve/')) return response;
      const headers = new Headers(response.headers);
      headers.set('x-linked-etag', `"${'f'.repeat(64)}"`);
      return new Response(response.body, { status: response.status, headers });
    };
    const error = await downloadFile(
      'acme/tiny-GGUF',
      'tiny-Q8_0.gguf',
      options(cacheDir, { fetch: tampering }),
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'INTEGRITY_MISMATCH' });
    expect((error as HubError).message).toContain('f'.repeat(64));
  });

  it('stops when the signal aborts, keeping the partial to resume', async () => {
    const cacheDir = freshCache();
    const controller = new AbortController();
    const error = await downloadFile(
      'acme/tiny-GGUF',
      'tiny-Q8_0.gguf',
      options(cacheDir, {
        signal: controller.signal,
        onProgress: (bytes) => bytes > 0 && controller.abort(new Error('stop')),
      }),
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ABORTED' });
    const partial = path.join(cacheDir, 'models--acme--tiny-GGUF', 'blobs', `${sha256(WEIGHTS)}.incomplete`);
    expect(fs.statSync(partial).size).toBeLessThan(WEIGHTS.length);
    expect(fs.existsSync(path.join(cacheDir, 'models--acme--tiny-GGUF', 'blobs', sha256(WEIGHTS)))).toBe(
      false,
    );
  });

  it('reports a full disk as a cache write failure, not a network error, without retrying', async () => {
    const cacheDir = freshCache();
    const blobs = path.join(cacheDir, 'models--acme--tiny-GGUF', 'blobs');
    fs.mkdirSync(blobs, { recursive: true });
    // Every write to /dev/full fails with ENOSPC.
    fs.symlinkSync('/dev/full', path.join(blobs, `${sha256(WEIGHTS)}.incomplete`));
    const error = await downloadFile('acme/tiny-GGUF', 'tiny-Q8_0.gguf', options(cacheDir)).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(HubError);
    expect(error).toMatchObject({
      code: 'CACHE_WRITE_FAILED',
      category: 'environment',
      details: expect.objectContaining({ systemCode: 'ENOSPC' }),
    });
    expect((error as HubError).message).toContain('the disk is full');
    expect(contentRequests().length).toBe(1);
    expect(fs.existsSync(path.join(blobs, sha256(WEIGHTS)))).toBe(false);
    expect(fs.existsSync(path.join(cacheDir, 'models--acme--tiny-GGUF', 'snapshots'))).toBe(false);
  });

  it('says the hub cannot be reached when nothing listens', async () => {
    const stopped = await startFakeHub({ repos: [] });
    await stopped.stop();
    const error = await downloadFile('acme/tiny-GGUF', 'README.md', {
      ...options(freshCache()),
      endpoint: stopped.url,
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'NETWORK', category: 'network' });
    expect((error as HubError).message).toContain(stopped.url);
    expect((error as HubError).message).toContain('ECONNREFUSED');
  });
});

describe('downloadFile from several callers at once', () => {
  it('downloads a blob once while a second caller waits for it', async () => {
    const cacheDir = freshCache();
    const [first, second] = await Promise.all([
      downloadFile('acme/tiny-GGUF', 'tiny-Q8_0.gguf', options(cacheDir)),
      downloadFile('acme/tiny-GGUF', 'tiny-Q8_0.gguf', options(cacheDir)),
    ]);
    expect(first.localPath).toBe(second.localPath);
    expect(fs.readFileSync(first.localPath).equals(WEIGHTS)).toBe(true);
    expect(contentRequests().length).toBe(1);
    expect([first.fromCache, second.fromCache].sort()).toEqual([false, true]);
    expect(fs.readdirSync(path.join(cacheDir, '.locks', 'models--acme--tiny-GGUF'))).toEqual([]);
  });

  it('takes over a lock left by a process that died', async () => {
    const cacheDir = freshCache();
    const locks = path.join(cacheDir, '.locks', 'models--acme--tiny-GGUF');
    fs.mkdirSync(locks, { recursive: true });
    // Above Linux's largest pid_max, so no process has it.
    fs.writeFileSync(path.join(locks, `${sha256(WEIGHTS)}.alki.lock`), '99999999');
    const file = await downloadFile('acme/tiny-GGUF', 'tiny-Q8_0.gguf', options(cacheDir));
    expect(fs.readFileSync(file.localPath).equals(WEIGHTS)).toBe(true);
    expect(fs.readdirSync(locks)).toEqual([]);
  });

  it('waits for a live lock until the signal aborts', async () => {
    const cacheDir = freshCache();
    const locks = path.join(cacheDir, '.locks', 'models--acme--tiny-GGUF');
    fs.mkdirSync(locks, { recursive: true });
    fs.writeFileSync(path.join(locks, `${sha256(WEIGHTS)}.alki.lock`), String(process.pid));
    const started = Date.now();
    await expect(
      downloadFile(
        'acme/tiny-GGUF',
        'tiny-Q8_0.gguf',
        options(cacheDir, { signal: AbortSignal.timeout(400) }),
      ),
    ).rejects.toMatchObject({ code: 'ABORTED' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
    expect(contentRequests()).toEqual([]);
  });
});

describe('downloadFile through the hub redirect to a CDN', () => {
  it('follows the redirect, and resumes through it with Range', async () => {
    const redirecting = await startFakeHub({
      repos: [{ id: 'acme/tiny-GGUF', files: { 'tiny-Q8_0.gguf': WEIGHTS } }],
      redirectLfs: true,
    });
    try {
      redirecting.inject({
        kind: 'drop-connection',
        repo: 'acme/tiny-GGUF',
        path: 'tiny-Q8_0.gguf',
        afterBytes: 70_000,
      });
      const file = await downloadFile('acme/tiny-GGUF', 'tiny-Q8_0.gguf', {
        ...options(freshCache()),
        endpoint: redirecting.url,
      });
      expect(fs.readFileSync(file.localPath).equals(WEIGHTS)).toBe(true);
      const transfers = redirecting.requests.filter(
        (r) => r.path.includes('/resolve/') || r.path.startsWith('/cdn/'),
      );
      expect(transfers.map((r) => [r.path.split('/')[1], r.status, r.range])).toEqual([
        ['acme', 302, undefined],
        ['cdn', 200, undefined],
        ['acme', 302, 'bytes=70000-'],
        ['cdn', 206, 'bytes=70000-'],
      ]);
    } finally {
      await redirecting.stop();
    }
  });
});

describe('downloadFile when the hub is unreachable', () => {
  it('answers from the cache, saying why, when the hub fails or cannot be reached', async () => {
    const cacheDir = freshCache();
    const online = await downloadFile('acme/tiny-GGUF', 'README.md', options(cacheDir));
    hub.inject({ kind: 'status', status: 503, pathPrefix: '/api/' });
    const failing = await downloadFile('acme/tiny-GGUF', 'README.md', options(cacheDir));
    expect(failing).toMatchObject({
      localPath: online.localPath,
      fromCache: true,
      offlineFallback: expect.stringContaining('503'),
    });
    const stopped = await startFakeHub({ repos: [] });
    await stopped.stop();
    const unreachable = await downloadFile('acme/tiny-GGUF', 'README.md', {
      ...options(cacheDir),
      endpoint: stopped.url,
    });
    expect(unreachable).toMatchObject({
      localPath: online.localPath,
      offlineFallback: expect.stringContaining('ECONNREFUSED'),
    });
  });

  it('does not hide a refusal behind the cache', async () => {
    const cacheDir = freshCache();
    await downloadFile('acme/tiny-GGUF', 'README.md', options(cacheDir));
    hub.inject({ kind: 'status', status: 404, pathPrefix: '/api/' });
    await expect(downloadFile('acme/tiny-GGUF', 'README.md', options(cacheDir))).rejects.toMatchObject({
      code: 'REPO_NOT_FOUND',
    });
  });

  it('still fails when the cache does not have the file', async () => {
    hub.inject({ kind: 'status', status: 503, pathPrefix: '/api/' });
    await expect(downloadFile('acme/tiny-GGUF', 'README.md', options(freshCache()))).rejects.toMatchObject({
      code: 'BAD_RESPONSE',
      details: expect.objectContaining({ status: 503 }),
    });
  });
});

describe('downloadFile access errors', () => {
  it('asks for HF_TOKEN on a private repo without a token (401)', async () => {
    const error = await downloadFile('acme/private', 'model.gguf', options(freshCache())).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(HubError);
    expect(error).toMatchObject({ code: 'UNAUTHORIZED', category: 'network' });
    expect((error as HubError).hint).toContain('HF_TOKEN');
  });

  it('reads a private repo with a token from HF_TOKEN', async () => {
    const file = await downloadFile('acme/private', 'model.gguf', {
      endpoint: hub.url,
      cacheDir: freshCache(),
      env: { HF_TOKEN: TOKEN },
    });
    expect(fs.readFileSync(file.localPath, 'utf8')).toBe('secret weights');
    expect(hub.requests.every((r) => r.authorization === `Bearer ${TOKEN}`)).toBe(true);
  });

  it('sends a gated model without a token to the license page (401)', async () => {
    const error = await downloadFile('acme/gated', 'model.gguf', options(freshCache())).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'GATED', category: 'network' });
    expect((error as HubError).hint).toContain(`${hub.url}/acme/gated`);
    expect((error as HubError).hint).toContain('HF_TOKEN');
  });

  it('sends a gated model with a token that lacks access to the license page (403)', async () => {
    const error = await downloadFile(
      'acme/gated',
      'model.gguf',
      options(freshCache(), { token: OTHER_TOKEN }),
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'GATED', details: { status: 403 } });
    expect((error as HubError).message).toContain('not been granted access');
    expect((error as HubError).hint).toContain(`Accept the license at ${hub.url}/acme/gated`);
  });

  it('downloads a gated model with a token that was granted access', async () => {
    const file = await downloadFile('acme/gated', 'model.gguf', options(freshCache(), { token: TOKEN }));
    expect(fs.readFileSync(file.localPath, 'utf8')).toBe('gated weights');
  });

  it('names the missing repo, revision or file (404)', async () => {
    await expect(downloadFile('acme/nope', 'model.gguf', options(freshCache()))).rejects.toMatchObject({
      code: 'REPO_NOT_FOUND',
      category: 'input',
    });
    await expect(
      downloadFile('acme/tiny-GGUF', 'model.gguf', options(freshCache(), { revision: 'v9' })),
    ).rejects.toMatchObject({
      code: 'REVISION_NOT_FOUND',
      message: expect.stringContaining('"v9"'),
    });
    await expect(downloadFile('acme/tiny-GGUF', 'missing.gguf', options(freshCache()))).rejects.toMatchObject(
      {
        code: 'FILE_NOT_FOUND',
        message: expect.stringContaining('missing.gguf'),
      },
    );
  });

  it('refuses a token the hub client cannot use, and file names that leave the cache, before any request', async () => {
    await expect(
      downloadFile('acme/tiny-GGUF', 'README.md', options(freshCache(), { token: 'not-a-token' })),
    ).rejects.toMatchObject({ code: 'INVALID_TOKEN' });
    await expect(
      downloadFile('acme/tiny-GGUF', '../../etc/passwd', options(freshCache())),
    ).rejects.toMatchObject({ code: 'UNSAFE_PATH' });
    await expect(downloadFile('acme/tiny-GGUF', '/etc/passwd', options(freshCache()))).rejects.toMatchObject({
      code: 'UNSAFE_PATH',
    });
    expect(hub.requests).toEqual([]);
  });
});

describe('downloadFile with unusual names', () => {
  it('downloads files whose names need URL encoding', async () => {
    const cacheDir = freshCache();
    const odd = await downloadFile('acme/odd-names', 'dir with space/odd #1?%.txt', options(cacheDir));
    expect(fs.readFileSync(odd.localPath, 'utf8')).toBe('odd');
    expect(odd.localPath.endsWith(path.join('dir with space', 'odd #1?%.txt'))).toBe(true);
    const unicode = await downloadFile('acme/odd-names', 'ünïcödé.json', options(cacheDir));
    expect(fs.readFileSync(unicode.localPath, 'utf8')).toBe('{}');
  });

  it('refuses a repo file name that would leave the cache, writing nothing outside it', async () => {
    const cacheDir = freshCache();
    const storage = path.join(cacheDir, 'models--acme--hostile');
    await expect(snapshotDownload('acme/hostile', options(cacheDir))).rejects.toMatchObject({
      code: 'UNSAFE_PATH',
      category: 'input',
    });
    expect(fs.existsSync(path.join(storage, 'snapshots', 'escape.txt'))).toBe(false);
    expect(fs.existsSync(path.join(cacheDir, 'escape.txt'))).toBe(false);
    expect(fs.readdirSync(cacheDir).filter((f) => f !== '.locks')).toEqual(
      fs.existsSync(storage) ? ['models--acme--hostile'] : [],
    );
  });

  it('refuses a revision that would leave the refs folder', async () => {
    await expect(
      downloadFile(
        'acme/tiny-GGUF',
        'README.md',
        options(freshCache(), { revision: '../../x', offline: true }),
      ),
    ).rejects.toMatchObject({ code: 'UNSAFE_PATH' });
    await expect(
      downloadFile('acme/tiny-GGUF', 'README.md', options(freshCache(), { revision: '../../x' })),
    ).rejects.toMatchObject({ code: 'REVISION_NOT_FOUND' });
  });
});

describe('downloadFile offline', () => {
  it('answers from the cache with HF_HUB_OFFLINE=1 and no hub at all', async () => {
    const cacheDir = freshCache();
    const online = await downloadFile('acme/tiny-GGUF', 'tiny-Q8_0.gguf', options(cacheDir));
    hub.clearRequests();
    const offline = await downloadFile('acme/tiny-GGUF', 'tiny-Q8_0.gguf', {
      endpoint: 'http://127.0.0.1:9',
      cacheDir,
      env: { HF_HUB_OFFLINE: '1' },
    });
    expect(offline).toMatchObject({
      commit: online.commit,
      localPath: online.localPath,
      sha256: sha256(WEIGHTS),
      size: WEIGHTS.length,
      fromCache: true,
    });
    expect(hub.requests).toEqual([]);
  });

  it('says what is missing when the cache does not have it', async () => {
    const cacheDir = freshCache();
    await expect(
      downloadFile('acme/tiny-GGUF', 'README.md', options(cacheDir, { offline: true })),
    ).rejects.toMatchObject({
      code: 'NOT_IN_CACHE',
      hint: expect.stringContaining('HF_HUB_OFFLINE'),
    });
    await downloadFile('acme/tiny-GGUF', 'README.md', options(cacheDir));
    await expect(
      downloadFile('acme/tiny-GGUF', 'tiny-Q8_0.gguf', options(cacheDir, { offline: true })),
    ).rejects.toMatchObject({ code: 'NOT_IN_CACHE' });
  });
});

describe('a cache written by huggingface_hub', () => {
  // Laid out by hand exactly as huggingface_hub's hf_hub_download leaves it
  // (file_download.py): refs/main without a newline, blobs by etag, relative links.
  function writePythonCache(cacheDir: string, commit: string): string {
    const storage = path.join(cacheDir, 'models--acme--tiny-GGUF');
    fs.mkdirSync(path.join(storage, 'blobs'), { recursive: true });
    fs.mkdirSync(path.join(storage, 'refs'), { recursive: true });
    fs.mkdirSync(path.join(storage, 'snapshots', commit), { recursive: true });
    fs.writeFileSync(path.join(storage, 'refs', 'main'), commit);
    fs.writeFileSync(path.join(storage, 'blobs', sha256(WEIGHTS)), WEIGHTS);
    fs.symlinkSync(
      `../../blobs/${sha256(WEIGHTS)}`,
      path.join(storage, 'snapshots', commit, 'tiny-Q8_0.gguf'),
    );
    return storage;
  }

  it('is reused online: only metadata is requested', async () => {
    const cacheDir = freshCache();
    const commit = hub.commitOf('acme/tiny-GGUF');
    const storage = writePythonCache(cacheDir, commit);
    const file = await downloadFile('acme/tiny-GGUF', 'tiny-Q8_0.gguf', options(cacheDir));
    expect(file).toMatchObject({
      commit,
      localPath: path.join(storage, 'snapshots', commit, 'tiny-Q8_0.gguf'),
      sha256: sha256(WEIGHTS),
      fromCache: true,
    });
    expect(contentRequests()).toEqual([]);
  });

  it('is reused offline through HF_HOME', async () => {
    const home = freshCache();
    const commit = hub.commitOf('acme/tiny-GGUF');
    writePythonCache(path.join(home, 'hub'), commit);
    const file = await downloadFile('acme/tiny-GGUF', 'tiny-Q8_0.gguf', {
      env: { HF_HOME: home, HF_HUB_OFFLINE: 'true' },
    });
    expect(file.localPath).toBe(
      path.join(home, 'hub', 'models--acme--tiny-GGUF', 'snapshots', commit, 'tiny-Q8_0.gguf'),
    );
    expect(fs.readFileSync(file.localPath).equals(WEIGHTS)).toBe(true);
  });

  it('has a blob but no snapshot entry for a new commit: the blob is linked, not downloaded', async () => {
    const cacheDir = freshCache();
    writePythonCache(cacheDir, 'a'.repeat(40));
    const file = await downloadFile('acme/tiny-GGUF', 'tiny-Q8_0.gguf', options(cacheDir));
    expect(file.commit).toBe(hub.commitOf('acme/tiny-GGUF'));
    expect(file.fromCache).toBe(true);
    expect(contentRequests()).toEqual([]);
    expect(fs.readFileSync(path.join(cacheDir, 'models--acme--tiny-GGUF', 'refs', 'main'), 'utf8')).toBe(
      file.commit,
    );
  });
});

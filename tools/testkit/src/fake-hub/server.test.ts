import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { startFakeHub, type FakeHub } from './server.js';

const WEIGHTS = Buffer.from(Array.from({ length: 4096 }, (_, i) => i % 256));
const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');
const gitOid = (data: Uint8Array | string) =>
  createHash('sha1')
    .update(`blob ${Buffer.byteLength(data)}\0`)
    .update(data)
    .digest('hex');

let hub: FakeHub;
let dir: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-fake-hub-'));
  fs.mkdirSync(path.join(dir, 'sub'));
  fs.writeFileSync(path.join(dir, 'sub', 'model.safetensors'), WEIGHTS);
  fs.writeFileSync(path.join(dir, 'config.json'), '{}');
  hub = await startFakeHub({
    tokens: ['hf_good'],
    repos: [
      { id: 'acme/from-dir', dir },
      { id: 'acme/inline', files: { 'a.gguf': WEIGHTS, 'notes.txt': 'hi' }, cardData: { license: 'mit' } },
      { id: 'acme/gated', gated: 'auto', access: [], files: { 'a.gguf': 'x' } },
    ],
  });
});
afterAll(async () => {
  await hub.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});
afterEach(() => hub.clearRequests());

describe('startFakeHub metadata endpoints', () => {
  it('answers /api/models/{repo}/revision/{rev} with the commit, card data and siblings', async () => {
    const response = await fetch(`${hub.url}/api/models/acme/inline/revision/main`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      id: 'acme/inline',
      sha: hub.commitOf('acme/inline'),
      private: false,
      gated: false,
      cardData: { license: 'mit' },
      siblings: [{ rfilename: 'a.gguf' }, { rfilename: 'notes.txt' }],
    });
    expect(hub.commitOf('acme/inline')).toMatch(/^[0-9a-f]{40}$/);
  });

  it('lists a directory-backed repo recursively with git oids and LFS sha256, as the tree API does', async () => {
    const response = await fetch(`${hub.url}/api/models/acme/from-dir/tree/main?recursive=true`);
    const entries = (await response.json()) as Array<Record<string, unknown>>;
    expect(entries).toEqual([
      { type: 'file', oid: gitOid('{}'), size: 2, path: 'config.json' },
      { type: 'directory', oid: expect.any(String), size: 0, path: 'sub' },
      {
        type: 'file',
        oid: expect.stringMatching(/^[0-9a-f]{40}$/),
        size: WEIGHTS.length,
        path: 'sub/model.safetensors',
        lfs: { oid: sha256(WEIGHTS), size: WEIGHTS.length, pointerSize: expect.any(Number) },
      },
    ]);
    const top = (await (await fetch(`${hub.url}/api/models/acme/from-dir/tree/main`)).json()) as Array<{
      path: string;
    }>;
    expect(top.map((e) => e.path)).toEqual(['config.json', 'sub']);
  });

  it('answers paths-info for existing paths only', async () => {
    const response = await fetch(
      `${hub.url}/api/models/acme/inline/paths-info/${hub.commitOf('acme/inline')}`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ paths: ['notes.txt', 'missing'], expand: true }),
      },
    );
    expect(await response.json()).toEqual([
      {
        type: 'file',
        oid: gitOid('hi'),
        size: 2,
        path: 'notes.txt',
        lastCommit: expect.objectContaining({ id: hub.commitOf('acme/inline') }),
      },
    ]);
  });
});

describe('startFakeHub file endpoint', () => {
  const fileUrl = () => `${hub.url}/acme/inline/resolve/main/a.gguf`;

  it('serves whole files with the headers huggingface_hub reads', async () => {
    const response = await fetch(fileUrl());
    expect(response.status).toBe(200);
    expect(response.headers.get('x-repo-commit')).toBe(hub.commitOf('acme/inline'));
    expect(response.headers.get('x-linked-etag')).toBe(`"${sha256(WEIGHTS)}"`);
    expect(response.headers.get('x-linked-size')).toBe(String(WEIGHTS.length));
    expect(response.headers.get('accept-ranges')).toBe('bytes');
    expect(Buffer.from(await response.arrayBuffer()).equals(WEIGHTS)).toBe(true);
    const small = await fetch(`${hub.url}/acme/inline/resolve/main/notes.txt`);
    expect(small.headers.get('etag')).toBe(`"${gitOid('hi')}"`);
    expect(small.headers.get('x-linked-etag')).toBeNull();
  });

  it('serves byte ranges with Content-Range, and 416 past the end', async () => {
    const probe = await fetch(fileUrl(), { headers: { Range: 'bytes=0-0' } });
    expect(probe.status).toBe(206);
    expect(probe.headers.get('content-range')).toBe(`bytes 0-0/${WEIGHTS.length}`);
    expect([...new Uint8Array(await probe.arrayBuffer())]).toEqual([0]);
    const tail = await fetch(fileUrl(), { headers: { Range: 'bytes=4000-' } });
    expect(tail.headers.get('content-range')).toBe(`bytes 4000-4095/${WEIGHTS.length}`);
    expect(Buffer.from(await tail.arrayBuffer()).equals(WEIGHTS.subarray(4000))).toBe(true);
    const past = await fetch(fileUrl(), { headers: { Range: 'bytes=5000-' } });
    expect(past.status).toBe(416);
    expect(past.headers.get('content-range')).toBe(`bytes */${WEIGHTS.length}`);
    expect(hub.requests.map((r) => r.range)).toEqual(['bytes=0-0', 'bytes=4000-', 'bytes=5000-']);
  });

  it('answers 404 with the hub error codes for a missing repo, revision or file', async () => {
    const codes = [];
    for (const url of [
      '/acme/none/resolve/main/a.gguf',
      '/acme/inline/resolve/v9/a.gguf',
      '/acme/inline/resolve/main/b.gguf',
    ]) {
      const response = await fetch(`${hub.url}${url}`);
      codes.push([response.status, response.headers.get('x-error-code')]);
    }
    expect(codes).toEqual([
      [404, 'RepoNotFound'],
      [404, 'RevisionNotFound'],
      [404, 'EntryNotFound'],
    ]);
  });

  it('refuses unknown tokens, and gated files to tokens without access', async () => {
    expect((await fetch(fileUrl(), { headers: { authorization: 'Bearer hf_bad' } })).status).toBe(401);
    const anonymous = await fetch(`${hub.url}/acme/gated/resolve/main/a.gguf`);
    expect([anonymous.status, anonymous.headers.get('x-error-code')]).toEqual([401, 'GatedRepo']);
    const stranger = await fetch(`${hub.url}/acme/gated/resolve/main/a.gguf`, {
      headers: { authorization: 'Bearer hf_good' },
    });
    expect([stranger.status, stranger.headers.get('x-error-code')]).toEqual([403, 'GatedRepo']);
    // Gated repos still show their listing, as on the real hub.
    expect((await fetch(`${hub.url}/api/models/acme/gated/tree/main`)).status).toBe(200);
  });
});

describe('startFakeHub faults', () => {
  it('drops the connection after N bytes, once', async () => {
    hub.inject({ kind: 'drop-connection', repo: 'acme/inline', path: 'a.gguf', afterBytes: 1000 });
    const response = await fetch(`${hub.url}/acme/inline/resolve/main/a.gguf`);
    expect(response.headers.get('content-length')).toBe(String(WEIGHTS.length));
    const received: number[] = [];
    const failure = await (async () => {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>)
        received.push(chunk.length);
    })().catch((error: unknown) => error);
    // undici reports a body cut short as TypeError('terminated').
    expect(failure).toMatchObject({ name: 'TypeError', message: 'terminated' });
    expect(received.reduce((a, b) => a + b, 0)).toBe(1000);
    const retry = await fetch(`${hub.url}/acme/inline/resolve/main/a.gguf`);
    expect((await retry.arrayBuffer()).byteLength).toBe(WEIGHTS.length);
  });

  it('goes silent after N bytes when told to stall, keeping the connection open', async () => {
    hub.inject({ kind: 'stall', repo: 'acme/inline', path: 'a.gguf', afterBytes: 500 });
    const controller = new AbortController();
    const response = await fetch(`${hub.url}/acme/inline/resolve/main/a.gguf`, { signal: controller.signal });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let received = 0;
    while (received < 500) received += (await reader.read()).value?.length ?? 0;
    const next = reader.read();
    const outcome = await Promise.race([
      next.then(() => 'data'),
      new Promise((resolve) => setTimeout(() => resolve('silence'), 300)),
    ]);
    expect([received, outcome]).toEqual([500, 'silence']);
    controller.abort();
    await next.catch(() => undefined);
  });

  it('advertises a wrong sha256 everywhere once told to', async () => {
    const wrong = await startFakeHub({ repos: [{ id: 'acme/inline', files: { 'a.gguf': WEIGHTS } }] });
    try {
      wrong.inject({ kind: 'wrong-etag', repo: 'acme/inline', path: 'a.gguf' });
      const [entry] = (await (await fetch(`${wrong.url}/api/models/acme/inline/tree/main`)).json()) as Array<{
        lfs: { oid: string };
      }>;
      expect(entry.lfs.oid).not.toBe(sha256(WEIGHTS));
      const response = await fetch(`${wrong.url}/acme/inline/resolve/main/a.gguf`);
      expect(response.headers.get('x-linked-etag')).toBe(`"${entry.lfs.oid}"`);
      expect(sha256(Buffer.from(await response.arrayBuffer()))).toBe(sha256(WEIGHTS));
    } finally {
      await wrong.stop();
    }
  });

  it('answers an injected status for matching paths', async () => {
    hub.inject({ kind: 'status', status: 503, pathPrefix: '/api/', times: 2 });
    expect((await fetch(`${hub.url}/api/models/acme/inline/revision/main`)).status).toBe(503);
    expect((await fetch(`${hub.url}/acme/inline/resolve/main/notes.txt`)).status).toBe(200);
    expect((await fetch(`${hub.url}/api/models/acme/inline/revision/main`)).status).toBe(503);
    expect((await fetch(`${hub.url}/api/models/acme/inline/revision/main`)).status).toBe(200);
  });
});

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import {
  startCuttingProxy,
  startRegistry,
  startTokenServer,
  type CuttingProxy,
  type TestRegistry,
  type TokenServer,
} from '@alki/testkit';
import { collectingSink } from '../__fixtures__/collect.js';
import { sha256Digest } from '../digest.js';
import { bytesBlob } from './blob-source.js';
import { RegistryClient } from './client.js';

describe('RegistryClient behind a token server (Docker token spec)', () => {
  let tokens: TokenServer;
  let registry: TestRegistry;
  beforeAll(async () => {
    tokens = await startTokenServer({ users: { bob: 'hunter2' } });
    registry = await startRegistry({
      tokenAuth: {
        realm: tokens.realm,
        service: tokens.service,
        issuer: tokens.issuer,
        rootCertBundle: tokens.rootCertBundle,
      },
    });
  });
  afterAll(async () => {
    await registry?.stop();
    await tokens?.stop();
  });

  it('gets scoped tokens, caches them per scope, and pushes and pulls', async () => {
    const client = new RegistryClient({
      registry: registry.host,
      credentials: { username: 'bob', password: 'hunter2' },
    });
    await client.ping();
    const before = tokens.requests.length;
    const bytes = randomBytes(10_000);
    const digest = sha256Digest(bytes);
    expect((await client.pushBlob('team/model', bytesBlob(bytes), digest, { chunkSize: 4096 })).outcome).toBe(
      'uploaded',
    );
    const out = collectingSink();
    await client.fetchBlob('team/model', { digest, size: bytes.length }, out.sink);
    expect(out.bytes().equals(bytes)).toBe(true);
    const asked = tokens.requests.slice(before);
    // One token for pull (the first HEAD), one for pull+push; everything else reuses them.
    expect(asked.map((r) => r.scopes)).toEqual([
      ['repository:team/model:pull'],
      ['repository:team/model:pull,push'],
    ]);
    expect(asked.every((r) => r.username === 'bob')).toBe(true);
  });

  it('asks for pull on the source repository when mounting across repositories', async () => {
    const client = new RegistryClient({
      registry: registry.host,
      credentials: { username: 'bob', password: 'hunter2' },
    });
    const bytes = randomBytes(512);
    const digest = sha256Digest(bytes);
    await client.pushBlob('team/a', bytesBlob(bytes), digest);
    const before = tokens.requests.length;
    expect((await client.pushBlob('team/b', bytesBlob(bytes), digest, { mountFrom: 'team/a' })).outcome).toBe(
      'mounted',
    );
    expect(tokens.requests.slice(before).map((r) => r.scopes)).toContainEqual([
      'repository:team/b:pull,push',
      'repository:team/a:pull',
    ]);
  });

  it('fails with AUTH_FAILED when the token server refuses the password', async () => {
    const client = new RegistryClient({
      registry: registry.host,
      credentials: { username: 'bob', password: 'wrong' },
    });
    await expect(client.listTags('team/model')).rejects.toMatchObject({
      code: 'AUTH_FAILED',
      category: 'network',
    });
  });
});

describe('RegistryClient resuming an upload cut mid-blob', () => {
  let registry: TestRegistry;
  let proxy: CuttingProxy;
  beforeAll(async () => {
    registry = await startRegistry();
    proxy = await startCuttingProxy(registry.host);
  });
  afterAll(async () => {
    await proxy?.stop();
    await registry?.stop();
  });

  it('resumes from the Range the registry reports when the connection drops between two PATCH chunks', async () => {
    const bytes = randomBytes(4 * 1024 * 1024);
    const digest = sha256Digest(bytes);
    const events: string[] = [];
    const client = new RegistryClient({ registry: proxy.host, onEvent: (message) => events.push(message) });
    // The third PATCH never reaches the registry: two chunks are stored.
    const cutsBefore = proxy.cuts;
    proxy.cutBeforeRequest('PATCH', 3);
    const start = proxy.bytesUp;
    const result = await client.pushBlob('alki/resume', bytesBlob(bytes), digest, { chunkSize: 1024 * 1024 });
    expect(proxy.cuts - cutsBefore).toBe(1);
    expect(result).toEqual({ outcome: 'uploaded', bytesUploaded: bytes.length, resumes: 1, restarts: 0 });
    expect(events).toContain(`resuming ${digest} at byte ${2 * 1024 * 1024}`);
    // Nothing was sent twice: the body bytes crossed the proxy once, plus headers.
    expect(proxy.bytesUp - start).toBeLessThan(bytes.length + 16 * 1024);
    const out = collectingSink();
    await new RegistryClient({ registry: registry.host }).fetchBlob(
      'alki/resume',
      { digest, size: bytes.length },
      out.sink,
    );
    expect(out.bytes().equals(bytes)).toBe(true);
  });

  // distribution 2.8 keeps the part of a cut PATCH body it received, then
  // cancels the upload because its size no longer matches the signed offset
  // in the upload URL: the client asks, learns that, and starts a new session.
  it('finishes an upload cut in the middle of a streamed PATCH body, starting a new session when the registry cannot resume', async () => {
    const bytes = randomBytes(8 * 1024 * 1024);
    const digest = sha256Digest(bytes);
    const events: string[] = [];
    const client = new RegistryClient({ registry: proxy.host, onEvent: (message) => events.push(message) });
    const cutsBefore = proxy.cuts;
    proxy.cutAfter(3 * 1024 * 1024);
    const result = await client.pushBlob('alki/restart', bytesBlob(bytes), digest);
    expect(proxy.cuts - cutsBefore).toBe(1);
    expect(result).toEqual({ outcome: 'uploaded', bytesUploaded: bytes.length, resumes: 0, restarts: 1 });
    expect(
      events.some((e) => e.includes('upload status: HTTP 404') && e.includes('BLOB_UPLOAD_INVALID')),
    ).toBe(true);
    const out = collectingSink();
    await new RegistryClient({ registry: registry.host }).fetchBlob(
      'alki/restart',
      { digest, size: bytes.length },
      out.sink,
    );
    expect(out.bytes().equals(bytes)).toBe(true);
  });
});

describe('RegistryClient downloading from a registry that stalls mid-blob', () => {
  let registry: TestRegistry;
  let proxy: CuttingProxy;
  const bytes = randomBytes(4 * 1024 * 1024);
  const digest = sha256Digest(bytes);
  beforeAll(async () => {
    registry = await startRegistry();
    proxy = await startCuttingProxy(registry.host);
    await new RegistryClient({ registry: registry.host }).pushBlob('alki/stall', bytesBlob(bytes), digest);
  });
  afterAll(async () => {
    await proxy?.stop();
    await registry?.stop();
  });

  it('notices the stall after the stall timeout and resumes with a Range request, byte for byte', async () => {
    const events: string[] = [];
    const client = new RegistryClient({
      registry: proxy.host,
      stallTimeoutMs: 300,
      onEvent: (message) => events.push(message),
    });
    const stallsBefore = proxy.stalls;
    proxy.stallAfter(1024 * 1024);
    const out = collectingSink();
    const started = Date.now();
    await client.fetchBlob('alki/stall', { digest, size: bytes.length }, out.sink);
    expect(out.bytes().equals(bytes)).toBe(true);
    expect(proxy.stalls - stallsBefore).toBe(1);
    expect(
      events.some((e) => /download of sha256:[a-f0-9]+ broke at byte \d+ \(no data for 0.3 s\)/.test(e)),
    ).toBe(true);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('gives up after a bounded number of resumes with UNREACHABLE, a network failure, and writes no file', async () => {
    const client = new RegistryClient({
      registry: proxy.host,
      stallTimeoutMs: 200,
      retry: { baseDelayMs: 10 },
    });
    proxy.stallAfter(256 * 1024, { times: Infinity });
    const dir = fs.mkdtempSync(`${os.tmpdir()}/alki-stall-`);
    try {
      await expect(
        client.downloadBlob('alki/stall', { digest, size: bytes.length }, `${dir}/blob`),
      ).rejects.toMatchObject({
        code: 'UNREACHABLE',
        category: 'network',
        message: expect.stringContaining('broke 6 times'),
      });
      expect(fs.readdirSync(dir)).toEqual([]);
    } finally {
      proxy.stallAfter(0, { times: 0 });
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('RegistryClient pulling a blob tampered with in storage', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry();
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it('fails with DIGEST_MISMATCH, a check failure', async () => {
    const client = new RegistryClient({ registry: registry.host });
    const bytes = randomBytes(50_000);
    const digest = sha256Digest(bytes);
    await client.pushBlob('alki/tamper', bytesBlob(bytes), digest);
    const data = registry.blobFile(digest);
    const stored = fs.readFileSync(data);
    stored[1234] ^= 0xff;
    fs.writeFileSync(data, stored);
    await expect(
      client.fetchBlob('alki/tamper', { digest, size: bytes.length }, collectingSink().sink),
    ).rejects.toMatchObject({ code: 'DIGEST_MISMATCH', category: 'check' });
  });
});

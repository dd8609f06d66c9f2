import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startRegistry, type TestRegistry } from '@alki/testkit';
import { collectingSink } from '../__fixtures__/collect.js';
import { sha256Digest } from '../digest.js';
import { OciError } from '../errors.js';
import { DOCKER_MANIFEST, OCI_EMPTY, OCI_INDEX, OCI_MANIFEST } from '../media-types.js';
import { bytesBlob, fileBlob } from './blob-source.js';
import { RegistryClient } from './client.js';
import { referrersTag } from './referrers.js';

const noSleep = () => Promise.resolve();

function emptyManifest(
  layers: Array<{ digest: string; size: number }>,
  extra: Record<string, unknown> = {},
): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: 'application/vnd.alki.test',
      config: { mediaType: OCI_EMPTY, digest: sha256Digest('{}'), size: 2 },
      layers: layers.map((layer) => ({ mediaType: 'application/octet-stream', ...layer })),
      ...extra,
    }),
  );
}

describe('RegistryClient against docker-registry', () => {
  let registry: TestRegistry;
  let client: RegistryClient;
  beforeAll(async () => {
    registry = await startRegistry();
    client = new RegistryClient({ registry: registry.host, sleep: noSleep });
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it('checks the API version with GET /v2/', async () => {
    expect(await client.ping()).toEqual({ apiVersion: 'registry/2.0' });
  });

  it('uploads a small blob monolithically, then HEAD finds it and a second push sends nothing', async () => {
    const bytes = randomBytes(1000);
    const digest = sha256Digest(bytes);
    expect(await client.hasBlob('alki/small', digest)).toBe(false);
    expect(await client.pushBlob('alki/small', bytesBlob(bytes), digest)).toEqual({
      outcome: 'uploaded',
      bytesUploaded: 1000,
      resumes: 0,
      restarts: 0,
    });
    expect(await client.hasBlob('alki/small', digest)).toBe(true);
    expect(await client.pushBlob('alki/small', bytesBlob(bytes), digest)).toEqual({
      outcome: 'exists',
      bytesUploaded: 0,
      resumes: 0,
      restarts: 0,
    });
  });

  it('uploads in PATCH chunks and as one streamed PATCH, and reads both back byte for byte', async () => {
    const bytes = randomBytes(5 * 1024 * 1024 + 17);
    const digest = sha256Digest(bytes);
    const progress: number[] = [];
    const chunked = await client.pushBlob('alki/chunked', bytesBlob(bytes), digest, {
      chunkSize: 1024 * 1024,
      onProgress: (n) => progress.push(n),
    });
    expect(chunked.outcome).toBe('uploaded');
    expect(progress.at(-1)).toBe(bytes.length);
    const streamed = await client.pushBlob('alki/streamed', bytesBlob(bytes), digest);
    expect(streamed.outcome).toBe('uploaded');
    for (const repository of ['alki/chunked', 'alki/streamed']) {
      const out = collectingSink();
      await client.fetchBlob(repository, { digest, size: bytes.length }, out.sink);
      expect(out.bytes().equals(bytes)).toBe(true);
    }
  });

  it('mounts a blob from another repository instead of uploading it', async () => {
    const bytes = randomBytes(4096);
    const digest = sha256Digest(bytes);
    await client.pushBlob('alki/source', bytesBlob(bytes), digest);
    expect(
      await client.pushBlob('alki/target', bytesBlob(bytes), digest, { mountFrom: 'alki/source' }),
    ).toEqual({ outcome: 'mounted', bytesUploaded: 0, resumes: 0, restarts: 0 });
    expect(await client.hasBlob('alki/target', digest)).toBe(true);
  });

  it('refuses to finish an upload whose bytes do not match the digest', async () => {
    const bytes = randomBytes(100);
    const wrong = sha256Digest('something else');
    await expect(client.pushBlob('alki/bad', bytesBlob(bytes), wrong)).rejects.toMatchObject({
      code: 'DIGEST_MISMATCH',
      category: 'check',
    });
    expect(await client.hasBlob('alki/bad', wrong)).toBe(false);
  });

  it('downloads a file-backed blob to a file atomically and verifies it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-client-'));
    try {
      const source = path.join(dir, 'source.bin');
      fs.writeFileSync(source, randomBytes(300_000));
      const digest = sha256Digest(fs.readFileSync(source));
      await client.pushBlob('alki/files', fileBlob(source, 300_000), digest, { chunkSize: 100_000 });
      const target = path.join(dir, 'target.bin');
      await client.downloadBlob('alki/files', { digest, size: 300_000 }, target);
      expect(fs.readFileSync(target).equals(fs.readFileSync(source))).toBe(true);
      // A descriptor with the wrong size fails, and leaves no file behind.
      const wrongSize = path.join(dir, 'wrong.bin');
      await expect(
        client.downloadBlob('alki/files', { digest, size: 299_999 }, wrongSize),
      ).rejects.toMatchObject({ code: 'SIZE_MISMATCH' });
      expect(fs.readdirSync(dir).sort()).toEqual(['source.bin', 'target.bin']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('resumes an interrupted download from the bytes it kept, asking the registry for the rest with Range', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-client-'));
    try {
      const bytes = randomBytes(3 * 1024 * 1024);
      const digest = sha256Digest(bytes);
      await client.pushBlob('alki/resume', bytesBlob(bytes), digest);
      const target = path.join(dir, 'model.gguf');
      const stop = new AbortController();
      await expect(
        client.downloadBlob('alki/resume', { digest, size: bytes.length }, target, {
          resume: true,
          signal: stop.signal,
          onProgress: (done) => {
            if (done >= 1024 * 1024) stop.abort(new Error('power cut'));
          },
        }),
      ).rejects.toMatchObject({ code: 'ABORTED' });
      const kept = fs.statSync(path.join(dir, '.model.gguf.partial')).size;
      expect(kept).toBeGreaterThanOrEqual(1024 * 1024);
      const progress: number[] = [];
      await client.downloadBlob('alki/resume', { digest, size: bytes.length }, target, {
        resume: true,
        onProgress: (done) => progress.push(done),
      });
      expect(progress[0]).toBe(kept);
      expect(fs.readFileSync(target).equals(bytes)).toBe(true);
      expect(fs.readdirSync(dir)).toEqual(['model.gguf']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('puts and gets an OCI manifest with its exact media type and digest, by tag and by digest', async () => {
    await client.pushBlob('alki/manifests', bytesBlob(Buffer.from('{}')), sha256Digest('{}'));
    const manifest = emptyManifest([]);
    const { digest } = await client.putManifest('alki/manifests', 'v1.0.0', manifest, OCI_MANIFEST);
    expect(digest).toBe(sha256Digest(manifest));
    const byTag = await client.getManifest('alki/manifests', 'v1.0.0');
    expect(byTag).toEqual({ bytes: manifest, digest, mediaType: OCI_MANIFEST });
    expect((await client.getManifest('alki/manifests', digest)).bytes.equals(manifest)).toBe(true);
    expect(await client.headManifest('alki/manifests', 'v1.0.0')).toEqual({
      digest,
      mediaType: OCI_MANIFEST,
      size: manifest.length,
    });
    expect(await client.headManifest('alki/manifests', 'nope')).toBeUndefined();
    await expect(client.getManifest('alki/manifests', 'nope')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('stores and returns Docker schema 2 manifests and OCI indexes with their own media types', async () => {
    const config = Buffer.from(
      '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}',
    );
    await client.pushBlob('alki/types', bytesBlob(config), sha256Digest(config));
    const docker = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: DOCKER_MANIFEST,
        config: {
          mediaType: 'application/vnd.docker.container.image.v1+json',
          digest: sha256Digest(config),
          size: config.length,
        },
        layers: [],
      }),
    );
    const { digest: dockerDigest } = await client.putManifest(
      'alki/types',
      'docker',
      docker,
      DOCKER_MANIFEST,
    );
    expect(await client.getManifest('alki/types', 'docker')).toEqual({
      bytes: docker,
      digest: dockerDigest,
      mediaType: DOCKER_MANIFEST,
    });
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [
          {
            mediaType: DOCKER_MANIFEST,
            digest: dockerDigest,
            size: docker.length,
            platform: { architecture: 'amd64', os: 'linux' },
          },
        ],
      }),
    );
    const { digest: indexDigest } = await client.putManifest('alki/types', 'index', index, OCI_INDEX);
    expect(await client.getManifest('alki/types', 'index')).toEqual({
      bytes: index,
      digest: indexDigest,
      mediaType: OCI_INDEX,
    });
  });

  it('lists every tag of the real registry', async () => {
    await client.pushBlob('alki/tags', bytesBlob(Buffer.from('{}')), sha256Digest('{}'));
    const manifest = emptyManifest([]);
    for (const tag of ['v1.0.0', 'v1.1.0', 'latest'])
      await client.putManifest('alki/tags', tag, manifest, OCI_MANIFEST);
    expect((await client.listTags('alki/tags')).sort()).toEqual(['latest', 'v1.0.0', 'v1.1.0']);
  });

  // distribution 2.8 ignores `n` on tags/list (pagination came in 3.0), so a
  // paginating registry such as GHCR or Harbor is played by an injected fetch
  // that serves the real tag list two at a time with RFC 8288 Link headers.
  it('follows Link rel="next" pages until the last one', async () => {
    const all = ['a', 'b', 'c', 'd', 'e'];
    const requested: string[] = [];
    const paging: typeof fetch = (input) => {
      const url = new URL(new Request(input).url);
      requested.push(url.pathname + url.search);
      const last = url.searchParams.get('last');
      const start = last ? all.indexOf(last) + 1 : 0;
      const page = all.slice(start, start + 2);
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (start + 2 < all.length)
        headers.link = `</v2/alki/paged/tags/list?n=2&last=${page.at(-1)}>; rel="next"`;
      return Promise.resolve(
        new Response(JSON.stringify({ name: 'alki/paged', tags: page }), { status: 200, headers }),
      );
    };
    const pagingClient = new RegistryClient({ registry: registry.host, fetch: paging });
    expect(await pagingClient.listTags('alki/paged')).toEqual(all);
    expect(requested).toEqual([
      '/v2/alki/paged/tags/list?n=1000',
      '/v2/alki/paged/tags/list?n=2&last=b',
      '/v2/alki/paged/tags/list?n=2&last=d',
    ]);
  });

  // A registry whose Link headers repeat a page, under a URL spelled
  // differently each time, and whose pages overlap: each tag is listed once.
  it('lists each tag once when pagination links repeat pages', async () => {
    const pages: Record<string, { tags: string[]; next?: string }> = {
      '': { tags: ['a', 'b'], next: '/v2/alki/loop/tags/list?n=2&last=b' },
      b: { tags: ['b', 'c', 'd'], next: 'http://REGISTRY/v2/alki/loop/tags/list?last=d&n=2' },
      d: { tags: ['d', 'e'], next: '/v2/alki/loop/tags/list?last=b&n=2' },
    };
    let requests = 0;
    const looping: typeof fetch = (input) => {
      requests++;
      const url = new URL(new Request(input).url);
      const page = pages[url.searchParams.get('last') ?? ''];
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (page.next) headers.link = `<${page.next.replace('REGISTRY', registry.host)}>; rel="next"`;
      return Promise.resolve(
        new Response(JSON.stringify({ name: 'alki/loop', tags: page.tags }), { status: 200, headers }),
      );
    };
    const loopingClient = new RegistryClient({ registry: registry.host, fetch: looping });
    expect(await loopingClient.listTags('alki/loop')).toEqual(['a', 'b', 'c', 'd', 'e']);
    // The last link names page b again, under yet another spelling: read once more, then it repeats exactly.
    expect(requests).toBeLessThanOrEqual(5);
  });

  it('finds referrers through the sha256-<hex> tag schema, because distribution 2.8 has no referrers API', async () => {
    await client.pushBlob('alki/ref', bytesBlob(Buffer.from('{}')), sha256Digest('{}'));
    const subject = emptyManifest([]);
    const { digest: subjectDigest } = await client.putManifest('alki/ref', 'subject', subject, OCI_MANIFEST);
    const referrer = emptyManifest([], {
      artifactType: 'application/vnd.alki.signature',
      subject: { mediaType: OCI_MANIFEST, digest: subjectDigest, size: subject.length },
    });
    const pushed = await client.pushReferrer('alki/ref', referrer, OCI_MANIFEST);
    const referrerDigest = pushed.digest;
    expect(pushed.referrersIndex?.tag).toBe(referrersTag(subjectDigest));
    const found = await client.referrers('alki/ref', subjectDigest);
    expect(found).toEqual([
      {
        mediaType: OCI_MANIFEST,
        digest: referrerDigest,
        size: referrer.length,
        artifactType: 'application/vnd.alki.signature',
      },
    ]);
    expect(await client.referrers('alki/ref', subjectDigest, { artifactType: 'application/other' })).toEqual(
      [],
    );
    const index = await client.getManifest('alki/ref', referrersTag(subjectDigest));
    expect(index.mediaType).toBe(OCI_INDEX);
  });

  it('stores exactly the one manifest it is given, even one with a subject', async () => {
    await client.pushBlob('alki/one', bytesBlob(Buffer.from('{}')), sha256Digest('{}'));
    const subject = emptyManifest([]);
    const { digest: subjectDigest } = await client.putManifest('alki/one', 'subject', subject, OCI_MANIFEST);
    const referrer = emptyManifest([], {
      subject: { mediaType: OCI_MANIFEST, digest: subjectDigest, size: subject.length },
    });
    const put = await client.putManifest('alki/one', 'signed', referrer, OCI_MANIFEST);
    expect(put).toEqual({ digest: sha256Digest(referrer), subjectIndexed: false });
    expect((await client.listTags('alki/one')).sort()).toEqual(['signed', 'subject']);
  });

  it('refuses to store a manifest under a digest it does not hash to, or with another media type', async () => {
    const manifest = emptyManifest([]);
    await expect(
      client.putManifest('alki/refused', sha256Digest('other'), manifest, OCI_MANIFEST),
    ).rejects.toMatchObject({ code: 'DIGEST_MISMATCH', category: 'input' });
    await expect(client.putManifest('alki/refused', 'v1', manifest, OCI_INDEX)).rejects.toMatchObject({
      code: 'INVALID_MANIFEST',
    });
  });

  // A 5xx to a PATCH may have stored part of the chunk; distribution 2.8
  // never answers one on its own, so an injected fetch fails chosen PATCHes
  // before they reach the real registry.
  it('resumes an upload whose PATCH got a 5xx, and reports a PATCH that keeps failing as REGISTRY_ERROR', async () => {
    const bytes = randomBytes(3 * 1024 * 1024);
    const digest = sha256Digest(bytes);
    let failures = 1;
    const failing: typeof fetch = async (input, init) => {
      if (init?.method === 'PATCH' && failures-- > 0) return new Response('storage hiccup', { status: 503 });
      return fetch(input, init);
    };
    const events: string[] = [];
    const flaky = new RegistryClient({
      registry: registry.host,
      fetch: failing,
      onEvent: (e) => events.push(e),
    });
    const result = await flaky.pushBlob('alki/patch-5xx', bytesBlob(bytes), digest, {
      chunkSize: 1024 * 1024,
    });
    expect(result).toMatchObject({ outcome: 'uploaded', resumes: 1 });
    expect(events.some((e) => e.includes('HTTP 503 storage hiccup'))).toBe(true);
    const out = collectingSink();
    await client.fetchBlob('alki/patch-5xx', { digest, size: bytes.length }, out.sink);
    expect(out.bytes().equals(bytes)).toBe(true);

    failures = Infinity;
    const other = randomBytes(2 * 1024 * 1024);
    await expect(
      flaky.pushBlob('alki/patch-5xx', bytesBlob(other), sha256Digest(other), { chunkSize: 1024 * 1024 }),
    ).rejects.toMatchObject({ code: 'REGISTRY_ERROR', category: 'network', details: { status: 503 } });
  });

  // The registry committed the blob, but the answer to the closing PUT never
  // arrived (played by an injected fetch that drops it): the retried PUT finds
  // no session, and the client checks that the blob is there instead of failing.
  it('finishes an upload whose closing answer was lost, when the registry has the blob', async () => {
    const bytes = randomBytes(2 * 1024 * 1024);
    const digest = sha256Digest(bytes);
    let dropped = 0;
    const losing: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (
        init?.method === 'PUT' &&
        new URL(input instanceof Request ? input.url : input).searchParams.has('digest') &&
        dropped++ === 0
      ) {
        await response.arrayBuffer();
        throw new TypeError('fetch failed', {
          cause: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
        });
      }
      return response;
    };
    const events: string[] = [];
    const lossy = new RegistryClient({
      registry: registry.host,
      fetch: losing,
      sleep: noSleep,
      onEvent: (e) => events.push(e),
    });
    const result = await lossy.pushBlob('alki/lost-answer', bytesBlob(bytes), digest, {
      chunkSize: 1024 * 1024,
    });
    expect(result.outcome).toBe('uploaded');
    expect(events).toContain(
      `the upload session of ${digest} was already closed, and the registry has the blob`,
    );
    expect(await client.hasBlob('alki/lost-answer', digest)).toBe(true);
  });

  it('reports a clear NOT_FOUND for an unknown repository or blob', async () => {
    await expect(client.listTags('alki/none')).rejects.toMatchObject({
      code: 'NOT_FOUND',
      category: 'input',
    });
    const out = collectingSink();
    await expect(
      client.fetchBlob('alki/none', { digest: sha256Digest('x'), size: 1 }, out.sink),
    ).rejects.toBeInstanceOf(OciError);
  });
});

describe('RegistryClient with htpasswd basic auth', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry({ basicAuth: { username: 'alice', password: 's3cret' } });
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it('pushes and pulls with the right password', async () => {
    const client = new RegistryClient({
      registry: registry.host,
      credentials: { username: 'alice', password: 's3cret' },
    });
    await client.ping();
    const bytes = randomBytes(2048);
    const digest = sha256Digest(bytes);
    expect((await client.pushBlob('alki/basic', bytesBlob(bytes), digest, { chunkSize: 1000 })).outcome).toBe(
      'uploaded',
    );
    const out = collectingSink();
    await client.fetchBlob('alki/basic', { digest, size: 2048 }, out.sink);
    expect(out.bytes().equals(bytes)).toBe(true);
  });

  it('fails with AUTH_REQUIRED without credentials and AUTH_FAILED with a wrong password', async () => {
    await expect(new RegistryClient({ registry: registry.host }).ping()).rejects.toMatchObject({
      code: 'AUTH_REQUIRED',
      category: 'network',
    });
    await expect(
      new RegistryClient({
        registry: registry.host,
        credentials: { username: 'alice', password: 'wrong' },
      }).ping(),
    ).rejects.toMatchObject({ code: 'AUTH_FAILED' });
  });
});

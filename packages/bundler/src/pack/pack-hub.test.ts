import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startFakeHub, type FakeHub } from '@alki/testkit';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeTestGguf } from '../__fixtures__/test-gguf.js';
import { pack, readBundle, verifyBundle, type PackOptions } from '../index.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'alki-pack-hub-'));
let hub: FakeHub;
let f32: Uint8Array;
let q8: Uint8Array;

beforeAll(async () => {
  await writeTestGguf(path.join(work, 'f32.gguf'), { name: 'Tiny', fileType: 0, seed: 1 });
  await writeTestGguf(path.join(work, 'q8.gguf'), { name: 'Tiny', fileType: 7, seed: 2 });
  f32 = readFileSync(path.join(work, 'f32.gguf'));
  q8 = readFileSync(path.join(work, 'q8.gguf'));
  hub = await startFakeHub({
    tokens: ['hf_good', 'hf_other'],
    repos: [
      {
        id: 'acme/tiny-GGUF',
        files: {
          'tiny-F32.gguf': f32,
          'tiny-Q8_0.gguf': q8,
          LICENSE: 'Acme model license text.\n',
          'README.md': '# tiny',
        },
        cardData: { license: 'apache-2.0' },
        revisions: { 'v1.0': { files: { 'tiny-Q8_0.gguf': f32 } } },
      },
      { id: 'acme/private-GGUF', files: { 'p-Q8_0.gguf': q8 }, private: true, access: ['hf_good'] },
      { id: 'acme/gated-GGUF', files: { 'g-Q8_0.gguf': q8 }, gated: 'manual', access: ['hf_good'] },
      { id: 'acme/pickle', files: { 'pytorch_model.bin': 'not really', 'config.json': '{}' } },
      { id: 'acme/etag-GGUF', files: { 'e-Q8_0.gguf': q8 } },
    ],
  });
});
afterAll(async () => {
  await hub?.stop();
  rmSync(work, { recursive: true, force: true });
});

let runs = 0;
function options(source: string, extra: Partial<PackOptions> = {}): PackOptions {
  const cache = path.join(work, `cache-${runs}`);
  return {
    source,
    out: path.join(work, `out-${runs++}`),
    sourceDateEpoch: 1,
    hubUrl: hub.url,
    env: { HF_HUB_CACHE: cache },
    ...extra,
  };
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('pack from a hub GGUF repo', () => {
  it('downloads the file --filename picks into the hub cache and records repo, commit and license', async () => {
    const opts = options('acme/tiny-GGUF', { filename: '*Q8_0.gguf' });
    const result = await pack(opts);
    const commit = hub.commitOf('acme/tiny-GGUF');
    expect(result.manifest.artifacts).toEqual([
      expect.objectContaining({ quant: 'Q8_0', sha256: sha256(q8), size: q8.length }),
    ]);
    expect(result.manifest.source).toEqual({
      kind: 'hub',
      repo: 'acme/tiny-GGUF',
      revision: commit,
      files: ['tiny-Q8_0.gguf'],
    });
    expect(result.manifest.license).toBe('apache-2.0');
    expect(
      existsSync(
        path.join(
          work,
          `cache-${runs - 1}`,
          'models--acme--tiny-GGUF',
          'snapshots',
          commit,
          'tiny-Q8_0.gguf',
        ),
      ),
    ).toBe(true);
    const dir = result.dir;
    expect(readFileSync(path.join(dir, 'metadata/LICENSE.txt'), 'utf8')).toBe('Acme model license text.\n');
    const sbom = JSON.parse(readFileSync(path.join(dir, 'metadata/sbom.spdx.json'), 'utf8')) as {
      packages: Array<Record<string, unknown>>;
    };
    expect(sbom.packages.find((p) => p.primaryPackagePurpose === 'SOURCE')).toMatchObject({
      supplier: 'Organization: acme',
      downloadLocation: `git+${hub.url}/acme/tiny-GGUF@${commit}`,
      licenseDeclared: 'Apache-2.0',
    });
    expect((await verifyBundle(dir)).ok).toBe(true);
  });

  it('dates the bundle by the hub revision, so packs on different machines are byte-identical', async () => {
    const first = options('acme/tiny-GGUF', { filename: '*Q8_0.gguf', sourceDateEpoch: undefined });
    const a = await pack(first);
    // A second machine: a fresh cache, downloaded later, so the cached files have other mtimes.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const b = await pack(options('acme/tiny-GGUF', { filename: '*Q8_0.gguf', sourceDateEpoch: undefined }));
    const files = (dir: string) =>
      readdirSync(dir, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
        .sort();
    expect(files(b.dir)).toEqual(files(a.dir));
    for (const file of files(a.dir))
      expect(sha256(readFileSync(path.join(b.dir, file)))).toBe(sha256(readFileSync(path.join(a.dir, file))));
    expect(JSON.stringify(a.manifest)).toContain('2025-01-01');
  });

  it('packs the revision asked for', async () => {
    const result = await pack(options('acme/tiny-GGUF', { filename: '*Q8_0.gguf', revision: 'v1.0' }));
    expect(result.manifest.source.revision).toBe(hub.commitOf('acme/tiny-GGUF', 'v1.0'));
    expect(result.manifest.artifacts[0].sha256).toBe(sha256(f32));
  });

  it('explains a glob that matches several files, or none', async () => {
    await expect(pack(options('acme/tiny-GGUF'))).rejects.toMatchObject({
      code: 'AMBIGUOUS_MATCH',
      message: expect.stringContaining('tiny-F32.gguf, tiny-Q8_0.gguf'),
    });
    await expect(pack(options('acme/tiny-GGUF', { filename: '*Q4_K_M.gguf' }))).rejects.toMatchObject({
      code: 'NO_MATCH',
      message: expect.stringContaining('Its .gguf files are: tiny-F32.gguf, tiny-Q8_0.gguf'),
    });
  });

  it('quantizes an F32 GGUF from the hub into each requested quant', async () => {
    const result = await pack(
      options('acme/tiny-GGUF', { filename: '*F32.gguf', quantize: ['F32', 'Q8_0'] }),
    );
    expect(result.manifest.artifacts.map((a) => [a.quant, a.file_type])).toEqual([
      ['F32', 'ALL_F32'],
      ['Q8_0', 'MOSTLY_Q8_0'],
    ]);
    expect((await verifyBundle(result.dir)).ok).toBe(true);
    expect(readdirHidden(path.dirname(result.dir))).toEqual([]);
  });

  it('uses --token (or HF_TOKEN) for private repos, and says how to get access', async () => {
    const denied = await pack(options('acme/private-GGUF')).catch((error: unknown) => error);
    expect(denied).toMatchObject({ category: 'network', hint: expect.stringMatching(/token/i) });
    const result = await pack(options('acme/private-GGUF', { token: 'hf_good' }));
    expect(result.manifest.source.repo).toBe('acme/private-GGUF');
    const fromEnv = options('acme/private-GGUF');
    const viaEnv = await pack({ ...fromEnv, env: { ...fromEnv.env, HF_TOKEN: 'hf_good' } });
    expect(viaEnv.manifest.artifacts[0].sha256).toBe(sha256(q8));
  });

  it('refuses a gated model without access, with a hint, and leaves nothing behind', async () => {
    const opts = options('acme/gated-GGUF', { token: 'hf_other' });
    const failure = await pack(opts).catch((error: unknown) => error);
    expect(failure).toMatchObject({
      category: 'network',
      hint: expect.stringContaining('Accept the license at'),
    });
    expect(existsSync(opts.out!)).toBe(false);
  });

  it('refuses a repo with only pickle weights', async () => {
    await expect(pack(options('acme/pickle'))).rejects.toMatchObject({
      code: 'SOURCE_UNSUPPORTED',
      message: expect.stringContaining('pickle'),
    });
  });

  it('resumes a download whose connection dropped mid-file with a Range request', async () => {
    const opts = options('acme/tiny-GGUF', { filename: '*F32.gguf' });
    hub.clearRequests();
    hub.inject({ kind: 'drop-connection', repo: 'acme/tiny-GGUF', path: 'tiny-F32.gguf', afterBytes: 300 });
    const result = await pack(opts);
    expect(result.manifest.artifacts[0].sha256).toBe(sha256(f32));
    const ranges = hub.requests.filter((r) => r.path.endsWith('/tiny-F32.gguf')).map((r) => r.range);
    expect(ranges).toContain('bytes=300-');
  });

  it('refuses a file whose bytes do not match the hub etag', async () => {
    const opts = options('acme/etag-GGUF');
    hub.inject({ kind: 'wrong-etag', repo: 'acme/etag-GGUF', path: 'e-Q8_0.gguf' });
    const failure = await pack(opts).catch((error: unknown) => error);
    expect(failure).toMatchObject({ message: expect.stringMatching(/sha256|etag|hash/i) });
    expect(existsSync(opts.out!)).toBe(false);
  });

  it('packs from the hub cache alone with HF_HUB_OFFLINE=1', async () => {
    const online = options('acme/tiny-GGUF', { filename: '*Q8_0.gguf', revision: 'v1.0' });
    await pack(online);
    hub.clearRequests();
    const offline = await pack({
      ...online,
      out: `${online.out}-offline`,
      hubUrl: 'http://127.0.0.1:9',
      env: { ...online.env, HF_HUB_OFFLINE: '1' },
    });
    expect(hub.requests).toEqual([]);
    expect(offline.manifest.source.revision).toBe(hub.commitOf('acme/tiny-GGUF', 'v1.0'));
  });

  it('reads the bundle it wrote', async () => {
    const result = await pack(options('acme/tiny-GGUF', { filename: 'tiny-Q8_0.gguf', name: 'acme tiny' }));
    expect((await readBundle(result.dir)).manifest.slug).toBe('acme-tiny');
  });
});

function readdirHidden(dir: string): string[] {
  return readdirSync(dir).filter((name) => name.startsWith('.'));
}

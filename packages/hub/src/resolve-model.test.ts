import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startFakeHub, type FakeHub, type FakeRepoSpec } from '@alki/testkit';
import { downloadFile } from './download-file.js';
import { resolveModel, type ResolveOptions } from './resolve-model.js';
import { selectFile } from './select-file.js';

const TOKEN = 'hf_reader';
const sha256 = (data: string) => createHash('sha256').update(data).digest('hex');

let hub: FakeHub;
let pagedHub: FakeHub;
let cacheDir: string;
const options = (extra: ResolveOptions = {}): ResolveOptions => ({
  endpoint: hub.url,
  cacheDir,
  env: {},
  ...extra,
});

const GGUF_FILES = {
  'README.md': '---\nlicense: apache-2.0\n---\n',
  'tiny-Q4_K_M.gguf': 'q4 weights',
  'tiny-Q8_0.gguf': 'q8 weights',
  'tiny-f16.gguf': 'f16 weights',
};

beforeAll(async () => {
  cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-hub-resolve-'));
  const repos: FakeRepoSpec[] = [
    {
      id: 'acme/tiny-GGUF',
      files: GGUF_FILES,
      cardData: { license: 'apache-2.0' },
      revisions: { 'refs/pr/1': { files: { 'tiny-Q2_K.gguf': 'q2' } } },
    },
    { id: 'acme/tiny', files: { 'config.json': '{}', 'model.safetensors': 'st', 'tokenizer.json': '{}' } },
    { id: 'acme/old-style', files: { 'config.json': '{}', 'pytorch_model.bin': 'pickle' } },
    {
      id: 'acme/custom-license',
      files: { 'm.gguf': 'w' },
      cardData: { license: 'other', license_name: 'llama3', license_link: 'LICENSE' },
    },
    { id: 'acme/private', private: true, files: { 'model.gguf': 'secret' } },
  ];
  hub = await startFakeHub({ tokens: [TOKEN], repos });
  pagedHub = await startFakeHub({ repos, treePageSize: 2 });
});

afterAll(async () => {
  await hub.stop();
  await pagedHub.stop();
  fs.rmSync(cacheDir, { recursive: true, force: true });
});

describe('resolveModel online', () => {
  it('resolves main to its commit and lists every file with size and hashes', async () => {
    const model = await resolveModel('acme/tiny-GGUF', options());
    expect(model).toMatchObject({
      repo: 'acme/tiny-GGUF',
      revision: 'main',
      commit: hub.commitOf('acme/tiny-GGUF'),
      endpoint: hub.url,
      kind: 'gguf',
      license: 'apache-2.0',
      author: 'acme',
      gated: false,
      private: false,
      fromCache: false,
    });
    // The fake hub dates every revision 2025-01-01.
    expect(model.lastModified).toBe('2025-01-01T00:00:00.000Z');
    expect(model.licenseName).toBeUndefined();
    expect(model.files.map((f) => f.path)).toEqual(Object.keys(GGUF_FILES).sort());
    expect(model.files.find((f) => f.path === 'tiny-Q8_0.gguf')).toEqual({
      path: 'tiny-Q8_0.gguf',
      size: 10,
      etag: sha256('q8 weights'),
      sha256: sha256('q8 weights'),
      lfs: true,
    });
    expect(model.files.find((f) => f.path === 'README.md')).toMatchObject({
      lfs: false,
      size: GGUF_FILES['README.md'].length,
    });
  });

  it('resolves a branch with a slash and a commit sha to the same commit', async () => {
    const pr = await resolveModel('acme/tiny-GGUF', options({ revision: 'refs/pr/1' }));
    expect(pr.commit).toBe(hub.commitOf('acme/tiny-GGUF', 'refs/pr/1'));
    expect(pr.files.map((f) => f.path)).toEqual(['tiny-Q2_K.gguf']);
    const bySha = await resolveModel('acme/tiny-GGUF', options({ revision: pr.commit }));
    expect(bySha.files).toEqual(pr.files);
  });

  it('follows the tree listing across pages', async () => {
    const model = await resolveModel('acme/tiny-GGUF', { endpoint: pagedHub.url, cacheDir, env: {} });
    expect(model.files.map((f) => f.path)).toEqual(Object.keys(GGUF_FILES).sort());
    expect(pagedHub.requests.filter((r) => r.path.includes('/tree/')).length).toBe(2);
  });

  it('tells a safetensors repo, a pickle-only repo and a GGUF repo apart', async () => {
    expect((await resolveModel('acme/tiny', options())).kind).toBe('safetensors');
    expect((await resolveModel('acme/old-style', options())).kind).toBe('pickle');
    expect((await resolveModel('acme/tiny-GGUF', options())).kind).toBe('gguf');
  });

  it('reports a custom license by name and link', async () => {
    expect(await resolveModel('acme/custom-license', options())).toMatchObject({
      license: 'other',
      licenseName: 'llama3',
      licenseLink: 'LICENSE',
    });
  });

  it('takes the endpoint from HF_ENDPOINT and the token from HF_TOKEN', async () => {
    const model = await resolveModel('acme/private', {
      cacheDir,
      env: { HF_ENDPOINT: hub.url, HF_TOKEN: TOKEN },
    });
    expect(model.private).toBe(true);
    expect(model.files.map((f) => f.path)).toEqual(['model.gguf']);
  });

  it('takes the token from the token file in HF_HOME', async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-hf-home-'));
    try {
      fs.writeFileSync(path.join(home, 'token'), `${TOKEN}\n`);
      const model = await resolveModel('acme/private', { endpoint: hub.url, env: { HF_HOME: home } });
      expect(model.files.map((f) => f.path)).toEqual(['model.gguf']);
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });

  it('explains 401, 404 repo and 404 revision', async () => {
    await expect(resolveModel('acme/private', options())).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      hint: expect.stringContaining('HF_TOKEN'),
    });
    await expect(resolveModel('acme/private', options({ token: 'hf_unknown' }))).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      message: expect.stringContaining('refused the token'),
    });
    await expect(resolveModel('acme/missing', options())).rejects.toMatchObject({
      code: 'REPO_NOT_FOUND',
      category: 'input',
      message: expect.stringContaining('acme/missing'),
    });
    await expect(resolveModel('acme/tiny-GGUF', options({ revision: 'nope' }))).rejects.toMatchObject({
      code: 'REVISION_NOT_FOUND',
      category: 'input',
    });
  });

  it('refuses an invalid model id before any request', async () => {
    hub.clearRequests();
    for (const bad of ['', 'a/b/c', 'acme/../x', 'acme/x--y', 'acme/<script>']) {
      await expect(resolveModel(bad, options())).rejects.toMatchObject({
        code: 'INVALID_REPO_ID',
        category: 'input',
      });
    }
    expect(hub.requests).toEqual([]);
  });

  it('reports a failing hub as a network error with a retry hint', async () => {
    hub.inject({ kind: 'status', status: 503 });
    await expect(resolveModel('acme/tiny', options())).rejects.toMatchObject({
      code: 'BAD_RESPONSE',
      category: 'network',
      hint: expect.stringContaining('try again'),
    });
  });
});

describe('selecting a file of a resolved repo with --filename', () => {
  it('picks the one match, and explains several or none', async () => {
    const model = await resolveModel('acme/tiny-GGUF', options());
    const paths = model.files.map((f) => f.path);
    expect(selectFile(paths, '*Q8_0.gguf', model.repo)).toBe('tiny-Q8_0.gguf');
    expect(() => selectFile(paths, '*.gguf', model.repo)).toThrow(
      expect.objectContaining({
        code: 'AMBIGUOUS_MATCH',
        details: expect.objectContaining({
          candidates: ['tiny-Q4_K_M.gguf', 'tiny-Q8_0.gguf', 'tiny-f16.gguf'],
        }),
      }),
    );
    expect(() => selectFile(paths, '*Q5_K_M*', model.repo)).toThrow(
      /No file in acme\/tiny-GGUF matches "\*Q5_K_M\*"\. Its \.gguf files are: tiny-Q4_K_M\.gguf, tiny-Q8_0\.gguf, tiny-f16\.gguf\./,
    );
  });
});

describe('resolveModel offline', () => {
  it('resolves from refs and lists the cached snapshot, with no request', async () => {
    const offlineCache = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-hub-offline-'));
    try {
      await downloadFile('acme/tiny-GGUF', 'tiny-Q8_0.gguf', {
        endpoint: hub.url,
        cacheDir: offlineCache,
        env: {},
      });
      await downloadFile('acme/tiny-GGUF', 'README.md', {
        endpoint: hub.url,
        cacheDir: offlineCache,
        env: {},
      });
      hub.clearRequests();
      const model = await resolveModel('acme/tiny-GGUF', {
        cacheDir: offlineCache,
        env: { HF_HUB_OFFLINE: 'YES' },
      });
      expect(model).toMatchObject({ commit: hub.commitOf('acme/tiny-GGUF'), kind: 'gguf', fromCache: true });
      expect(model.files).toEqual([
        {
          path: 'README.md',
          size: GGUF_FILES['README.md'].length,
          etag: expect.stringMatching(/^[0-9a-f]{40}$/),
          lfs: false,
        },
        {
          path: 'tiny-Q8_0.gguf',
          size: 10,
          etag: sha256('q8 weights'),
          sha256: sha256('q8 weights'),
          lfs: true,
        },
      ]);
      expect(hub.requests).toEqual([]);
      await expect(
        resolveModel('acme/tiny-GGUF', { cacheDir: offlineCache, offline: true, env: {}, revision: 'v2' }),
      ).rejects.toMatchObject({ code: 'NOT_IN_CACHE' });

      // Online, but the hub is down: the cache answers, and says so.
      hub.inject({ kind: 'status', status: 502 });
      const fallback = await resolveModel('acme/tiny-GGUF', {
        endpoint: hub.url,
        cacheDir: offlineCache,
        env: {},
      });
      expect(fallback).toMatchObject({
        commit: model.commit,
        files: model.files,
        fromCache: true,
        offlineFallback: expect.stringContaining('HTTP 502'),
      });
    } finally {
      fs.rmSync(offlineCache, { recursive: true, force: true });
    }
  });
});

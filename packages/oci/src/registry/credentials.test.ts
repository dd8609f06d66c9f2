import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { processAlive, writeHostileCredentialHelpers, type HostileCredentialHelpers } from '@alki/testkit';
import type { OciError } from '../errors.js';
import { describeCredentialSources, findCredentials } from './credentials.js';

const SECRET = 'hunter2-must-never-be-printed';

async function gone(...pids: number[]): Promise<boolean> {
  for (let i = 0; i < 40 && pids.some(processAlive); i++) await new Promise((r) => setTimeout(r, 50));
  return !pids.some(processAlive);
}

describe('findCredentials', () => {
  let dir: string;
  let binDir: string;
  let hostile: HostileCredentialHelpers;
  // Helpers are real programs found on PATH, speaking the docker-credential-helpers protocol.
  const helperEnv = () => ({ PATH: `${binDir}:${hostile.binDir}:${process.env.PATH}` });
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-creds-'));
    binDir = path.join(dir, 'bin');
    fs.mkdirSync(binDir);
    const helper = [
      '#!/bin/sh',
      '[ "$1" = get ] || exit 2',
      'read server',
      'case "$server" in',
      '  helper.example.com) echo \'{"ServerURL":"helper.example.com","Username":"helper-user","Secret":"helper-pass"}\' ;;',
      '  token.example.com) echo \'{"ServerURL":"token.example.com","Username":"<token>","Secret":"idtoken"}\' ;;',
      '  *) echo "credentials not found in native keychain"; exit 1 ;;',
      'esac',
    ].join('\n');
    fs.writeFileSync(path.join(binDir, 'docker-credential-fake'), `${helper}\n`, { mode: 0o755 });
    fs.writeFileSync(
      path.join(binDir, 'docker-credential-broken'),
      '#!/bin/sh\necho "keychain locked" >&2\nexit 3\n',
      { mode: 0o755 },
    );
    // leaky, garbled and hang: helpers that misbehave as issue 22 found them.
    hostile = writeHostileCredentialHelpers(dir, SECRET);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  function config(content: object): string {
    const file = path.join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
    fs.writeFileSync(file, JSON.stringify(content));
    return file;
  }

  it('prefers explicit credentials, then the environment', async () => {
    const dockerConfigPath = config({
      auths: { 'r.example.com': { auth: Buffer.from('cfg:cfg').toString('base64') } },
    });
    expect(
      await findCredentials('r.example.com', {
        explicit: { username: 'flag', password: 'f' },
        dockerConfigPath,
        env: {},
      }),
    ).toEqual({ username: 'flag', password: 'f' });
    expect(
      await findCredentials('r.example.com', {
        dockerConfigPath,
        env: { ALKI_REGISTRY_USERNAME: 'env', ALKI_REGISTRY_PASSWORD: 'e' },
      }),
    ).toEqual({ username: 'env', password: 'e' });
    expect(await findCredentials('r.example.com', { dockerConfigPath, env: {} })).toEqual({
      username: 'cfg',
      password: 'cfg',
    });
  });

  it('reads auths keyed by host or URL, with auth, username/password or identitytoken', async () => {
    const dockerConfigPath = config({
      auths: {
        'https://a.example.com/v1/': { auth: Buffer.from('alice:pa:ss').toString('base64') },
        'b.example.com:5000': { username: 'bob', password: 'pw' },
        'c.example.com': { identitytoken: 'tok' },
        'https://index.docker.io/v1/': { auth: Buffer.from('hub:h').toString('base64') },
      },
    });
    expect(await findCredentials('a.example.com', { dockerConfigPath, env: {} })).toEqual({
      username: 'alice',
      password: 'pa:ss',
    });
    expect(await findCredentials('b.example.com:5000', { dockerConfigPath, env: {} })).toEqual({
      username: 'bob',
      password: 'pw',
    });
    expect(await findCredentials('c.example.com', { dockerConfigPath, env: {} })).toEqual({
      identityToken: 'tok',
    });
    expect(await findCredentials('registry-1.docker.io', { dockerConfigPath, env: {} })).toEqual({
      username: 'hub',
      password: 'h',
    });
    expect(await findCredentials('unknown.example.com', { dockerConfigPath, env: {} })).toBeUndefined();
  });

  it('asks a credHelpers program for its host and the credsStore program for the rest', async () => {
    const dockerConfigPath = config({ credHelpers: { 'helper.example.com': 'fake' }, credsStore: 'fake' });
    expect(await findCredentials('helper.example.com', { dockerConfigPath, env: helperEnv() })).toEqual({
      username: 'helper-user',
      password: 'helper-pass',
    });
    expect(await findCredentials('token.example.com', { dockerConfigPath, env: helperEnv() })).toEqual({
      identityToken: 'idtoken',
    });
    // The store says "not found": anonymous, not an error.
    expect(
      await findCredentials('other.example.com', { dockerConfigPath, env: helperEnv() }),
    ).toBeUndefined();
  });

  it('reports a failing or missing helper as CREDENTIALS_UNAVAILABLE', async () => {
    await expect(
      findCredentials('x.example.com', {
        dockerConfigPath: config({ credsStore: 'broken' }),
        env: helperEnv(),
      }),
    ).rejects.toMatchObject({
      code: 'CREDENTIALS_UNAVAILABLE',
      category: 'environment',
      message: expect.stringContaining('docker-credential-broken failed with exit code 3'),
      details: { helper: 'docker-credential-broken', status: 3 },
    });
    await expect(
      findCredentials('x.example.com', {
        dockerConfigPath: config({ credsStore: 'absent-helper' }),
        env: helperEnv(),
      }),
    ).rejects.toMatchObject({
      code: 'CREDENTIALS_UNAVAILABLE',
      hint: expect.stringContaining('docker-credential-absent-helper'),
    });
  });

  it('never shows what a failing helper printed, which may be the secret itself', async () => {
    for (const helper of ['leaky', 'garbled']) {
      const error = (await findCredentials('x.example.com', {
        dockerConfigPath: config({ credsStore: helper }),
        env: helperEnv(),
      }).then(
        () => undefined,
        (e: unknown) => e,
      )) as OciError;
      expect(error).toMatchObject({
        code: 'CREDENTIALS_UNAVAILABLE',
        message: expect.stringContaining(`docker-credential-${helper}`),
      });
      const everything = JSON.stringify({
        message: error.message,
        hint: error.hint,
        json: error.toJSON(),
        stack: error.stack,
        cause: String(error.cause),
      });
      expect(everything).not.toContain(SECRET);
    }
    await expect(
      findCredentials('x.example.com', {
        dockerConfigPath: config({ credsStore: 'leaky' }),
        env: helperEnv(),
      }),
    ).rejects.toMatchObject({ message: expect.stringContaining('failed with exit code 1') });
  });

  it('stops a helper that hangs after the timeout, with every process it started', async () => {
    const pids = path.join(dir, 'hang-timeout');
    const started = Date.now();
    await expect(
      findCredentials('x.example.com', {
        dockerConfigPath: config({ credsStore: 'hang' }),
        env: { ...helperEnv(), HANG_PIDS: pids, ALKI_CREDENTIAL_HELPER_TIMEOUT: '1' },
      }),
    ).rejects.toMatchObject({
      code: 'CREDENTIALS_UNAVAILABLE',
      message: expect.stringContaining('did not answer within 1 s'),
      hint: expect.stringContaining('ALKI_CREDENTIAL_HELPER_TIMEOUT'),
    });
    expect(Date.now() - started).toBeLessThan(10_000);
    const { helper, child } = await hostile.hangPids(pids);
    expect(await gone(helper, child)).toBe(true);
  });

  it('kills a running helper and its children when the lookup is aborted', async () => {
    const pids = path.join(dir, 'hang-abort');
    const controller = new AbortController();
    const lookup = findCredentials('x.example.com', {
      dockerConfigPath: config({ credsStore: 'hang' }),
      env: { ...helperEnv(), HANG_PIDS: pids },
      signal: controller.signal,
    });
    const { helper, child } = await hostile.hangPids(pids);
    expect([processAlive(helper), processAlive(child)]).toEqual([true, true]);
    controller.abort(new Error('SIGTERM'));
    await expect(lookup).rejects.toMatchObject({ code: 'ABORTED' });
    expect(await gone(helper, child)).toBe(true);
  });

  it('treats a missing config as anonymous and a corrupt one as an error', async () => {
    expect(
      await findCredentials('x.example.com', { dockerConfigPath: path.join(dir, 'none.json'), env: {} }),
    ).toBeUndefined();
    const corrupt = path.join(dir, 'corrupt.json');
    fs.writeFileSync(corrupt, '{nope');
    await expect(
      findCredentials('x.example.com', { dockerConfigPath: corrupt, env: {} }),
    ).rejects.toMatchObject({ code: 'CREDENTIALS_UNAVAILABLE' });
  });
});

describe('describeCredentialSources', () => {
  it('names the variables, logins and helpers that hold credentials, and no credential', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-cred-sources-'));
    try {
      fs.writeFileSync(
        path.join(dir, 'config.json'),
        JSON.stringify({
          auths: {
            'https://index.docker.io/v1/': { auth: Buffer.from(`me:${SECRET}`).toString('base64') },
            '127.0.0.1:5000': { username: 'ci', password: SECRET },
            'empty.example.com': {},
          },
          credHelpers: { 'quay.io': 'pass' },
          credsStore: 'desktop',
        }),
      );
      const sources = await describeCredentialSources({
        env: { DOCKER_CONFIG: dir, ALKI_REGISTRY_TOKEN: SECRET },
      });
      expect(sources).toEqual({
        variables: ['ALKI_REGISTRY_TOKEN'],
        dockerConfig: { file: path.join(dir, 'config.json'), exists: true },
        logins: ['index.docker.io', '127.0.0.1:5000'],
        helpers: [{ registry: 'quay.io', program: 'docker-credential-pass' }],
        store: 'docker-credential-desktop',
      });
      expect(JSON.stringify(sources)).not.toContain(SECRET);
      expect(await describeCredentialSources({ env: { DOCKER_CONFIG: path.join(dir, 'none') } })).toEqual({
        variables: [],
        dockerConfig: { file: path.join(dir, 'none', 'config.json'), exists: false },
        logins: [],
        helpers: [],
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

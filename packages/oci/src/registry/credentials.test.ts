import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findCredentials } from './credentials.js';

describe('findCredentials', () => {
  let dir: string;
  let binDir: string;
  // Helpers are real programs found on PATH, speaking the docker-credential-helpers protocol.
  const helperEnv = () => ({ PATH: `${binDir}:${process.env.PATH}` });
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
      message: expect.stringContaining('keychain locked'),
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

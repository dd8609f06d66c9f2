import { afterAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { testKeyPair } from '../__fixtures__/bundles.js';
import { keyIdOf, loadTrustPolicy, trustPolicySchemaV1 } from '../index.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'alki-policy-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the published policy schema', () => {
  it('is the exported schema', () => {
    // If this fails after a schema change, rewrite the file from the object
    // (JSON.stringify, then prettier, which the repository's format check wants).
    const published: unknown = JSON.parse(
      readFileSync(new URL('../../schema/trust-policy.v1.json', import.meta.url), 'utf8'),
    );
    expect(published).toEqual(trustPolicySchemaV1);
  });
});

describe('loadTrustPolicy', () => {
  it('reads key files relative to the policy file, and inline keys as they are', async () => {
    const first = testKeyPair();
    const second = testKeyPair();
    mkdirSync(path.join(work, 'policies/keys'), { recursive: true });
    writeFileSync(path.join(work, 'policies/keys/ci.pub'), first.publicKeyPem);
    const file = path.join(work, 'policies/trust.json');
    writeFileSync(
      file,
      JSON.stringify({
        schema_version: 1,
        keys: [{ name: 'ci', path: 'keys/ci.pub' }, { public_key: second.publicKeyPem }],
        identities: [
          {
            subject_regexp: 'https://github.com/acme/.*',
            issuer: 'https://token.actions.githubusercontent.com',
          },
        ],
      }),
    );
    const policy = await loadTrustPolicy(file, '/');
    expect(policy.requireSignature).toBe(true);
    expect(policy.requireProvenance).toBe(false);
    expect(policy.keys.map((k) => [k.name, k.keyId])).toEqual([
      ['ci', keyIdOf(first.publicKey)],
      [keyIdOf(second.publicKey).slice(0, 16), keyIdOf(second.publicKey)],
    ]);
    // Anchored: a subject that only contains the pattern is not trusted.
    expect(
      policy.identities[0].subjectRegExp?.test(
        'https://github.com/acme/models/.github/workflows/x.yml@refs/heads/main',
      ),
    ).toBe(true);
    expect(policy.identities[0].subjectRegExp?.test('https://evil.example/https://github.com/acme/x')).toBe(
      false,
    );
  });

  it('takes inline JSON, resolving paths against the working directory', async () => {
    const key = testKeyPair();
    writeFileSync(path.join(work, 'inline.pub'), key.publicKeyPem);
    const policy = await loadTrustPolicy('{"schema_version":1,"keys":[{"path":"inline.pub"}]}', work);
    expect(policy.keys[0].keyId).toBe(keyIdOf(key.publicKey));
  });

  it('explains a policy that breaks the schema, or trusts nobody while requiring a signature', async () => {
    await expect(loadTrustPolicy('{"schema_version":1,"keys":[{"name":"x"}]}')).rejects.toMatchObject({
      code: 'INVALID_POLICY',
      message: expect.stringContaining('is not a valid version 1 policy'),
    });
    await expect(loadTrustPolicy('{"schema_version":1,"key":[]}')).rejects.toMatchObject({
      message: expect.stringContaining('(top level) must NOT have additional properties (key)'),
    });
    await expect(loadTrustPolicy('{"schema_version":1}')).rejects.toMatchObject({
      code: 'INVALID_POLICY',
      message: expect.stringContaining('trusts no key and no identity'),
    });
    await expect(loadTrustPolicy('{"schema_version":1,')).rejects.toMatchObject({
      message: expect.stringContaining('not valid JSON'),
    });
    await expect(loadTrustPolicy(path.join(work, 'missing.json'))).rejects.toMatchObject({
      code: 'INVALID_POLICY',
    });
  });

  it('refuses a key file or trusted root that is a named pipe, without waiting on it', async () => {
    const fifo = path.join(work, 'key.fifo');
    execFileSync('mkfifo', [fifo]);
    for (const policy of [
      { schema_version: 1, keys: [{ path: 'key.fifo' }] },
      {
        schema_version: 1,
        identities: [{ subject: 'ci@example.com', issuer: 'https://issuer.example.com' }],
        trusted_root: 'key.fifo',
      },
    ])
      await expect(loadTrustPolicy(JSON.stringify(policy), work)).rejects.toMatchObject({
        code: 'INVALID_POLICY',
        message: expect.stringContaining(`${fifo} is a named pipe (FIFO), not a regular file`),
      });
    // And the policy itself (ALKI_TRUST_POLICY may name one).
    await expect(loadTrustPolicy(fifo)).rejects.toMatchObject({
      code: 'INVALID_POLICY',
      message: expect.stringContaining('is a named pipe (FIFO), not a regular file'),
    });
  });

  it('refuses a subject pattern that is not a regular expression', async () => {
    await expect(
      loadTrustPolicy('{"schema_version":1,"identities":[{"subject_regexp":"(","issuer":"https://x"}]}'),
    ).rejects.toMatchObject({ message: expect.stringContaining('not a regular expression') });
  });
});

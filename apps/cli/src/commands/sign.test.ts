import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { SignBundleResult, TrustReport } from '@alki/signer';
import { requireCommand, startSigstoreStandIns } from '@alki/testkit';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli, signingWorkspace } from '../test-support.js';

const PASSPHRASE = 'pass-phrase-that-must-never-leak-7d1f';
const bin = fileURLToPath(new URL('../../bin/alki.js', import.meta.url));
let work: string;
let bundle: string;

function allFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name));
}

let copyOf: (dir: string) => string;

beforeAll(async () => {
  ({ work, bundle, copyOf } = await signingWorkspace('alki-cli-sign-', 'sign-tiny', PASSPHRASE));
});
afterEach(() => {
  delete process.env.ALKI_KEY_PASSPHRASE;
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('alki keygen, sign and verify', () => {
  it('sign --key then verify --key passes and names the signer; another key fails with exit 1', async () => {
    const dir = copyOf(bundle);
    process.env.ALKI_KEY_PASSPHRASE = PASSPHRASE;
    const signed = await runCli([
      'sign',
      dir,
      '--key',
      path.join(work, 'builder.key'),
      '--source',
      path.join(work, 'tiny.gguf'),
      '--json',
    ]);
    expect(signed.code).toBe(0);
    const result = JSON.parse(signed.stdout) as SignBundleResult;
    expect(result.files.signature).toMatch(
      /^metadata\/signatures\/manifest\.key-[0-9a-f]{16}\.sigstore\.json$/,
    );

    const ok = await runCli(['verify', dir, '--key', path.join(work, 'builder.pub')]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(
      /^ok sign-tiny .*\n  signed by   key [0-9a-f]{16}\n  built from  local-gguf tiny.gguf/,
    );

    const wrong = await runCli(['verify', dir, '--key', path.join(work, 'other.pub')]);
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toMatch(/untrusted-key .*which the policy does not trust/);
    expect(wrong.stderr).toContain('failed verification under the trust policy: untrusted-key');
  });

  it('verify names the one file changed after signing, and an unsigned bundle under a policy, with exit 1', async () => {
    const dir = copyOf(bundle);
    process.env.ALKI_KEY_PASSPHRASE = PASSPHRASE;
    expect((await runCli(['sign', dir, '--key', path.join(work, 'builder.key'), '--quiet'])).code).toBe(0);
    writeFileSync(path.join(dir, 'deploy/k3s/service.yaml'), 'kind: Service # edited\n');
    const tampered = await runCli(['verify', dir, '--key', path.join(work, 'builder.pub'), '--json']);
    expect(tampered.code).toBe(1);
    expect((JSON.parse(tampered.stdout) as TrustReport).failures).toEqual([
      expect.objectContaining({ kind: 'file-changed', path: 'deploy/k3s/service.yaml' }),
    ]);

    const policy = path.join(work, 'policy.json');
    writeFileSync(
      policy,
      JSON.stringify({ schema_version: 1, keys: [{ name: 'builder', path: 'builder.pub' }] }),
    );
    const unsigned = await runCli(['verify', bundle, '--policy', policy]);
    expect(unsigned.code).toBe(1);
    expect(unsigned.stdout).toMatch(/^unsigned +The bundle is not signed/);
  });

  it('never prints or stores the passphrase, even with --verbose, --json or a wrong passphrase', async () => {
    const dir = copyOf(bundle);
    process.env.ALKI_KEY_PASSPHRASE = PASSPHRASE;
    const runs = [
      await runCli(['sign', dir, '--key', path.join(work, 'builder.key'), '--verbose']),
      await runCli(['sign', dir, '--key', path.join(work, 'builder.key'), '--json', '--verbose']),
      await runCli(['inspect', dir, '--json']),
      await runCli(['verify', dir, '--key', path.join(work, 'builder.pub'), '--json', '--verbose']),
    ];
    process.env.ALKI_KEY_PASSPHRASE = `${PASSPHRASE}-wrong`;
    const wrong = await runCli(['sign', dir, '--key', path.join(work, 'builder.key'), '--verbose', '--json']);
    expect(wrong.code).toBe(3);
    expect(wrong.stderr).toContain('The passphrase does not decrypt');
    for (const run of [...runs, wrong]) {
      expect(run.stdout + run.stderr).not.toContain(PASSPHRASE);
    }
    for (const file of allFiles(dir))
      expect([file, readFileSync(file, 'utf8').includes(PASSPHRASE)]).toEqual([file, false]);
    expect(readFileSync(path.join(work, 'builder.key'), 'utf8')).not.toContain(PASSPHRASE);
  });

  it('asks for a passphrase by name when there is neither the variable nor a terminal', async () => {
    const run = await runCli(['sign', copyOf(bundle), '--key', path.join(work, 'builder.key')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('ALKI_KEY_PASSPHRASE is not set');
  });

  it('inspect shows who signed a bundle and what it was built from', async () => {
    const dir = copyOf(bundle);
    process.env.ALKI_KEY_PASSPHRASE = PASSPHRASE;
    await runCli([
      'sign',
      dir,
      '--key',
      path.join(work, 'builder.key'),
      '--source',
      path.join(work, 'tiny.gguf'),
      '--quiet',
    ]);
    const run = await runCli(['inspect', dir]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/signatures {3}\(unverified/);
    expect(run.stdout).toMatch(/signature {3}key [0-9a-f]{16}/);
    expect(run.stdout).toMatch(/input {7}tiny\.gguf sha256:[0-9a-f]{64}/);
    expect(run.stdout).toMatch(/built by {4}alki 0\.1\.0, alki-signer 0\.1\.0/);
  });

  it('sign --keyless against local Fulcio and Rekor, then verify --certificate-identity with their trusted root', async () => {
    const sigstore = await startSigstoreStandIns();
    try {
      const dir = copyOf(bundle);
      const token = sigstore.identityToken('ci@alki.test', 'https://issuer.alki.test');
      process.env.SIGSTORE_ID_TOKEN = token;
      const signed = await runCli([
        'sign',
        dir,
        '--keyless',
        '--fulcio-url',
        sigstore.fulcioUrl,
        '--rekor-url',
        sigstore.rekorUrl,
        '--verbose',
      ]);
      delete process.env.SIGSTORE_ID_TOKEN;
      expect(signed.code).toBe(0);
      expect(signed.stderr).toContain(
        'signing as ci@alki.test (issuer https://issuer.alki.test, token from SIGSTORE_ID_TOKEN)',
      );
      expect(signed.stdout + signed.stderr).not.toContain(token);
      const root = path.join(work, 'trusted_root.json');
      writeFileSync(root, JSON.stringify(sigstore.trustedRoot));
      const flags = ['--certificate-oidc-issuer', 'https://issuer.alki.test', '--trusted-root', root];
      const ok = await runCli(['verify', dir, '--certificate-identity', 'ci@alki.test', ...flags]);
      expect([ok.code, ok.stdout]).toEqual([
        0,
        expect.stringContaining('signed by   ci@alki.test (issuer https://issuer.alki.test)'),
      ]);
      const other = await runCli(['verify', dir, '--certificate-identity', 'someone@alki.test', ...flags]);
      expect(other.code).toBe(1);
      expect(other.stdout).toContain('untrusted-identity');
    } finally {
      delete process.env.SIGSTORE_ID_TOKEN;
      await sigstore.stop();
    }
  });

  it('keygen, sign and verify run with no network at all', () => {
    requireCommand('unshare', 'the offline signing test');
    const dir = copyOf(bundle);
    const env = { ...process.env, ALKI_KEY_PASSPHRASE: PASSPHRASE };
    // A fresh network namespace: not even loopback is up.
    const run = (...args: string[]) =>
      spawnSync('unshare', ['-rn', process.execPath, bin, ...args], { env, encoding: 'utf8' });
    const keygen = run('keygen', '--out', path.join(work, 'offline'), '--quiet');
    expect([keygen.status, keygen.stderr]).toEqual([0, '']);
    const sign = run('sign', dir, '--key', path.join(work, 'offline.key'), '--quiet');
    expect([sign.status, sign.stderr]).toEqual([0, '']);
    const verify = run('verify', dir, '--key', path.join(work, 'offline.pub'));
    expect([verify.status, verify.stdout]).toEqual([0, expect.stringMatching(/^ok sign-tiny/)]);
  });
});

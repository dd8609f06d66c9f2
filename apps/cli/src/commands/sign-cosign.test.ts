// Alki's signatures, checked by Sigstore's own CLI: cosign 2.5.0 (tools/setup/cosign.sh
// takes it from Debian 13's package) verifies what `alki sign --key` wrote, with the
// public key `alki keygen` wrote, offline.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { cachedToolPath } from '@alki/testkit';
import { spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runCli, signingWorkspace } from '../test-support.js';

const PASSPHRASE = 'cosign-interop-pass-phrase-5c2a';
let work: string;
let signed: string;
let signature: string;
let trustedRoot: string;
let home: string;

/** `cosign verify-blob` of a manifest with a key and an Alki signature file, offline: no TUF, no Rekor. */
function verifyBlob(key: string, manifest: string) {
  const result = spawnSync(
    cachedToolPath('cosign'),
    [
      'verify-blob',
      '--key',
      key,
      '--bundle',
      signature,
      '--new-bundle-format',
      '--trusted-root',
      trustedRoot,
      '--insecure-ignore-tlog=true',
      manifest,
    ],
    // A private HOME: cosign keeps its TUF cache and settings there.
    { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: home }, timeout: 60_000 },
  );
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

beforeAll(async () => {
  let bundle: string;
  let copyOf: (dir: string) => string;
  ({ work, bundle, copyOf } = await signingWorkspace('alki-cosign-', 'cosign-tiny', PASSPHRASE));
  signed = copyOf(bundle);
  process.env.ALKI_KEY_PASSPHRASE = PASSPHRASE;
  try {
    expect((await runCli(['sign', signed, '--key', path.join(work, 'builder.key'), '--quiet'])).code).toBe(0);
  } finally {
    delete process.env.ALKI_KEY_PASSPHRASE;
  }
  const name = readdirSync(path.join(signed, 'metadata/signatures')).find((file) =>
    file.startsWith('manifest.'),
  );
  signature = path.join(signed, 'metadata/signatures', name!);
  // An empty trusted root: a key signature needs no CA or log, and cosign then fetches no TUF metadata.
  trustedRoot = path.join(work, 'trusted_root.json');
  writeFileSync(
    trustedRoot,
    JSON.stringify({
      mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
      tlogs: [],
      certificateAuthorities: [],
      ctlogs: [],
      timestampAuthorities: [],
    }),
  );
  home = path.join(work, 'home');
  mkdirSync(home);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('cosign verify-blob on a bundle alki signed', () => {
  it('says Verified OK for the manifest with the signer public key', () => {
    const result = verifyBlob(path.join(work, 'builder.pub'), path.join(signed, 'metadata/manifest.json'));
    expect(result).toEqual({ status: 0, output: expect.stringContaining('Verified OK') });
  });

  it('fails for a manifest with one byte added', () => {
    const tampered = path.join(work, 'tampered-manifest.json');
    copyFileSync(path.join(signed, 'metadata/manifest.json'), tampered);
    appendFileSync(tampered, ' ');
    const result = verifyBlob(path.join(work, 'builder.pub'), tampered);
    expect(result.status).not.toBe(0);
    expect(result.output).not.toContain('Verified OK');
    expect(result.output).toContain('invalid signature');
  });

  it('fails with another key', () => {
    const result = verifyBlob(path.join(work, 'other.pub'), path.join(signed, 'metadata/manifest.json'));
    expect(result.status).not.toBe(0);
    expect(result.output).not.toContain('Verified OK');
    expect(result.output).toContain('invalid signature');
  });
});

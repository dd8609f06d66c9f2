// Alki's signatures, checked by Sigstore's own verifier: this file does not
// import @alki/signer, only the CLI (to sign) and @sigstore/* (to verify).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { pack } from '@alki/bundler';
import { startSigstoreStandIns, writeTinyLlamaGguf, type SigstoreStandIns } from '@alki/testkit';
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { createPublicKey } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../test-support.js';

let work: string;
let bundle: string;
let sigstore: SigstoreStandIns;

const EMPTY_ROOT = TrustedRoot.fromJSON({
  mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  tlogs: [],
  certificateAuthorities: [],
  ctlogs: [],
  timestampAuthorities: [],
});

function signatureFiles(dir: string): Record<'manifest' | 'provenance', unknown> {
  const found: Record<string, unknown> = {};
  for (const name of readdirSync(path.join(dir, 'metadata/signatures')))
    found[name.split('.')[0]] = JSON.parse(readFileSync(path.join(dir, 'metadata/signatures', name), 'utf8'));
  return found;
}

beforeAll(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'alki-interop-'));
  const gguf = path.join(work, 'tiny.gguf');
  await writeTinyLlamaGguf(gguf, { name: 'interop-tiny' });
  bundle = path.join(work, 'bundle');
  await pack({ source: gguf, out: bundle, sourceDateEpoch: 1_700_000_000 });
  sigstore = await startSigstoreStandIns();
});
afterAll(async () => {
  await sigstore?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('@sigstore/verify on bundles alki signed', () => {
  it('accepts a key signature of the manifest and the provenance with the public key, and rejects another manifest', async () => {
    const dir = path.join(work, 'key');
    cpSync(bundle, dir, { recursive: true });
    process.env.ALKI_KEY_PASSPHRASE = 'interop';
    try {
      expect((await runCli(['keygen', '--out', path.join(work, 'k'), '--quiet'])).code).toBe(0);
      expect((await runCli(['sign', dir, '--key', path.join(work, 'k.key'), '--quiet'])).code).toBe(0);
    } finally {
      delete process.env.ALKI_KEY_PASSPHRASE;
    }
    const publicKey = createPublicKey(readFileSync(path.join(work, 'k.pub'), 'utf8'));
    const material = toTrustMaterial(EMPTY_ROOT, () => ({ publicKey, validFor: () => true }));
    const verifier = new Verifier(material, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
    const files = signatureFiles(dir);
    const manifest = readFileSync(path.join(dir, 'metadata/manifest.json'));
    expect(() => verifier.verify(toSignedEntity(bundleFromJSON(files.manifest), manifest))).not.toThrow();
    expect(() => verifier.verify(toSignedEntity(bundleFromJSON(files.provenance)))).not.toThrow();
    const edited = Buffer.concat([manifest, Buffer.from(' ')]);
    expect(() => verifier.verify(toSignedEntity(bundleFromJSON(files.manifest), edited))).toThrow(
      /signature/i,
    );
  });

  it('accepts a keyless signature with the stand-ins trusted root and the signer identity, and refuses another identity', async () => {
    const dir = path.join(work, 'keyless');
    cpSync(bundle, dir, { recursive: true });
    const tokenFile = path.join(work, 'token.jwt');
    writeFileSync(tokenFile, sigstore.identityToken('release@alki.test', 'https://issuer.alki.test'));
    const signed = await runCli([
      'sign',
      dir,
      '--keyless',
      '--identity-token',
      tokenFile,
      '--fulcio-url',
      sigstore.fulcioUrl,
      '--rekor-url',
      sigstore.rekorUrl,
      '--quiet',
    ]);
    expect([signed.code, signed.stderr]).toEqual([0, '']);
    const verifier = new Verifier(toTrustMaterial(TrustedRoot.fromJSON(sigstore.trustedRoot)));
    const files = signatureFiles(dir);
    const manifest = readFileSync(path.join(dir, 'metadata/manifest.json'));
    const identity = {
      subjectAlternativeName: 'release@alki.test',
      extensions: { issuer: 'https://issuer.alki.test' },
    };
    const signer = verifier.verify(toSignedEntity(bundleFromJSON(files.manifest), manifest), identity);
    expect(signer.identity?.subjectAlternativeName).toBe('release@alki.test');
    expect(() => verifier.verify(toSignedEntity(bundleFromJSON(files.provenance)), identity)).not.toThrow();
    expect(() =>
      verifier.verify(toSignedEntity(bundleFromJSON(files.manifest), manifest), {
        subjectAlternativeName: 'mallory@alki.test',
        extensions: { issuer: 'https://issuer.alki.test' },
      }),
    ).toThrow(/identity|subject/i);
  });
});

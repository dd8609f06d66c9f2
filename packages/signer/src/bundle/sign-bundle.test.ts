import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { verifyBundle, type BundleManifest } from '@alki/bundler';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { packTinyBundle, testKeyPair } from '../__fixtures__/bundles.js';
import {
  IN_TOTO_PAYLOAD_TYPE,
  keyIdOf,
  resolveTrustPolicy,
  SIGSTORE_BUNDLE_MEDIA_TYPE,
  signBundle,
  verifySignedBundle,
  type SignBundleResult,
  type TrustPolicy,
} from '../index.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'alki-sign-'));
const builder = testKeyPair();
const stranger = testKeyPair();
let unsigned: string;
let signed: string;
let result: SignBundleResult;
let policy: TrustPolicy;
const provenance = { signerVersion: '0.1.0-test', llamaCppVersion: 'v0.4.0' };

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

function files(dir: string): string[] {
  return (
    readdirSync(dir, { recursive: true, withFileTypes: true }) as Array<{
      isFile(): boolean;
      parentPath: string;
      name: string;
    }>
  )
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .sort();
}

let copies = 0;
function copyOf(dir: string): string {
  const copy = path.join(work, `copy-${copies++}`);
  cpSync(dir, copy, { recursive: true });
  return copy;
}

function manifestOf(dir: string): BundleManifest {
  return JSON.parse(readFileSync(path.join(dir, 'metadata/manifest.json'), 'utf8')) as BundleManifest;
}

beforeAll(async () => {
  unsigned = await packTinyBundle(work, 'tiny');
  signed = copyOf(unsigned);
  result = await signBundle(signed, { method: { kind: 'key', privateKey: builder.privateKey }, provenance });
  policy = await resolveTrustPolicy(
    { schema_version: 1, keys: [{ name: 'builder', public_key: builder.publicKeyPem }] },
    work,
  );
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('signBundle with a local key', () => {
  it('adds a signature and a provenance file and changes no existing byte', () => {
    const before = files(unsigned);
    const after = files(signed);
    const short = keyIdOf(builder.publicKey).slice(0, 16);
    expect(after).toEqual(
      [
        ...before,
        `metadata/signatures/manifest.key-${short}.sigstore.json`,
        `metadata/signatures/provenance.key-${short}.sigstore.json`,
      ].sort(),
    );
    for (const file of before)
      expect([file, sha256(path.join(signed, file))]).toEqual([file, sha256(path.join(unsigned, file))]);
    expect(result.manifestSha256).toBe(sha256(path.join(unsigned, 'metadata/manifest.json')));
  });

  it('writes Sigstore bundles v0.3: a message signature over the manifest digest, and an in-toto DSSE envelope', () => {
    const signature = JSON.parse(readFileSync(path.join(signed, result.files.signature), 'utf8')) as {
      mediaType: string;
      messageSignature: { messageDigest: { digest: string } };
      verificationMaterial: { publicKey: { hint: string } };
    };
    expect(signature.mediaType).toBe(SIGSTORE_BUNDLE_MEDIA_TYPE);
    expect(SIGSTORE_BUNDLE_MEDIA_TYPE).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');
    expect(Buffer.from(signature.messageSignature.messageDigest.digest, 'base64').toString('hex')).toBe(
      result.manifestSha256,
    );
    expect(signature.verificationMaterial.publicKey.hint).toBe(keyIdOf(builder.publicKey));
    const attestation = JSON.parse(readFileSync(path.join(signed, result.files.provenance!), 'utf8')) as {
      mediaType: string;
      dsseEnvelope: { payloadType: string };
    };
    expect(attestation.mediaType).toBe(SIGSTORE_BUNDLE_MEDIA_TYPE);
    expect(attestation.dsseEnvelope.payloadType).toBe(IN_TOTO_PAYLOAD_TYPE);
  });

  it('refuses to sign a bundle whose files do not match its manifest', async () => {
    const dir = copyOf(unsigned);
    writeFileSync(path.join(dir, 'metadata/README.md'), 'edited');
    await expect(
      signBundle(dir, { method: { kind: 'key', privateKey: builder.privateKey }, provenance }),
    ).rejects.toMatchObject({
      code: 'VERIFICATION_FAILED',
      message: expect.stringContaining('metadata/README.md'),
    });
    expect(readdirSync(path.join(dir, 'metadata'))).not.toContain('signatures');
  });
});

describe('verifySignedBundle', () => {
  it('passes a signed bundle under a policy that trusts its key, naming the signer and the provenance', async () => {
    const report = await verifySignedBundle(signed, policy);
    expect(report.failures).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.signers).toEqual([{ kind: 'key', keyId: keyIdOf(builder.publicKey), name: 'builder' }]);
    const manifest = manifestOf(signed);
    expect(report.provenance?.subject).toContainEqual({
      name: 'models/' + path.basename(manifest.artifacts[0].uri),
      digest: { sha256: manifest.artifacts[0].sha256 },
    });
    expect(report.provenance?.predicate.runDetails.builder.version).toEqual({
      alki: manifest.alki_version,
      'alki-signer': '0.1.0-test',
      'llama.cpp': 'v0.4.0',
    });
    // bundler's verify does not report signature files as extra.
    expect((await verifyBundle(signed)).ok).toBe(true);
  });

  it('names each file changed after signing, one file at a time', async () => {
    const manifest = manifestOf(signed);
    const targets = [...manifest.artifacts.map((a) => a.uri.slice(2)), ...manifest.files.map((f) => f.path)];
    expect(targets.length).toBeGreaterThan(5);
    for (const target of targets) {
      const dir = copyOf(signed);
      const file = path.join(dir, target);
      const bytes = readFileSync(file);
      bytes[bytes.length - 1] ^= 0x01;
      writeFileSync(file, bytes);
      const report = await verifySignedBundle(dir, policy);
      expect(report.ok).toBe(false);
      expect(report.failures).toContainEqual(expect.objectContaining({ kind: 'file-changed', path: target }));
      rmSync(dir, { recursive: true });
    }
  });

  it('fails a manifest changed after signing, and names the file whose new hash it carries', async () => {
    const dir = copyOf(signed);
    const manifest = manifestOf(dir);
    const target = 'deploy/k3s/service.yaml';
    writeFileSync(path.join(dir, target), `${readFileSync(path.join(dir, target), 'utf8')}# changed\n`);
    const entry = manifest.files.find((f) => f.path === target)!;
    entry.sha256 = sha256(path.join(dir, target));
    entry.size = readFileSync(path.join(dir, target)).length;
    writeFileSync(path.join(dir, 'metadata/manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    // The files agree with the rewritten manifest; only the signatures can tell.
    expect((await verifyBundle(dir)).ok).toBe(true);
    const report = await verifySignedBundle(dir, policy);
    expect(report.ok).toBe(false);
    expect(report.failures.map((f) => [f.kind, f.path])).toEqual(
      expect.arrayContaining([
        ['digest-mismatch', 'metadata/manifest.json'],
        ['file-changed', target],
      ]),
    );
    expect(report.failures.find((f) => f.path === target)?.message).toContain('changed after signing');
  });

  it('names metadata/manifest.json when it is no longer JSON at all', async () => {
    const dir = copyOf(signed);
    writeFileSync(path.join(dir, 'metadata/manifest.json'), '{ truncated');
    const report = await verifySignedBundle(dir, policy);
    expect(report.ok).toBe(false);
    expect(report.failures.map((f) => [f.kind, f.path])).toContainEqual([
      'digest-mismatch',
      'metadata/manifest.json',
    ]);
  });

  it('fails a bundle signed by a key the policy does not trust, naming that key', async () => {
    const dir = copyOf(unsigned);
    await signBundle(dir, { method: { kind: 'key', privateKey: stranger.privateKey }, provenance: false });
    const report = await verifySignedBundle(dir, policy);
    expect(report.ok).toBe(false);
    expect(report.failures).toEqual([
      expect.objectContaining({
        kind: 'untrusted-key',
        message: expect.stringContaining(
          `key ${keyIdOf(stranger.publicKey).slice(0, 16)}, which the policy does not trust`,
        ),
      }),
    ]);
  });

  it('fails a signature that names the trusted key but was made by another', async () => {
    const dir = copyOf(signed);
    const forged = await signBundle(copyOf(unsigned), {
      method: { kind: 'key', privateKey: stranger.privateKey },
      provenance: false,
    });
    const json = forged.bundles.signature as { verificationMaterial: { publicKey: { hint: string } } };
    json.verificationMaterial.publicKey.hint = keyIdOf(builder.publicKey);
    for (const name of readdirSync(path.join(dir, 'metadata/signatures')))
      rmSync(path.join(dir, 'metadata/signatures', name));
    writeFileSync(path.join(dir, result.files.signature), JSON.stringify(json));
    const report = await verifySignedBundle(dir, policy);
    expect(report.failures).toEqual([expect.objectContaining({ kind: 'invalid-signature' })]);
  });

  it('refuses an unsigned bundle when the policy requires a signature, and passes it when unsigned bundles are allowed', async () => {
    const strict = await verifySignedBundle(unsigned, policy);
    expect(strict.ok).toBe(false);
    expect(strict.failures).toEqual([
      expect.objectContaining({ kind: 'unsigned', message: expect.stringContaining('not signed') }),
    ]);
    const lenient = await verifySignedBundle(
      unsigned,
      await resolveTrustPolicy({ schema_version: 1, require_signature: false }, work),
    );
    expect(lenient.ok).toBe(true);
  });

  it('requires provenance only when the policy says so', async () => {
    const dir = copyOf(unsigned);
    await signBundle(dir, { method: { kind: 'key', privateKey: builder.privateKey }, provenance: false });
    expect((await verifySignedBundle(dir, policy)).ok).toBe(true);
    const strict = await resolveTrustPolicy(
      { schema_version: 1, require_provenance: true, keys: [{ public_key: builder.publicKeyPem }] },
      work,
    );
    expect((await verifySignedBundle(dir, strict)).failures).toEqual([
      expect.objectContaining({ kind: 'no-provenance' }),
    ]);
    expect((await verifySignedBundle(signed, strict)).ok).toBe(true);
  });

  it('reports a signature file that is not JSON as malformed', async () => {
    const dir = copyOf(unsigned);
    await signBundle(dir, { method: { kind: 'key', privateKey: builder.privateKey }, provenance: false });
    const [name] = readdirSync(path.join(dir, 'metadata/signatures'));
    writeFileSync(path.join(dir, 'metadata/signatures', name), '{ not json');
    const report = await verifySignedBundle(dir, policy);
    expect(report.failures).toEqual([
      expect.objectContaining({ kind: 'malformed', path: `metadata/signatures/${name}` }),
    ]);
  });
});

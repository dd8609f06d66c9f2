import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { pack } from '@alki/bundler';
import { startRegistry, writeTinyLlamaGguf, type TestRegistry } from '@alki/testkit';
import { RegistryClient, registryStore, sha256Digest } from '@alki/oci';
import { publishBundle } from '@alki/registry-publisher';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { packTinyBundle, testKeyPair } from '../__fixtures__/bundles.js';
import {
  attachBundleSignatures,
  publishedArtifact,
  pullVerifiedBundle,
  resolveTrustPolicy,
  signBundle,
  signPublishedBundle,
  verifyPublishedBundle,
  verifySignedBundle,
  type TrustPolicy,
} from '../index.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'alki-published-'));
const builder = testKeyPair();
const stranger = testKeyPair();
const provenance = { signerVersion: '0.1.0-test', llamaCppVersion: 'v0.4.0' };
let registry: TestRegistry;
let client: RegistryClient;
let unsigned: string;
let signed: string;
let trustBuilder: TrustPolicy;
let trustStranger: TrustPolicy;

async function publish(dir: string, repository: string): Promise<string> {
  const result = await publishBundle({ bundleDir: dir, store: registryStore(client, repository), tag: 'v1' });
  return result.digest;
}

function leftovers(parent: string): string[] {
  return readdirSync(parent).filter((name) => name.includes('alki-partial'));
}

beforeAll(async () => {
  registry = await startRegistry();
  client = new RegistryClient({ registry: registry.host });
  unsigned = await packTinyBundle(work, 'tiny');
  signed = path.join(work, 'signed');
  cpSync(unsigned, signed, { recursive: true });
  await signBundle(signed, { method: { kind: 'key', privateKey: builder.privateKey }, provenance });
  trustBuilder = await resolveTrustPolicy(
    { schema_version: 1, keys: [{ name: 'builder', public_key: builder.publicKeyPem }] },
    work,
  );
  trustStranger = await resolveTrustPolicy(
    { schema_version: 1, keys: [{ name: 'stranger', public_key: stranger.publicKeyPem }] },
    work,
  );
  // A signed bundle: published, then its metadata/signatures/ attached as referrers.
  await publish(signed, 'models/signed');
  const subject = await publishedArtifact({ client, repository: 'models/signed', reference: 'v1' });
  await attachBundleSignatures(client, 'models/signed', [subject.descriptor], signed);
  // The same bytes, published with no signature attached.
  await publish(unsigned, 'models/unsigned');
});
afterAll(async () => {
  await registry?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('verifyPublishedBundle', () => {
  it('accepts a bundle whose attached signature and provenance are by a trusted key', async () => {
    const report = await verifyPublishedBundle(
      { client, repository: 'models/signed', reference: 'v1' },
      trustBuilder,
    );
    expect(report.failures).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.signers).toEqual([expect.objectContaining({ kind: 'key', name: 'builder' })]);
    expect(report.signatures.map((s) => [s.kind, s.check.ok])).toEqual(
      expect.arrayContaining([
        ['signature', true],
        ['provenance', true],
      ]),
    );
    expect(report.provenance?.subject).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'metadata/manifest.json' })]),
    );
    expect(report.reference).toBe(`${registry.host}/models/signed@${report.digest}`);
    expect(report.name).toBe('tiny');
  });

  it('refuses a bundle with no signature attached, and one signed by another key', async () => {
    const none = await verifyPublishedBundle(
      { client, repository: 'models/unsigned', reference: 'v1' },
      trustBuilder,
    );
    expect(none.ok).toBe(false);
    expect(none.failures.map((f) => f.kind)).toEqual(['unsigned']);
    expect(none.failures[0].message).toContain('no signature attached');

    const wrong = await verifyPublishedBundle(
      { client, repository: 'models/signed', reference: 'v1' },
      trustStranger,
    );
    expect(wrong.ok).toBe(false);
    expect(wrong.failures.map((f) => f.kind)).toContain('untrusted-key');
  });
});

describe('pullVerifiedBundle', () => {
  it('pulls a trusted bundle with its signatures, and the pulled directory verifies on its own', async () => {
    const out = path.join(work, 'pulled');
    const pulled = await pullVerifiedBundle({
      client,
      repository: 'models/signed',
      reference: 'v1',
      outDir: out,
      policy: trustBuilder,
    });
    expect(pulled.trust.ok).toBe(true);
    expect(readdirSync(path.join(out, 'metadata/signatures')).sort()).toEqual(
      readdirSync(path.join(signed, 'metadata/signatures')).sort(),
    );
    for (const name of readdirSync(path.join(signed, 'metadata/signatures')))
      expect(readFileSync(path.join(out, 'metadata/signatures', name))).toEqual(
        readFileSync(path.join(signed, 'metadata/signatures', name)),
      );
    const local = await verifySignedBundle(out, trustBuilder);
    expect(local.failures).toEqual([]);
    expect(local.ok).toBe(true);
  });

  it('writes nothing for an unsigned bundle or a wrong key', async () => {
    for (const [repository, policy] of [
      ['models/unsigned', trustBuilder],
      ['models/signed', trustStranger],
    ] as const) {
      const out = path.join(work, `refused-${repository.replace('/', '-')}`);
      await expect(
        pullVerifiedBundle({ client, repository, reference: 'v1', outDir: out, policy }),
      ).rejects.toMatchObject({ code: 'VERIFICATION_FAILED', category: 'check' });
      expect(existsSync(out)).toBe(false);
      expect(leftovers(work)).toEqual([]);
    }
  });

  it('refuses when the signature blob was replaced in the registry storage', async () => {
    const dir = path.join(work, 'resigned');
    cpSync(unsigned, dir, { recursive: true });
    const result = await signBundle(dir, {
      method: { kind: 'key', privateKey: builder.privateKey },
      provenance: false,
    });
    await publish(dir, 'models/tampered');
    const subject = await publishedArtifact({ client, repository: 'models/tampered', reference: 'v1' });
    await attachBundleSignatures(client, 'models/tampered', [subject.descriptor], dir);
    const bytes = readFileSync(path.join(dir, result.files.signature));
    // Same length, other bytes: the stored blob no longer matches its digest.
    const altered = Buffer.from(bytes);
    altered[altered.indexOf('"signature"') + 1] = 'S'.charCodeAt(0);
    writeFileSync(registry.blobFile(sha256Digest(bytes)), altered);

    const report = await verifyPublishedBundle(
      { client, repository: 'models/tampered', reference: 'v1' },
      trustBuilder,
    );
    expect(report.ok).toBe(false);
    expect(report.failures).toEqual([
      expect.objectContaining({
        kind: 'malformed',
        message: expect.stringContaining('replaced in the registry'),
      }),
    ]);
    const out = path.join(work, 'tampered-out');
    await expect(
      pullVerifiedBundle({
        client,
        repository: 'models/tampered',
        reference: 'v1',
        outDir: out,
        policy: trustBuilder,
      }),
    ).rejects.toMatchObject({ code: 'VERIFICATION_FAILED' });
    expect(existsSync(out)).toBe(false);
  });
});

describe('one quant of a multi-quant bundle', () => {
  it('pullVerifiedBundle of a quant tag accepts the signed bundle without the other quant, and still refuses a wrong key', async () => {
    const gguf = path.join(work, 'two-source.gguf');
    await writeTinyLlamaGguf(gguf, { seed: 11, name: 'two' });
    const dir = path.join(work, 'two');
    await pack({ source: gguf, out: dir, quantize: ['Q8_0', 'Q4_0'], sourceDateEpoch: 1_700_000_000 });
    await signBundle(dir, { method: { kind: 'key', privateKey: builder.privateKey }, provenance });
    const published = await publishBundle({
      bundleDir: dir,
      store: registryStore(client, 'models/two'),
      tag: 'v1',
    });
    const subjects = [];
    for (const digest of [published.digest, ...published.quants.map((q) => q.digest)])
      subjects.push(
        (await publishedArtifact({ client, repository: 'models/two', reference: digest })).descriptor,
      );
    await attachBundleSignatures(client, 'models/two', subjects, dir);

    const out = path.join(work, 'two-q8');
    const pulled = await pullVerifiedBundle({
      client,
      repository: 'models/two',
      reference: 'v1-q8_0',
      outDir: out,
      policy: trustBuilder,
    });
    expect([pulled.quant, pulled.trust.quant, pulled.trust.ok]).toEqual(['Q8_0', 'Q8_0', true]);
    expect(readdirSync(path.join(out, 'models'))).toEqual([expect.stringMatching(/q8_0\.gguf$/)]);

    const refusedOut = path.join(work, 'two-q8-refused');
    await expect(
      pullVerifiedBundle({
        client,
        repository: 'models/two',
        reference: 'v1-q8_0',
        outDir: refusedOut,
        policy: trustStranger,
      }),
    ).rejects.toMatchObject({ code: 'VERIFICATION_FAILED' });
    expect(existsSync(refusedOut)).toBe(false);
  });
});

describe('signPublishedBundle', () => {
  it('signs a published bundle in place: the signature and provenance become referrers, the digest stays', async () => {
    const before = await publishedArtifact({ client, repository: 'models/unsigned', reference: 'v1' });
    const signedRemote = await signPublishedBundle(
      { client, repository: 'models/unsigned', reference: 'v1' },
      { method: { kind: 'key', privateKey: builder.privateKey }, provenance },
    );
    expect(signedRemote.digest).toBe(before.digest);
    expect(signedRemote.referrers.provenance).toMatch(/^sha256:/);
    const after = await publishedArtifact({ client, repository: 'models/unsigned', reference: 'v1' });
    expect(after.digest).toBe(before.digest);
    // The same signature as `alki sign <dir>` makes over the same manifest bytes.
    const local = JSON.parse(
      readFileSync(
        path.join(
          signed,
          'metadata/signatures',
          readdirSync(path.join(signed, 'metadata/signatures')).find((n) => n.startsWith('manifest.'))!,
        ),
        'utf8',
      ),
    ) as { messageSignature: { messageDigest: { digest: string } } };
    expect((signedRemote.signature as typeof local).messageSignature.messageDigest).toEqual(
      local.messageSignature.messageDigest,
    );
    const report = await verifyPublishedBundle(
      { client, repository: 'models/unsigned', reference: 'v1' },
      { ...trustBuilder, requireProvenance: true },
    );
    expect(report.failures).toEqual([]);
    expect(report.ok).toBe(true);
  });
});

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { requireCommand, startRegistry, type TestRegistry } from '@alki/testkit';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  OCI_INDEX,
  OCI_MANIFEST,
  RegistryClient,
  referrersTag,
  registryStore,
  sha256Digest,
  type Descriptor,
} from '@alki/oci';
import { publishBundle } from './publish.js';
import { attachSignature, fetchSignatures, SIGNATURE_ARTIFACT_TYPE } from './signatures.js';
import { packTinyBundle } from '../__fixtures__/test-bundles.js';

let registry: TestRegistry;
let client: RegistryClient;
let work: string;
let subject: Descriptor;

function skopeoRaw(reference: string): string {
  return execFileSync(
    requireCommand('skopeo', 'the skopeo interoperability checks'),
    ['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/${reference}`],
    { encoding: 'utf8' },
  );
}

function sigstoreJson(name: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      mediaType: SIGNATURE_ARTIFACT_TYPE,
      verificationMaterial: { publicKey: { hint: name } },
      messageSignature: { messageDigest: { algorithm: 'SHA2_256', digest: name }, signature: name },
    }),
  );
}

beforeAll(async () => {
  registry = await startRegistry();
  client = new RegistryClient({ registry: registry.host });
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-signatures-'));
  const bundle = await packTinyBundle(work, 'tiny');
  const published = await publishBundle({
    bundleDir: bundle,
    store: registryStore(client, 'models/signed'),
    tag: 'v1',
  });
  const manifest = await client.getManifest('models/signed', published.digest);
  subject = { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.bytes.length };
});
afterAll(async () => {
  await registry?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('signatures as OCI 1.1 referrers on docker-registry 2.8 (no referrers API)', () => {
  let first: string;

  it('attaches a Sigstore bundle that skopeo sees in the sha256-<hex> fallback index', async () => {
    const signature = sigstoreJson('one');
    const attached = await attachSignature(client, 'models/signed', subject, signature);
    first = attached.referrer;
    expect(attached.referrersIndex?.tag).toBe(referrersTag(subject.digest));

    const index = JSON.parse(skopeoRaw(`models/signed:${referrersTag(subject.digest)}`)) as {
      mediaType: string;
      manifests: Descriptor[];
    };
    expect(index.mediaType).toBe(OCI_INDEX);
    expect(index.manifests).toHaveLength(1);
    expect(index.manifests[0]).toMatchObject({
      mediaType: OCI_MANIFEST,
      digest: first,
      artifactType: SIGNATURE_ARTIFACT_TYPE,
    });

    const referrer = JSON.parse(skopeoRaw(`models/signed@${first}`)) as {
      artifactType: string;
      subject: Descriptor;
      layers: Descriptor[];
    };
    expect(referrer.artifactType).toBe(SIGNATURE_ARTIFACT_TYPE);
    expect(referrer.subject).toEqual(subject);
    expect(referrer.layers).toEqual([
      { mediaType: SIGNATURE_ARTIFACT_TYPE, digest: sha256Digest(signature), size: signature.length },
    ]);

    const found = await fetchSignatures(client, 'models/signed', subject.digest);
    expect(found).toEqual([{ referrer: first, bundle: signature }]);
  });

  it('keeps the first signature when a second is attached (read-modify-write of the index)', async () => {
    const second = await attachSignature(client, 'models/signed', subject, sigstoreJson('two'));
    expect(second.referrer).not.toBe(first);
    const found = await fetchSignatures(client, 'models/signed', subject.digest);
    expect(found.map((entry) => entry.referrer)).toEqual([first, second.referrer]);
    expect(found[1].bundle.toString('utf8')).toContain('"two"');
  });

  it('finds nothing for a digest nobody signed', async () => {
    expect(await fetchSignatures(client, 'models/signed', sha256Digest('unsigned'))).toEqual([]);
  });

  it('refuses a signature blob replaced in the registry storage, naming the digest mismatch', async () => {
    const signature = sigstoreJson('tamper');
    const attached = await attachSignature(client, 'models/tampered', subject, signature);
    // The subject lives in another repository; referrers only need its digest.
    const file = registry.blobFile(sha256Digest(signature));
    const altered = Buffer.from(signature.toString('utf8').replace('"tamper"', '"TAMPER"'));
    expect(altered.length).toBe(signature.length);
    fs.writeFileSync(file, altered);
    await expect(fetchSignatures(client, 'models/tampered', subject.digest)).rejects.toMatchObject({
      code: 'DIGEST_MISMATCH',
    });
    expect(attached.referrer).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});

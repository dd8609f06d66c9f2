import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash, generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { readBundle, verifyBundle, type Bundle } from '@alki/bundler';
import { layoutStore, RegistryClient, registryStore } from '@alki/oci';
import { attachSignature, publishBundle } from '@alki/registry-publisher';
import { resolveTrustPolicy, signBundle, verifySignedBundle, type TrustPolicy } from '@alki/signer';
import { startRegistry, type TestRegistry } from '@alki/testkit';
import { packFixtureBundle, tempDir } from '../__fixtures__/fixture-bundle.js';
import { pullBundleFromUri } from './pull-bundle.js';
import { runRuntime, runtimeSettings } from './runtime-main.js';

// The runtime's pull against the real docker-registry 2.8 (no referrers API,
// so signatures sit behind the sha256-<hex> tag), under a trust policy through
// @alki/signer's pullVerifiedBundle: a signature attached with attachSignature
// is judged before the download and lands in the pulled bundle's
// metadata/signatures/; an unsigned bundle or a replaced signature blob stops
// the runtime with nothing left on disk.
let registry: TestRegistry;
let client: RegistryClient;
let bundle: Bundle;
let signatureBytes: Buffer;
let signatureFile: string;
let policy: TrustPolicy;
const key = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const publicPem = key.publicKey.export({ type: 'spki', format: 'pem' }) as string;

beforeAll(async () => {
  registry = await startRegistry();
  client = new RegistryClient({ registry: registry.host });
  bundle = await packFixtureBundle(tempDir(), 'runtime-pull');
  const signed = path.join(tempDir(), 'signed');
  await fs.promises.cp(bundle.dir, signed, { recursive: true });
  const result = await signBundle(signed, {
    method: { kind: 'key', privateKey: key.privateKey },
    provenance: false,
  });
  signatureFile = result.files.signature;
  signatureBytes = fs.readFileSync(path.join(signed, signatureFile));
  for (const repository of ['models/signed', 'models/unsigned']) {
    const published = await publishBundle({
      bundleDir: bundle.dir,
      store: registryStore(client, repository),
      tag: 'v1',
    });
    if (repository === 'models/signed') {
      const manifest = await client.getManifest(repository, published.digest);
      await attachSignature(
        client,
        repository,
        { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.bytes.length },
        signatureBytes,
      );
    }
  }
  policy = await resolveTrustPolicy({ schema_version: 1, keys: [{ public_key: publicPem }] }, tempDir());
}, 120_000);

afterAll(async () => {
  await registry?.stop();
});

function runtimeDeps(started: string[]) {
  return {
    pullBundle: (reference: string, dir: string, options: { signal?: AbortSignal; policy?: TrustPolicy }) =>
      pullBundleFromUri(reference, dir, options),
    readBundle,
    verifyBundle,
    runServer: (server: string) => {
      started.push(server);
      return Promise.resolve(0);
    },
    log: () => undefined,
  };
}

function settingsFor(uri: string, bundleDir = path.join(tempDir(), 'bundle')) {
  return runtimeSettings({
    ALKI_BUNDLE_URI: uri,
    ALKI_BUNDLE_DIR: bundleDir,
    ALKI_TRUST_POLICY: JSON.stringify({ schema_version: 1, keys: [{ public_key: publicPem }] }),
  });
}

describe('pullBundleFromUri', () => {
  it('under a policy, pulls a bundle whose attached signature it trusts, with that signature in metadata/signatures/', async () => {
    const dir = path.join(tempDir(), 'pulled');
    const pulled = await pullBundleFromUri(`docker://${registry.host}/models/signed:v1`, dir, { policy });
    expect(pulled.trusted).toBe(true);
    expect(fs.readFileSync(path.join(dir, signatureFile))).toEqual(signatureBytes);
    const report = await verifySignedBundle(dir, policy);
    expect(report.failures).toEqual([]);
    expect(report.signers).toHaveLength(1);
  });

  it('without a policy, pulls as before: no signatures, nothing judged', async () => {
    const plain = path.join(tempDir(), 'plain');
    expect((await pullBundleFromUri(`${registry.host}/models/signed:v1`, plain)).trusted).toBe(false);
    expect(fs.existsSync(path.join(plain, 'metadata/signatures'))).toBe(false);
    expect((await verifyBundle(plain)).ok).toBe(true);
  });

  it('lets the runtime serve the signed bundle and refuse the unsigned one, downloading nothing', async () => {
    const started: string[] = [];
    const refusedDir = path.join(tempDir(), 'bundle');
    const refusal = runRuntime(
      settingsFor(`${registry.host}/models/unsigned:v1`, refusedDir),
      runtimeDeps(started),
    );
    await expect(refusal).rejects.toMatchObject({ code: 'RUNTIME_UNTRUSTED' });
    await expect(refusal).rejects.toThrow(
      /^The bundle pulled from .*models\/unsigned:v1 does not pass ALKI_TRUST_POLICY: .*has no signature attached/,
    );
    expect(fs.readdirSync(path.dirname(refusedDir))).toEqual([]);
    expect(started).toEqual([]);
    expect(await runRuntime(settingsFor(`${registry.host}/models/signed:v1`), runtimeDeps(started))).toBe(0);
    expect(started).toHaveLength(1);
  });

  it('refuses a signature whose blob was replaced in the registry, and leaves nothing behind', async () => {
    const repository = 'models/replaced';
    const published = await publishBundle({
      bundleDir: bundle.dir,
      store: registryStore(client, repository),
      tag: 'v1',
    });
    const manifest = await client.getManifest(repository, published.digest);
    const forged = Buffer.from(signatureBytes.toString('utf8').replace(/"signature": "./, '"signature": "A'));
    expect(forged).not.toEqual(signatureBytes);
    await attachSignature(
      client,
      repository,
      { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.bytes.length },
      forged,
    );
    // The stored blob is replaced behind the registry's back, as an attacker with disk access would.
    const blob = registry.blobFile(`sha256:${createHash('sha256').update(forged).digest('hex')}`);
    fs.writeFileSync(blob, signatureBytes);
    const started: string[] = [];
    const dir = path.join(tempDir(), 'bundle');
    await expect(
      runRuntime(settingsFor(`${registry.host}/${repository}:v1`, dir), runtimeDeps(started)),
    ).rejects.toThrow(/does not pass ALKI_TRUST_POLICY: .*the blob was replaced in the registry/);
    expect(fs.readdirSync(path.dirname(dir))).toEqual([]);
    expect(started).toEqual([]);
  });

  it('judges a bundle from an OCI layout (no referrers) by what it carries: an unsigned one is refused', async () => {
    const layout = path.join(tempDir(), 'oci');
    await publishBundle({
      bundleDir: bundle.dir,
      store: await layoutStore(layout, { create: true }),
      tag: 'v1',
    });
    const started: string[] = [];
    await expect(runRuntime(settingsFor(`oci:${layout}:v1`), runtimeDeps(started))).rejects.toThrow(
      /does not pass ALKI_TRUST_POLICY: The bundle is not signed/,
    );
    expect(started).toEqual([]);
  });
});

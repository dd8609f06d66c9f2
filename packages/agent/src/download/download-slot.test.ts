import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { pack, readBundle, SIGNATURES_DIR } from '@alki/bundler';
import { RegistryClient, registryStore } from '@alki/oci';
import { publishBundle, stagingPathOf } from '@alki/registry-publisher';
import { resolveTrustPolicy, signPublishedBundle, verifySignedBundle, type TrustPolicy } from '@alki/signer';
import { startRegistry, writeTinyLlamaGguf, type TestRegistry } from '@alki/testkit';
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseChannel } from '../channel/channel.js';
import { agentPaths, slotDir } from '../slots/agent-paths.js';
import { switchCurrentLink } from '../slots/current-link.js';
import { downloadSlot, type DownloadSlotOptions } from './download-slot.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-agent-download-'));
const builder = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' });
let registry: TestRegistry;
let client: RegistryClient;
/** The same tiny bundle in two repositories: `models/signed` with the builder's signature attached, `models/unsigned` bare. */
let digest: string;
let trustBuilder: TrustPolicy;
let trustStranger: TrustPolicy;

async function policyFor(name: string, key: typeof builder): Promise<TrustPolicy> {
  const pem = key.publicKey.export({ type: 'spki', format: 'pem' }) as string;
  return resolveTrustPolicy({ schema_version: 1, keys: [{ name, public_key: pem }] }, work);
}

beforeAll(async () => {
  registry = await startRegistry();
  client = new RegistryClient({ registry: registry.host });
  const gguf = path.join(work, 'tiny.gguf');
  await writeTinyLlamaGguf(gguf, { name: 'agent-tiny' });
  const bundle = path.join(work, 'bundle');
  await pack({ source: gguf, out: bundle, sourceDateEpoch: 1_700_000_000 });
  for (const repository of ['models/signed', 'models/unsigned'])
    ({ digest } = await publishBundle({
      bundleDir: bundle,
      store: registryStore(client, repository),
      tag: 'v1',
    }));
  await signPublishedBundle(
    { client, repository: 'models/signed', reference: 'v1' },
    { method: { kind: 'key', privateKey: builder.privateKey }, provenance: false },
  );
  trustBuilder = await policyFor('builder', builder);
  trustStranger = await policyFor('stranger', stranger);
}, 120_000);
afterAll(async () => {
  await registry?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

let devices = 0;
function options(repository: string, policy?: TrustPolicy): DownloadSlotOptions {
  return {
    client,
    channel: parseChannel(`${registry.host}/${repository}:v1`),
    paths: agentPaths(path.join(work, `device-${devices++}`)),
    digest,
    ...(policy ? { trust: { policy } } : {}),
    freeSpace: async () => 2 ** 40,
    reserveBytes: 0,
  };
}

describe('downloadSlot under a trust policy', () => {
  it('installs a bundle whose signature in the registry is by a trusted key, with that signature in the slot', async () => {
    const opts = options('models/signed', trustBuilder);
    const record = await downloadSlot(opts);
    expect(record).toEqual({ digest, name: 'agent-tiny', version: expect.any(String) });
    const slot = slotDir(opts.paths, digest);
    expect(fs.readdirSync(path.join(slot, SIGNATURES_DIR))).toEqual([
      expect.stringMatching(/\.sigstore\.json$/),
    ]);
    // The slot verifies on its own, offline, under the same policy.
    expect((await verifySignedBundle(slot, trustBuilder)).failures).toEqual([]);
    expect(fs.readdirSync(opts.paths.slots)).toEqual([path.basename(slot)]);
  });

  it('refuses an unsigned bundle and one signed by another key (UNTRUSTED_BUNDLE), removing a staged partial download', async () => {
    for (const [repository, policy, reason] of [
      ['models/unsigned', trustBuilder, /has no signature attached .*the policy requires a signature/],
      ['models/signed', trustStranger, /refused by the trust policy: .*which the policy does not trust/],
    ] as const) {
      const opts = options(repository, policy);
      // What an earlier download, cut off before the policy was set, left behind.
      const staging = stagingPathOf(slotDir(opts.paths, digest));
      fs.mkdirSync(path.join(staging, 'models'), { recursive: true });
      fs.writeFileSync(path.join(staging, 'models', 'partial.gguf'), 'partial');
      const refusal = downloadSlot(opts);
      await expect(refusal).rejects.toMatchObject({ code: 'UNTRUSTED_BUNDLE', category: 'check' });
      await expect(refusal).rejects.toThrow(reason);
      expect(fs.readdirSync(opts.paths.slots)).toEqual([]);
    }
  });

  it('without a policy, installs the unsigned bundle as published; under one, that slot is used only once it verifies', async () => {
    const bare = options('models/unsigned');
    await expect(downloadSlot(bare)).resolves.toMatchObject({ digest, name: 'agent-tiny' });
    const slot = slotDir(bare.paths, digest);
    expect(fs.existsSync(path.join(slot, SIGNATURES_DIR))).toBe(false);
    // While the current link names it, it is refused but never moved.
    await switchCurrentLink(bare.paths, digest);
    await expect(downloadSlot({ ...bare, trust: { policy: trustBuilder } })).rejects.toThrow(
      /which is being served, does not verify .*; it is left as it is/,
    );
    await expect(readBundle(slot)).resolves.toMatchObject({ dir: slot });
    fs.rmSync(bare.paths.current);
    // The agent restarted with a policy: the unsigned slot is not taken as it is.
    await expect(downloadSlot({ ...bare, trust: { policy: trustBuilder } })).rejects.toMatchObject({
      code: 'UNTRUSTED_BUNDLE',
    });
    expect(fs.readdirSync(bare.paths.slots)).toEqual([]);

    // Installed again with no policy from the repository where the same bytes are signed,
    // then checked under the policy: the slot is verified by the registry's signature and gets it.
    const signed = { ...options('models/signed'), paths: bare.paths };
    await downloadSlot(signed);
    expect(fs.existsSync(path.join(slot, SIGNATURES_DIR))).toBe(false);
    await expect(downloadSlot({ ...signed, trust: { policy: trustBuilder } })).resolves.toMatchObject({
      digest,
    });
    expect((await verifySignedBundle(slot, trustBuilder)).failures).toEqual([]);
    expect(fs.readdirSync(bare.paths.slots)).toEqual([path.basename(slot)]);
  });
});

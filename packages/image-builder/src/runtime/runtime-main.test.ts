import { beforeAll, describe, expect, it } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { artifactPath, readBundle, verifyBundle, type Bundle } from '@alki/bundler';
import { signBundle } from '@alki/signer';
import { packFixtureBundle, tempDir } from '../__fixtures__/fixture-bundle.js';
import { runRuntime, runtimeSettings, type RuntimeDeps } from './runtime-main.js';

// The runtime's decisions with the real bundler (readBundle, verifyBundle) and
// a pull that copies a packed bundle, as a registry pull would restore it.
// The registry itself is covered by runtime-image.test.ts.
let source: Bundle;
/** The same bundle signed with `builder`'s key (metadata/signatures/), and with a stranger's. */
let signedDir: string;
let strangerDir: string;
const builder = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const builderPem = builder.publicKey.export({ type: 'spki', format: 'pem' }) as string;

async function signedCopy(privateKey: typeof builder.privateKey): Promise<string> {
  const dir = path.join(tempDir(), 'signed');
  await fs.promises.cp(source.dir, dir, { recursive: true });
  await signBundle(dir, { method: { kind: 'key', privateKey }, provenance: false });
  return dir;
}

beforeAll(async () => {
  source = await packFixtureBundle(tempDir(), 'runtime-logic');
  signedDir = await signedCopy(builder.privateKey);
  strangerDir = await signedCopy(stranger.privateKey);
}, 120_000);

/** A trust policy trusting `builder`'s key, written to a file (its key beside it), as a ConfigMap mounts one. */
function policyFile(document: Record<string, unknown> = {}): string {
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, 'builder.pub'), builderPem);
  const file = path.join(dir, 'policy.json');
  fs.writeFileSync(
    file,
    JSON.stringify({ schema_version: 1, keys: [{ name: 'builder', path: 'builder.pub' }], ...document }),
  );
  return file;
}

function harness(from: () => string = () => source.dir) {
  const pulls: string[] = [];
  const signatureRequests: boolean[] = [];
  const servers: Array<{ server: string; args: string[] }> = [];
  const lines: string[] = [];
  const deps: RuntimeDeps = {
    pullBundle: async (reference, dir, options) => {
      pulls.push(reference);
      signatureRequests.push(options.policy !== undefined);
      await fs.promises.cp(from(), dir, { recursive: true });
      // A copy judges no signature: the runtime checks the bundle itself (the registry pull is pull-bundle.test.ts').
      return { trusted: false };
    },
    readBundle,
    verifyBundle,
    runServer: (server, args) => {
      servers.push({ server, args });
      return Promise.resolve(0);
    },
    log: (line) => lines.push(line),
  };
  return { deps, pulls, signatureRequests, servers, lines };
}

describe('runRuntime', () => {
  it('pulls on first start, then starts llama-server with the runtime.json arguments and the extra ones', async () => {
    const dir = path.join(tempDir(), 'bundle');
    const { deps, pulls, signatureRequests, servers } = harness();
    const settings = runtimeSettings(
      { ALKI_BUNDLE_URI: 'r.local/m:v1', ALKI_BUNDLE_DIR: dir, ALKI_LLAMA_SERVER: '/bin/llama-server' },
      ['--port', '9000'],
    );
    expect(settings.trustPolicy).toBeUndefined();
    expect(await runRuntime(settings, deps)).toBe(0);
    expect(pulls).toEqual(['r.local/m:v1']);
    // No policy: the pull is not given one, and an unsigned bundle serves as before.
    expect(signatureRequests).toEqual([false]);
    expect(servers[0].server).toBe('/bin/llama-server');
    expect(servers[0].args.slice(0, 2)).toEqual([
      '--model',
      path.join(dir, artifactPath(source.manifest.artifacts[0].uri)),
    ]);
    expect(servers[0].args[servers[0].args.indexOf('--alias') + 1]).toBe(source.manifest.slug);
    expect(servers[0].args.slice(-2)).toEqual(['--port', '9000']);
    expect(fs.readdirSync(path.dirname(dir)).sort()).toEqual(['bundle', 'bundle.source.json']);
  });

  it('skips the download when the bundle from the same URI is intact, and pulls again when a file was damaged', async () => {
    const dir = path.join(tempDir(), 'bundle');
    const { deps, pulls, lines } = harness();
    const settings = runtimeSettings({ ALKI_BUNDLE_URI: 'r.local/m:v1', ALKI_BUNDLE_DIR: dir });
    await runRuntime(settings, deps);
    await runRuntime(settings, deps);
    expect(pulls).toHaveLength(1);
    expect(lines.join('\n')).toMatch(/present and intact/);
    fs.appendFileSync(path.join(dir, 'metadata/runtime.json'), ' ');
    await runRuntime(settings, deps);
    expect(pulls).toHaveLength(2);
    expect(lines.join('\n')).toMatch(/damaged \(metadata\/runtime\.json/);
    expect((await verifyBundle(dir)).ok).toBe(true);
  });

  it('pulls again when ALKI_BUNDLE_URI names another bundle than the one on disk', async () => {
    const dir = path.join(tempDir(), 'bundle');
    const { deps, pulls } = harness();
    await runRuntime(runtimeSettings({ ALKI_BUNDLE_URI: 'r.local/m:v1', ALKI_BUNDLE_DIR: dir }), deps);
    await runRuntime(runtimeSettings({ ALKI_BUNDLE_URI: 'r.local/m:v2', ALKI_BUNDLE_DIR: dir }), deps);
    expect(pulls).toEqual(['r.local/m:v1', 'r.local/m:v2']);
  });

  it('keeps the old bundle and starts nothing when a pull fails', async () => {
    const dir = path.join(tempDir(), 'bundle');
    const { deps, servers } = harness();
    await runRuntime(runtimeSettings({ ALKI_BUNDLE_URI: 'r.local/m:v1', ALKI_BUNDLE_DIR: dir }), deps);
    const failing: RuntimeDeps = {
      ...deps,
      pullBundle: async () => Promise.reject(new Error('Blob sha256:abc does not match its digest')),
    };
    await expect(
      runRuntime(runtimeSettings({ ALKI_BUNDLE_URI: 'r.local/m:v2', ALKI_BUNDLE_DIR: dir }), failing),
    ).rejects.toThrow(/does not match its digest/);
    expect(servers).toHaveLength(1);
    expect((await verifyBundle(dir)).ok).toBe(true);
    expect(fs.readdirSync(path.dirname(dir)).sort()).toEqual(['bundle', 'bundle.source.json']);
  });

  it('refuses to start without ALKI_BUNDLE_URI', () => {
    expect(() => runtimeSettings({})).toThrow(/ALKI_BUNDLE_URI is not set/);
  });
});

describe('runRuntime with ALKI_TRUST_POLICY', () => {
  function settingsWith(policy: string, dir = path.join(tempDir(), 'bundle')) {
    return runtimeSettings({
      ALKI_BUNDLE_URI: 'r.local/m:v1',
      ALKI_BUNDLE_DIR: dir,
      ALKI_TRUST_POLICY: policy,
    });
  }

  it('serves a bundle signed by a key the policy file trusts, handing the policy to the pull', async () => {
    const dir = path.join(tempDir(), 'bundle');
    const { deps, signatureRequests, servers, lines } = harness(() => signedDir);
    expect(await runRuntime(settingsWith(policyFile(), dir), deps)).toBe(0);
    expect(signatureRequests).toEqual([true]);
    expect(servers).toHaveLength(1);
    expect(lines.join('\n')).toMatch(
      /pulled and verified r\.local\/m:v1, signed as ALKI_TRUST_POLICY requires/,
    );
    // A restart checks the signature of the bundle on disk again and skips the download.
    expect(await runRuntime(settingsWith(policyFile(), dir), deps)).toBe(0);
    expect(signatureRequests).toHaveLength(1);
    expect(servers).toHaveLength(2);
  });

  it('takes the policy as inline JSON too', async () => {
    const { deps, servers } = harness(() => signedDir);
    const inline = JSON.stringify({ schema_version: 1, keys: [{ public_key: builderPem }] });
    expect(await runRuntime(settingsWith(inline), deps)).toBe(0);
    expect(servers).toHaveLength(1);
  });

  it('refuses an unsigned bundle, starts nothing and leaves nothing on disk', async () => {
    const dir = path.join(tempDir(), 'bundle');
    const { deps, servers } = harness();
    const refusal = runRuntime(settingsWith(policyFile(), dir), deps);
    await expect(refusal).rejects.toMatchObject({ code: 'RUNTIME_UNTRUSTED' });
    await expect(refusal).rejects.toThrow(
      /^The bundle pulled from r\.local\/m:v1 does not pass ALKI_TRUST_POLICY: The bundle is not signed/,
    );
    expect(servers).toHaveLength(0);
    expect(fs.readdirSync(path.dirname(dir))).toEqual([]);
  });

  it('refuses a bundle signed by a key the policy does not trust, naming the signature', async () => {
    const { deps, servers } = harness(() => strangerDir);
    const refusal = runRuntime(settingsWith(policyFile()), deps);
    await expect(refusal).rejects.toMatchObject({ code: 'RUNTIME_UNTRUSTED' });
    await expect(refusal).rejects.toThrow(
      /metadata\/signatures\/manifest\.key-[0-9a-f]{16}\.sigstore\.json: /,
    );
    expect(servers).toHaveLength(0);
  });

  it('refuses a signed bundle whose file changed after signing, naming the file', async () => {
    const tampered = path.join(tempDir(), 'tampered');
    await fs.promises.cp(signedDir, tampered, { recursive: true });
    fs.appendFileSync(path.join(tampered, 'metadata/runtime.json'), ' ');
    const { deps, servers } = harness(() => tampered);
    await expect(runRuntime(settingsWith(policyFile()), deps)).rejects.toThrow(/metadata\/runtime\.json/);
    expect(servers).toHaveLength(0);
  });

  it('serves an unsigned bundle under a policy that allows one', async () => {
    const { deps, servers } = harness();
    expect(await runRuntime(settingsWith(policyFile({ require_signature: false })), deps)).toBe(0);
    expect(servers).toHaveLength(1);
  });

  it('checks the bundle on disk against the policy at each start: one the new policy refuses is pulled again', async () => {
    const dir = path.join(tempDir(), 'bundle');
    const { deps, pulls, servers, lines } = harness();
    expect(
      await runRuntime(runtimeSettings({ ALKI_BUNDLE_URI: 'r.local/m:v1', ALKI_BUNDLE_DIR: dir }), deps),
    ).toBe(0);
    await expect(runRuntime(settingsWith(policyFile(), dir), deps)).rejects.toMatchObject({
      code: 'RUNTIME_UNTRUSTED',
    });
    expect(lines.join('\n')).toMatch(
      /the bundle on disk does not pass ALKI_TRUST_POLICY \(The bundle is not signed/,
    );
    expect(pulls).toHaveLength(2);
    expect(servers).toHaveLength(1);
    // The refused pull left the old bundle as it was.
    expect((await verifyBundle(dir)).ok).toBe(true);
  });

  it.each([
    [
      'inline JSON that does not parse',
      '{"schema_version": 1,',
      /ALKI_TRUST_POLICY: The trust policy \(inline\) is not valid JSON/,
    ],
    [
      'a file that does not exist',
      '/nonexistent/policy.json',
      /ALKI_TRUST_POLICY: The trust policy file \/nonexistent\/policy\.json cannot be read/,
    ],
    [
      'a policy that fails the schema',
      '{"schema_version": 2}',
      /ALKI_TRUST_POLICY: The trust policy \(inline\) is not a valid version 1 policy/,
    ],
    [
      'a policy that requires a signature and trusts nobody',
      '{"schema_version": 1}',
      /trusts no key and no identity/,
    ],
  ])('refuses %s in one line, before pulling anything', async (_what, policy, message) => {
    const { deps, pulls, servers } = harness(() => signedDir);
    const refusal = runRuntime(settingsWith(policy), deps);
    await expect(refusal).rejects.toMatchObject({ code: 'INVALID_TRUST_POLICY' });
    await expect(refusal).rejects.toThrow(message);
    await expect(refusal).rejects.toThrow(/^[^\n]+$/);
    expect(pulls).toHaveLength(0);
    expect(servers).toHaveLength(0);
  });
});

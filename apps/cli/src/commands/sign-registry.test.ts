import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { PublishResult } from '@alki/registry-publisher';
import {
  requireCommand,
  startRegistry,
  startSigstoreStandIns,
  type SigstoreStandIns,
  type TestRegistry,
} from '@alki/testkit';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runCli, signingWorkspace } from '../test-support.js';

const PASSPHRASE = 'registry-pass-phrase-never-printed-3b9e';
const SIGSTORE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
let registry: TestRegistry;
let sigstore: SigstoreStandIns;
let work: string;
let bundle: string;
let builderKey: string;
let builderPub: string;
let otherPub: string;
let trustedRoot: string;

let copyOf: (dir: string) => string;
let refusals = 0;

function skopeoRaw(reference: string): string {
  return execFileSync(
    requireCommand('skopeo', 'the referrer checks'),
    ['inspect', '--raw', '--tls-verify=false', `docker://${reference}`],
    { encoding: 'utf8' },
  );
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name));
}

async function publishTo(dir: string, namespace: string, ...flags: string[]) {
  const run = await runCli([
    'publish',
    dir,
    '--registry',
    `${registry.host}/${namespace}`,
    '--tag',
    'v1',
    '--json',
    ...flags,
  ]);
  expect([run.code, run.stderr]).toEqual([0, expect.any(String)]);
  return JSON.parse(run.stdout) as PublishResult & { reference: string; signatures?: string[] };
}

/** A refused pull: exit 1, one `error:` line (and its hint), no stack, nothing at the destination. */
async function expectRefusedPull(ref: string, flags: string[], reason: RegExp): Promise<void> {
  const out = path.join(work, `refused-${refusals++}`);
  const run = await runCli(['pull', ref, '-o', out, ...flags]);
  expect(run.code).toBe(1);
  const errors = run.stderr.split('\n').filter((line) => line.startsWith('error:'));
  expect(errors).toEqual([expect.stringMatching(reason)]);
  expect(run.stderr).not.toMatch(/\n\s+at /);
  expect(existsSync(out)).toBe(false);
  expect(readdirSync(work).filter((name) => name.includes('alki-partial'))).toEqual([]);
}

beforeAll(async () => {
  registry = await startRegistry();
  sigstore = await startSigstoreStandIns();
  ({ work, bundle, copyOf } = await signingWorkspace('alki-cli-sign-oci-', 'oci-tiny', PASSPHRASE));
  builderKey = path.join(work, 'builder.key');
  builderPub = path.join(work, 'builder.pub');
  otherPub = path.join(work, 'other.pub');
  trustedRoot = path.join(work, 'trusted_root.json');
  writeFileSync(trustedRoot, JSON.stringify(sigstore.trustedRoot));
});
afterEach(() => {
  delete process.env.ALKI_KEY_PASSPHRASE;
  delete process.env.SIGSTORE_ID_TOKEN;
});
afterAll(async () => {
  await registry?.stop();
  await sigstore?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('signatures in the registry', () => {
  let signedRef: string;
  let signedDir: string;

  it('publish --sign --key pushes, signs, and attaches signature and provenance as referrers skopeo sees', async () => {
    signedDir = copyOf(bundle);
    process.env.ALKI_KEY_PASSPHRASE = PASSPHRASE;
    const result = await publishTo(signedDir, 'signed', '--sign', '--key', builderKey);
    signedRef = result.reference;
    expect(result.signatures).toEqual([
      expect.stringMatching(/^metadata\/signatures\/manifest\.key-[0-9a-f]{16}\.sigstore\.json$/),
      expect.stringMatching(/^metadata\/signatures\/provenance\.key-[0-9a-f]{16}\.sigstore\.json$/),
    ]);
    // Docker's registry 2.8 has no referrers API: the sha256-<hex> tag index lists both.
    const index = JSON.parse(
      skopeoRaw(`${registry.host}/signed/oci-tiny:${result.digest.replace(':', '-')}`),
    ) as { manifests: Array<{ artifactType: string; digest: string }> };
    expect(index.manifests.map((entry) => entry.artifactType)).toEqual([SIGSTORE, SIGSTORE]);
    const referrer = JSON.parse(
      skopeoRaw(`${registry.host}/signed/oci-tiny@${index.manifests[0].digest}`),
    ) as {
      subject: { digest: string };
    };
    expect(referrer.subject.digest).toBe(result.digest);
    // Each attached layer is the bundle's own signature file, byte for byte.
    const layerDigests = result.signatures!.map(
      (file) =>
        `sha256:${createHash('sha256')
          .update(readFileSync(path.join(signedDir, file)))
          .digest('hex')}`,
    );
    for (const entry of index.manifests) {
      const manifest = JSON.parse(skopeoRaw(`${registry.host}/signed/oci-tiny@${entry.digest}`)) as {
        layers: Array<{ digest: string }>;
      };
      expect(layerDigests).toContain(manifest.layers[0].digest);
    }
  });

  it('verify <ref> --key passes for the signer and fails with exit 1 for another key, downloading nothing', async () => {
    const ok = await runCli(['verify', signedRef, '--key', builderPub]);
    expect([ok.code, ok.stdout]).toEqual([
      0,
      expect.stringMatching(/^ok oci-tiny .*\n {2}signed by {3}key /),
    ]);
    const wrong = await runCli(['verify', signedRef, '--key', otherPub, '--json']);
    expect(wrong.code).toBe(1);
    expect(
      (JSON.parse(wrong.stdout) as { failures: Array<{ kind: string }> }).failures.map((f) => f.kind),
    ).toContain('untrusted-key');
    expect(wrong.stderr).toContain('failed verification under the trust policy: untrusted-key');
  });

  it('pull --verify --key restores the bundle with its signatures, and the copy verifies offline', async () => {
    const out = path.join(work, 'pulled');
    const run = await runCli(['pull', signedRef, '-o', out, '--verify', '--key', builderPub]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/signed by key /);
    expect(readdirSync(path.join(out, 'metadata/signatures')).sort()).toEqual(
      readdirSync(path.join(signedDir, 'metadata/signatures')).sort(),
    );
    const local = await runCli(['verify', out, '--key', builderPub, '--require-provenance']);
    expect(local.code).toBe(0);
  });

  it('pull --verify refuses, writing nothing: no signature, wrong key, replaced signature blob', async () => {
    const unsigned = await publishTo(copyOf(bundle), 'unsigned');
    await expectRefusedPull(unsigned.reference, ['--verify', '--key', builderPub], /no signature attached/);
    await expectRefusedPull(
      signedRef,
      ['--verify', '--key', otherPub],
      /refused by the trust policy.*does not trust/,
    );

    const dir = copyOf(bundle);
    process.env.ALKI_KEY_PASSPHRASE = PASSPHRASE;
    const tampered = await publishTo(dir, 'tampered', '--sign', '--key', builderKey);
    for (const file of tampered.signatures!) {
      const bytes = readFileSync(path.join(dir, file));
      const blob = registry.blobFile(`sha256:${createHash('sha256').update(bytes).digest('hex')}`);
      writeFileSync(blob, Buffer.from(bytes.toString('utf8').replace('"mediaType"', '"MEDIATYPE"')));
    }
    await expectRefusedPull(
      tampered.reference,
      ['--verify', '--key', builderPub],
      /replaced in the registry/,
    );
  });

  it('a plain publish of a bundle signed with `alki sign` attaches its signatures', async () => {
    const dir = copyOf(bundle);
    process.env.ALKI_KEY_PASSPHRASE = PASSPHRASE;
    expect((await runCli(['sign', dir, '--key', builderKey, '--quiet'])).code).toBe(0);
    delete process.env.ALKI_KEY_PASSPHRASE;
    const result = await publishTo(dir, 'presigned');
    expect(result.signatures).toHaveLength(2);
    expect((await runCli(['verify', result.reference, '--key', builderPub])).code).toBe(0);
  });

  it('sign <ref> --keyless signs a published bundle; pull --verify checks the identity', async () => {
    const published = await publishTo(copyOf(bundle), 'keyless');
    const token = sigstore.identityToken('ci@alki.test', 'https://issuer.alki.test');
    process.env.SIGSTORE_ID_TOKEN = token;
    const services = [`--fulcio-url=${sigstore.fulcioUrl}`, `--rekor-url=${sigstore.rekorUrl}`];
    const ref = `${registry.host}/keyless/oci-tiny:v1`;
    const signed = await runCli(['sign', ref, '--keyless', ...services, '--verbose', '--json']);
    delete process.env.SIGSTORE_ID_TOKEN;
    expect(signed.code).toBe(0);
    expect(JSON.parse(signed.stdout)).toMatchObject({
      reference: published.reference,
      referrers: {
        signature: expect.stringMatching(/^sha256:/),
        provenance: expect.stringMatching(/^sha256:/),
      },
    });
    expect(signed.stdout + signed.stderr).not.toContain(token);
    const identity = ['--certificate-oidc-issuer', 'https://issuer.alki.test', '--trusted-root', trustedRoot];
    await expectRefusedPull(
      published.reference,
      ['--verify', '--certificate-identity', 'someone@alki.test', ...identity],
      /refused by the trust policy/,
    );
    const out = path.join(work, 'keyless-pulled');
    const ok = await runCli([
      'pull',
      published.reference,
      '-o',
      out,
      '--certificate-identity',
      'ci@alki.test',
      ...identity,
    ]);
    expect([ok.code, ok.stdout]).toEqual([0, expect.stringContaining('signed by ci@alki.test')]);
    for (const file of filesUnder(registry.storageDir))
      expect([file, readFileSync(file).includes(token)]).toEqual([file, false]);
  });

  it('never prints or stores the passphrase or the private key on the registry paths', async () => {
    const keyPem = readFileSync(builderKey, 'utf8');
    const body = keyPem.split('\n')[1];
    process.env.ALKI_KEY_PASSPHRASE = PASSPHRASE;
    const runs = [
      await runCli([
        'publish',
        copyOf(bundle),
        '--registry',
        `${registry.host}/secret`,
        '--sign',
        '--key',
        builderKey,
        '--verbose',
      ]),
      await runCli([
        'sign',
        `${registry.host}/secret/oci-tiny:latest`,
        '--key',
        builderKey,
        '--verbose',
        '--json',
      ]),
      await runCli([
        'verify',
        `${registry.host}/secret/oci-tiny:latest`,
        '--key',
        builderPub,
        '--verbose',
        '--json',
      ]),
      await runCli([
        'pull',
        `${registry.host}/secret/oci-tiny:latest`,
        '-o',
        path.join(work, 'secret-pulled'),
        '--key',
        builderPub,
        '--verbose',
      ]),
    ];
    process.env.ALKI_KEY_PASSPHRASE = `${PASSPHRASE}-wrong`;
    const wrong = await runCli([
      'sign',
      `${registry.host}/secret/oci-tiny:latest`,
      '--key',
      builderKey,
      '--verbose',
    ]);
    expect(runs.map((run) => run.code)).toEqual([0, 0, 0, 0]);
    expect(wrong.code).toBe(3);
    for (const run of [...runs, wrong]) {
      expect(run.stdout + run.stderr).not.toContain(PASSPHRASE);
      expect(run.stdout + run.stderr).not.toContain(body);
    }
    for (const file of filesUnder(registry.storageDir)) {
      const bytes = readFileSync(file);
      expect([file, bytes.includes(PASSPHRASE) || bytes.includes(body)]).toEqual([file, false]);
    }
  });

  it('refuses flags that cannot work, with exit 2', async () => {
    const noTrust = await runCli(['verify', signedRef]);
    expect([noTrust.code, noTrust.stderr]).toEqual([2, expect.stringContaining('say whom to trust')]);
    const layout = await runCli(['verify', `oci:${work}/layout:v1`, '--key', builderPub]);
    expect([layout.code, layout.stderr]).toEqual([2, expect.stringContaining('OCI image layout')]);
    const verifyAlone = await runCli(['pull', signedRef, '-o', path.join(work, 'never'), '--verify']);
    expect([verifyAlone.code, verifyAlone.stderr]).toEqual([2, expect.stringContaining('--verify needs')]);
    const local = await runCli([
      'publish',
      bundle,
      '--local',
      path.join(work, 'layout'),
      '--sign',
      '--key',
      builderKey,
    ]);
    expect([local.code, local.stderr]).toEqual([2, expect.stringContaining('cannot hold them')]);
    expect(existsSync(path.join(work, 'never'))).toBe(false);
  });
});

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { readImageFromLayout, type ImageIndex } from '@alki/oci';
import {
  cachedTinyLlamaGguf,
  crossLlamaServer,
  freePort,
  nativeTools,
  requireCommand,
  startProcess,
  startRegistry,
  waitForHttp,
  type TestRegistry,
  commandOutput,
} from '@alki/testkit';
import { packFixtureBundle, tempDir } from '../__fixtures__/fixture-bundle.js';
import { buildImage } from '../build-image.js';
import { exportOciLayout } from '../image/export.js';
import { pushImage } from '../image/registry-transfer.js';
import { buildAirGappedBase, buildMultiPlatformBase, BASE_HEALTHCHECK_PATH } from './air-gapped-base.js';

// The air-gapped base for linux/amd64 and linux/arm64 under one index: the arm64
// llama-server cross-compiled from the same llama.cpp source with Debian's
// g++-aarch64-linux-gnu (`alki tools build --platform linux/arm64`, run by npm test),
// its libraries from the cross toolchain's sysroot, and the arm64 server run here
// under Debian's qemu-user-static.

const TAG = 'alki/llama-server:multi';
const HOST_ONLY = 'alki/llama-server:host-only';
const TRIPLET = 'aarch64-linux-gnu';

let work: string;
let store: string;
let registry: TestRegistry;
let skopeo: string;
let indexDigest: string;

beforeAll(async () => {
  skopeo = requireCommand('skopeo', 'the multi-platform base test');
  requireCommand('qemu-aarch64-static', 'the arm64 base test (Debian: qemu-user-static)');
  const tools = await nativeTools();
  const arm = await crossLlamaServer('linux/arm64');
  registry = await startRegistry();
  work = tempDir();
  store = path.join(work, 'store');
  const multi = await buildMultiPlatformBase(
    [
      { llamaServer: tools.paths['llama-server'] },
      {
        llamaServer: arm.llamaServer,
        compiler: arm.compiler,
        cross: { architecture: 'arm64', sysroot: arm.sysroot, triplet: TRIPLET },
      },
    ],
    { layoutDir: store, tag: TAG, llamaCppVersion: tools.tag },
  );
  indexDigest = multi.manifest.digest;
  await buildAirGappedBase({ llamaServer: tools.paths['llama-server'], layoutDir: store, tag: HOST_ONLY });
}, 600_000);

afterAll(async () => {
  await registry?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('the multi-platform air-gapped base', () => {
  it('is an OCI index over linux/amd64 and linux/arm64 that skopeo resolves per architecture', () => {
    const index = JSON.parse(
      commandOutput(skopeo, ['inspect', '--raw', `oci:${store}:${TAG}`]),
    ) as ImageIndex;
    expect(index.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(index.manifests.map((m) => m.platform)).toEqual([
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64' },
    ]);
    for (const architecture of ['amd64', 'arm64']) {
      const inspected = JSON.parse(
        commandOutput(skopeo, ['inspect', '--override-arch', architecture, `oci:${store}:${TAG}`]),
      ) as { Architecture: string; Layers: string[] };
      expect(inspected.Architecture).toBe(architecture);
      const entry = index.manifests.find((m) => m.platform?.architecture === architecture)!;
      const manifest = JSON.parse(
        commandOutput(skopeo, ['inspect', '--raw', `oci:${store}:${TAG}-${architecture}`]),
      ) as {
        layers: Array<{ digest: string }>;
      };
      expect(inspected.Layers).toEqual(manifest.layers.map((layer) => layer.digest));
      // Each platform's image is also tagged <tag>-<architecture>: the index entry is that manifest.
      expect(
        createHash('sha256')
          .update(commandOutput(skopeo, ['inspect', '--raw', `oci:${store}:${TAG}-${architecture}`]))
          .digest('hex'),
      ).toBe(entry.digest.slice(7));
    }
  });

  it('carries an aarch64 llama-server, its libraries and a static probe, and the server answers under qemu', async () => {
    const umoci = requireCommand('umoci', 'the arm64 base unpack test');
    const file = requireCommand('file', 'the arm64 base test');
    const layout = path.join(work, 'exported');
    await exportOciLayout(store, TAG, layout);
    const rootfs = path.join(work, 'arm64-rootfs');
    commandOutput(umoci, ['unpack', '--rootless', '--image', `${layout}:multi-arm64`, rootfs]);
    const root = path.join(rootfs, 'rootfs');
    const server = path.join(root, 'app', 'llama-server');
    expect(commandOutput(file, ['-b', server])).toMatch(
      /^ELF 64-bit LSB .*ARM aarch64.*interpreter \/lib\/ld-linux-aarch64\.so\.1/,
    );
    expect(commandOutput(file, ['-b', path.join(root, BASE_HEALTHCHECK_PATH)])).toMatch(
      /ARM aarch64.*statically linked/,
    );
    const libraries = fs.readdirSync(path.join(root, 'lib', TRIPLET));
    expect(libraries).toEqual(expect.arrayContaining(['libc.so.6', 'libstdc++.so.6', 'libm.so.6']));
    for (const library of libraries)
      expect(commandOutput(file, ['-b', '-L', path.join(root, 'lib', TRIPLET, library)])).toMatch(
        /ARM aarch64/,
      );
    // The config says what the loader needs: no ld.so.cache in the image.
    const image = await readImageFromLayout(layout, 'multi-arm64', 'arm64');
    expect(image.config.architecture).toBe('arm64');
    expect(image.config.config?.Env).toContain(`LD_LIBRARY_PATH=/lib:/lib/${TRIPLET}`);

    // qemu-user runs the image's own loader and libraries from the unpacked rootfs (-L).
    const env = { ...process.env, LD_LIBRARY_PATH: `/lib/${TRIPLET}` };
    const version = spawnSync('qemu-aarch64-static', ['-L', root, server, '--version'], {
      encoding: 'utf8',
      env,
    });
    expect(version.status).toBe(0);
    expect(version.stderr + version.stdout).toMatch(/version: \d+/);

    const model = await cachedTinyLlamaGguf();
    const port = await freePort();
    const served = startProcess(
      'qemu-aarch64-static',
      [
        '-L',
        root,
        server,
        '--model',
        model.path,
        '--host',
        '127.0.0.1',
        '--port',
        String(port),
        '--threads',
        '1',
        '--ctx-size',
        '256',
      ],
      { env },
    );
    try {
      await waitForHttp(`http://127.0.0.1:${port}/health`, { timeoutMs: 240_000 });
      const answer = await fetch(`http://127.0.0.1:${port}/completion`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: 'hello', n_predict: 4, temperature: 0 }),
      });
      expect(answer.status).toBe(200);
      const body = (await answer.json()) as { tokens_predicted: number };
      expect(body.tokens_predicted).toBe(4);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${served.output()}`);
    } finally {
      await served.stop();
    }
  }, 600_000);

  it('gives `image build --platform linux/arm64` the arm64 base, and refuses a base of another architecture', async () => {
    const bundle = await packFixtureBundle(work);
    const index = JSON.parse(
      commandOutput(skopeo, ['inspect', '--raw', `oci:${store}:${TAG}`]),
    ) as ImageIndex;
    const armBase = index.manifests.find((m) => m.platform?.architecture === 'arm64');
    await buildImage({
      bundle,
      layoutDir: store,
      baseTag: TAG,
      tag: 'acme/tiny:arm64',
      architecture: 'arm64',
    });
    const built = await readImageFromLayout(store, 'acme/tiny:arm64', 'arm64');
    expect(built.config.architecture).toBe('arm64');
    expect(built.manifest.annotations?.['org.opencontainers.image.base.digest']).toBe(armBase?.digest);
    await expect(
      buildImage({
        bundle,
        layoutDir: store,
        baseTag: HOST_ONLY,
        tag: 'acme/tiny:wrong',
        architecture: 'arm64',
      }),
    ).rejects.toMatchObject({ code: 'INVALID_PLATFORM', category: 'usage' });
  }, 120_000);

  it('is pushed to a registry as the same index, every platform by digest', async () => {
    const reference = `${registry.host}/alki/llama-server:multi`;
    const pushed = await pushImage(store, TAG, reference);
    const local = JSON.parse(
      commandOutput(skopeo, ['inspect', '--raw', `oci:${store}:${TAG}`]),
    ) as ImageIndex;
    const remote = commandOutput(skopeo, ['inspect', '--raw', '--tls-verify=false', `docker://${reference}`]);
    expect(JSON.parse(remote)).toEqual(local);
    expect(pushed).toBe(indexDigest);
    const arm = JSON.parse(
      commandOutput(skopeo, [
        'inspect',
        '--tls-verify=false',
        '--override-arch',
        'arm64',
        `docker://${reference}`,
      ]),
    ) as { Architecture: string };
    expect(arm.Architecture).toBe('arm64');
  }, 120_000);
});

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import OpenAI from 'openai';
import { artifactPath, type Bundle } from '@alki/bundler';
import { readImageFromLayout } from '@alki/oci';
import {
  freePort,
  nativeTools,
  podmanEnvironment,
  requireCommand,
  startRegistry,
  type PodmanEnvironment,
  type TestRegistry,
  commandOutput,
} from '@alki/testkit';
import { packFixtureBundle, tempDir } from './__fixtures__/fixture-bundle.js';
import { BASE_HEALTHCHECK_PATH, buildAirGappedBase } from './base/air-gapped-base.js';
import { programRunner } from './base/shared-libraries.js';
import { buildImage } from './build-image.js';
import { exportOciLayout, writeDockerArchive } from './image/export.js';
import { pushImage } from './image/registry-transfer.js';
import { prepareBase } from './base/resolve-base.js';
import { listEngineImages, loadIntoEngine } from './run/engine.js';
import { testImage, withPort } from './run/test-image.js';

const BASE_TAG = 'alki/llama-server:test';
const TAG = 'acme/tiny-chat:latest';

let work: string;
let store: string;
let bundle: Bundle;
let podman: PodmanEnvironment;
let registry: TestRegistry;
let digest: string;
let exported: string;

function sha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

beforeAll(async () => {
  const tools = await nativeTools();
  podman = podmanEnvironment();
  registry = await startRegistry();
  work = tempDir();
  store = path.join(work, 'store');
  bundle = await packFixtureBundle(work);
  await buildAirGappedBase({
    llamaServer: tools.paths['llama-server'],
    layoutDir: store,
    tag: BASE_TAG,
    llamaCppVersion: tools.tag,
  });
  digest = (await buildImage({ bundle, layoutDir: store, baseTag: BASE_TAG, tag: TAG })).digest;
  exported = path.join(work, 'oci');
  await exportOciLayout(store, TAG, exported);
}, 600_000);

afterAll(async () => {
  await registry?.stop();
  podman?.cleanup();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('an image built from a bundle on the air-gapped base', () => {
  it('unpacks with umoci into the bundle, llama-server and its libraries, run with the runtime.json arguments', () => {
    const umoci = requireCommand('umoci', 'the image unpack test');
    const unpacked = path.join(work, 'unpacked');
    commandOutput(umoci, ['unpack', '--image', `${exported}:latest`, unpacked]);
    const rootfs = path.join(unpacked, 'rootfs');
    const artifact = bundle.manifest.artifacts[0];
    const model = path.join(rootfs, 'opt/alki/bundle', artifactPath(artifact.uri));
    expect(sha256(model)).toBe(artifact.sha256);
    for (const file of bundle.manifest.files)
      expect(sha256(path.join(rootfs, 'opt/alki/bundle', file.path))).toBe(file.sha256);
    expect(fs.readFileSync(path.join(rootfs, 'opt/alki/bundle/metadata/manifest.json'))).toEqual(
      fs.readFileSync(path.join(bundle.dir, 'metadata/manifest.json')),
    );
    expect(fs.statSync(path.join(rootfs, 'app/llama-server')).mode & 0o111).not.toBe(0);
    expect(fs.existsSync(path.join(rootfs, 'lib64/ld-linux-x86-64.so.2'))).toBe(true);
    expect(fs.existsSync(path.join(rootfs, BASE_HEALTHCHECK_PATH))).toBe(true);
    const runtimeConfig = JSON.parse(fs.readFileSync(path.join(unpacked, 'config.json'), 'utf8')) as {
      process: { args: string[]; env: string[] };
    };
    expect(runtimeConfig.process.args).toEqual([
      '/app/llama-server',
      '--model',
      `/opt/alki/bundle/${artifactPath(artifact.uri)}`,
      '--host',
      bundle.runtime.server.host,
      '--port',
      String(bundle.runtime.server.port),
      // Every slot gets the bundle's whole context.
      '--ctx-size',
      String(bundle.runtime.args.ctx * bundle.runtime.args.parallel!),
      '--parallel',
      String(bundle.runtime.args.parallel),
      ...(bundle.runtime.args.ngl === 'auto' ? [] : ['--n-gpu-layers', String(bundle.runtime.args.ngl)]),
      ...(bundle.runtime.args.threads === 'auto' ? [] : ['--threads', String(bundle.runtime.args.threads)]),
      '--metrics',
      '--alias',
      bundle.manifest.slug,
    ]);
    expect(runtimeConfig.process.env).toContain('ALKI_BUNDLE_DIR=/opt/alki/bundle');
  });

  it('has OCI labels, the exposed port, a healthcheck with the static probe and a history entry per layer', async () => {
    const image = await readImageFromLayout(store, TAG);
    const config = image.config.config!;
    expect(config.Labels).toMatchObject({
      'org.opencontainers.image.title': bundle.manifest.name,
      'org.opencontainers.image.version': bundle.manifest.version,
      'org.opencontainers.image.base.name': BASE_TAG,
      'io.alki.image': 'bundle',
      'io.alki.bundle.sha256': bundle.manifest.artifacts[0].sha256,
    });
    expect(config.ExposedPorts).toEqual({ [`${bundle.runtime.server.port}/tcp`]: {} });
    expect(config.User).toBe('65532:65532');
    // Quantized weights barely compress, so the bundle layer is stored as a plain tar by default.
    expect(image.manifest.layers.at(-1)?.mediaType).toBe('application/vnd.oci.image.layer.v1.tar');
    expect(config.Healthcheck?.Test).toEqual([
      'CMD',
      BASE_HEALTHCHECK_PATH,
      String(bundle.runtime.server.port),
      bundle.runtime.health.path,
    ]);
    expect(image.config.history).toHaveLength(image.manifest.layers.length);
    expect(image.config.rootfs.diff_ids).toHaveLength(image.manifest.layers.length);
  });

  it('gets the same digest when the same bundle is built again on the same base', async () => {
    const again = await buildImage({
      bundle,
      layoutDir: store,
      baseTag: BASE_TAG,
      tag: 'acme/tiny-chat:again',
    });
    expect(again.digest).toBe(digest);
  });

  it('fails on a bundle whose model was tampered with, and leaves the tag where it was', async () => {
    const copy = path.join(work, 'tampered');
    fs.cpSync(bundle.dir, copy, { recursive: true });
    const model = path.join(copy, artifactPath(bundle.manifest.artifacts[0].uri));
    const bytes = fs.readFileSync(model);
    bytes[bytes.length - 1] ^= 0xff;
    fs.writeFileSync(model, bytes);
    const blobsBefore = fs.readdirSync(path.join(store, 'blobs/sha256')).sort();
    await expect(
      buildImage({ bundle: { ...bundle, dir: copy }, layoutDir: store, baseTag: BASE_TAG, tag: TAG }),
    ).rejects.toMatchObject({ code: 'INVALID_LAYER_ENTRY', category: 'check' });
    expect((await readImageFromLayout(store, TAG)).manifestDescriptor.digest).toBe(digest);
    expect(fs.readdirSync(path.join(store, 'blobs/sha256')).sort()).toEqual(blobsBefore);
  });

  it('is copied by skopeo into a registry with the same digest our own push gives', async () => {
    const skopeo = requireCommand('skopeo', 'the registry copy test');
    // skopeo gzips plain-tar layers on the way to a registry unless told to keep the image as it is.
    commandOutput(skopeo, [
      'copy',
      '--preserve-digests',
      '--dest-tls-verify=false',
      `oci:${exported}:latest`,
      `docker://${registry.host}/acme/tiny-chat:skopeo`,
    ]);
    const raw = commandOutput(skopeo, [
      'inspect',
      '--raw',
      '--tls-verify=false',
      `docker://${registry.host}/acme/tiny-chat:skopeo`,
    ]);
    expect(`sha256:${createHash('sha256').update(raw).digest('hex')}`).toBe(digest);
    const pushed = await pushImage(store, TAG, `${registry.host}/acme/tiny-chat:pushed`);
    expect(pushed).toBe(digest);
    const inspected = JSON.parse(
      commandOutput(skopeo, [
        'inspect',
        '--tls-verify=false',
        `docker://${registry.host}/acme/tiny-chat:pushed`,
      ]),
    ) as { Digest: string; Labels: Record<string, string> };
    expect(inspected.Digest).toBe(digest);
    expect(inspected.Labels['io.alki.bundle.name']).toBe(bundle.manifest.slug);
  });

  it('runs in podman and answers a chat completion through the openai client', async () => {
    const image = await readImageFromLayout(store, TAG);
    const port = await freePort();
    const name = `alki-test-${port}`;
    const loaded = await loadIntoEngine({ name: 'podman', run: programRunner(podman.env) }, store, TAG);
    commandOutput(
      'podman',
      ['run', '-d', '--init', '--name', name, loaded, ...withPort(image.config.config!.Cmd!, port)],
      podman.env,
    );
    try {
      const deadline = Date.now() + 120_000;
      for (;;) {
        const status = await fetch(`http://127.0.0.1:${port}/health`).then(
          (r) => r.status,
          () => 0,
        );
        if (status === 200) break;
        if (Date.now() > deadline)
          throw new Error(`no /health: ${commandOutput('podman', ['logs', name], podman.env)}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'not-needed' });
      const completion = await client.chat.completions.create({
        model: bundle.manifest.slug,
        messages: [{ role: 'user', content: 'Hello' }],
        max_tokens: 4,
        temperature: 0,
      });
      expect(completion.model).toBe(bundle.manifest.slug);
      expect(typeof completion.choices[0].message.content).toBe('string');
      expect(completion.usage?.completion_tokens).toBeGreaterThan(0);
      // The static probe the HEALTHCHECK runs works inside the image (podman ignores HEALTHCHECK in OCI images, so exec it).
      const probe = spawnSync(
        'podman',
        ['exec', name, BASE_HEALTHCHECK_PATH, String(port), bundle.runtime.health.path],
        { encoding: 'utf8', env: podman.env },
      );
      expect(probe.status).toBe(0);
    } finally {
      spawnSync('podman', ['rm', '-f', '-t', '1', name], { env: podman.env });
    }
  });

  it('passes `image test`: healthy, one completion, latency reported, container removed', async () => {
    const engine = { name: 'podman' as const, run: programRunner(podman.env) };
    const loaded = await loadIntoEngine(engine, store, TAG);
    expect(loaded).toBe(`localhost/${TAG}`);
    const result = await testImage({ engine, image: loaded, port: await freePort() });
    expect(result.model).toBe(bundle.manifest.slug);
    expect(result.startupMs).toBeGreaterThan(0);
    expect(result.completionMs).toBeGreaterThan(0);
    expect(typeof result.reply).toBe('string');
    expect(commandOutput('podman', ['ps', '-a', '--format', '{{.Names}}'], podman.env)).not.toMatch(
      /alki-image-test-/,
    );
  });

  it('loads into podman from the docker-archive, where `image list` finds it by its label', async () => {
    const archive = path.join(work, 'tiny.tar');
    await writeDockerArchive(store, TAG, archive);
    commandOutput('podman', ['load', '-i', archive], podman.env);
    const listed = listEngineImages({ name: 'podman', run: programRunner(podman.env) });
    const found = listed.find((i) => i.name.includes('acme/tiny-chat:latest'));
    expect(found?.kind).toBe('bundle');
    expect(found?.labels['io.alki.bundle.name']).toBe(bundle.manifest.slug);
  });

  it('builds the same image on the same base pulled from a registry, in Docker schema 2 form too', async () => {
    const skopeo = requireCommand('skopeo', 'the registry base test');
    await pushImage(store, BASE_TAG, `${registry.host}/bases/llama-server:oci`);
    // skopeo rewrites the manifest and config in Docker's v2s2 media types, as Docker Hub images are.
    commandOutput(skopeo, [
      'copy',
      '--format',
      'v2s2',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      `docker://${registry.host}/bases/llama-server:oci`,
      `docker://${registry.host}/bases/llama-server:docker`,
    ]);
    const fresh = path.join(work, 'fresh-store');
    const oci = await prepareBase(`${registry.host}/bases/llama-server:oci`, fresh);
    expect(oci.source).toBe('registry');
    await buildImage({ bundle, layoutDir: fresh, baseTag: oci.tag, tag: 'from-registry:1' });
    const ours = await readImageFromLayout(store, TAG);
    const theirs = await readImageFromLayout(fresh, 'from-registry:1');
    expect(theirs.manifest.layers).toEqual(ours.manifest.layers);
    expect(theirs.config.config).toEqual({
      ...ours.config.config,
      Labels: { ...ours.config.config!.Labels, 'org.opencontainers.image.base.name': oci.tag },
    });
    const docker = await prepareBase(`${registry.host}/bases/llama-server:docker`, fresh);
    await buildImage({ bundle, layoutDir: fresh, baseTag: docker.tag, tag: 'from-docker-base:1' });
    const onDocker = await readImageFromLayout(fresh, 'from-docker-base:1');
    expect(onDocker.manifest.layers.map((l) => l.digest)).toEqual(ours.manifest.layers.map((l) => l.digest));
    expect(
      onDocker.manifest.layers.every((l) => l.mediaType.startsWith('application/vnd.oci.image.layer.v1.tar')),
    ).toBe(true);
  });

  it('leaves no blob or temp file behind when the build is interrupted', async () => {
    const blobs = path.join(store, 'blobs/sha256');
    const before = fs.readdirSync(blobs).sort();
    const controller = new AbortController();
    const building = buildImage({
      bundle,
      layoutDir: store,
      baseTag: BASE_TAG,
      tag: 'acme/interrupted:1',
      compression: 'gzip',
      signal: controller.signal,
      onProgress: () => controller.abort(new Error('interrupted')),
    });
    await expect(building).rejects.toThrow();
    expect(fs.readdirSync(blobs).sort()).toEqual(before);
    await expect(readImageFromLayout(store, 'acme/interrupted:1')).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });
});

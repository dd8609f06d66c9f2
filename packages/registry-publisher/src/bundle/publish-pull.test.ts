import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { verifyBundle } from '@alki/bundler';
import { requireCommand, startRegistry, type TestRegistry } from '@alki/testkit';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  bytesBlob,
  layoutStore,
  OCI_MANIFEST,
  RegistryClient,
  registryStore,
  sha256Digest,
  type Descriptor,
} from '@alki/oci';
import {
  MODELPACK_ARTIFACT,
  MODELPACK_CONFIG,
  MODELPACK_DOC_RAW,
  MODELPACK_FILEPATH_ANNOTATION,
  MODELPACK_WEIGHT_CONFIG_RAW,
  MODELPACK_WEIGHT_RAW,
} from './media-types.js';
import { publishBundle } from './publish.js';
import { pullBundle, stagingPathOf } from './pull.js';
import { modelSpecValidator } from '../__fixtures__/model-spec.js';
import { addQ8Quant, packTinyBundle, readTree } from '../__fixtures__/test-bundles.js';

let registry: TestRegistry;
let client: RegistryClient;
let work: string;
let bundle: string;

beforeAll(async () => {
  registry = await startRegistry();
  client = new RegistryClient({ registry: registry.host });
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-publish-'));
  bundle = await packTinyBundle(work, 'tiny');
});
afterAll(async () => {
  await registry?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

function skopeo(...args: string[]): string {
  return execFileSync(requireCommand('skopeo', 'the skopeo interoperability checks'), args, {
    encoding: 'utf8',
  });
}

describe('publishBundle and pullBundle against docker-registry', () => {
  let digest: string;

  it('pushes a CNCF ModelPack artifact that skopeo reads back unchanged', async () => {
    const result = await publishBundle({
      bundleDir: bundle,
      store: registryStore(client, 'models/tiny'),
      tag: 'v1.0.0',
    });
    digest = result.digest;
    expect(result.tags).toEqual(['v1.0.0', 'latest']);
    expect(result.quants).toEqual([]);
    expect(result.bytesUploaded).toBe(result.totalBytes);
    const raw = skopeo(
      'inspect',
      '--raw',
      '--tls-verify=false',
      `docker://${registry.host}/models/tiny:v1.0.0`,
    );
    expect(sha256Digest(raw)).toBe(digest);
    const manifest = JSON.parse(raw) as {
      mediaType: string;
      artifactType: string;
      config: Descriptor;
      layers: Descriptor[];
    };
    expect(manifest.mediaType).toBe(OCI_MANIFEST);
    expect(manifest.artifactType).toBe(MODELPACK_ARTIFACT);
    expect(manifest.config.mediaType).toBe(MODELPACK_CONFIG);
    const byPath = new Map(
      manifest.layers.map((layer) => [layer.annotations?.[MODELPACK_FILEPATH_ANNOTATION], layer]),
    );
    const report = await verifyBundle(bundle);
    expect([...byPath.keys()].sort()).toEqual(
      [...report.checked.map((entry) => entry.path), 'metadata/manifest.json'].sort(),
    );
    for (const entry of report.checked)
      expect(byPath.get(entry.path)).toMatchObject({ digest: `sha256:${entry.sha256}`, size: entry.size });
    expect(manifest.layers[0].mediaType).toBe(MODELPACK_WEIGHT_RAW);
    expect(byPath.get('metadata/manifest.json')?.mediaType).toBe(MODELPACK_WEIGHT_CONFIG_RAW);
    expect(byPath.get('metadata/LICENSE.txt')?.mediaType ?? byPath.get('metadata/README.md')?.mediaType).toBe(
      MODELPACK_DOC_RAW,
    );
    const config = JSON.parse(
      skopeo(
        'inspect',
        '--raw',
        '--config',
        '--tls-verify=false',
        `docker://${registry.host}/models/tiny:v1.0.0`,
      ),
    ) as { config: { format: string }; modelfs: { diffIds: string[] } };
    expect(config.config.format).toBe('gguf');
    expect(config.modelfs.diffIds).toEqual(manifest.layers.map((layer) => layer.digest));
    const validate = modelSpecValidator();
    expect(validate(config)).toBe(true);
    expect(await client.headManifest('models/tiny', 'latest')).toMatchObject({ digest });
  });

  it('pulls the bundle back byte for byte, and it verifies', async () => {
    const out = path.join(work, 'pulled');
    const result = await pullBundle({
      store: registryStore(client, 'models/tiny'),
      reference: 'v1.0.0',
      outDir: out,
    });
    expect(result.digest).toBe(digest);
    expect(readTree(out)).toEqual(readTree(bundle));
    expect((await verifyBundle(out)).ok).toBe(true);
    // By digest too, into a fresh directory.
    const byDigest = path.join(work, 'pulled-by-digest');
    await pullBundle({ store: registryStore(client, 'models/tiny'), reference: digest, outDir: byDigest });
    expect(readTree(byDigest)).toEqual(readTree(bundle));
  });

  it('uploads 0 blob bytes when an unchanged bundle is published again, and keeps its digest', async () => {
    const again = await publishBundle({
      bundleDir: bundle,
      store: registryStore(client, 'models/tiny'),
      tag: 'v1.0.0',
    });
    expect(again).toMatchObject({ digest, bytesUploaded: 0, blobs: { uploaded: 0 } });
  });

  it('refuses to move an existing version tag to other content without force', async () => {
    const other = await packTinyBundle(work, 'tiny-other', { seed: 7 });
    const store = registryStore(client, 'models/tiny');
    await expect(publishBundle({ bundleDir: other, store, tag: 'v1.0.0' })).rejects.toMatchObject({
      code: 'TAG_EXISTS',
      category: 'usage',
    });
    expect((await client.headManifest('models/tiny', 'v1.0.0'))?.digest).toBe(digest);
    const forced = await publishBundle({ bundleDir: other, store, tag: 'v1.0.0', force: true });
    expect(forced.digest).not.toBe(digest);
    expect((await client.headManifest('models/tiny', 'v1.0.0'))?.digest).toBe(forced.digest);
  });

  it('refuses to publish a bundle whose files do not match its manifest', async () => {
    const tampered = path.join(work, 'tampered');
    fs.cpSync(bundle, tampered, { recursive: true });
    const readme = path.join(tampered, 'metadata/README.md');
    fs.appendFileSync(readme, 'edited\n');
    await expect(
      publishBundle({ bundleDir: tampered, store: registryStore(client, 'models/tampered') }),
    ).rejects.toMatchObject({ code: 'INVALID_BUNDLE', category: 'input' });
    await expect(client.listTags('models/tampered')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('without the local re-hash, relies on the registry refusing bytes that do not match their digest', async () => {
    // A model no registry has seen: distribution links a blob it already
    // stores without reading the upload, so a known digest would prove nothing.
    const fresh = await packTinyBundle(work, 'tampered-fresh', { seed: 11 });
    const model = fs.readdirSync(path.join(fresh, 'models'))[0];
    const file = path.join(fresh, 'models', model);
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 1] ^= 0x01;
    fs.writeFileSync(file, bytes);
    await expect(
      publishBundle({
        bundleDir: fresh,
        store: registryStore(client, 'models/tampered-fresh'),
        verify: false,
      }),
    ).rejects.toMatchObject({ code: 'DIGEST_MISMATCH', category: 'check' });
    await expect(client.listTags('models/tampered-fresh')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('refuses to pull into a non-empty directory unless forced, then replaces it', async () => {
    const out = path.join(work, 'occupied');
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, 'keep.txt'), 'mine');
    const store = registryStore(client, 'models/tiny');
    await expect(pullBundle({ store, reference: 'latest', outDir: out })).rejects.toMatchObject({
      code: 'OUTPUT_EXISTS',
    });
    expect(fs.readFileSync(path.join(out, 'keep.txt'), 'utf8')).toBe('mine');
    await pullBundle({ store, reference: 'latest', outDir: out, force: true });
    expect(fs.existsSync(path.join(out, 'keep.txt'))).toBe(false);
    expect(
      fs.readdirSync(work).filter((name) => name.includes('alki-partial') || name.includes('alki-old')),
    ).toEqual([]);
  });
});

describe('artifacts published by earlier Alki versions', () => {
  // Before the config followed model-spec's schema, Alki wrote
  // `modelfs.diff_ids` and put float types under `quantization`. Such an
  // artifact is rebuilt here from a current one (same layers, the earlier
  // config) and must still pull byte for byte.
  it('pulls an artifact whose ModelPack config has the earlier modelfs.diff_ids', async () => {
    const store = registryStore(client, 'models/earlier');
    await publishBundle({ bundleDir: bundle, store, tag: 'current' });
    const current = JSON.parse(
      (await client.getManifest('models/earlier', 'current')).bytes.toString('utf8'),
    ) as {
      config: Descriptor;
      layers: Descriptor[];
      [key: string]: unknown;
    };
    const currentConfig = JSON.parse(
      (await client.fetchBlobBytes('models/earlier', current.config)).toString('utf8'),
    ) as { descriptor: Record<string, unknown>; config: Record<string, string> };
    const earlierConfig = Buffer.from(
      JSON.stringify({
        descriptor: {
          createdAt: currentConfig.descriptor.createdAt,
          family: currentConfig.descriptor.family,
          name: currentConfig.descriptor.name,
          version: currentConfig.descriptor.version,
        },
        config: {
          architecture: 'transformer',
          format: 'gguf',
          paramSize: currentConfig.config.paramSize,
          quantization: 'F32',
        },
        modelfs: { type: 'layers', diff_ids: current.layers.map((layer) => layer.digest) },
      }),
    );
    const configDigest = sha256Digest(earlierConfig);
    await client.pushBlob('models/earlier', bytesBlob(earlierConfig), configDigest);
    const earlier = Buffer.from(
      JSON.stringify({
        ...current,
        config: { ...current.config, digest: configDigest, size: earlierConfig.length },
      }),
    );
    await client.putManifest('models/earlier', 'v0.1', earlier, OCI_MANIFEST);
    expect(modelSpecValidator()(JSON.parse(earlierConfig.toString('utf8')))).toBe(false);
    const out = path.join(work, 'from-earlier');
    const pulled = await pullBundle({ store, reference: 'v0.1', outDir: out });
    expect(pulled.digest).toBe(sha256Digest(earlier));
    expect(readTree(out)).toEqual(readTree(bundle));
  });
});

describe('interrupting a pull', () => {
  it('stops when the signal fires mid-download and leaves no output or temp directory', async () => {
    const controller = new AbortController();
    const out = path.join(work, 'interrupted');
    const pulling = pullBundle({
      store: registryStore(client, 'models/tiny'),
      reference: 'latest',
      outDir: out,
      signal: controller.signal,
      onProgress: (event) => {
        if (event.file.endsWith('.gguf') && event.done > 0)
          controller.abort(new Error('interrupted by test'));
      },
    });
    await expect(pulling).rejects.toThrow();
    expect(fs.existsSync(out)).toBe(false);
    expect(fs.readdirSync(work).filter((name) => name.startsWith('interrupted'))).toEqual([]);
  });
});

describe('a resumable pull', () => {
  const pullTiny = (outDir: string, options: Partial<Parameters<typeof pullBundle>[0]> = {}) =>
    pullBundle({
      store: registryStore(client, 'models/tiny'),
      reference: 'latest',
      outDir,
      resumable: true,
      ...options,
    });

  it('keeps what it fetched when interrupted, and the next pull fetches only the rest', async () => {
    const controller = new AbortController();
    const out = path.join(work, 'resumed');
    let firstBytes = 0;
    await expect(
      pullTiny(out, {
        signal: controller.signal,
        onProgress: (event) => {
          firstBytes = event.done;
          if (event.file.endsWith('.gguf') && event.done > 0) controller.abort(new Error('power cut'));
        },
      }),
    ).rejects.toThrow();
    expect(fs.existsSync(out)).toBe(false);
    expect(fs.existsSync(stagingPathOf(out))).toBe(true);
    const progress: number[] = [];
    const checked: string[] = [];
    const result = await pullTiny(out, {
      check: async (staged) => {
        checked.push(staged);
        expect((await verifyBundle(staged)).ok).toBe(true);
      },
      onProgress: (event) => progress.push(event.done),
    });
    // The second pull starts at the bytes the first kept (the manifest and the part of the model).
    expect(progress[0]).toBeGreaterThan(0);
    expect(progress[0]).toBeLessThanOrEqual(firstBytes);
    expect(checked).toEqual([stagingPathOf(out)]);
    expect((await verifyBundle(out)).ok).toBe(true);
    expect(result.digest).toBe((await client.headManifest('models/tiny', 'latest'))?.digest);
    expect(result.bytes).toBe(progress.at(-1));
    expect(fs.existsSync(stagingPathOf(out))).toBe(false);
  });

  it('leaves the output directory absent when the last check refuses the staged bundle', async () => {
    const out = path.join(work, 'refused');
    await expect(
      pullTiny(out, {
        check: async () => {
          throw new Error('untrusted signer');
        },
      }),
    ).rejects.toThrow('untrusted signer');
    expect(fs.existsSync(out)).toBe(false);
  });
});

describe('pullBundle refusing bad artifacts', () => {
  let store: ReturnType<typeof registryStore>;
  let good: { layers: Descriptor[]; [key: string]: unknown };
  beforeAll(async () => {
    store = registryStore(client, 'models/bad');
    await publishBundle({ bundleDir: bundle, store, tag: 'good' });
    good = JSON.parse((await client.getManifest('models/bad', 'good')).bytes.toString('utf8')) as typeof good;
  });

  async function pushVariant(tag: string, layers: Descriptor[]): Promise<void> {
    await client.putManifest(
      'models/bad',
      tag,
      Buffer.from(JSON.stringify({ ...good, layers })),
      OCI_MANIFEST,
    );
  }

  it('detects a blob tampered with in the registry storage and leaves no output', async () => {
    await publishBundle({ bundleDir: bundle, store: registryStore(client, 'models/tamper'), tag: 'v1' });
    const weight = good.layers[0];
    const data = registry.blobFile(weight.digest);
    const bytes = fs.readFileSync(data);
    bytes[bytes.length - 100] ^= 0x40;
    fs.writeFileSync(data, bytes);
    const out = path.join(work, 'from-tampered');
    await expect(
      pullBundle({ store: registryStore(client, 'models/tamper'), reference: 'v1', outDir: out }),
    ).rejects.toMatchObject({ code: 'DIGEST_MISMATCH', category: 'check' });
    expect(fs.existsSync(out)).toBe(false);
    expect(fs.readdirSync(work).filter((name) => name.startsWith('from-tampered'))).toEqual([]);
    // Put the byte back for the other tests, which share the blob.
    bytes[bytes.length - 100] ^= 0x40;
    fs.writeFileSync(data, bytes);
  });

  it('fails when a layer matches its descriptor but not the sha256 manifest.json gives for its path', async () => {
    const impostor = Buffer.from('not the model the manifest describes');
    const impostorDigest = sha256Digest(impostor);
    await client.pushBlob('models/bad', bytesBlob(impostor), impostorDigest);
    const layers = good.layers.map((layer, i) =>
      i === 0 ? { ...layer, digest: impostorDigest, size: impostor.length } : layer,
    );
    await pushVariant('impostor', layers);
    await expect(
      pullBundle({ store, reference: 'impostor', outDir: path.join(work, 'impostor') }),
    ).rejects.toMatchObject({
      code: 'DIGEST_MISMATCH',
      message: expect.stringContaining('manifest.json says'),
    });
  });

  it('refuses layer paths that climb out of the output directory or repeat', async () => {
    for (const hostile of ['../escaped.gguf', '/etc/escaped', 'models/../../escaped', 'a\\b']) {
      const layers = good.layers.map((layer, i) =>
        i === 0 ? { ...layer, annotations: { [MODELPACK_FILEPATH_ANNOTATION]: hostile } } : layer,
      );
      await pushVariant('hostile', layers);
      await expect(
        pullBundle({ store, reference: 'hostile', outDir: path.join(work, 'hostile', 'out') }),
      ).rejects.toMatchObject({ code: 'INVALID_MANIFEST' });
    }
    await pushVariant('twice', [...good.layers, good.layers[1]]);
    await expect(
      pullBundle({ store, reference: 'twice', outDir: path.join(work, 'twice') }),
    ).rejects.toMatchObject({ code: 'INVALID_MANIFEST' });
    expect(fs.existsSync(path.join(work, 'escaped.gguf'))).toBe(false);
    expect(fs.existsSync(path.join(work, 'hostile', 'out'))).toBe(false);
  });

  it('refuses an artifact that is not a model bundle', async () => {
    await client.putManifest(
      'models/bad',
      'image',
      Buffer.from(
        JSON.stringify({
          ...good,
          artifactType: 'application/vnd.example',
          config: { ...(good.config as object), mediaType: 'application/vnd.oci.image.config.v1+json' },
        }),
      ),
      OCI_MANIFEST,
    );
    await expect(
      pullBundle({ store, reference: 'image', outDir: path.join(work, 'image') }),
    ).rejects.toMatchObject({
      code: 'INVALID_MANIFEST',
      message: expect.stringContaining('not a model bundle'),
    });
  });
});

describe('OCI image layouts (--local)', () => {
  it('writes a layout that skopeo copies to the registry, and pulls back byte for byte through skopeo and the registry', async () => {
    const layout = path.join(work, 'layout');
    const result = await publishBundle({
      bundleDir: bundle,
      store: await layoutStore(layout, { create: true }),
      tag: 'v2.0.0',
    });
    expect(JSON.parse(fs.readFileSync(path.join(layout, 'oci-layout'), 'utf8'))).toEqual({
      imageLayoutVersion: '1.0.0',
    });
    expect(sha256Digest(skopeo('inspect', '--raw', `oci:${layout}:v2.0.0`))).toBe(result.digest);
    // skopeo copies our layout into the registry; alki pulls it from there.
    skopeo(
      'copy',
      '--dest-tls-verify=false',
      `oci:${layout}:v2.0.0`,
      `docker://${registry.host}/models/from-layout:v2.0.0`,
    );
    const viaRegistry = path.join(work, 'via-registry');
    await pullBundle({
      store: registryStore(client, 'models/from-layout'),
      reference: 'v2.0.0',
      outDir: viaRegistry,
    });
    expect(readTree(viaRegistry)).toEqual(readTree(bundle));
    // skopeo copies what alki pushed into a second layout; alki pulls from that layout.
    const copied = path.join(work, 'skopeo-layout');
    skopeo(
      'copy',
      '--src-tls-verify=false',
      `docker://${registry.host}/models/from-layout:v2.0.0`,
      `oci:${copied}:v2.0.0`,
    );
    const viaLayout = path.join(work, 'via-layout');
    await pullBundle({ store: await layoutStore(copied), reference: 'v2.0.0', outDir: viaLayout });
    expect(readTree(viaLayout)).toEqual(readTree(bundle));
  });

  it('refuses a non-empty directory that is not a layout', async () => {
    const dir = path.join(work, 'not-a-layout');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'file'), 'x');
    await expect(layoutStore(dir, { create: true })).rejects.toMatchObject({ code: 'OUTPUT_EXISTS' });
  });
});

describe('multi-quant bundles', () => {
  it('publishes the whole bundle plus one tag per quant, sharing blobs, and pulls each', async () => {
    const multi = await packTinyBundle(work, 'multi', { seed: 3 });
    await addQ8Quant(multi);
    expect((await verifyBundle(multi)).ok).toBe(true);
    const store = registryStore(client, 'models/multi');
    const result = await publishBundle({ bundleDir: multi, store, tag: 'v1.0.0' });
    expect(result.quants.map((q) => [q.quant, q.tags])).toEqual([
      ['F32', ['v1.0.0-f32', 'latest-f32']],
      ['Q8_0', ['v1.0.0-q8_0', 'latest-q8_0']],
    ]);
    expect((await client.listTags('models/multi')).sort()).toEqual([
      'latest',
      'latest-f32',
      'latest-q8_0',
      'v1.0.0',
      'v1.0.0-f32',
      'v1.0.0-q8_0',
    ]);
    const whole = path.join(work, 'multi-whole');
    await pullBundle({ store, reference: 'v1.0.0', outDir: whole });
    expect(readTree(whole)).toEqual(readTree(multi));
    const q8 = path.join(work, 'multi-q8');
    const pulled = await pullBundle({ store, reference: 'v1.0.0-q8_0', outDir: q8 });
    expect(pulled.quant).toBe('Q8_0');
    const expected = readTree(multi);
    for (const file of [...expected.keys()])
      if (file.endsWith('.gguf') && !file.endsWith('-q8_0.gguf')) expected.delete(file);
    expect(readTree(q8)).toEqual(expected);
  });
});

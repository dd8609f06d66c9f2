import { afterAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { requireCommand } from '@alki/testkit';
import type { Descriptor } from '../descriptor.js';
import { ANNOTATION_REF_NAME, OCI_CONFIG, OCI_EMPTY, OCI_LAYER, OCI_MANIFEST } from '../media-types.js';
import { readBlob, writeBlob, writeJsonBlob } from './blobs.js';
import { copyImageToLayout } from './copy-image.js';
import { readImageFromLayout } from './image.js';
import { blobPath, initLayout, layoutTags, readIndex, tagManifest } from './layout.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-oci-layout-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
let counter = 0;
const fresh = () => path.join(work, `layout-${counter++}`);

// A real (tiny) container image: one tar layer made by tar(1), an OCI config
// and manifest, so umoci and skopeo can read what the layout functions wrote.
async function tinyImage(layout: string, tag: string, text = 'hello\n'): Promise<Descriptor> {
  await initLayout(layout);
  const root = fs.mkdtempSync(path.join(work, 'rootfs-'));
  fs.mkdirSync(path.join(root, 'etc'));
  fs.writeFileSync(path.join(root, 'etc', 'motd'), text);
  const tar = execFileSync(requireCommand('tar', 'the OCI layout tests'), [
    '-C',
    root,
    '--owner=0',
    '--group=0',
    '--mtime=@0',
    '-cf',
    '-',
    'etc',
  ]);
  const layer = await writeBlob(layout, tar, OCI_LAYER);
  const config = await writeJsonBlob(
    layout,
    {
      architecture: 'amd64',
      os: 'linux',
      config: { Cmd: ['/bin/true'] },
      rootfs: { type: 'layers', diff_ids: [layer.digest] },
      history: [{ created_by: 'test' }],
    },
    OCI_CONFIG,
  );
  const manifest = await writeJsonBlob(
    layout,
    { schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [layer] },
    OCI_MANIFEST,
  );
  await tagManifest(layout, manifest, tag);
  return manifest;
}

describe('initLayout', () => {
  it('makes a new directory an OCI layout, with oci-layout and an empty compact index.json', async () => {
    const layout = fresh();
    await initLayout(layout);
    expect(JSON.parse(fs.readFileSync(path.join(layout, 'oci-layout'), 'utf8'))).toEqual({
      imageLayoutVersion: '1.0.0',
    });
    expect(fs.readFileSync(path.join(layout, 'index.json'), 'utf8')).toBe(
      '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}',
    );
    expect(fs.statSync(path.join(layout, 'blobs', 'sha256')).isDirectory()).toBe(true);
  });

  it('refuses a non-empty directory that is not a layout, and leaves it alone', async () => {
    const dir = fresh();
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'mine');
    await expect(initLayout(dir)).rejects.toMatchObject({ code: 'OUTPUT_EXISTS', category: 'usage' });
    expect(fs.readdirSync(dir)).toEqual(['notes.txt']);
  });
});

describe('tagManifest and readIndex', () => {
  it('keeps entries sorted by tag with their annotations and the index fields, and moves a tag', async () => {
    const layout = fresh();
    await initLayout(layout);
    const indexFile = path.join(layout, 'index.json');
    // Another tool's index: an index annotation and an entry with its own annotations.
    const a = await writeBlob(layout, Buffer.from('{"a":1}'), OCI_MANIFEST);
    const b = await writeBlob(layout, Buffer.from('{"b":1}'), OCI_MANIFEST);
    fs.writeFileSync(
      indexFile,
      JSON.stringify({
        schemaVersion: 2,
        annotations: { 'com.example.owner': 'ops' },
        manifests: [{ ...b, annotations: { [ANNOTATION_REF_NAME]: 'zeta', 'com.example.note': 'keep me' } }],
      }),
    );
    await tagManifest(layout, { ...a, annotations: { 'org.opencontainers.image.title': 'A' } }, 'alpha');
    await tagManifest(layout, b, 'mid');
    const index = await readIndex(layout);
    expect(index.annotations).toEqual({ 'com.example.owner': 'ops' });
    expect(index.manifests.map((d) => d.annotations)).toEqual([
      { 'org.opencontainers.image.title': 'A', [ANNOTATION_REF_NAME]: 'alpha' },
      { [ANNOTATION_REF_NAME]: 'mid' },
      { [ANNOTATION_REF_NAME]: 'zeta', 'com.example.note': 'keep me' },
    ]);
    // Compact, one line, as skopeo and umoci write it.
    expect(fs.readFileSync(indexFile, 'utf8')).not.toContain('\n');
    await tagManifest(layout, b, 'alpha');
    expect(await layoutTags(layout)).toEqual(['alpha', 'mid', 'zeta']);
    expect((await readIndex(layout)).manifests[0].digest).toBe(b.digest);
  });

  it('says NOT_FOUND for a directory that is not a layout and CORRUPT_LAYOUT for a damaged index', async () => {
    await expect(readIndex(fresh())).rejects.toMatchObject({ code: 'NOT_FOUND', category: 'input' });
    const layout = fresh();
    await initLayout(layout);
    fs.writeFileSync(path.join(layout, 'index.json'), '{"manifests": [');
    await expect(readIndex(layout)).rejects.toMatchObject({ code: 'CORRUPT_LAYOUT', category: 'input' });
    fs.writeFileSync(
      path.join(layout, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [{ mediaType: OCI_MANIFEST, digest: 'sha256:../x', size: 1 }],
      }),
    );
    await expect(readIndex(layout)).rejects.toMatchObject({ code: 'CORRUPT_LAYOUT' });
    fs.rmSync(path.join(layout, 'index.json'));
    await expect(readIndex(layout)).rejects.toMatchObject({ code: 'CORRUPT_LAYOUT' });
  });

  it('refuses a digest that would escape the blobs directory', () => {
    expect(() => blobPath('/layout', 'sha256:../../etc/passwd')).toThrow(/not a sha256 digest/);
  });
});

describe('blobs and images', () => {
  it('reads back the tagged image, and names the tags it has when asked for another', async () => {
    const layout = fresh();
    const manifest = await tinyImage(layout, 'acme/tiny:v1');
    const image = await readImageFromLayout(layout, 'acme/tiny:v1', 'amd64');
    expect(image.manifestDescriptor).toEqual({
      mediaType: OCI_MANIFEST,
      digest: manifest.digest,
      size: manifest.size,
    });
    expect(image.config.config?.Cmd).toEqual(['/bin/true']);
    expect((await readImageFromLayout(layout, manifest.digest)).manifestDescriptor.digest).toBe(
      manifest.digest,
    );
    await expect(readImageFromLayout(layout, 'zzz')).rejects.toMatchObject({
      code: 'NOT_FOUND',
      hint: 'Tags there: acme/tiny:v1.',
    });
  });

  it('reports a tampered manifest as DIGEST_MISMATCH and a missing blob as CORRUPT_LAYOUT', async () => {
    const layout = fresh();
    const manifest = await tinyImage(layout, 'a:1');
    const file = blobPath(layout, manifest.digest);
    const original = fs.readFileSync(file);
    fs.writeFileSync(file, original.toString('utf8').replace('"schemaVersion":2', '"schemaVersion":2 '));
    await expect(readImageFromLayout(layout, 'a:1')).rejects.toMatchObject({
      code: 'SIZE_MISMATCH',
      category: 'check',
    });
    fs.writeFileSync(file, original.toString('utf8').replace('"schemaVersion":2', '"schemaVersion":3'));
    await expect(readImageFromLayout(layout, 'a:1')).rejects.toMatchObject({
      code: 'DIGEST_MISMATCH',
      category: 'check',
    });
    fs.rmSync(file);
    await expect(readImageFromLayout(layout, 'a:1')).rejects.toMatchObject({ code: 'CORRUPT_LAYOUT' });
  });

  it('refuses to read an artifact as a container image', async () => {
    const layout = fresh();
    await initLayout(layout);
    const empty = await writeBlob(layout, Buffer.from('{}'), OCI_EMPTY);
    const artifact = await writeJsonBlob(
      layout,
      {
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType: 'application/vnd.example',
        config: empty,
        layers: [],
      },
      OCI_MANIFEST,
    );
    await tagManifest(layout, artifact, 'v1');
    expect((await readBlob(layout, artifact)).length).toBe(artifact.size);
    await expect(readImageFromLayout(layout, 'v1')).rejects.toMatchObject({
      code: 'INVALID_MANIFEST',
      message: expect.stringContaining('not a container image'),
    });
  });

  it('writes layouts that umoci unpacks and skopeo inspects', async () => {
    const layout = fresh();
    const manifest = await tinyImage(layout, 'v1', 'from alki\n');
    const raw = execFileSync(requireCommand('skopeo', 'the OCI layout interoperability test'), [
      'inspect',
      '--raw',
      `oci:${layout}:v1`,
    ]);
    expect(raw.equals(fs.readFileSync(blobPath(layout, manifest.digest)))).toBe(true);
    const bundle = path.join(work, `umoci-${counter++}`);
    execFileSync(requireCommand('umoci', 'the OCI layout interoperability test'), [
      'unpack',
      '--rootless',
      '--image',
      `${layout}:v1`,
      bundle,
    ]);
    expect(fs.readFileSync(path.join(bundle, 'rootfs', 'etc', 'motd'), 'utf8')).toBe('from alki\n');
  });
});

describe('copyImageToLayout', () => {
  it('adds an image to another layout, keeping what it holds, and moves a tag only with force', async () => {
    const source = fresh();
    const one = await tinyImage(source, 'one', 'one\n');
    const two = await tinyImage(source, 'two', 'two\n');
    const target = fresh();
    await tinyImage(target, 'theirs', 'theirs\n');
    await copyImageToLayout(source, await readImageFromLayout(source, 'one', 'amd64'), target, 'v1');
    expect(await layoutTags(target)).toEqual(['theirs', 'v1']);
    expect((await readImageFromLayout(target, 'v1', 'amd64')).manifestDescriptor.digest).toBe(one.digest);
    const second = await readImageFromLayout(source, 'two', 'amd64');
    await expect(copyImageToLayout(source, second, target, 'v1')).rejects.toMatchObject({
      code: 'TAG_EXISTS',
    });
    await copyImageToLayout(source, second, target, 'v1', { force: true });
    expect((await readImageFromLayout(target, 'v1', 'amd64')).manifestDescriptor.digest).toBe(two.digest);
  });
});

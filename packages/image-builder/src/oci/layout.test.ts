import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { requireCommand } from '@alki/testkit';
import { writeLayer } from '../layer/write-layer.js';
import { bufferEntry } from '../tar/tar-header.js';
import { exportOciLayout, tagOf, writeDockerArchive } from './export.js';
import { assembleImage } from './image-config.js';
import {
  blobPath,
  initOciLayout,
  readImageFromLayout,
  readIndex,
  tagManifest,
  writeJsonBlob,
} from './layout.js';
import { MEDIA_TYPES, REF_NAME_ANNOTATION } from './types.js';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'alki-layout-test-'));
}

async function tinyImage(layout: string, tag: string, text = 'hello\n') {
  await initOciLayout(layout);
  const layer = await writeLayer(layout, [bufferEntry('etc/motd', text)], { mtime: 0 });
  const { config, manifest } = assembleImage({
    layers: [{ layer, createdBy: 'test' }],
    config: { Cmd: ['/bin/true'] },
    created: '1970-01-01T00:00:00Z',
    architecture: 'amd64',
  });
  const configDescriptor = await writeJsonBlob(layout, config, MEDIA_TYPES.ociConfig);
  const manifestDescriptor = await writeJsonBlob(layout, manifest(configDescriptor), MEDIA_TYPES.ociManifest);
  await tagManifest(layout, manifestDescriptor, tag);
  return { layer, manifestDescriptor };
}

describe('OCI layout', () => {
  it('writes a layout whose tagged image reads back with its layers and history', async () => {
    const layout = tempDir();
    const { layer, manifestDescriptor } = await tinyImage(layout, 'acme/tiny:latest');
    expect(JSON.parse(fs.readFileSync(path.join(layout, 'oci-layout'), 'utf8'))).toEqual({
      imageLayoutVersion: '1.0.0',
    });
    const image = await readImageFromLayout(layout, 'acme/tiny:latest');
    expect(image.manifestDescriptor.digest).toBe(manifestDescriptor.digest);
    expect(image.manifest.layers).toEqual([layer.descriptor]);
    expect(image.config.rootfs.diff_ids).toEqual([layer.diffId]);
    expect(image.config.history).toHaveLength(1);
    expect(fs.statSync(blobPath(layout, layer.descriptor.digest)).size).toBe(layer.descriptor.size);
    fs.rmSync(layout, { recursive: true, force: true });
  });

  it('gives the same layer and manifest digests when the same image is written twice', async () => {
    const a = await tinyImage(tempDir(), 'x:1');
    const b = await tinyImage(tempDir(), 'x:1');
    expect(b.layer.descriptor.digest).toBe(a.layer.descriptor.digest);
    expect(b.manifestDescriptor.digest).toBe(a.manifestDescriptor.digest);
  });

  it('moves a tag to the new manifest and keeps other tags', async () => {
    const layout = tempDir();
    await tinyImage(layout, 'a:1', 'one');
    await tinyImage(layout, 'b:1', 'two');
    const second = await tinyImage(layout, 'a:1', 'three');
    const index = await readIndex(layout);
    expect(index.manifests.map((d) => d.annotations?.[REF_NAME_ANNOTATION])).toEqual(['a:1', 'b:1']);
    expect((await readImageFromLayout(layout, 'a:1')).manifestDescriptor.digest).toBe(
      second.manifestDescriptor.digest,
    );
    fs.rmSync(layout, { recursive: true, force: true });
  });

  it('names the tags it has when asked for one it does not', async () => {
    const layout = tempDir();
    await tinyImage(layout, 'a:1');
    await expect(readImageFromLayout(layout, 'zzz')).rejects.toMatchObject({
      code: 'INVALID_BASE',
      hint: 'Tags there: a:1.',
    });
    fs.rmSync(layout, { recursive: true, force: true });
  });

  it('detects a manifest blob that was tampered with', async () => {
    const layout = tempDir();
    const { manifestDescriptor } = await tinyImage(layout, 'a:1');
    const file = blobPath(layout, manifestDescriptor.digest);
    fs.chmodSync(file, 0o644);
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('"schemaVersion":2', '"schemaVersion":2 '));
    await expect(readImageFromLayout(layout, 'a:1')).rejects.toMatchObject({
      code: 'CORRUPT_LAYOUT',
      category: 'check',
    });
    fs.rmSync(layout, { recursive: true, force: true });
  });

  it('refuses a digest that would escape the blobs directory', () => {
    expect(() => blobPath('/layout', 'sha256:../../etc/passwd')).toThrow(/not a sha256 digest/);
  });

  it('says a directory without index.json is not a layout', async () => {
    await expect(readIndex(tempDir())).rejects.toMatchObject({ code: 'CORRUPT_LAYOUT' });
  });
});

describe('exports', () => {
  it('exports one image to a new layout tagged with its tag part, and never overwrites without force', async () => {
    const layout = tempDir();
    const { manifestDescriptor } = await tinyImage(layout, 'acme/tiny:v1');
    await tinyImage(layout, 'other:1', 'other');
    const destination = path.join(tempDir(), 'out');
    await exportOciLayout(layout, 'acme/tiny:v1', destination);
    const index = await readIndex(destination);
    expect(index.manifests).toHaveLength(1);
    expect(index.manifests[0].annotations?.[REF_NAME_ANNOTATION]).toBe('v1');
    expect((await readImageFromLayout(destination, 'v1')).manifestDescriptor.digest).toBe(
      manifestDescriptor.digest,
    );
    await expect(exportOciLayout(layout, 'acme/tiny:v1', destination)).rejects.toMatchObject({
      code: 'DESTINATION_EXISTS',
    });
    await exportOciLayout(layout, 'other:1', destination, { force: true });
    expect((await readImageFromLayout(destination, '1')).manifestDescriptor.digest).not.toBe(
      manifestDescriptor.digest,
    );
    expect(fs.readdirSync(path.dirname(destination))).toEqual(['out']);
  });

  it('writes a docker-archive whose manifest.json points at the config and layers it holds', async () => {
    const layout = tempDir();
    const { layer } = await tinyImage(layout, 'acme/tiny:v1');
    const archive = path.join(tempDir(), 'tiny.tar');
    await writeDockerArchive(layout, 'acme/tiny:v1', archive);
    const unpacked = tempDir();
    const tar = spawnSync(
      requireCommand('tar', 'the docker-archive test'),
      ['-xf', archive, '-C', unpacked],
      { encoding: 'utf8' },
    );
    expect(tar.status).toBe(0);
    const manifest = JSON.parse(fs.readFileSync(path.join(unpacked, 'manifest.json'), 'utf8')) as Array<{
      Config: string;
      RepoTags: string[];
      Layers: string[];
    }>;
    expect(fs.existsSync(path.join(unpacked, manifest[0].Config))).toBe(true);
    expect(fs.statSync(path.join(unpacked, manifest[0].Layers[0])).size).toBe(layer.descriptor.size);
    expect(manifest[0].RepoTags).toEqual(['acme/tiny:v1']);
    expect(manifest[0].Layers).toEqual([`blobs/sha256/${layer.descriptor.digest.slice(7)}`]);
    await expect(writeDockerArchive(layout, 'acme/tiny:v1', archive)).rejects.toMatchObject({
      code: 'DESTINATION_EXISTS',
    });
  });

  it.each([
    ['acme/tiny:v1', 'v1'],
    ['127.0.0.1:5000/acme/tiny', 'latest'],
    ['127.0.0.1:5000/acme/tiny:2', '2'],
  ])('takes the tag of %s as %s', (reference, tag) => {
    expect(tagOf(reference)).toBe(tag);
  });
});

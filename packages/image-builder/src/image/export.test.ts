import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  ANNOTATION_REF_NAME,
  initLayout,
  OCI_CONFIG,
  OCI_MANIFEST,
  readImageFromLayout,
  readIndex,
  tagManifest,
  writeJsonBlob,
} from '@alki/oci';
import { requireCommand } from '@alki/testkit';
import { writeLayer } from '../layer/write-layer.js';
import { bufferEntry } from '../tar/tar-header.js';
import { exportOciLayout, writeDockerArchive } from './export.js';
import { assembleImage } from './image-config.js';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'alki-export-test-'));
}

async function tinyImage(layout: string, tag: string, text = 'hello\n') {
  await initLayout(layout);
  const layer = await writeLayer(layout, [bufferEntry('etc/motd', text)], { mtime: 0 });
  const { config, manifest } = assembleImage({
    layers: [{ layer, createdBy: 'test' }],
    config: { Cmd: ['/bin/true'] },
    created: '1970-01-01T00:00:00Z',
    architecture: 'amd64',
  });
  const configDescriptor = await writeJsonBlob(layout, config, OCI_CONFIG);
  const manifestDescriptor = await writeJsonBlob(layout, manifest(configDescriptor), OCI_MANIFEST);
  await tagManifest(layout, manifestDescriptor, tag);
  return { layer, manifestDescriptor };
}

describe('images in a layout', () => {
  it('writes a layout whose tagged image reads back with its layers and history', async () => {
    const layout = tempDir();
    const { layer, manifestDescriptor } = await tinyImage(layout, 'acme/tiny:latest');
    const image = await readImageFromLayout(layout, 'acme/tiny:latest', 'amd64');
    expect(image.manifestDescriptor.digest).toBe(manifestDescriptor.digest);
    expect(image.manifest.layers).toEqual([layer.descriptor]);
    expect(image.config.rootfs.diff_ids).toEqual([layer.diffId]);
    expect(image.config.history).toHaveLength(1);
    fs.rmSync(layout, { recursive: true, force: true });
  });

  it('gives the same layer and manifest digests when the same image is written twice', async () => {
    const a = await tinyImage(tempDir(), 'x:1');
    const b = await tinyImage(tempDir(), 'x:1');
    expect(b.layer.descriptor.digest).toBe(a.layer.descriptor.digest);
    expect(b.manifestDescriptor.digest).toBe(a.manifestDescriptor.digest);
  });
});

describe('exports', () => {
  it('adds one image to a layout under the tag part of its name, keeps what is there, and moves a tag only with force', async () => {
    const layout = tempDir();
    const { manifestDescriptor } = await tinyImage(layout, 'acme/tiny:v1');
    const other = await tinyImage(layout, 'other:v1', 'other');
    const destination = path.join(tempDir(), 'out');
    await exportOciLayout(layout, 'acme/tiny:v1', destination);
    const index = await readIndex(destination);
    expect(index.manifests).toHaveLength(1);
    expect(index.manifests[0].annotations?.[ANNOTATION_REF_NAME]).toBe('v1');
    expect((await readImageFromLayout(destination, 'v1')).manifestDescriptor.digest).toBe(
      manifestDescriptor.digest,
    );
    // The same image again is no change; other content under v1 needs force.
    await exportOciLayout(layout, 'acme/tiny:v1', destination);
    await expect(exportOciLayout(layout, 'other:v1', destination)).rejects.toMatchObject({
      code: 'TAG_EXISTS',
      category: 'usage',
    });
    await exportOciLayout(layout, 'other:v1', destination, { force: true });
    expect((await readImageFromLayout(destination, 'v1')).manifestDescriptor.digest).toBe(
      other.manifestDescriptor.digest,
    );
    await tinyImage(layout, 'acme/tiny:v2', 'two');
    await exportOciLayout(layout, 'acme/tiny:v2', destination);
    expect((await readIndex(destination)).manifests.map((d) => d.annotations?.[ANNOTATION_REF_NAME])).toEqual(
      ['v1', 'v2'],
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
      {
        encoding: 'utf8',
      },
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
});

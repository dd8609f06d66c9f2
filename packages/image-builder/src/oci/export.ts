import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { ImageBuilderError } from '../errors.js';
import { bufferEntry, type TarEntry } from '../tar/tar-header.js';
import { writeTar } from '../tar/write-tar.js';
import { tempPathBeside } from './atomic.js';
import { blobPath, copyBlob, initOciLayout, readImageFromLayout, tagManifest } from './layout.js';
import { MEDIA_TYPES, REF_NAME_ANNOTATION, type Descriptor } from './types.js';

function refuseExisting(destination: string, force: boolean): void {
  if (fs.existsSync(destination) && !force) {
    throw new ImageBuilderError('DESTINATION_EXISTS', `${destination} already exists.`, {
      hint: 'Choose another path, or pass --force to replace it.',
      details: { path: destination },
    });
  }
}

/** Moves a finished temp path into place; with force, the old one is removed only after the new one is there. */
async function replaceWith(temp: string, destination: string): Promise<void> {
  if (!fs.existsSync(destination)) {
    await fs.promises.rename(temp, destination);
    return;
  }
  const old = tempPathBeside(destination);
  await fs.promises.rename(destination, old);
  await fs.promises.rename(temp, destination);
  await fs.promises.rm(old, { recursive: true, force: true });
}

/** The tag part of `name:tag` (`latest` when there is none): what `oci:DIR:TAG` names in an exported layout. */
export function tagOf(reference: string): string {
  const slash = reference.lastIndexOf('/');
  const colon = reference.lastIndexOf(':');
  return colon > slash ? reference.slice(colon + 1) : 'latest';
}

/**
 * Copies one image out of a layout into a new OCI layout directory that
 * holds only it, tagged with the tag part of its name (`oci:DIR:latest`).
 * Built beside the destination and renamed into place.
 *
 * @example
 * await exportOciLayout(imageStoreDir(), 'acme/tiny:latest', './tiny-oci');
 */
export async function exportOciLayout(
  layoutDir: string,
  tag: string,
  destination: string,
  options: { force?: boolean } = {},
): Promise<Descriptor> {
  refuseExisting(destination, Boolean(options.force));
  const image = await readImageFromLayout(layoutDir, tag);
  const temp = tempPathBeside(path.resolve(destination));
  try {
    await initOciLayout(temp);
    for (const descriptor of [image.manifestDescriptor, image.manifest.config, ...image.manifest.layers])
      await copyBlob(layoutDir, temp, descriptor);
    await tagManifest(temp, image.manifestDescriptor, tagOf(tag));
    await replaceWith(temp, destination);
    return image.manifestDescriptor;
  } catch (error) {
    await fs.promises.rm(temp, { recursive: true, force: true });
    throw error;
  }
}

function blobEntry(layoutDir: string, descriptor: Descriptor): TarEntry {
  const file = blobPath(layoutDir, descriptor.digest);
  return {
    type: 'file',
    path: `blobs/sha256/${descriptor.digest.slice(7)}`,
    size: descriptor.size,
    content: { kind: 'file', path: file, sha256: descriptor.digest.slice(7) },
  };
}

/**
 * Writes one image as a docker-archive tar that `docker load` and `podman
 * load` accept. It is laid out as Docker 25's `docker save` does: the
 * legacy manifest.json (Config, RepoTags, Layers) pointing into an OCI
 * layout (oci-layout, index.json, blobs/sha256), so the same file is also an
 * OCI archive. Layers stay gzip-compressed; both loaders decompress them.
 *
 * @example
 * await writeDockerArchive(imageStoreDir(), 'acme/tiny:latest', './tiny.tar');
 */
export async function writeDockerArchive(
  layoutDir: string,
  tag: string,
  destination: string,
  options: { force?: boolean; repoTag?: string; signal?: AbortSignal } = {},
): Promise<Descriptor> {
  refuseExisting(destination, Boolean(options.force));
  const image = await readImageFromLayout(layoutDir, tag);
  const repoTag = options.repoTag ?? (tag.includes(':') ? tag : `${tag}:latest`);
  const blobs = [image.manifestDescriptor, image.manifest.config, ...image.manifest.layers];
  const unique = [...new Map(blobs.map((d) => [d.digest, d])).values()];
  const dockerManifest = [
    {
      Config: `blobs/sha256/${image.manifest.config.digest.slice(7)}`,
      RepoTags: [repoTag],
      Layers: image.manifest.layers.map((l) => `blobs/sha256/${l.digest.slice(7)}`),
    },
  ];
  const index = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociIndex,
    manifests: [
      {
        ...image.manifestDescriptor,
        annotations: { [REF_NAME_ANNOTATION]: tagOf(repoTag), 'io.containerd.image.name': repoTag },
      },
    ],
  };
  const entries: TarEntry[] = [
    bufferEntry('manifest.json', JSON.stringify(dockerManifest)),
    bufferEntry('oci-layout', JSON.stringify({ imageLayoutVersion: '1.0.0' })),
    bufferEntry('index.json', JSON.stringify(index)),
    ...unique.map((d) => blobEntry(layoutDir, d)),
  ];
  const temp = tempPathBeside(path.resolve(destination));
  try {
    await pipeline(
      Readable.from(writeTar(entries, { mtime: 0, signal: options.signal })),
      fs.createWriteStream(temp),
      { signal: options.signal },
    );
    await replaceWith(temp, destination);
    return image.manifestDescriptor;
  } catch (error) {
    await fs.promises.rm(temp, { force: true });
    throw error;
  }
}

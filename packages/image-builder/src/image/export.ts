import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import {
  ANNOTATION_REF_NAME,
  assertTagFree,
  blobPath,
  copyBlob,
  copyImageToLayout,
  findInLayout,
  initLayout,
  isIndexMediaType,
  OCI_INDEX,
  readImageFromLayout,
  readJsonBlob,
  tagManifest,
  tagOf,
  tempPathBeside,
  type Descriptor,
  type ImageIndex,
} from '@alki/oci';
import { ImageBuilderError } from '../errors.js';
import { bufferEntry, type TarEntry } from '../tar/tar-header.js';
import { writeTar } from '../tar/write-tar.js';

/**
 * Copies one image out of a layout (Alki's store) into the OCI layout
 * `destination`, tagged with the tag part of its name (`oci:DIR:latest`).
 * The destination is created when missing and keeps the other images and
 * artifacts it holds, as `alki publish --local` does; a tag there that names
 * other content is moved only with `force`.
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
  const entry = await findInLayout(layoutDir, tag);
  if (!entry || !isIndexMediaType(entry.mediaType)) {
    const image = await readImageFromLayout(layoutDir, tag);
    return copyImageToLayout(layoutDir, image, destination, tagOf(tag), options);
  }
  // A multi-platform index: each platform's image under `<tag>-<architecture>`, then the index under the tag.
  await initLayout(destination);
  await assertTagFree(destination, tagOf(tag), entry.digest, options.force);
  const index = await readJsonBlob<ImageIndex>(layoutDir, entry);
  for (const child of index.manifests) {
    const image = await readImageFromLayout(layoutDir, child.digest);
    const architecture = child.platform?.architecture ?? child.digest.slice(7, 19);
    await copyImageToLayout(layoutDir, image, destination, `${tagOf(tag)}-${architecture}`, options);
  }
  await copyBlob(layoutDir, destination, entry);
  await tagManifest(destination, entry, tagOf(tag));
  return entry;
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
 * The tar is written beside `destination` and renamed over it.
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
  if (fs.existsSync(destination) && !options.force) {
    throw new ImageBuilderError('DESTINATION_EXISTS', `${destination} already exists.`, {
      hint: 'Choose another path, or pass --force to replace it.',
      details: { path: destination },
    });
  }
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
    mediaType: OCI_INDEX,
    manifests: [
      {
        ...image.manifestDescriptor,
        annotations: { [ANNOTATION_REF_NAME]: tagOf(repoTag), 'io.containerd.image.name': repoTag },
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
    // A file: one rename replaces it atomically.
    await fs.promises.rename(temp, destination);
    return image.manifestDescriptor;
  } catch (error) {
    await fs.promises.rm(temp, { force: true });
    throw error;
  }
}

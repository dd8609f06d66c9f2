import fs from 'node:fs';
import {
  assertImageManifest,
  blobPath,
  connectRegistry,
  fileBlob,
  findInLayout,
  hasLayoutBlob,
  initLayout,
  isIndexMediaType,
  OCI_MANIFEST,
  ociArchitecture,
  parseReference,
  readImageFromLayout,
  readJsonBlob,
  selectPlatform,
  tagManifest,
  writeBlob,
  type ConnectOptions,
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
} from '@alki/oci';
import { ImageBuilderError } from '../errors.js';

/** How to reach a registry: connect options (credentials, fetch, retries, stall timeout, environment). */
export type RegistryAccess = ConnectOptions;

interface TransferOptions extends RegistryAccess {
  signal?: AbortSignal;
  onProgress?: (bytes: number, total: number) => void;
}

/**
 * Pushes an image from a layout to a registry with @alki/oci's client:
 * layers and config (skipped when the registry has them), then the manifest
 * under the reference's tag (or only by digest). A multi-platform base
 * (an index) goes with every platform's image, each manifest by digest, then
 * the index under the tag. Returns the digest the registry stored.
 *
 * @example
 * const digest = await pushImage(imageStoreDir(), 'acme/tiny:latest', '127.0.0.1:5000/acme/tiny:latest');
 */
export async function pushImage(
  layoutDir: string,
  tag: string,
  reference: string,
  options: TransferOptions = {},
): Promise<string> {
  const ref = parseReference(reference);
  const client = await connectRegistry(ref.registry, options);
  const entry = await findInLayout(layoutDir, tag);
  // A multi-platform index: every platform's image by digest, then the index under the tag.
  const images =
    entry && isIndexMediaType(entry.mediaType)
      ? (await readJsonBlob<ImageIndex>(layoutDir, entry)).manifests.map((child) => child.digest)
      : [tag];
  const records = await Promise.all(images.map((name) => readImageFromLayout(layoutDir, name)));
  const blobs = [
    ...new Map(
      records.flatMap((r) => [...r.manifest.layers, r.manifest.config]).map((b) => [b.digest, b]),
    ).values(),
  ];
  const total = blobs.reduce((sum, b) => sum + b.size, 0);
  let done = 0;
  for (const blob of blobs) {
    await client.pushBlob(
      ref.repository,
      fileBlob(blobPath(layoutDir, blob.digest), blob.size),
      blob.digest,
      {
        signal: options.signal,
        onProgress: (bytes) => options.onProgress?.(done + bytes, total),
      },
    );
    done += blob.size;
    options.onProgress?.(done, total);
  }
  const putManifest = async (descriptor: Descriptor, at: string) =>
    client.putManifest(
      ref.repository,
      at,
      await fs.promises.readFile(blobPath(layoutDir, descriptor.digest)),
      descriptor.mediaType || OCI_MANIFEST,
      options.signal,
    );
  const target = ref.tag ?? ref.digest ?? 'latest';
  if (images.length === 1 && images[0] === tag)
    return (await putManifest(records[0].manifestDescriptor, target)).digest;
  for (const record of records)
    await putManifest(record.manifestDescriptor, record.manifestDescriptor.digest);
  return (await putManifest(entry!, target)).digest;
}

/**
 * Pulls an image from a registry into a layout (every blob digest-checked
 * by the client, each written by temp file and rename), following an index
 * to this machine's platform, and tags it there with `reference`.
 *
 * @example
 * await pullImage('ghcr.io/ggml-org/llama.cpp:server', imageStoreDir());
 */
export async function pullImage(
  reference: string,
  layoutDir: string,
  options: TransferOptions = {},
): Promise<Descriptor> {
  const ref = parseReference(reference);
  const client = await connectRegistry(ref.registry, options);
  await initLayout(layoutDir);
  let fetched = await client.getManifest(ref.repository, ref.digest ?? ref.tag ?? 'latest', options.signal);
  if (isIndexMediaType(fetched.mediaType)) {
    const index = JSON.parse(fetched.bytes.toString('utf8')) as ImageIndex;
    const arch = ociArchitecture();
    const chosen = Array.isArray(index.manifests) ? selectPlatform(index.manifests, arch) : undefined;
    if (!chosen)
      throw new ImageBuilderError('INVALID_BASE', `${reference} has no linux/${arch} image.`, {
        details: { reference },
      });
    fetched = await client.getManifest(ref.repository, chosen.digest, options.signal);
  }
  const manifest = JSON.parse(fetched.bytes.toString('utf8')) as ImageManifest;
  assertImageManifest(manifest, reference);
  const blobs = [manifest.config, ...manifest.layers];
  const total = blobs.reduce((sum, d) => sum + d.size, 0);
  let done = 0;
  for (const blob of blobs) {
    if (!(await hasLayoutBlob(layoutDir, blob.digest, blob.size))) {
      await client.downloadBlob(ref.repository, blob, blobPath(layoutDir, blob.digest), {
        signal: options.signal,
        onProgress: (bytes) => options.onProgress?.(done + bytes, total),
      });
    }
    done += blob.size;
  }
  const descriptor = await writeBlob(layoutDir, fetched.bytes, fetched.mediaType);
  await tagManifest(layoutDir, descriptor, reference);
  return descriptor;
}

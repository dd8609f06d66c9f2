import fs from 'node:fs';
import {
  fileBlob,
  findCredentials,
  parseReference,
  RegistryClient,
  type RegistryClientOptions,
} from '@alki/registry-publisher';
import { ImageBuilderError } from '../errors.js';
import {
  blobPath,
  initOciLayout,
  ociArchitecture,
  readImageFromLayout,
  tagManifest,
  writeBlob,
} from './layout.js';
import { MEDIA_TYPES, type Descriptor, type ImageIndex, type ImageManifest } from './types.js';

/** How to reach a registry: the client options besides the host (fetch, retries, credentials). */
export type RegistryAccess = Omit<RegistryClientOptions, 'registry'> & { env?: NodeJS.ProcessEnv };

async function clientFor(registry: string, access: RegistryAccess = {}): Promise<RegistryClient> {
  const credentials = access.credentials ?? (await findCredentials(registry, { env: access.env }));
  return new RegistryClient({ ...access, registry, ...(credentials ? { credentials } : {}) });
}

/**
 * Pushes an image from a layout to a registry with registry-publisher's
 * client: layers and config (skipped when the registry has them), then the
 * manifest under the reference's tag (or only by digest). Returns the
 * manifest digest the registry stored.
 *
 * @example
 * const digest = await pushImage(imageStoreDir(), 'acme/tiny:latest', '127.0.0.1:5000/acme/tiny:latest');
 */
export async function pushImage(
  layoutDir: string,
  tag: string,
  reference: string,
  options: RegistryAccess & {
    signal?: AbortSignal;
    onProgress?: (bytes: number, total: number) => void;
  } = {},
): Promise<string> {
  const ref = parseReference(reference);
  const image = await readImageFromLayout(layoutDir, tag);
  const client = await clientFor(ref.registry, options);
  const blobs = [...image.manifest.layers, image.manifest.config];
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
  const bytes = await fs.promises.readFile(blobPath(layoutDir, image.manifestDescriptor.digest));
  return client.putManifest(
    ref.repository,
    ref.tag ?? ref.digest ?? 'latest',
    bytes,
    image.manifestDescriptor.mediaType || MEDIA_TYPES.ociManifest,
    options.signal,
  );
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
  options: RegistryAccess & {
    signal?: AbortSignal;
    onProgress?: (bytes: number, total: number) => void;
  } = {},
): Promise<Descriptor> {
  const ref = parseReference(reference);
  const client = await clientFor(ref.registry, options);
  await initOciLayout(layoutDir);
  let fetched = await client.getManifest(ref.repository, ref.digest ?? ref.tag ?? 'latest', options.signal);
  if (fetched.mediaType === MEDIA_TYPES.ociIndex || fetched.mediaType === MEDIA_TYPES.dockerManifestList) {
    const index = JSON.parse(fetched.bytes.toString('utf8')) as ImageIndex;
    const arch = ociArchitecture();
    const chosen = index.manifests.find(
      (d) => d.platform?.os === 'linux' && d.platform.architecture === arch,
    );
    if (!chosen)
      throw new ImageBuilderError('INVALID_BASE', `${reference} has no linux/${arch} image.`, {
        details: { reference },
      });
    fetched = await client.getManifest(ref.repository, chosen.digest, options.signal);
  }
  const manifest = JSON.parse(fetched.bytes.toString('utf8')) as ImageManifest;
  if (!manifest.config || !Array.isArray(manifest.layers))
    throw new ImageBuilderError('INVALID_BASE', `${reference} is not a container image.`, {
      details: { reference, mediaType: fetched.mediaType },
    });
  const total = [manifest.config, ...manifest.layers].reduce((sum, d) => sum + d.size, 0);
  let done = 0;
  for (const blob of [manifest.config, ...manifest.layers]) {
    const file = blobPath(layoutDir, blob.digest);
    if (!fs.existsSync(file)) {
      await client.downloadBlob(ref.repository, blob, file, {
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

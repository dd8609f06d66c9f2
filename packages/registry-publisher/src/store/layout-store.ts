import fs from 'node:fs';
import path from 'node:path';
import { sha256Digest } from '../digest.js';
import { RegistryError } from '../errors.js';
import { writeAtomic, writeVerifiedFile } from '../io/verified-write.js';
import { ANNOTATION_REF_NAME, OCI_INDEX } from '../media-types.js';
import { isValidDigest } from '../reference.js';
import type { BlobSource } from '../registry/blob-source.js';
import type { Descriptor } from '../registry/client.js';
import type { ArtifactStore, TransferOptions } from './artifact-store.js';

// OCI image-spec image-layout.md: `oci-layout`, `index.json`, `blobs/<alg>/<hex>`.
const LAYOUT_FILE = 'oci-layout';
const INDEX_FILE = 'index.json';
const LAYOUT_VERSION = '1.0.0';
const MAX_MANIFEST_BYTES = 4 << 20;

interface LayoutIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
}

/**
 * An OCI image layout directory as an ArtifactStore (`--local DIR`). Tags
 * are `org.opencontainers.image.ref.name` annotations in index.json, which is
 * how skopeo, umoci and `podman run oci:DIR:tag` read them. Every write is a
 * temp file renamed into place; every read is digest-checked.
 *
 * @example
 * const store = await layoutStore('./out/oci', { create: true });
 */
export async function layoutStore(dir: string, options: { create?: boolean } = {}): Promise<ArtifactStore> {
  const root = path.resolve(dir);
  const layoutFile = path.join(root, LAYOUT_FILE);
  const blobDir = path.join(root, 'blobs', 'sha256');
  if (!fs.existsSync(layoutFile)) {
    if (!options.create) {
      throw new RegistryError(
        'NOT_FOUND',
        `${dir} is not an OCI image layout (it has no ${LAYOUT_FILE} file).`,
        { category: 'input', details: { dir } },
      );
    }
    if (fs.existsSync(root) && fs.readdirSync(root).length > 0) {
      throw new RegistryError(
        'OUTPUT_EXISTS',
        `${dir} exists, is not empty, and is not an OCI image layout.`,
        { hint: 'Name an empty or new directory for --local.', details: { dir } },
      );
    }
    await fs.promises.mkdir(blobDir, { recursive: true });
    await writeAtomic(
      path.join(root, INDEX_FILE),
      JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] }),
    );
    await writeAtomic(layoutFile, JSON.stringify({ imageLayoutVersion: LAYOUT_VERSION }));
  }
  await fs.promises.mkdir(blobDir, { recursive: true });

  const blobPath = (digest: string) => {
    if (!isValidDigest(digest))
      throw new RegistryError('INVALID_MANIFEST', `"${digest}" is not a sha256 digest.`, {
        details: { digest },
      });
    return path.join(blobDir, digest.slice('sha256:'.length));
  };

  const readIndex = async (): Promise<LayoutIndex> => {
    try {
      const index = JSON.parse(
        await fs.promises.readFile(path.join(root, INDEX_FILE), 'utf8'),
      ) as LayoutIndex;
      if (!Array.isArray(index.manifests)) throw new Error('manifests is not an array');
      return index;
    } catch (error) {
      throw new RegistryError('INVALID_MANIFEST', `${path.join(dir, INDEX_FILE)} is not a valid OCI index.`, {
        cause: error,
        details: { dir },
      });
    }
  };

  const store: ArtifactStore = {
    description: `oci:${dir}`,
    async pushBlob(source: BlobSource, digest: string, transfer: TransferOptions = {}) {
      const file = blobPath(digest);
      const existing = await fs.promises.stat(file).catch(() => undefined);
      if (existing?.isFile() && existing.size === source.size) {
        transfer.onProgress?.(source.size);
        return { outcome: 'exists' as const, bytesUploaded: 0 };
      }
      await writeVerifiedFile(
        source.read(0, source.size),
        { digest, size: source.size },
        file,
        `The blob for ${digest}`,
        transfer,
      );
      return { outcome: 'uploaded' as const, bytesUploaded: source.size };
    },
    async resolve(reference) {
      if (isValidDigest(reference)) {
        const index = await readIndex();
        const listed = index.manifests.find((entry) => entry.digest === reference);
        if (listed) return { mediaType: listed.mediaType, digest: listed.digest, size: listed.size };
        const info = await fs.promises.stat(blobPath(reference)).catch(() => undefined);
        return info ? { mediaType: '', digest: reference, size: info.size } : undefined;
      }
      const entry = (await readIndex()).manifests.find(
        (candidate) => candidate.annotations?.[ANNOTATION_REF_NAME] === reference,
      );
      return entry ? { mediaType: entry.mediaType, digest: entry.digest, size: entry.size } : undefined;
    },
    async putManifest(tag, bytes, mediaType) {
      const digest = sha256Digest(bytes);
      const file = blobPath(digest);
      if (!fs.existsSync(file)) await writeAtomic(file, bytes);
      const index = await readIndex();
      const manifests = index.manifests.filter((entry) => entry.annotations?.[ANNOTATION_REF_NAME] !== tag);
      manifests.push({ mediaType, digest, size: bytes.length, annotations: { [ANNOTATION_REF_NAME]: tag } });
      await writeAtomic(
        path.join(root, INDEX_FILE),
        JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }, null, 2),
      );
    },
    async getManifest(reference) {
      const descriptor = await store.resolve(reference);
      if (!descriptor)
        throw new RegistryError('NOT_FOUND', `${dir} has no manifest tagged ${reference}.`, {
          category: 'input',
          details: { dir, reference },
        });
      if (descriptor.size > MAX_MANIFEST_BYTES)
        throw new RegistryError('INVALID_MANIFEST', `The manifest ${reference} in ${dir} is over 4 MiB.`, {
          details: { reference },
        });
      const bytes = await fs.promises.readFile(blobPath(descriptor.digest));
      const digest = sha256Digest(bytes);
      if (digest !== descriptor.digest) {
        throw new RegistryError(
          'DIGEST_MISMATCH',
          `The manifest ${reference} in ${dir} hashes to ${digest}, not ${descriptor.digest}.`,
          { details: { expected: descriptor.digest, actual: digest } },
        );
      }
      let mediaType = descriptor.mediaType;
      if (!mediaType)
        mediaType = (JSON.parse(bytes.toString('utf8')) as { mediaType?: string }).mediaType ?? '';
      return { bytes, digest, mediaType };
    },
    async downloadBlob(descriptor, file, transfer = {}) {
      const source = blobPath(descriptor.digest);
      if (!fs.existsSync(source))
        throw new RegistryError('NOT_FOUND', `${dir} has no blob ${descriptor.digest}.`, {
          category: 'input',
          details: { dir, digest: descriptor.digest },
        });
      await writeVerifiedFile(
        fs.createReadStream(source, { highWaterMark: 1 << 20 }),
        descriptor,
        file,
        `Blob ${descriptor.digest} in ${dir}`,
        transfer,
      );
    },
    async listTags() {
      return (await readIndex()).manifests
        .map((entry) => entry.annotations?.[ANNOTATION_REF_NAME])
        .filter((tag): tag is string => Boolean(tag));
    },
  };
  return store;
}

import fs from 'node:fs';
import path from 'node:path';
import type { Descriptor } from '../descriptor.js';
import { isValidDigest } from '../digest.js';
import { OciError } from '../errors.js';
import { copyBlobToFile, readBlob, writeBlob, writeBlobFrom } from '../layout/blobs.js';
import { blobPath, findInLayout, initLayout, layoutTags, readIndex, tagManifest } from '../layout/layout.js';
import { artifactTypeOf, mediaTypeOf } from '../registry/manifests.js';
import type { ArtifactStore } from './artifact-store.js';

/**
 * An OCI image layout directory as an ArtifactStore (`oci:DIR`). Tags are
 * ref.name annotations in index.json, which is how skopeo, umoci and
 * `podman run oci:DIR:tag` read them. Every write is a temp file renamed
 * into place; every read is digest-checked. With `create`, a missing or
 * empty directory becomes a layout (a non-empty one that is not a layout is
 * refused); without it, the directory must be a layout already.
 *
 * @example
 * const store = await layoutStore('./out/oci', { create: true });
 */
export async function layoutStore(dir: string, options: { create?: boolean } = {}): Promise<ArtifactStore> {
  const root = path.resolve(dir);
  if (options.create) await initLayout(root);
  // Reading the index proves it is a layout (NOT_FOUND) and intact (CORRUPT_LAYOUT) before any work.
  else await readIndex(root);

  const store: ArtifactStore = {
    description: `oci:${dir}`,
    async pushBlob(source, digest, transfer = {}) {
      const outcome = await writeBlobFrom(
        root,
        source.read(0, source.size),
        { digest, size: source.size },
        transfer,
      );
      return outcome === 'exists'
        ? { outcome: 'exists' as const, bytesUploaded: 0 }
        : { outcome: 'uploaded' as const, bytesUploaded: source.size };
    },
    async resolve(reference) {
      const entry = await findInLayout(root, reference);
      if (entry) return { mediaType: entry.mediaType, digest: entry.digest, size: entry.size };
      // An untagged manifest is still addressable by digest, as in a registry.
      if (!isValidDigest(reference)) return undefined;
      const info = await fs.promises.stat(blobPath(root, reference)).catch(() => undefined);
      return info?.isFile() ? { mediaType: '', digest: reference, size: info.size } : undefined;
    },
    async putManifest(tag, bytes, mediaType) {
      const descriptor: Descriptor = await writeBlob(root, bytes, mediaType);
      // The index entry carries the artifactType, as a registry's referrers list does.
      const artifactType = artifactTypeOf(bytes);
      await tagManifest(root, artifactType ? { ...descriptor, artifactType } : descriptor, tag);
    },
    async getManifest(reference) {
      const descriptor = await store.resolve(reference);
      if (!descriptor)
        throw new OciError('NOT_FOUND', `${dir} has no manifest tagged ${reference}.`, {
          hint: `List its tags with \`alki tags oci:${dir}\`.`,
          details: { layout: dir, reference },
        });
      const bytes = await readBlob(root, descriptor);
      return { bytes, digest: descriptor.digest, mediaType: descriptor.mediaType || mediaTypeOf(bytes) };
    },
    async downloadBlob(descriptor, file, transfer = {}) {
      await copyBlobToFile(root, descriptor, file, transfer);
    },
    async listTags() {
      return layoutTags(root);
    },
  };
  return store;
}

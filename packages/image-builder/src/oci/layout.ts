import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ImageBuilderError } from '../errors.js';
import { tempPathBeside, writeFileAtomic } from './atomic.js';
import { sha256Digest } from '@alki/registry-publisher';
import { digestHex } from './digest.js';
import {
  MEDIA_TYPES,
  REF_NAME_ANNOTATION,
  type Descriptor,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  type ImageRecord,
} from './types.js';

// image-spec image-layout.md: the `oci-layout` file marks the directory and
// names the layout version.
const OCI_LAYOUT_FILE = { imageLayoutVersion: '1.0.0' };

// Manifests and configs are small; a multi-megabyte one is hostile or broken,
// and reading it whole into memory is what we refuse (CWE-400).
const MAX_JSON_BLOB_BYTES = 4 * 1024 * 1024;

/** Path of a blob inside a layout. */
export function blobPath(layoutDir: string, digest: string): string {
  return path.join(layoutDir, 'blobs', 'sha256', digestHex(digest));
}

/** Creates an empty OCI image layout (or leaves an existing one as it is). */
export async function initOciLayout(layoutDir: string): Promise<void> {
  await fs.promises.mkdir(path.join(layoutDir, 'blobs', 'sha256'), { recursive: true });
  if (!fs.existsSync(path.join(layoutDir, 'oci-layout')))
    await writeFileAtomic(path.join(layoutDir, 'oci-layout'), JSON.stringify(OCI_LAYOUT_FILE));
  if (!fs.existsSync(path.join(layoutDir, 'index.json'))) {
    await writeFileAtomic(
      path.join(layoutDir, 'index.json'),
      JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: [] }),
    );
  }
}

/** Stores bytes as a blob (temp file and rename; an existing blob is kept) and returns its descriptor. */
export async function writeBlob(layoutDir: string, data: Buffer, mediaType: string): Promise<Descriptor> {
  const digest = sha256Digest(data);
  const file = blobPath(layoutDir, digest);
  if (!fs.existsSync(file)) await writeFileAtomic(file, data);
  return { mediaType, digest, size: data.length };
}

/** Stores a JSON document as a blob, serialised canonically (no spaces) so equal objects give equal digests. */
export function writeJsonBlob(layoutDir: string, value: unknown, mediaType: string): Promise<Descriptor> {
  return writeBlob(layoutDir, Buffer.from(JSON.stringify(value)), mediaType);
}

/**
 * Copies a blob from one layout to another, by hard link when both are on
 * one file system (blobs are immutable, so sharing an inode is safe), else
 * by a streamed, digest-checked copy.
 */
export async function copyBlob(fromLayout: string, toLayout: string, descriptor: Descriptor): Promise<void> {
  const source = blobPath(fromLayout, descriptor.digest);
  const destination = blobPath(toLayout, descriptor.digest);
  if (fs.existsSync(destination) || path.resolve(source) === path.resolve(destination)) return;
  if (!fs.existsSync(source)) {
    throw new ImageBuilderError(
      'CORRUPT_LAYOUT',
      `The OCI layout ${fromLayout} lacks the blob ${descriptor.digest}.`,
      { details: { layout: fromLayout, digest: descriptor.digest } },
    );
  }
  const temp = tempPathBeside(destination);
  try {
    await fs.promises.link(source, temp);
  } catch {
    const hash = createHash('sha256');
    await pipeline(
      fs.createReadStream(source),
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          hash.update(chunk);
          yield chunk;
        }
      },
      fs.createWriteStream(temp),
    );
    if (`sha256:${hash.digest('hex')}` !== descriptor.digest) {
      await fs.promises.rm(temp, { force: true });
      throw new ImageBuilderError(
        'CORRUPT_LAYOUT',
        `The blob ${descriptor.digest} in ${fromLayout} does not match its digest.`,
        { category: 'check', details: { digest: descriptor.digest } },
      );
    }
  }
  await fs.promises.rename(temp, destination);
}

/** Reads a JSON blob and checks its digest and size against the descriptor. */
export async function readJsonBlob<T>(layoutDir: string, descriptor: Descriptor): Promise<T> {
  if (descriptor.size > MAX_JSON_BLOB_BYTES) {
    throw new ImageBuilderError(
      'CORRUPT_LAYOUT',
      `The JSON blob ${descriptor.digest} claims ${descriptor.size} bytes, more than the ${MAX_JSON_BLOB_BYTES} allowed.`,
    );
  }
  let data: Buffer;
  try {
    data = await fs.promises.readFile(blobPath(layoutDir, descriptor.digest));
  } catch (error) {
    throw new ImageBuilderError(
      'CORRUPT_LAYOUT',
      `The OCI layout ${layoutDir} lacks the blob ${descriptor.digest}.`,
      { cause: error, details: { digest: descriptor.digest } },
    );
  }
  if (sha256Digest(data) !== descriptor.digest) {
    throw new ImageBuilderError(
      'CORRUPT_LAYOUT',
      `The blob ${descriptor.digest} in ${layoutDir} does not match its digest.`,
      { category: 'check', details: { digest: descriptor.digest } },
    );
  }
  try {
    return JSON.parse(data.toString('utf8')) as T;
  } catch (error) {
    throw new ImageBuilderError(
      'CORRUPT_LAYOUT',
      `The blob ${descriptor.digest} in ${layoutDir} is not valid JSON.`,
      { cause: error },
    );
  }
}

/** The layout's index.json. */
export async function readIndex(layoutDir: string): Promise<ImageIndex> {
  let text: string;
  try {
    text = await fs.promises.readFile(path.join(layoutDir, 'index.json'), 'utf8');
  } catch (error) {
    throw new ImageBuilderError(
      'CORRUPT_LAYOUT',
      `${layoutDir} is not an OCI image layout: it has no index.json.`,
      { cause: error, details: { layout: layoutDir } },
    );
  }
  try {
    const index = JSON.parse(text) as ImageIndex;
    if (!Array.isArray(index.manifests)) throw new Error('manifests is not an array');
    return index;
  } catch (error) {
    throw new ImageBuilderError('CORRUPT_LAYOUT', `${layoutDir}/index.json is not a valid OCI index.`, {
      cause: error,
      details: { layout: layoutDir },
    });
  }
}

/**
 * Names a manifest in the layout's index.json with `ref.name` = tag,
 * replacing whatever the tag named before. The index is rewritten atomically.
 */
export async function tagManifest(layoutDir: string, manifest: Descriptor, tag: string): Promise<void> {
  const index = await readIndex(layoutDir);
  const manifests = index.manifests.filter((d) => d.annotations?.[REF_NAME_ANNOTATION] !== tag);
  manifests.push({ ...manifest, annotations: { ...manifest.annotations, [REF_NAME_ANNOTATION]: tag } });
  manifests.sort((a, b) =>
    (a.annotations?.[REF_NAME_ANNOTATION] ?? '').localeCompare(b.annotations?.[REF_NAME_ANNOTATION] ?? ''),
  );
  await writeFileAtomic(path.join(layoutDir, 'index.json'), JSON.stringify({ ...index, manifests }));
}

function pickPlatform(manifests: Descriptor[], architecture: string): Descriptor | undefined {
  return (
    manifests.find((d) => d.platform?.os === 'linux' && d.platform.architecture === architecture) ??
    (manifests.length === 1 ? manifests[0] : undefined)
  );
}

/** Maps Node's `process.arch` to the OCI architecture names (image-spec config.md, GOARCH values). */
export function ociArchitecture(arch: string = process.arch): string {
  return (
    (
      { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' } as Record<
        string,
        string
      >
    )[arch] ?? arch
  );
}

/**
 * Reads the image that `tag` names in the layout (or the only image, when no
 * tag is given), following an image index to this machine's platform.
 */
export async function readImageFromLayout(
  layoutDir: string,
  tag?: string,
  architecture = ociArchitecture(),
): Promise<ImageRecord> {
  const index = await readIndex(layoutDir);
  const candidates = tag
    ? index.manifests.filter((d) => d.annotations?.[REF_NAME_ANNOTATION] === tag)
    : index.manifests;
  if (candidates.length !== 1) {
    const names = index.manifests.map((d) => d.annotations?.[REF_NAME_ANNOTATION]).filter(Boolean);
    throw new ImageBuilderError(
      'INVALID_BASE',
      tag
        ? `The OCI layout ${layoutDir} has no image tagged ${tag}.`
        : `The OCI layout ${layoutDir} holds ${candidates.length} images; name one with :TAG.`,
      {
        details: { layout: layoutDir, tag, tags: names },
        hint: names.length ? `Tags there: ${names.join(', ')}.` : undefined,
      },
    );
  }
  let descriptor = candidates[0];
  if (
    descriptor.mediaType === MEDIA_TYPES.ociIndex ||
    descriptor.mediaType === MEDIA_TYPES.dockerManifestList
  ) {
    const nested = await readJsonBlob<ImageIndex>(layoutDir, descriptor);
    const chosen = pickPlatform(nested.manifests, architecture);
    if (!chosen)
      throw new ImageBuilderError(
        'INVALID_BASE',
        `The image index in ${layoutDir} has no linux/${architecture} image.`,
        { details: { layout: layoutDir } },
      );
    descriptor = chosen;
  }
  const manifest = await readJsonBlob<ImageManifest>(layoutDir, descriptor);
  if (!manifest.config || !Array.isArray(manifest.layers)) {
    throw new ImageBuilderError(
      'INVALID_BASE',
      `${descriptor.digest} in ${layoutDir} is not an image manifest.`,
      { details: { digest: descriptor.digest } },
    );
  }
  const config = await readJsonBlob<ImageConfig>(layoutDir, manifest.config);
  return {
    manifestDescriptor: {
      mediaType: descriptor.mediaType ?? manifest.mediaType,
      digest: descriptor.digest,
      size: descriptor.size,
    },
    manifest,
    config,
  };
}

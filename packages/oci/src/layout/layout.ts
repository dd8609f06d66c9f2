import fs from 'node:fs';
import path from 'node:path';
import type { Descriptor, ImageIndex } from '../descriptor.js';
import { digestHex, isValidDigest } from '../digest.js';
import { OciError } from '../errors.js';
import { writeFileAtomic } from '../fs/atomic.js';
import { ANNOTATION_REF_NAME, OCI_INDEX } from '../media-types.js';

// OCI image-spec image-layout.md: the `oci-layout` file marks the directory
// and names the layout version; `index.json` is an image index whose entries
// name manifests with the ref.name annotation; blobs live in blobs/<alg>/<hex>.
const LAYOUT_FILE = 'oci-layout';
const INDEX_FILE = 'index.json';
const LAYOUT_VERSION = '1.0.0';

/** The path of a blob inside a layout; the digest's form is checked first, so it cannot climb out. */
export function blobPath(layoutDir: string, digest: string): string {
  return path.join(layoutDir, 'blobs', 'sha256', digestHex(digest));
}

/**
 * Makes `layoutDir` an OCI image layout: creates it when missing, leaves an
 * existing layout as it is, and refuses a non-empty directory that is not
 * one (OUTPUT_EXISTS), so a typo never mixes blobs into someone's files.
 *
 * @example
 * await initLayout('./out/oci');
 */
export async function initLayout(layoutDir: string): Promise<void> {
  const marker = path.join(layoutDir, LAYOUT_FILE);
  if (!fs.existsSync(marker)) {
    const entries = await fs.promises.readdir(layoutDir).catch(() => []);
    if (entries.length > 0) {
      throw new OciError(
        'OUTPUT_EXISTS',
        `${layoutDir} exists, is not empty, and is not an OCI image layout.`,
        {
          hint: 'Name an empty or new directory, or an existing OCI layout.',
          details: { dir: layoutDir },
        },
      );
    }
  }
  await fs.promises.mkdir(path.join(layoutDir, 'blobs', 'sha256'), { recursive: true });
  // index.json first: a layout is recognised by oci-layout, and must be whole once it is.
  if (!fs.existsSync(path.join(layoutDir, INDEX_FILE)))
    await writeIndex(layoutDir, { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] });
  if (!fs.existsSync(marker))
    await writeFileAtomic(marker, JSON.stringify({ imageLayoutVersion: LAYOUT_VERSION }));
}

/** True when `dir` has an `oci-layout` file. */
export function isLayout(dir: string): boolean {
  return fs.existsSync(path.join(dir, LAYOUT_FILE));
}

function corrupt(layoutDir: string, why: string, cause?: unknown): OciError {
  return new OciError('CORRUPT_LAYOUT', `The OCI layout ${layoutDir} is damaged: ${why}.`, {
    cause,
    hint: 'Write the layout again from its source (alki publish --local, alki image build --oci-layout, skopeo copy).',
    details: { layout: layoutDir },
  });
}

function isDescriptor(value: unknown): value is Descriptor {
  const entry = value as Descriptor | undefined;
  return (
    typeof entry === 'object' &&
    entry !== null &&
    typeof entry.mediaType === 'string' &&
    typeof entry.digest === 'string' &&
    isValidDigest(entry.digest) &&
    Number.isSafeInteger(entry.size) &&
    entry.size >= 0
  );
}

/**
 * The layout's index.json, checked: NOT_FOUND when `layoutDir` is not a
 * layout at all, CORRUPT_LAYOUT when its index is missing, not JSON, or has
 * an entry that is not a sha256 descriptor.
 */
export async function readIndex(layoutDir: string): Promise<ImageIndex> {
  if (!isLayout(layoutDir)) {
    throw new OciError(
      'NOT_FOUND',
      `${layoutDir} is not an OCI image layout (it has no ${LAYOUT_FILE} file).`,
      {
        hint: 'Name a directory written by `alki publish --local`, `alki image ... --oci-layout` or `skopeo copy ... oci:DIR`.',
        details: { layout: layoutDir },
      },
    );
  }
  let text: string;
  try {
    text = await fs.promises.readFile(path.join(layoutDir, INDEX_FILE), 'utf8');
  } catch (error) {
    throw corrupt(layoutDir, `it has no readable ${INDEX_FILE}`, error);
  }
  let index: ImageIndex;
  try {
    index = JSON.parse(text) as ImageIndex;
  } catch (error) {
    throw corrupt(layoutDir, `${INDEX_FILE} is not JSON`, error);
  }
  if (typeof index !== 'object' || index === null || !Array.isArray(index.manifests))
    throw corrupt(layoutDir, `${INDEX_FILE} has no manifests list`);
  const bad = index.manifests.find((entry) => !isDescriptor(entry));
  if (bad !== undefined)
    throw corrupt(
      layoutDir,
      `${INDEX_FILE} lists ${JSON.stringify(bad).slice(0, 200)}, not a sha256 descriptor`,
    );
  return index;
}

// Entries sorted by ref.name (untagged ones first, in their order) with a
// code-unit comparison, not localeCompare, so every machine writes the same
// bytes; compact JSON, as skopeo and umoci write it.
async function writeIndex(layoutDir: string, index: ImageIndex): Promise<void> {
  const name = (entry: Descriptor) => entry.annotations?.[ANNOTATION_REF_NAME] ?? '';
  const manifests = [...index.manifests].sort((a, b) => (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : 0));
  await writeFileAtomic(path.join(layoutDir, INDEX_FILE), JSON.stringify({ ...index, manifests }));
}

/**
 * Names a manifest in the layout's index.json with ref.name = `tag`,
 * replacing whatever the tag named before. Every other entry, every
 * annotation and every other field of the index is kept; index.json is
 * rewritten atomically. Two processes tagging the same layout at once can
 * lose one tag (there is no lock), never corrupt the file.
 *
 * @example
 * await tagManifest('./out/oci', manifestDescriptor, 'v1.0.0');
 */
export async function tagManifest(layoutDir: string, manifest: Descriptor, tag: string): Promise<void> {
  const index = await readIndex(layoutDir);
  const manifests = index.manifests.filter((entry) => entry.annotations?.[ANNOTATION_REF_NAME] !== tag);
  manifests.push({ ...manifest, annotations: { ...manifest.annotations, [ANNOTATION_REF_NAME]: tag } });
  await writeIndex(layoutDir, { ...index, manifests });
}

/** The tags (ref.name annotations) of a layout, each once, in index order. */
export async function layoutTags(layoutDir: string): Promise<string[]> {
  const tags = (await readIndex(layoutDir)).manifests
    .map((entry) => entry.annotations?.[ANNOTATION_REF_NAME])
    .filter((tag): tag is string => Boolean(tag));
  return [...new Set(tags)];
}

/**
 * The index entry a tag or digest names, or undefined. A digest matches an
 * entry with that digest, tagged or not.
 */
export async function findInLayout(layoutDir: string, reference: string): Promise<Descriptor | undefined> {
  const { manifests } = await readIndex(layoutDir);
  return isValidDigest(reference)
    ? manifests.find((entry) => entry.digest === reference)
    : manifests.find((entry) => entry.annotations?.[ANNOTATION_REF_NAME] === reference);
}

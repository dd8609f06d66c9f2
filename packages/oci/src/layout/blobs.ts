import fs from 'node:fs';
import path from 'node:path';
import { MAX_MANIFEST_BYTES, type Descriptor } from '../descriptor.js';
import { DigestVerifier, sha256Digest } from '../digest.js';
import { OciError } from '../errors.js';
import { tempPathBeside, writeFileAtomic } from '../fs/atomic.js';
import { writeVerifiedFile, type VerifiedTransferOptions } from '../fs/verified-write.js';
import { blobPath } from './layout.js';

function missingBlob(layoutDir: string, digest: string, cause?: unknown): OciError {
  return new OciError('CORRUPT_LAYOUT', `The OCI layout ${layoutDir} lacks the blob ${digest}.`, {
    cause,
    hint: 'The layout is incomplete; write it again from its source.',
    details: { layout: layoutDir, digest },
  });
}

/** True when the layout holds a blob file of `size` bytes for `digest` (its bytes are not re-hashed). */
export async function hasLayoutBlob(layoutDir: string, digest: string, size?: number): Promise<boolean> {
  const info = await fs.promises.stat(blobPath(layoutDir, digest)).catch(() => undefined);
  return Boolean(info?.isFile() && (size === undefined || info.size === size));
}

/**
 * Stores bytes as a blob (temp file and rename; a blob already there is
 * kept, since a digest names its content) and returns its descriptor.
 *
 * @example
 * const config = await writeBlob('./oci', Buffer.from('{}'), 'application/vnd.oci.empty.v1+json');
 */
export async function writeBlob(layoutDir: string, data: Buffer, mediaType: string): Promise<Descriptor> {
  const descriptor = { mediaType, digest: sha256Digest(data), size: data.length };
  if (!(await hasLayoutBlob(layoutDir, descriptor.digest, descriptor.size)))
    await writeFileAtomic(blobPath(layoutDir, descriptor.digest), data);
  return descriptor;
}

/** Stores a JSON document as a blob, serialised compactly so equal objects give equal digests. */
export function writeJsonBlob(layoutDir: string, value: unknown, mediaType: string): Promise<Descriptor> {
  return writeBlob(layoutDir, Buffer.from(JSON.stringify(value)), mediaType);
}

/**
 * Streams bytes into the layout as the blob `expected` names, renamed into
 * place only when their digest and size match (DIGEST_MISMATCH or
 * SIZE_MISMATCH otherwise, and nothing is left behind). A blob already
 * present with the right size is not written again.
 */
export async function writeBlobFrom(
  layoutDir: string,
  source: AsyncIterable<Uint8Array>,
  expected: { digest: string; size: number },
  options: VerifiedTransferOptions = {},
): Promise<'written' | 'exists'> {
  if (await hasLayoutBlob(layoutDir, expected.digest, expected.size)) {
    options.onProgress?.(expected.size);
    return 'exists';
  }
  await writeVerifiedFile(
    source,
    expected,
    blobPath(layoutDir, expected.digest),
    `The blob ${expected.digest}`,
    options,
  );
  return 'written';
}

/**
 * Copies a blob from one layout to another, by hard link when both are on
 * one file system (blobs are immutable, so sharing an inode is safe), else
 * by a streamed, digest-checked copy.
 */
export async function copyBlob(fromLayout: string, toLayout: string, descriptor: Descriptor): Promise<void> {
  const source = blobPath(fromLayout, descriptor.digest);
  const destination = blobPath(toLayout, descriptor.digest);
  if (path.resolve(source) === path.resolve(destination)) return;
  if (await hasLayoutBlob(toLayout, descriptor.digest, descriptor.size)) return;
  if (!fs.existsSync(source)) throw missingBlob(fromLayout, descriptor.digest);
  const temp = tempPathBeside(destination);
  try {
    await fs.promises.link(source, temp);
    await fs.promises.rename(temp, destination);
  } catch {
    await fs.promises.rm(temp, { force: true });
    await copyBlobToFile(fromLayout, descriptor, destination);
  }
}

/**
 * Writes a layout's blob to `file` (temp file and rename), checked against
 * its descriptor's digest and size on the way.
 */
export async function copyBlobToFile(
  layoutDir: string,
  descriptor: Pick<Descriptor, 'digest' | 'size'>,
  file: string,
  options: VerifiedTransferOptions = {},
): Promise<void> {
  const source = blobPath(layoutDir, descriptor.digest);
  if (!fs.existsSync(source)) throw missingBlob(layoutDir, descriptor.digest);
  await writeVerifiedFile(
    fs.createReadStream(source, { highWaterMark: 1 << 20 }),
    descriptor,
    file,
    `The blob ${descriptor.digest} in ${layoutDir}`,
    options,
  );
}

/**
 * A small blob (a manifest, an index, a config) in memory, checked against
 * its descriptor's digest and size; refused unread when the descriptor
 * claims more than MAX_MANIFEST_BYTES.
 */
export async function readBlob(
  layoutDir: string,
  descriptor: Pick<Descriptor, 'digest' | 'size'>,
): Promise<Buffer> {
  if (descriptor.size > MAX_MANIFEST_BYTES) {
    throw new OciError(
      'INVALID_MANIFEST',
      `The blob ${descriptor.digest} in ${layoutDir} claims ${descriptor.size} bytes, more than the ${MAX_MANIFEST_BYTES} read into memory.`,
      { details: { layout: layoutDir, digest: descriptor.digest, size: descriptor.size } },
    );
  }
  let data: Buffer;
  try {
    data = await fs.promises.readFile(blobPath(layoutDir, descriptor.digest));
  } catch (error) {
    throw missingBlob(layoutDir, descriptor.digest, error);
  }
  const verifier = new DigestVerifier(descriptor, `The blob ${descriptor.digest} in ${layoutDir}`);
  verifier.update(data);
  verifier.finish();
  return data;
}

/** A JSON blob, read and checked as readBlob does, then parsed (INVALID_MANIFEST when it is not JSON). */
export async function readJsonBlob<T>(
  layoutDir: string,
  descriptor: Pick<Descriptor, 'digest' | 'size'>,
): Promise<T> {
  const data = await readBlob(layoutDir, descriptor);
  try {
    return JSON.parse(data.toString('utf8')) as T;
  } catch (error) {
    throw new OciError('INVALID_MANIFEST', `The blob ${descriptor.digest} in ${layoutDir} is not JSON.`, {
      cause: error,
      details: { layout: layoutDir, digest: descriptor.digest },
    });
  }
}

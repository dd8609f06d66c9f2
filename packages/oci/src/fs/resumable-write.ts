import fs from 'node:fs';
import path from 'node:path';
import { syncDirectory } from '@alki/gguf-reader';
import { DigestVerifier, sha256File } from '../digest.js';
import { abortedError, OciError } from '../errors.js';
import type { VerifiedTransferOptions } from './verified-write.js';

/** The fixed name partial bytes of `file` are kept under between calls. */
export function partialPathOf(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.partial`);
}

// The bytes already in a partial file, through the verifier, so the digest
// at the end covers them too. Hashing them again costs a local read, far
// less than fetching them.
async function hashExisting(partial: string, verifier: DigestVerifier, signal?: AbortSignal): Promise<void> {
  for await (const chunk of fs.createReadStream(partial, {
    highWaterMark: 4 << 20,
    signal,
  }) as AsyncIterable<Buffer>)
    verifier.update(chunk);
}

/**
 * Streams a blob into `file` so that an interrupted download, even one cut
 * by kill -9 or a power failure, goes on where it stopped at the next call:
 * bytes go to a partial file of fixed name beside `file`, a later call
 * hashes what is there and asks `open(offset)` for the rest only. When the
 * last byte matches the digest and size, the partial file is flushed to disk
 * and renamed to `file`. A partial file longer than the blob is discarded;
 * one whose bytes turn out wrong (a power cut can leave zeros at its end) is
 * discarded and the blob fetched once more from the start. Returns the byte
 * the download resumed from (0 for a fresh one). A `file` that already has
 * the blob's size was renamed there by an earlier call, after its check.
 *
 * @example
 * await writeResumableFile((from) => blobChunks(http, 'models/tiny', descriptor, undefined, from), descriptor, './model.gguf', 'model');
 */
export async function writeResumableFile(
  open: (offset: number) => AsyncIterable<Uint8Array>,
  expected: { digest: string; size: number },
  file: string,
  what: string,
  options: VerifiedTransferOptions = {},
): Promise<{ resumedFrom: number }> {
  const done = await fs.promises.stat(file).catch(() => undefined);
  if (done?.isFile() && done.size === expected.size) {
    const found = await sha256File(file, options.signal);
    if (found.digest === expected.digest) return { resumedFrom: expected.size };
  }
  const partial = partialPathOf(file);
  const existing = (await fs.promises.stat(partial).catch(() => undefined))?.size ?? 0;
  const resumedFrom = existing <= expected.size ? existing : 0;
  try {
    await transfer(open, expected, partial, what, resumedFrom, options);
  } catch (error) {
    if (
      resumedFrom === 0 ||
      !(error instanceof OciError) ||
      (error.code !== 'DIGEST_MISMATCH' && error.code !== 'SIZE_MISMATCH')
    )
      throw error;
    await transfer(open, expected, partial, what, 0, options);
  }
  await fs.promises.rename(partial, file);
  await syncDirectory(path.dirname(file));
  return { resumedFrom };
}

async function transfer(
  open: (offset: number) => AsyncIterable<Uint8Array>,
  expected: { digest: string; size: number },
  partial: string,
  what: string,
  offset: number,
  options: VerifiedTransferOptions,
): Promise<void> {
  const verifier = new DigestVerifier(expected, what);
  if (offset > 0) await hashExisting(partial, verifier, options.signal);
  const handle = await fs.promises.open(partial, offset > 0 ? 'r+' : 'w');
  try {
    // Anything past `offset` (a longer partial file) is cut off first.
    await handle.truncate(offset);
    let position = offset;
    options.onProgress?.(position);
    if (position < expected.size) {
      for await (const chunk of open(position)) {
        if (options.signal?.aborted) throw abortedError(options.signal);
        verifier.update(chunk);
        await handle.write(chunk, 0, chunk.length, position);
        position += chunk.length;
        options.onProgress?.(position);
      }
    }
    try {
      verifier.finish();
    } catch (error) {
      // Wrong bytes must not be resumed from: the next call starts over.
      await handle.truncate(0);
      throw error;
    }
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

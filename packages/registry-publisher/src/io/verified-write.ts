import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DigestVerifier } from '../digest.js';

export interface VerifiedTransferOptions {
  onProgress?: (bytes: number) => void;
  signal?: AbortSignal;
}

/** A temp path beside `file`, so the final rename stays on one file system and is atomic. */
export function tempPathBeside(file: string): string {
  return path.join(
    path.dirname(file),
    `.${path.basename(file)}.${process.pid}-${randomBytes(4).toString('hex')}.partial`,
  );
}

/** Writes bytes through a temp file and a rename: readers see the old file or the new one, never half. */
export async function writeAtomic(file: string, bytes: Buffer | string): Promise<void> {
  const temp = tempPathBeside(file);
  try {
    await fs.promises.writeFile(temp, bytes);
    await fs.promises.rename(temp, file);
  } catch (error) {
    await fs.promises.rm(temp, { force: true });
    throw error;
  }
}

/**
 * A pipeline stage that hashes and counts chunks as they pass and throws
 * DIGEST_MISMATCH or SIZE_MISMATCH after the last one.
 */
export function verifying(
  expected: { digest: string; size?: number },
  what: string,
  onProgress?: (bytes: number) => void,
) {
  return async function* (source: AsyncIterable<Uint8Array>) {
    const verifier = new DigestVerifier(expected, what);
    let done = 0;
    for await (const chunk of source) {
      verifier.update(chunk);
      done += chunk.length;
      onProgress?.(done);
      yield chunk;
    }
    verifier.finish();
  };
}

/**
 * Streams `source` into `file` through a temp file, renamed only when the
 * digest and size match. A plain loop with backpressure rather than
 * stream.pipeline: measured on fetch bodies here, about 1.5x faster.
 */
export async function writeVerifiedFile(
  source: AsyncIterable<Uint8Array>,
  expected: { digest: string; size?: number },
  file: string,
  what: string,
  options: VerifiedTransferOptions = {},
): Promise<void> {
  const temp = tempPathBeside(file);
  const out = fs.createWriteStream(temp);
  const failed = new Promise<never>((_resolve, reject) => out.once('error', reject));
  failed.catch(() => undefined);
  try {
    const verifier = new DigestVerifier(expected, what);
    let done = 0;
    for await (const chunk of source) {
      if (options.signal?.aborted) throw options.signal.reason;
      verifier.update(chunk);
      done += chunk.length;
      options.onProgress?.(done);
      if (!out.write(chunk))
        await Promise.race([new Promise<void>((resolve) => out.once('drain', () => resolve())), failed]);
    }
    verifier.finish();
    await Promise.race([new Promise<void>((resolve) => out.end(() => resolve())), failed]);
    await fs.promises.rename(temp, file);
  } catch (error) {
    out.destroy();
    await fs.promises.rm(temp, { force: true });
    throw error;
  }
}

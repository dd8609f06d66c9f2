import { createHash } from 'node:crypto';
import { constants, link, open, copyFile, type FileHandle } from 'node:fs/promises';
import { BundlerError } from '../errors.js';

/** Bytes per read: large enough that syscalls and hash calls stay cheap, small enough for fine progress. */
const CHUNK_BYTES = 8 * 1024 * 1024;

export interface HashedFile {
  sha256: string;
  size: number;
}

export interface HashOptions {
  signal?: AbortSignal;
  /** Called after each chunk with the bytes of this file done so far. */
  onBytes?: (done: number) => void;
}

/**
 * How a model file gets into the bundle:
 * - `stream`: read the source once, hashing each chunk while the previous one is written;
 * - `clone`: copyFile with COPYFILE_FICLONE (a reflink on btrfs/xfs, copy_file_range elsewhere), then hash the copy;
 * - `link`: a hard link (same file system only), then hash it.
 */
export type CopyStrategy = 'stream' | 'clone' | 'link';

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new BundlerError('ABORTED', 'The operation was interrupted; nothing was left half-written.', {
      cause: signal.reason,
    });
  }
}

async function writeAll(handle: FileHandle, chunk: Uint8Array, position: number): Promise<void> {
  let written = 0;
  while (written < chunk.length) {
    const { bytesWritten } = await handle.write(chunk, written, chunk.length - written, position + written);
    written += bytesWritten;
  }
}

/**
 * The SHA-256 and size of a file, read once in large chunks.
 *
 * @example
 * const { sha256, size } = await hashFile('models/tiny-q8_0.gguf');
 */
export async function hashFile(path: string, options: HashOptions = {}): Promise<HashedFile> {
  const handle = await open(path, 'r');
  try {
    const hash = createHash('sha256');
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    let size = 0;
    for (;;) {
      throwIfAborted(options.signal);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, size);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      size += bytesRead;
      options.onBytes?.(size);
    }
    return { sha256: hash.digest('hex'), size };
  } finally {
    await handle.close();
  }
}

// One pass over the source: chunk N is hashed on the main thread while chunk
// N-1 is written by the thread pool, so the copy costs about one read plus
// one write, and the hash hides behind the write.
async function streamCopyHashed(
  source: string,
  destination: string,
  options: HashOptions,
): Promise<HashedFile> {
  const input = await open(source, 'r');
  try {
    const output = await open(destination, 'wx');
    try {
      const hash = createHash('sha256');
      const buffers = [Buffer.allocUnsafe(CHUNK_BYTES), Buffer.allocUnsafe(CHUNK_BYTES)];
      let pendingWrite: Promise<void> = Promise.resolve();
      let size = 0;
      for (let index = 0; ; index++) {
        throwIfAborted(options.signal);
        const buffer = buffers[index % 2];
        const { bytesRead } = await input.read(buffer, 0, buffer.length, size);
        if (bytesRead === 0) break;
        const chunk = buffer.subarray(0, bytesRead);
        hash.update(chunk);
        await pendingWrite;
        pendingWrite = writeAll(output, chunk, size);
        size += bytesRead;
        options.onBytes?.(size);
      }
      await pendingWrite;
      return { sha256: hash.digest('hex'), size };
    } finally {
      await output.close();
    }
  } finally {
    await input.close();
  }
}

/**
 * Copies (or links) `source` to `destination`, which must not exist, and
 * returns the hash of what landed there.
 *
 * @example
 * const { sha256 } = await copyFileHashed('in.gguf', 'bundle/models/x.gguf', 'stream');
 */
export async function copyFileHashed(
  source: string,
  destination: string,
  strategy: CopyStrategy,
  options: HashOptions = {},
): Promise<HashedFile> {
  throwIfAborted(options.signal);
  switch (strategy) {
    case 'stream':
      return streamCopyHashed(source, destination, options);
    case 'clone':
      await copyFile(source, destination, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
      return hashFile(destination, options);
    case 'link':
      try {
        await link(source, destination);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'EMLINK') throw error;
        throw new BundlerError(
          'INVALID_INPUT',
          `--link cannot hard-link ${source} into the bundle (${code}): ${code === 'EXDEV' ? 'they are on different file systems' : 'the file system refuses'}.`,
          {
            hint: 'Put --out on the same file system as the model, or leave out --link to copy it.',
            details: { source, destination, code },
            cause: error,
          },
        );
      }
      return hashFile(destination, options);
  }
}

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { blobPath, OCI_LAYER, OCI_LAYER_GZIP, tempPathBeside, type Descriptor } from '@alki/oci';
import type { TarEntry } from '../tar/tar-header.js';
import { writeTar } from '../tar/write-tar.js';

export type LayerCompression = 'gzip' | 'none';

export interface WriteLayerOptions {
  /** mtime for every entry, in seconds since the epoch. */
  mtime: number;
  /**
   * gzip (the default) is what every client accepts; `none` skips the
   * compression, which barely shrinks quantized weights, for faster builds.
   */
  compression?: LayerCompression;
  signal?: AbortSignal;
  /** Called with the uncompressed bytes written so far. */
  onProgress?: (bytes: number) => void;
}

export interface WrittenLayer {
  descriptor: Descriptor;
  /** sha256 of the uncompressed tar: the config's rootfs.diff_ids entry. */
  diffId: string;
}

function hashing(hash: ReturnType<typeof createHash>, onBytes?: (total: number) => void) {
  let total = 0;
  return async function* (chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of chunks) {
      hash.update(chunk);
      total += chunk.length;
      onBytes?.(total);
      yield chunk;
    }
  };
}

/**
 * Writes a deterministic layer blob into an OCI layout in one pass: tar,
 * hash (diff id), compress, hash again (digest), to a temp file that is
 * renamed to its digest. An interrupted write leaves no blob behind.
 *
 * @example
 * const layer = await writeLayer('/tmp/layout', [{ type: 'file', path: 'etc/motd', size: 3, content: { kind: 'buffer', data: Buffer.from('hi\n') } }], { mtime: 0 });
 */
export async function writeLayer(
  layoutDir: string,
  entries: TarEntry[],
  options: WriteLayerOptions,
): Promise<WrittenLayer> {
  const compression = options.compression ?? 'gzip';
  const diffHash = createHash('sha256');
  const blobHash = createHash('sha256');
  const temp = tempPathBeside(blobPath(layoutDir, `sha256:${'0'.repeat(64)}`));
  let size = 0;
  // Counts the blob's bytes, and hashes them when they differ from the tar's.
  const counting = (hash?: ReturnType<typeof createHash>) =>
    async function* (chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
      for await (const chunk of chunks) {
        size += chunk.length;
        hash?.update(chunk);
        yield chunk;
      }
    };
  try {
    const tar = Readable.from(writeTar(entries, { mtime: options.mtime, signal: options.signal }));
    const blobFile = fs.createWriteStream(temp, { highWaterMark: 4 << 20 });
    if (compression === 'gzip') {
      // Level 1: model weights hardly compress, and speed matters more here
      // than the last percent. zlib's gzip header has mtime 0, so output is stable.
      await pipeline(
        tar,
        hashing(diffHash, options.onProgress),
        zlib.createGzip({ level: 1 }),
        counting(blobHash),
        blobFile,
        { signal: options.signal },
      );
    } else {
      // Uncompressed, the blob is the tar itself: one hash is both digest and diff id.
      await pipeline(tar, hashing(diffHash, options.onProgress), counting(), blobFile, {
        signal: options.signal,
      });
    }
    const diffId = `sha256:${diffHash.digest('hex')}`;
    const digest = compression === 'gzip' ? `sha256:${blobHash.digest('hex')}` : diffId;
    await fs.promises.rename(temp, blobPath(layoutDir, digest));
    return {
      descriptor: {
        mediaType: compression === 'gzip' ? OCI_LAYER_GZIP : OCI_LAYER,
        digest,
        size,
      },
      diffId,
    };
  } catch (error) {
    await fs.promises.rm(temp, { force: true });
    throw error;
  }
}

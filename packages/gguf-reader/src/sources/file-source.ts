import fs from 'node:fs';
import { describeSystemError } from '@alki/errors';
import { GgufError } from '../errors.js';
import type { ByteSource } from '../types.js';

/** Turns a Node file-system error into a GgufError that names the path. */
export function fileSystemError(error: unknown, path: string, doing: string): GgufError {
  const system = describeSystemError(error);
  if (system) {
    const failed = doing === 'open' || doing === 'read' ? 'READ_FAILED' : 'WRITE_FAILED';
    const code =
      system.code === 'ENOENT' ? 'NOT_FOUND' : system.category === 'input' ? 'INVALID_INPUT' : failed;
    return new GgufError(code, `Cannot ${doing} ${path}: ${system.message}.`, {
      category: system.category,
      cause: error,
      details: { path },
    });
  }
  return new GgufError(
    doing === 'open' || doing === 'read' ? 'READ_FAILED' : 'WRITE_FAILED',
    `Cannot ${doing} ${path}: ${(error as Error)?.message ?? String(error)}.`,
    { category: 'environment', cause: error, details: { path } },
  );
}

/**
 * Opens a file for reading only if it is a regular file. The open does not
 * block (O_NONBLOCK: a FIFO without a writer would otherwise hang the open in
 * the kernel, and a worker thread with it), and the type is checked on the
 * opened descriptor, so a file swapped for a FIFO after a `stat` cannot hang
 * either. O_NONBLOCK has no effect on reads of a regular file.
 *
 * @example
 * const handle = await openRegularFile('model.safetensors');
 */
export async function openRegularFile(path: string): Promise<fs.promises.FileHandle> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (error) {
    throw fileSystemError(error, path, 'open');
  }
  let stat: fs.Stats;
  try {
    stat = await handle.stat();
  } catch (error) {
    await handle.close();
    throw fileSystemError(error, path, 'read');
  }
  if (!stat.isFile()) {
    await handle.close();
    throw new GgufError('INVALID_INPUT', `${path} is ${specialFileKind(stat)}, not a regular file.`, {
      category: 'input',
      details: { path },
    });
  }
  return handle;
}

/** Names the kind of a file that is not a regular file, for an error message: "a named pipe (FIFO)", "a socket"... */
export function specialFileKind(
  stat: Pick<fs.Stats, 'isFIFO' | 'isSocket' | 'isCharacterDevice' | 'isDirectory'>,
): string {
  if (stat.isFIFO()) return 'a named pipe (FIFO)';
  if (stat.isSocket()) return 'a socket';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isDirectory()) return 'a directory';
  return 'a block device';
}

/**
 * A source over a local file, read with positioned reads: only the bytes
 * asked for are read, so tensor data stays on disk. Call `close()` when done.
 *
 * @example
 * const source = await fileSource('model.gguf');
 * try { console.log((await readGguf(source)).tensors.length); } finally { await source.close?.(); }
 */
export async function fileSource(path: string): Promise<ByteSource> {
  const handle = await openRegularFile(path);
  let size: number;
  try {
    size = (await handle.stat()).size;
  } catch (error) {
    await handle.close();
    throw fileSystemError(error, path, 'read');
  }
  return {
    size,
    async read(offset, length) {
      const wanted = Math.max(0, Math.min(length, size - offset));
      const bytes = Buffer.allocUnsafe(wanted);
      let filled = 0;
      try {
        while (filled < wanted) {
          const { bytesRead } = await handle.read(bytes, filled, wanted - filled, offset + filled);
          if (bytesRead === 0) break;
          filled += bytesRead;
        }
      } catch (error) {
        throw fileSystemError(error, path, 'read');
      }
      return filled === wanted ? bytes : bytes.subarray(0, filled);
    },
    close: () => handle.close(),
  };
}

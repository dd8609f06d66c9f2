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
 * A source over a local file, read with positioned reads: only the bytes
 * asked for are read, so tensor data stays on disk. Call `close()` when done.
 *
 * @example
 * const source = await fileSource('model.gguf');
 * try { console.log((await readGguf(source)).tensors.length); } finally { await source.close?.(); }
 */
export async function fileSource(path: string): Promise<ByteSource> {
  let handle: fs.promises.FileHandle;
  let size: number;
  try {
    handle = await fs.promises.open(path, 'r');
  } catch (error) {
    throw fileSystemError(error, path, 'open');
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile())
      throw new GgufError('INVALID_INPUT', `${path} is not a regular file.`, {
        category: 'input',
        details: { path },
      });
    size = stat.size;
  } catch (error) {
    await handle.close();
    throw error instanceof GgufError ? error : fileSystemError(error, path, 'read');
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

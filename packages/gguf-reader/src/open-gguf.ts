import { readGguf, type ReadGgufOptions } from './read-gguf.js';
import { bufferSource } from './sources/buffer-source.js';
import { fileSource } from './sources/file-source.js';
import type { ByteSource, GgufFile } from './types.js';

/**
 * Opens the right source for a path or bytes.
 *
 * @example
 * const source = await openSource('model.gguf');
 */
export async function openSource(input: string | Uint8Array): Promise<ByteSource> {
  if (typeof input !== 'string') return bufferSource(input);
  return fileSource(input);
}

/**
 * Reads the header of a GGUF file path or in-memory bytes, and closes what
 * it opened. Use `fileSource` + `readGguf` to read tensor data as well.
 *
 * @example
 * const file = await openGguf('model.gguf');
 * console.log(file.tensors.length, getMetadata(file, 'general.name'));
 */
export async function openGguf(input: string | Uint8Array, options: ReadGgufOptions = {}): Promise<GgufFile> {
  const source = await openSource(input);
  try {
    return await readGguf(source, options);
  } finally {
    await source.close?.();
  }
}

import { readGguf, type ReadGgufOptions } from './read-gguf.js';
import { bufferSource } from './sources/buffer-source.js';
import { fileSource } from './sources/file-source.js';
import { httpSource, type HttpSourceOptions } from './sources/http-source.js';
import type { ByteSource, GgufFile } from './types.js';

export interface OpenGgufOptions extends ReadGgufOptions, Omit<HttpSourceOptions, 'signal'> {}

/**
 * True for http:// and https:// locations.
 *
 * @example
 * isUrl('https://huggingface.co/org/repo/resolve/main/model.gguf'); // true
 */
export function isUrl(location: string): boolean {
  return /^https?:\/\//i.test(location);
}

/**
 * Opens the right source for a local path, an http(s) URL or bytes.
 *
 * @example
 * const source = await openSource('https://example.com/model.gguf', { headers: { authorization: 'Bearer x' } });
 */
export async function openSource(
  input: string | Uint8Array,
  options: OpenGgufOptions = {},
): Promise<ByteSource> {
  if (typeof input !== 'string') return bufferSource(input);
  if (isUrl(input)) return httpSource(input, options);
  return fileSource(input);
}

/**
 * Reads the header of one GGUF (a path, a URL or bytes) and closes what it
 * opened. Use `openGgufModel` for split models, and `fileSource` +
 * `readGguf` to read tensor data as well.
 *
 * @example
 * const file = await openGguf('model.gguf');
 * console.log(file.tensors.length, getMetadata(file, 'general.name'));
 */
export async function openGguf(input: string | Uint8Array, options: OpenGgufOptions = {}): Promise<GgufFile> {
  const source = await openSource(input, options);
  try {
    return await readGguf(source, options);
  } finally {
    await source.close?.();
  }
}

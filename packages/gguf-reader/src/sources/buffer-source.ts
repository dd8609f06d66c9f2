import type { ByteSource } from '../types.js';

/**
 * A source over bytes already in memory. Reads return views, not copies.
 *
 * @example
 * const file = await readGguf(bufferSource(await fs.promises.readFile('model.gguf')));
 */
export function bufferSource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    read: (offset, length) =>
      Promise.resolve(
        bytes.subarray(Math.min(offset, bytes.length), Math.min(offset + length, bytes.length)),
      ),
  };
}

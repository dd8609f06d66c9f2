import { structuralError } from './errors.js';
import type { ByteSource, GgufFile, GgufTensorInfo } from './types.js';

/**
 * Reads one tensor's raw bytes (as stored: quantized blocks, file byte order).
 *
 * @example
 * const tensor = file.tensors.find((t) => t.name === 'token_embd.weight')!;
 * const bytes = await readTensorData(source, file, tensor);
 */
export async function readTensorData(
  source: ByteSource,
  file: Pick<GgufFile, 'dataOffset'>,
  tensor: GgufTensorInfo,
): Promise<Uint8Array> {
  const start = file.dataOffset + tensor.offset;
  const bytes = await source.read(start, tensor.byteSize);
  if (bytes.length !== tensor.byteSize) {
    throw structuralError(
      'DATA_PAST_END',
      start + bytes.length,
      `The data of tensor "${tensor.name}" is cut short: ${bytes.length} of ${tensor.byteSize} bytes`,
      {
        name: tensor.name,
      },
    );
  }
  return bytes;
}

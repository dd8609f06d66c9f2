import {
  GgufValueType,
  type GgufArray,
  type GgufFile,
  type GgufMetadataEntry,
  type GgufValue,
} from './types.js';

/**
 * The value of a metadata key, or undefined when the file does not have it.
 * Arrays come back as `{ itemType, items }`.
 *
 * @example
 * const arch = getMetadata(file, 'general.architecture'); // 'llama'
 */
export function getMetadata(file: Pick<GgufFile, 'metadata'>, key: string): GgufValue | undefined {
  for (const entry of file.metadata) if (entry.key === key) return entry.value;
  return undefined;
}

/**
 * A nested array value, for arrays of arrays.
 *
 * @example
 * ggufEntry.array('k', GgufValueType.ARRAY, [ggufArray(GgufValueType.INT32, [1, 2])]);
 */
export function ggufArray(itemType: GgufValueType, items: GgufValue[]): GgufArray {
  return { itemType, items };
}

/**
 * Builders for metadata entries with their exact GGUF type, for the writer.
 *
 * @example
 * const metadata = [
 *   ggufEntry.string('general.architecture', 'llama'),
 *   ggufEntry.uint32('llama.block_count', 2),
 *   ggufEntry.array('tokenizer.ggml.tokens', GgufValueType.STRING, ['a', 'b']),
 * ];
 */
export const ggufEntry = {
  uint8: (key: string, value: number): GgufMetadataEntry => ({ key, type: GgufValueType.UINT8, value }),
  int8: (key: string, value: number): GgufMetadataEntry => ({ key, type: GgufValueType.INT8, value }),
  uint16: (key: string, value: number): GgufMetadataEntry => ({ key, type: GgufValueType.UINT16, value }),
  int16: (key: string, value: number): GgufMetadataEntry => ({ key, type: GgufValueType.INT16, value }),
  uint32: (key: string, value: number): GgufMetadataEntry => ({ key, type: GgufValueType.UINT32, value }),
  int32: (key: string, value: number): GgufMetadataEntry => ({ key, type: GgufValueType.INT32, value }),
  float32: (key: string, value: number): GgufMetadataEntry => ({ key, type: GgufValueType.FLOAT32, value }),
  float64: (key: string, value: number): GgufMetadataEntry => ({ key, type: GgufValueType.FLOAT64, value }),
  bool: (key: string, value: boolean): GgufMetadataEntry => ({ key, type: GgufValueType.BOOL, value }),
  string: (key: string, value: string): GgufMetadataEntry => ({ key, type: GgufValueType.STRING, value }),
  uint64: (key: string, value: bigint | number): GgufMetadataEntry => ({
    key,
    type: GgufValueType.UINT64,
    value: BigInt(value),
  }),
  int64: (key: string, value: bigint | number): GgufMetadataEntry => ({
    key,
    type: GgufValueType.INT64,
    value: BigInt(value),
  }),
  array: (key: string, itemType: GgufValueType, items: GgufValue[]): GgufMetadataEntry => ({
    key,
    type: GgufValueType.ARRAY,
    value: { itemType, items },
  }),
};

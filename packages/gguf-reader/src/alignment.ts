import { GgufError } from './errors.js';
import { GgufValueType, type GgufMetadataEntry } from './types.js';
import { valueText } from './value-types.js';

/** ggml/include/gguf.h GGUF_DEFAULT_ALIGNMENT. */
export const DEFAULT_ALIGNMENT = 32;
/** ggml/include/gguf.h GGUF_KEY_GENERAL_ALIGNMENT. */
export const ALIGNMENT_KEY = 'general.alignment';

export function alignUp(offset: number, alignment: number): number {
  return Math.ceil(offset / alignment) * alignment;
}

export function isPowerOfTwo(value: number): boolean {
  return Number.isInteger(value) && value > 0 && value <= 0xffffffff && (value & (value - 1)) === 0;
}

/**
 * The alignment of tensor data in a file with this metadata:
 * general.alignment, or 32. Like gguf.cpp, only a power-of-two uint32 is valid.
 */
export function alignmentFromMetadata(metadata: readonly GgufMetadataEntry[]): number {
  const entry = metadata.find((e) => e.key === ALIGNMENT_KEY);
  if (!entry) return DEFAULT_ALIGNMENT;
  const value = entry.value;
  if (entry.type !== GgufValueType.UINT32 || typeof value !== 'number' || !isPowerOfTwo(value)) {
    throw new GgufError(
      'BAD_ALIGNMENT',
      `general.alignment must be a power-of-two uint32, got ${valueText(value)}.`,
      {
        details: { alignment: valueText(value) },
      },
    );
  }
  return value;
}

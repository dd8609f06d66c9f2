import { ConverterError } from '../errors.js';
import { SAFETENSORS_DTYPE_SIZES, isSafetensorsDtype, type SafetensorsDtype } from './dtypes.js';

// The safetensors crate refuses headers above 100 MB (MAX_HEADER_SIZE in
// safetensors/src/tensor.rs): a bigger length is a corrupt or hostile file,
// and trusting it would allocate that much memory before any check.
export const MAX_SAFETENSORS_HEADER_BYTES = 100_000_000;

/** One tensor described by a safetensors header. */
export interface SafetensorsTensorInfo {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Absolute byte offset of the data in the file. */
  offset: number;
  byteLength: number;
}

/** A parsed and validated safetensors header. */
export interface SafetensorsHeader {
  /** Tensors in data order (ascending offset). */
  tensors: SafetensorsTensorInfo[];
  /** The free-form `__metadata__` string map. */
  metadata: Record<string, string>;
  /** Absolute offset where the data section starts (8 + header length). */
  dataOffset: number;
  /** Bytes of tensor data (the data section's length). */
  dataLength: number;
}

function bad(message: string, details: Record<string, unknown> = {}): ConverterError {
  return new ConverterError('BAD_SAFETENSORS', message, {
    details,
    hint: 'The file is corrupt or not a safetensors file; download it again.',
  });
}

function isNonNegativeIntegers(value: unknown): value is number[] {
  return (
    Array.isArray(value) &&
    value.every((n: unknown) => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0)
  );
}

/** Reads the little-endian u64 header length from the first 8 bytes. */
export function parseSafetensorsHeaderLength(prefix: Uint8Array): number {
  if (prefix.byteLength < 8) throw bad('The file is shorter than the 8-byte safetensors header length.');
  const length = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (length > BigInt(MAX_SAFETENSORS_HEADER_BYTES)) {
    throw bad(
      `The safetensors header claims ${length} bytes, above the ${MAX_SAFETENSORS_HEADER_BYTES}-byte limit.`,
      { headerLength: length.toString() },
    );
  }
  return Number(length);
}

/**
 * Parses and validates a safetensors JSON header: every dtype is known, every
 * shape's element count times the dtype size equals its byte range, and the
 * ranges tile the data section exactly (contiguous, no overlap, no gap), as
 * the safetensors crate's `validate` requires.
 *
 * @param json the header bytes (without the 8-byte length prefix)
 * @param fileSize when given, the data section must end exactly at the end of the file
 */
export function parseSafetensorsHeader(json: Uint8Array, fileSize?: number): SafetensorsHeader {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json));
  } catch (cause) {
    throw bad(`The safetensors header is not valid UTF-8 JSON: ${(cause as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw bad('The safetensors header is not a JSON object.');
  const dataOffset = 8 + json.byteLength;
  let metadata: Record<string, string> = {};
  const ranged: Array<SafetensorsTensorInfo & { begin: number }> = [];
  for (const [name, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (
        !value ||
        typeof value !== 'object' ||
        Array.isArray(value) ||
        Object.values(value).some((v) => typeof v !== 'string')
      ) {
        throw bad('The safetensors `__metadata__` is not a map of strings.');
      }
      metadata = value as Record<string, string>;
      continue;
    }
    const entry = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (!entry || typeof entry !== 'object')
      throw bad(`Tensor ${name} has no description.`, { tensor: name });
    if (!isSafetensorsDtype(entry.dtype))
      throw bad(`Tensor ${name} has an unknown dtype ${JSON.stringify(entry.dtype)}.`, { tensor: name });
    const shape = entry.shape;
    if (!isNonNegativeIntegers(shape)) {
      throw bad(`Tensor ${name} has an invalid shape ${JSON.stringify(shape)}.`, { tensor: name });
    }
    const offsets = entry.data_offsets;
    if (!isNonNegativeIntegers(offsets) || offsets.length !== 2 || offsets[1] < offsets[0]) {
      throw bad(`Tensor ${name} has invalid data_offsets ${JSON.stringify(offsets)}.`, { tensor: name });
    }
    const elements = shape.reduce((a, b) => a * b, 1);
    const byteLength = elements * SAFETENSORS_DTYPE_SIZES[entry.dtype];
    if (!Number.isSafeInteger(byteLength) || byteLength !== offsets[1] - offsets[0]) {
      throw bad(
        `Tensor ${name}: shape ${JSON.stringify(shape)} of ${entry.dtype} needs ${byteLength} bytes, but its data_offsets span ${offsets[1] - offsets[0]}.`,
        {
          tensor: name,
        },
      );
    }
    ranged.push({
      name,
      dtype: entry.dtype,
      shape,
      offset: dataOffset + offsets[0],
      byteLength,
      begin: offsets[0],
    });
  }
  ranged.sort((a, b) => a.begin - b.begin || a.byteLength - b.byteLength);
  let expected = 0;
  for (const tensor of ranged) {
    if (tensor.begin !== expected) {
      throw bad(
        `Tensor ${tensor.name} starts at data offset ${tensor.begin}, but the previous tensor ends at ${expected}: the data ranges must be contiguous.`,
        {
          tensor: tensor.name,
        },
      );
    }
    expected += tensor.byteLength;
  }
  if (fileSize !== undefined && dataOffset + expected !== fileSize) {
    throw bad(
      `The tensors end at byte ${dataOffset + expected}, but the file has ${fileSize} bytes (truncated or padded).`,
      { fileSize, expectedSize: dataOffset + expected },
    );
  }
  return {
    tensors: ranged.map(({ begin: _begin, ...tensor }) => tensor),
    metadata,
    dataOffset,
    dataLength: expected,
  };
}

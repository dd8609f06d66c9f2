import { AlkiError, type AlkiErrorOptions, type ErrorCategory } from '@alki/errors';

/**
 * Every failure of @alki/gguf-reader. Structural codes carry the byte offset
 * of the problem in `details.offset`.
 */
export type GgufErrorCode =
  /** The first four bytes are not "GGUF". */
  | 'BAD_MAGIC'
  /** A version other than 2 or 3 (version 1 used 32-bit counts and is long retired). */
  | 'UNSUPPORTED_VERSION'
  /** The source ended inside a structure. */
  | 'TRUNCATED'
  /** A count or length is larger than the rest of the file could hold, or than a named limit. */
  | 'COUNT_TOO_LARGE'
  /** A string is not valid UTF-8. */
  | 'INVALID_UTF8'
  /** A metadata value type id outside 0..12. */
  | 'UNKNOWN_VALUE_TYPE'
  /** A tensor type id that llama.cpp does not know (or has retired). */
  | 'UNKNOWN_TENSOR_TYPE'
  /** A value that its type cannot hold (a bool byte other than 0/1, an out-of-range integer when writing). */
  | 'INVALID_VALUE'
  /** The same metadata key twice. */
  | 'DUPLICATE_KEY'
  /** A metadata key of zero bytes (gguf.cpp refuses it). */
  | 'EMPTY_KEY'
  /** `general.alignment` is not a power-of-two uint32. */
  | 'BAD_ALIGNMENT'
  /** Arrays nested deeper than MAX_ARRAY_NESTING. */
  | 'NESTING_TOO_DEEP'
  /** A tensor name over MAX_TENSOR_NAME_BYTES. */
  | 'NAME_TOO_LONG'
  /** An empty tensor name, or one with a NUL byte (ggml would cut the name there). */
  | 'BAD_TENSOR_NAME'
  /** Two tensors with the same name. */
  | 'DUPLICATE_TENSOR'
  /** Too many dimensions, a negative or huge dimension, or a row length not divisible by the type's block size. */
  | 'BAD_DIMENSIONS'
  /** A tensor with a dimension of zero: no elements, no data. */
  | 'ZERO_DIMENSION'
  /** A tensor's data offset is not a multiple of the alignment. */
  | 'MISALIGNED_TENSOR'
  /** Two tensors' data ranges overlap. */
  | 'OVERLAPPING_TENSORS'
  /** A tensor's data does not start where the previous one ends (padded): gguf.cpp needs them packed in order. */
  | 'TENSOR_DATA_GAP'
  /** A tensor's data runs past the end of the file. */
  | 'DATA_PAST_END'
  /** The shards of a split model do not fit together. */
  | 'SPLIT_MISMATCH'
  /** A file, URL or tensor that does not exist. */
  | 'NOT_FOUND'
  /** An HTTP request failed or was refused. */
  | 'HTTP_ERROR'
  /** The server ignores range requests for a file too large to download whole. */
  | 'RANGE_NOT_SUPPORTED'
  /** Writer misuse: bad arguments, more or less data than the tensors need. */
  | 'INVALID_INPUT'
  /** Reading the input failed (permission denied, I/O error). */
  | 'READ_FAILED'
  /** Writing the output failed (disk full, permission denied). */
  | 'WRITE_FAILED'
  /** The output appeared while it was written, and the writer may not replace it. */
  | 'OUTPUT_EXISTS';

/** The category each code has unless a call site says otherwise. */
const CATEGORIES: Record<GgufErrorCode, ErrorCategory> = {
  BAD_MAGIC: 'input',
  UNSUPPORTED_VERSION: 'input',
  TRUNCATED: 'input',
  COUNT_TOO_LARGE: 'input',
  INVALID_UTF8: 'input',
  UNKNOWN_VALUE_TYPE: 'input',
  UNKNOWN_TENSOR_TYPE: 'input',
  INVALID_VALUE: 'input',
  DUPLICATE_KEY: 'input',
  EMPTY_KEY: 'input',
  BAD_ALIGNMENT: 'input',
  NESTING_TOO_DEEP: 'input',
  NAME_TOO_LONG: 'input',
  BAD_TENSOR_NAME: 'input',
  DUPLICATE_TENSOR: 'input',
  BAD_DIMENSIONS: 'input',
  ZERO_DIMENSION: 'input',
  MISALIGNED_TENSOR: 'input',
  OVERLAPPING_TENSORS: 'input',
  TENSOR_DATA_GAP: 'input',
  DATA_PAST_END: 'input',
  SPLIT_MISMATCH: 'input',
  NOT_FOUND: 'input',
  HTTP_ERROR: 'network',
  RANGE_NOT_SUPPORTED: 'network',
  INVALID_INPUT: 'usage',
  READ_FAILED: 'input',
  WRITE_FAILED: 'input',
  OUTPUT_EXISTS: 'usage',
};

/** The one error class of @alki/gguf-reader. */
export class GgufError extends AlkiError<GgufErrorCode> {
  constructor(code: GgufErrorCode, message: string, options: AlkiErrorOptions = {}) {
    super(code, message, { ...options, category: options.category ?? CATEGORIES[code] });
  }
}

/** A structural error at a byte offset, with the offset in the sentence and in details. */
export function structuralError(
  code: GgufErrorCode,
  offset: number,
  message: string,
  details: Record<string, unknown> = {},
): GgufError {
  return new GgufError(code, `${message} (at byte ${offset})`, {
    category: 'input',
    details: { offset, ...details },
    hint: 'The file is not a valid GGUF: it may be truncated or damaged; download or convert it again.',
  });
}

import { AlkiError, type AlkiErrorOptions, type ErrorCategory } from '@alki/errors';

/** Every failure of @alki/converter, as a string-literal code. */
export type ConverterErrorCode =
  /** The input folder is missing, unreadable, or not a Hugging Face checkpoint. */
  | 'INVALID_INPUT'
  /** Only pickle (`pytorch_model*.bin`) weights: refused, never unpickled. */
  | 'PICKLE_ONLY'
  /** A safetensors file's header is malformed, inconsistent or truncated. */
  | 'BAD_SAFETENSORS'
  /** `config.json` is missing a field the architecture needs, or has a bad value. */
  | 'BAD_CONFIG'
  /** `architectures[0]` names no registered architecture module. */
  | 'UNSUPPORTED_ARCHITECTURE'
  /** A tensor the architecture needs is missing, or one is left unmapped. */
  | 'TENSOR_MISMATCH'
  /** A tensor dtype the converter cannot read (only F32, F16, BF16 are). */
  | 'UNSUPPORTED_DTYPE'
  /** The tokenizer files are missing, malformed or of an unsupported kind. */
  | 'BAD_TOKENIZER'
  /** The BPE pre-tokenizer's check-text hash is not in the known table. */
  | 'UNKNOWN_PRE_TOKENIZER'
  /** The requested output type is not one the converter writes. */
  | 'UNSUPPORTED_OUTTYPE'
  /** The output file exists and `force` was not given. */
  | 'OUTPUT_EXISTS'
  /** No output path was given (and it is not a dry run). */
  | 'NO_OUTPUT'
  /** Writing the output failed (disk full, permission denied). */
  | 'WRITE_FAILED'
  /** The conversion was cancelled through its AbortSignal. */
  | 'ABORTED';

/** The category each code has unless a call site says otherwise. */
const CATEGORIES: Record<ConverterErrorCode, ErrorCategory> = {
  INVALID_INPUT: 'input',
  PICKLE_ONLY: 'input',
  BAD_SAFETENSORS: 'input',
  BAD_CONFIG: 'input',
  UNSUPPORTED_ARCHITECTURE: 'input',
  TENSOR_MISMATCH: 'input',
  UNSUPPORTED_DTYPE: 'input',
  BAD_TOKENIZER: 'input',
  UNKNOWN_PRE_TOKENIZER: 'input',
  UNSUPPORTED_OUTTYPE: 'usage',
  OUTPUT_EXISTS: 'usage',
  NO_OUTPUT: 'usage',
  WRITE_FAILED: 'input',
  ABORTED: 'internal',
};

/** The one error class of @alki/converter. */
export class ConverterError extends AlkiError<ConverterErrorCode> {
  constructor(code: ConverterErrorCode, message: string, options: AlkiErrorOptions = {}) {
    super(code, message, { ...options, category: options.category ?? CATEGORIES[code] });
  }
}

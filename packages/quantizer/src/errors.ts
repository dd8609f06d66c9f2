import { AlkiError, type AlkiErrorOptions, type ErrorCategory } from '@alki/errors';

/** Every failure of @alki/quantizer, as a string-literal code. */
export type QuantizerErrorCode =
  /** The input GGUF cannot be quantized as asked (not a model, bad shapes). */
  | 'INVALID_INPUT'
  /** A mix, type or --tensor-type option is not one Alki knows. */
  | 'UNKNOWN_TYPE'
  /** The input is already quantized and requantizing was not allowed. */
  | 'REQUANTIZE_REFUSED'
  /** A tensor holds NaN or infinity. */
  | 'NON_FINITE_WEIGHT'
  /** A block scale overflowed half precision (llama-quantize's row validation fails the same way). */
  | 'SCALE_OVERFLOW'
  /** The input has a tensor type Alki cannot read. */
  | 'UNSUPPORTED_TYPE'
  /** A worker thread failed. */
  | 'WORKER_FAILED'
  /** The output exists and overwriting was not allowed. */
  | 'OUTPUT_EXISTS'
  /** The mix needs an importance matrix (--imatrix) for a tensor, and has none for it. */
  | 'IMATRIX_REQUIRED'
  /** An importance matrix file is damaged, truncated or not an imatrix. */
  | 'IMATRIX_INVALID';

/** The category each code has unless a call site says otherwise. */
const CATEGORIES: Record<QuantizerErrorCode, ErrorCategory> = {
  INVALID_INPUT: 'input',
  UNKNOWN_TYPE: 'usage',
  REQUANTIZE_REFUSED: 'input',
  NON_FINITE_WEIGHT: 'input',
  SCALE_OVERFLOW: 'input',
  UNSUPPORTED_TYPE: 'input',
  WORKER_FAILED: 'internal',
  OUTPUT_EXISTS: 'usage',
  IMATRIX_REQUIRED: 'usage',
  IMATRIX_INVALID: 'input',
};

/** The one error class of @alki/quantizer. */
export class QuantizerError extends AlkiError<QuantizerErrorCode> {
  constructor(code: QuantizerErrorCode, message: string, options: AlkiErrorOptions = {}) {
    super(code, message, { ...options, category: options.category ?? CATEGORIES[code] });
  }
}

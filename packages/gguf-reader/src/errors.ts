import { AlkiError, type AlkiErrorOptions, type ErrorCategory } from '@alki/errors';

/** Every failure of @alki/gguf-reader, as a string-literal code. Add codes as the package grows. */
export type GgufReaderErrorCode = 'INVALID_INPUT';

/** The one error class of @alki/gguf-reader. */
export class GgufReaderError extends AlkiError<GgufReaderErrorCode> {
  constructor(code: GgufReaderErrorCode, message: string, category: ErrorCategory = 'input', options?: AlkiErrorOptions) {
    super(code, message, category, options);
  }
}

import { AlkiError, type AlkiErrorOptions, type ErrorCategory } from '@alki/errors';

/** Every failure of @alki/quantizer, as a string-literal code. Add codes as the package grows. */
export type QuantizerErrorCode = 'INVALID_INPUT';

/** The one error class of @alki/quantizer. */
export class QuantizerError extends AlkiError<QuantizerErrorCode> {
  constructor(code: QuantizerErrorCode, message: string, category: ErrorCategory = 'input', options?: AlkiErrorOptions) {
    super(code, message, category, options);
  }
}

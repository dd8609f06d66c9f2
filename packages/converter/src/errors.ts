import { AlkiError, type AlkiErrorOptions, type ErrorCategory } from '@alki/errors';

/** Every failure of @alki/converter, as a string-literal code. Add codes as the package grows. */
export type ConverterErrorCode = 'INVALID_INPUT';

/** The one error class of @alki/converter. */
export class ConverterError extends AlkiError<ConverterErrorCode> {
  constructor(code: ConverterErrorCode, message: string, category: ErrorCategory = 'input', options?: AlkiErrorOptions) {
    super(code, message, category, options);
  }
}

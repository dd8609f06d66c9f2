import { AlkiError, type AlkiErrorOptions, type ErrorCategory } from '@alki/errors';

/** Every failure of @alki/bundler, as a string-literal code. Add codes as the package grows. */
export type BundlerErrorCode = 'INVALID_INPUT';

/** The one error class of @alki/bundler. */
export class BundlerError extends AlkiError<BundlerErrorCode> {
  constructor(code: BundlerErrorCode, message: string, category: ErrorCategory = 'input', options?: AlkiErrorOptions) {
    super(code, message, category, options);
  }
}

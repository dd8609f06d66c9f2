import { AlkiError, type AlkiErrorOptions, type ErrorCategory } from '@alki/errors';

/** Every failure of @alki/sbom, as a string-literal code. Add codes as the package grows. */
export type SbomErrorCode = 'INVALID_INPUT';

/** The one error class of @alki/sbom. */
export class SbomError extends AlkiError<SbomErrorCode> {
  constructor(code: SbomErrorCode, message: string, category: ErrorCategory = 'input', options?: AlkiErrorOptions) {
    super(code, message, category, options);
  }
}

import { AlkiError, type AlkiErrorOptions, type ErrorCategory } from '@alki/errors';

/** Every failure of @alki/registry-publisher, as a string-literal code. Add codes as the package grows. */
export type RegistryPublisherErrorCode = 'INVALID_INPUT';

/** The one error class of @alki/registry-publisher. */
export class RegistryPublisherError extends AlkiError<RegistryPublisherErrorCode> {
  constructor(code: RegistryPublisherErrorCode, message: string, category: ErrorCategory = 'input', options?: AlkiErrorOptions) {
    super(code, message, category, options);
  }
}

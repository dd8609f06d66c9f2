import { AlkiError, type AlkiErrorOptions, type ErrorCategory } from '@alki/errors';

/** Every failure of @alki/hub, as a string-literal code. Add codes as the package grows. */
export type HubErrorCode = 'INVALID_INPUT';

/** The one error class of @alki/hub. */
export class HubError extends AlkiError<HubErrorCode> {
  constructor(code: HubErrorCode, message: string, category: ErrorCategory = 'input', options?: AlkiErrorOptions) {
    super(code, message, category, options);
  }
}

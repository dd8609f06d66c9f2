import { AlkiError, type AlkiErrorOptions, type ErrorCategory } from '@alki/errors';

/** Every failure of @alki/runtime, as a string-literal code. Add codes as the package grows. */
export type RuntimeErrorCode = 'INVALID_INPUT';

/** The one error class of @alki/runtime. */
export class RuntimeError extends AlkiError<RuntimeErrorCode> {
  constructor(code: RuntimeErrorCode, message: string, category: ErrorCategory = 'input', options?: AlkiErrorOptions) {
    super(code, message, category, options);
  }
}

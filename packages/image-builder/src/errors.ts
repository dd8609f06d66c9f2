import { AlkiError, type AlkiErrorOptions, type ErrorCategory } from '@alki/errors';

/** Every failure of @alki/image-builder, as a string-literal code. Add codes as the package grows. */
export type ImageBuilderErrorCode = 'INVALID_INPUT';

/** The one error class of @alki/image-builder. */
export class ImageBuilderError extends AlkiError<ImageBuilderErrorCode> {
  constructor(code: ImageBuilderErrorCode, message: string, category: ErrorCategory = 'input', options?: AlkiErrorOptions) {
    super(code, message, category, options);
  }
}

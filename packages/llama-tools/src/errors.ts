import { AlkiError, type AlkiErrorOptions } from '@alki/errors';

export type LlamaToolsErrorCode =
  | 'SOURCE_BUNDLE_MISSING'
  | 'BUILD_TOOL_MISSING'
  | 'BUILD_FAILED'
  | 'TOOL_NOT_FOUND'
  | 'BUILD_INTERRUPTED'
  | 'UNSUPPORTED_PLATFORM';

export class LlamaToolsError extends AlkiError<LlamaToolsErrorCode> {
  constructor(code: LlamaToolsErrorCode, message: string, options: AlkiErrorOptions = {}) {
    super(code, message, {
      ...options,
      category: options.category ?? (code === 'BUILD_FAILED' ? 'check' : 'environment'),
    });
  }
}
